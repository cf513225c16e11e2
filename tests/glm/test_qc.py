"""Data QC: input outliers, p-value histogram with Storey's pi0, and mask coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from glmreport.errors import DesignError, InputError
from glmreport.glm.qc import input_outliers, mask_coverage, p_value_histogram, robust_z


def _clean(seed: int, n: int = 20, v: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.standard_normal(n)])
    return 0.5 + x[:, 1:] * 0.3 + rng.standard_normal((n, v)), x


def test_input_outliers_measure_is_mean_squared_studentised_residual():
    y, x = _clean(10, n=12, v=300)
    out = input_outliers(y, x)
    assert list(out.columns) == ["input", "leverage", "measure", "robust_z", "flagged"]
    h = np.diag(x @ np.linalg.pinv(x))
    r = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    s2 = (r**2).sum(axis=0) / (12 - 2)
    np.testing.assert_allclose(out["leverage"], h, rtol=1e-12)
    expected = np.mean(r**2 / s2 / (1 - h)[:, None], axis=1)
    np.testing.assert_allclose(out["measure"], expected, rtol=1e-12)
    # sum_i (1 - h_i) t_ik^2 = dof at every voxel, hence for the means too
    assert np.sum((1 - h) * out["measure"]) == pytest.approx(10.0, rel=1e-12)
    np.testing.assert_allclose(out["robust_z"], robust_z(np.log(expected)), rtol=1e-12)
    # chunking changes nothing
    np.testing.assert_allclose(input_outliers(y, x, chunk_size=7)["measure"], expected)


@pytest.mark.parametrize("kind", ["noisy", "shifted", "flat"])
def test_input_outliers_flag_a_planted_outlier(kind):
    y, x = _clean(11)
    rng = np.random.default_rng(12)
    if kind == "noisy":  # twice the noise SD
        y[7] = 0.5 + x[7, 1] * 0.3 + 2.0 * rng.standard_normal(y.shape[1])
    elif kind == "shifted":  # a map off by one noise SD everywhere
        y[7] += 1.0
    else:  # a map with a fifth of the noise
        y[7] = 0.5 + x[7, 1] * 0.3 + 0.2 * rng.standard_normal(y.shape[1])
    out = input_outliers(y, x)
    assert out["flagged"].tolist() == [i == 7 for i in range(20)]
    assert abs(out.loc[7, "robust_z"]) > 5
    assert (out.loc[7, "measure"] < 0.5) if kind == "flat" else (out.loc[7, "measure"] > 1.5)


def test_input_outliers_false_flag_rate_on_clean_data():
    # i.i.d. Gaussian inputs, n = 20: the modified z of 20 values exceeds 3.5 for about
    # 0.64 % of them (the MAD of 20 values is noisy; 2e4 simulated sets of 20 normal values);
    # about 1 clean study in 10 shows one flagged input. Here: 200 seeded studies.
    flagged = sum(int(input_outliers(*_clean(seed))["flagged"].sum()) for seed in range(200))
    assert 0.002 <= flagged / 4000 <= 0.015
    assert not input_outliers(*_clean(3))["flagged"].any()


def test_input_outliers_leverage_one_and_errors():
    rng = np.random.default_rng(13)
    g = np.r_[1.0, np.zeros(9)]  # a group of one: fitted exactly
    x = np.column_stack([np.ones(10), g])
    out = input_outliers(rng.standard_normal((10, 50)), x)
    assert out.loc[0, "leverage"] == pytest.approx(1.0)
    assert np.isnan(out.loc[0, "measure"]) and not out.loc[0, "flagged"]
    assert np.isfinite(out["robust_z"][1:]).all()
    with pytest.raises(DesignError, match="one row per design row"):
        input_outliers(rng.standard_normal((9, 5)), x)
    with pytest.raises(DesignError, match="no residual"):
        input_outliers(rng.standard_normal((2, 5)), x[:2])
    np.testing.assert_array_equal(robust_z(np.array([1.0, 2.0])), [np.nan, np.nan])
    # MAD 0: mean absolute deviation scale
    z = robust_z(np.array([1.0, 1.0, 1.0, 1.0, 3.0]))
    assert z[-1] == pytest.approx(2.0 / (np.sqrt(np.pi / 2) * 0.4))


def test_p_value_histogram_null_and_mixed():
    rng = np.random.default_rng(14)
    m = 20_000
    null = rng.uniform(size=m)
    h = p_value_histogram(null)
    assert h.counts.sum() == m and h.n == m and len(h.edges) == 21
    assert h.edges[0] == 0.0 and h.edges[-1] == 1.0
    # binomial(m, 1/20) counts: within 5 SD
    assert np.all(np.abs(h.counts - m / 20) < 5 * np.sqrt(m * 0.05 * 0.95))
    assert 1 - 4 / np.sqrt(m) <= h.pi0 <= 1.0  # SE of pi0 under the null: 1 / sqrt(m)
    # 30 % of voxels with z shifted by 3: P(p > 0.5 | effect) = Phi(-3)
    m1 = int(0.3 * m)
    p = np.r_[rng.uniform(size=m - m1), stats.norm.sf(rng.standard_normal(m1) + 3)]
    frac = 0.7 * 0.5 + 0.3 * stats.norm.cdf(-3)
    mixed = p_value_histogram(p)
    assert mixed.pi0 == pytest.approx(frac / 0.5, abs=4 * np.sqrt(frac * (1 - frac) / m) / 0.5)
    assert mixed.counts[0] > 5 * mixed.counts[-1]


def test_p_value_histogram_by_hand_and_errors():
    h = p_value_histogram(np.array([0.1, 0.2, 0.3, 0.9, np.nan]), bins=2)
    np.testing.assert_array_equal(h.counts, [3, 1])
    assert h.pi0 == pytest.approx(0.5) and h.n == 4
    assert p_value_histogram(np.array([0.1, 0.6, 0.7, 0.8]), bins=4).pi0 == 1.0  # capped
    assert np.isnan(p_value_histogram(np.array([])).pi0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        p_value_histogram(np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="bins"):
        p_value_histogram(np.array([0.5]), bins=10**6)


def _box(shape, lo, hi) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    out[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = True
    return out


def test_mask_coverage_shifted_mask_same_grid():
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    template = _box((30, 30, 30), (10, 10, 10), (20, 20, 20))
    mask = _box((30, 30, 30), (12, 10, 10), (22, 20, 20))  # shifted 2 voxels (4 mm) in x
    out = mask_coverage(mask, affine, template, affine)
    assert out.fraction_covered == pytest.approx(0.8)
    assert (out.n_template_voxels, out.n_mask_voxels, out.n_outside) == (1000, 1000, 200)
    assert out.fraction_outside == pytest.approx(0.2)
    full = mask_coverage(template, affine, template, affine)
    assert (full.fraction_covered, full.n_outside) == (1.0, 0)


def test_mask_coverage_across_grids_and_orientation():
    # template 2 mm at the origin; analysis grid 4 mm, origin 0.4 mm: template voxel i is
    # nearest to analysis voxel i // 2 and analysis voxel i' to template voxel 2 i'
    t_affine = np.diag([2.0, 2.0, 2.0, 1.0])
    template = _box((30, 30, 30), (10, 10, 10), (20, 20, 20))
    a_affine = np.diag([4.0, 4.0, 4.0, 1.0])
    a_affine[:3, 3] = 0.4
    mask = _box((15, 15, 15), (6, 4, 5), (9, 10, 10))
    out = mask_coverage(mask, a_affine, template, t_affine)
    assert out.fraction_covered == pytest.approx(6 * 10 * 10 / 1000)  # x: template 12..17
    assert out.n_mask_voxels == 90
    assert out.n_outside == 15  # y' = 4 is template y 8, outside the brain
    # the same template stored flipped along x (LAS): same answer
    flip = np.eye(4)
    flip[0, 0], flip[0, 3] = -1.0, 29.0
    flipped = mask_coverage(mask, a_affine, template[::-1], t_affine @ flip)
    assert flipped == out
    # the analysis field of view cuts the template: what is outside it is not covered
    small = mask_coverage(np.ones((8, 30, 30), bool), t_affine, template, t_affine)
    assert small.fraction_covered == 0.0
    assert small.n_outside == 8 * 30 * 30


def test_mask_coverage_refuses_bad_inputs():
    affine = np.eye(4)
    template = _box((5, 5, 5), (1, 1, 1), (3, 3, 3))
    with pytest.raises(InputError, match="3D"):
        mask_coverage(np.ones((5, 5), bool), affine, template, affine)
    with pytest.raises(InputError, match="affine"):
        mask_coverage(template, np.zeros((4, 4)), template, affine)
    with pytest.raises(InputError, match="empty"):
        mask_coverage(template, affine, np.zeros((5, 5, 5), bool), affine)
