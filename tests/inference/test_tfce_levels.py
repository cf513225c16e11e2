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


def test_levels_count_the_heights_at_or_below_each_value():
    """Levels equal a count of comparisons, for float32 and float64 maps of any scale."""
    rng = np.random.default_rng(1)
    for scale in (1e-36, 1e-12, 1.0, 1e30):
        base = rng.standard_normal(3000) * scale
        for dtype, dh in ((np.float32, "auto"), (np.float64, "auto"), (np.float32, 0.004)):
            stat = base.astype(dtype)
            dh_value = dh if dh == "auto" else dh * scale
            for two_sided in (True, False):
                heights = tfce_heights(stat, dh=dh_value, two_sided=two_sided)
                near = heights.astype(dtype)
                values = np.concatenate(
                    [stat, near, np.nextafter(near, dtype(np.inf)), np.nextafter(near, dtype(0))]
                )
                values = np.concatenate([values, -values]).astype(dtype)
                mag = np.abs(values) if two_sided else np.maximum(values, 0)
                count = (mag.astype(np.float64)[:, None] >= heights[None, :]).sum(axis=1)
                want = np.where(values < 0, -count, count) if two_sided else count
                got = signed_levels(values, heights, two_sided)
                assert got.dtype == np.int16
                np.testing.assert_array_equal(got, want)
