"""The InferenceContext: what a correction may need beyond the contrast."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from glmreport.inference.context import InferenceContext


def test_defaults_and_frozen():
    mask = np.ones((2, 2, 2), bool)
    ctx = InferenceContext(mask=mask, affine=np.eye(4))
    assert ctx.data is None and ctx.fit is None and ctx.table is None
    assert (ctx.connectivity, ctx.peak_min_distance_mm, ctx.max_subpeaks) == (26, 8.0, 3)
    assert ctx.progress is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.connectivity = 6  # type: ignore[misc]
    with pytest.raises(TypeError):
        InferenceContext(mask, np.eye(4))  # type: ignore[misc]  # keyword-only
