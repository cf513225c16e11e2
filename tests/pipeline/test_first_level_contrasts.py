"""First-level contrasts per run: skipped where a run lacks a column, refused otherwise.

The decision rests on the error's type (:class:`~glmreport.errors.UnknownColumnError`), never
on its text: a contrast named "unknown effect" with a malformed definition is refused.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from glmreport.config.specs import ContrastSpec
from glmreport.errors import ContrastError, UnknownColumnError
from glmreport.glm.results import DesignMatrix
from glmreport.pipeline.first_level import _parse_contrasts


def _design(columns: tuple[str, ...]) -> DesignMatrix:
    rng = np.random.default_rng(len(columns))
    return DesignMatrix(matrix=rng.normal(size=(20, len(columns))), columns=columns)


RUN_1 = _design(("left", "right", "constant"))
RUN_2 = _design(("left", "constant"))  # no "right" in this run


def _config(*contrasts: ContrastSpec) -> SimpleNamespace:
    return SimpleNamespace(contrasts=contrasts)


def test_a_run_without_the_column_is_skipped():
    spec = ContrastSpec(name="right vs left", stat_type="t", definition="right - left")
    ((got, weights, label),) = _parse_contrasts(_config(spec), [RUN_1, RUN_2])
    assert got is spec and label == "rightVsLeft"
    np.testing.assert_array_equal(weights[0], [[-1.0, 1.0, 0.0]])
    assert weights[1] is None


def test_no_run_with_the_column_is_refused():
    spec = ContrastSpec(name="up", stat_type="t", definition="up - left", where="contrasts[0]")
    with pytest.raises(ContrastError, match="names a column that no run has") as info:
        _parse_contrasts(_config(spec), [RUN_1, RUN_2])
    assert not isinstance(info.value, UnknownColumnError)


def test_other_contrast_errors_are_not_skipped_whatever_the_message():
    # a wrong-width vector in a contrast whose name says "unknown" used to be skipped
    spec = ContrastSpec(name="unknown effect", stat_type="t", definition=[1.0, -1.0, 0.0])
    with pytest.raises(ContrastError, match="never padded") as info:
        _parse_contrasts(_config(spec), [RUN_1, RUN_2])
    assert not isinstance(info.value, UnknownColumnError)


def test_conjunctions_are_left_to_their_components():
    spec = ContrastSpec(name="right vs left", stat_type="t", definition="right - left")
    joined = ContrastSpec(
        name="both",
        stat_type="t",
        definition=["right vs left", "x"],
        conjunction=("right vs left", "x"),
    )
    parsed = _parse_contrasts(_config(spec, joined), [RUN_1, RUN_2])
    assert [p[0].name for p in parsed] == ["right vs left"]
