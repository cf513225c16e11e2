"""TFCE levels of float32 maps: the same as those of the float64 values."""

from __future__ import annotations

import numpy as np

from glmreport.inference.tfce.levels import signed_levels, tfce_heights


def test_float32_levels_equal_float64_levels_at_and_around_the_heights():
    rng = np.random.default_rng(0)
    stat = (rng.standard_normal(5000) * 3).astype(np.float32)
    heights = tfce_heights(stat)
    near = heights.astype(np.float32)
    tiny = np.float32(np.inf)
    values = np.concatenate(
        [stat, near, -near, np.nextafter(near, tiny), np.nextafter(near, -tiny), [np.nan]]
    ).astype(np.float32)
    for two_sided in (True, False):
        got = signed_levels(values, heights, two_sided)
        want = signed_levels(values.astype(np.float64), heights, two_sided)
        np.testing.assert_array_equal(got, want)
        assert got.max() == heights.size
