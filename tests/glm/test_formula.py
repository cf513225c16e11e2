"""Model matrices of checked formulas on the inputs table, and row names for messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glmreport.config.formula import parse_formula
from glmreport.errors import DesignError
from glmreport.glm.formula import model_frame, row_name


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": [f"sub-{i}.nii.gz" for i in range(6)],
            "group": ["a", "b", "a", "b", "a", "b"],
            "age": [20.0, 30.0, 40.0, 50.0, 60.0, 70.0],
        }
    )


def test_model_frame_builds_the_matrix():
    frame = model_frame(parse_formula("C(group) + age"), _table())
    assert list(frame.columns) == ["Intercept", "C(group)[T.b]", "age"]
    np.testing.assert_array_equal(frame["C(group)[T.b]"], [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(frame["age"], _table()["age"])
    assert frame.dtypes.eq(np.float64).all()


def test_model_frame_transforms_are_computed_not_evaluated():
    frame = model_frame(parse_formula("log(age)"), _table())
    np.testing.assert_allclose(frame["log(age)"], np.log(_table()["age"]))


def test_model_frame_errors_name_the_problem():
    with pytest.raises(DesignError, match="Did you mean 'age'"):
        model_frame(parse_formula("agee"), _table())
    table = _table()
    table.loc[2, "age"] = np.nan
    with pytest.raises(DesignError, match=r"row 3 \(sub-2.nii.gz\)"):
        model_frame(parse_formula("age"), table)


def test_row_name():
    assert row_name(_table(), 0) == "row 1 (sub-0.nii.gz)"
    assert row_name(pd.DataFrame({"x": [1, 2]}), 1) == "row 2"
    long = pd.DataFrame({"path": ["d/" * 60 + "x.nii.gz"]})
    assert row_name(long, 0).startswith("row 1 (...") and len(row_name(long, 0)) < 100
