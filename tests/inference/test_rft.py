"""Random field theory: EC densities, corrected p-values, smoothness, resels and the tables.

The EC densities are checked against the formulas of Worsley et al. (1996, Hum Brain Mapp
4:58-73, Table II) written out below with the ``math`` module (upper-tail probabilities by
numerical integration of the densities), independently of the implementation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, ndimage, stats

from glmreport.config.specs import CorrectionSpec, RftParams
from glmreport.errors import InferenceError
from glmreport.glm.contrasts import compute_contrast
from glmreport.glm.ols import fit_ols
from glmreport.glm.results import DesignMatrix
from glmreport.inference.context import InferenceContext
from glmreport.inference.registry import get_method
from glmreport.inference.results import CLUSTER_COLUMNS, PEAK_COLUMNS
from glmreport.inference.rft import (
    RandomField,
    apply_rft,
    cluster_p_values,
    critical_cluster_size,
    ec_densities,
    estimate_smoothness,
    expected_clusters,
    expected_ec,
    fwhm_from_roughness,
    height_threshold_fwe,
    p_fwe_voxel,
    resel_counts,
    set_level_p,
    smoothness_for,
    smoothness_from_fwhm,
)
from glmreport.inference.rft.tables import RFT_CLUSTER_COLUMNS, RFT_PEAK_COLUMNS

A = 4.0 * math.log(2.0)


# --------------------------------------------------------------------------------------------
# hand formulas (Worsley et al. 1996, Table II), scalar, from the paper


def _tail(density, u: float) -> float:
    value, _ = integrate.quad(density, u, math.inf, epsabs=0.0, epsrel=1e-13, limit=200)
    return value


def hand_z(u: float) -> list[float]:
    e = math.exp(-u * u / 2.0)
    rho0 = _tail(lambda x: math.exp(-x * x / 2.0) / math.sqrt(2.0 * math.pi), u)
    rho1 = A**0.5 / (2.0 * math.pi) * e
    rho2 = A / (2.0 * math.pi) ** 1.5 * u * e
    rho3 = A**1.5 / (2.0 * math.pi) ** 2 * (u * u - 1.0) * e
    return [rho0, rho1, rho2, rho3]


def hand_t(u: float, v: float) -> list[float]:
    const = math.gamma((v + 1) / 2) / (math.sqrt(v * math.pi) * math.gamma(v / 2))
    rho0 = _tail(lambda x: const * (1.0 + x * x / v) ** (-(v + 1) / 2), u)
    c = (1.0 + u * u / v) ** (-(v - 1) / 2)
    g = math.gamma((v + 1) / 2) / ((v / 2) ** 0.5 * math.gamma(v / 2))
    rho1 = A**0.5 / (2.0 * math.pi) * c
    rho2 = A / (2.0 * math.pi) ** 1.5 * g * u * c
    rho3 = A**1.5 / (2.0 * math.pi) ** 2 * ((v - 1) * u * u / v - 1.0) * c
    return [rho0, rho1, rho2, rho3]


def hand_f(u: float, k: float, v: float) -> list[float]:
    def density(x: float) -> float:
        return (
            math.gamma((k + v) / 2)
            / (math.gamma(k / 2) * math.gamma(v / 2))
            * (k / v) ** (k / 2)
            * x ** (k / 2 - 1)
            * (1 + k * x / v) ** (-(k + v) / 2)
        )

    rho0 = _tail(density, u)
    x = k * u / v
    g = math.gamma(v / 2) * math.gamma(k / 2)
    s = (1 + x) ** (-(v + k - 2) / 2)
    b = A / (2.0 * math.pi)
    rho1 = b**0.5 * math.gamma((v + k - 1) / 2) * 2**0.5 / g * x ** ((k - 1) / 2) * s
    rho2 = b * math.gamma((v + k - 2) / 2) / g * x ** ((k - 2) / 2) * s * ((v - 1) * x - (k - 1))
    rho3 = (
        b**1.5
        * math.gamma((v + k - 3) / 2)
        * 2**-0.5
        / g
        * x ** ((k - 3) / 2)
        * s
        * ((v - 1) * (v - 2) * x * x - (2 * v * k - v - k - 1) * x + (k - 1) * (k - 2))
    )
    return [rho0, rho1, rho2, rho3]


# --------------------------------------------------------------------------------------------
# EC densities


@pytest.mark.parametrize("u", [1.5, 2.5, 3.1, 4.0, 5.5])
def test_ec_densities_gaussian(u):
    np.testing.assert_allclose(ec_densities(u, "Z"), hand_z(u), rtol=1e-11, atol=0)
    # Adler's Hermite form: rho_d = a^{d/2} (2 pi)^{-(d+1)/2} He_{d-1}(u) exp(-u^2/2)
    he = np.polynomial.hermite_e.hermeval
    for d in (1, 2, 3):
        coef = np.zeros(d)
        coef[-1] = 1.0
        expected = (
            A ** (d / 2) * (2 * math.pi) ** (-(d + 1) / 2) * he(u, coef) * math.exp(-u * u / 2)
        )
        assert ec_densities(u, "Z")[d] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("v", [5.0, 12.0, 40.0, 200.0])
@pytest.mark.parametrize("u", [2.0, 3.0, 4.5, 6.0])
def test_ec_densities_t(u, v):
    np.testing.assert_allclose(ec_densities(u, "t", dof=v), hand_t(u, v), rtol=1e-9, atol=0)


@pytest.mark.parametrize(("k", "v"), [(1, 15.0), (2, 10.0), (3, 20.0), (4, 30.0), (6, 50.0)])
@pytest.mark.parametrize("u", [3.0, 6.0, 10.0, 20.0])
def test_ec_densities_f(u, k, v):
    got = ec_densities(u, "F", dof=v, df_num=k)
    np.testing.assert_allclose(got, hand_f(u, k, v), rtol=1e-8, atol=0)


@pytest.mark.parametrize("v", [6.0, 20.0])
def test_f_with_one_numerator_dof_is_two_tailed_t(v):
    # {T^2 > t^2} is the union of {T > t} and {T < -t}: EC densities add, and -T is a t field
    u = np.array([2.5, 3.5, 5.0])
    np.testing.assert_allclose(
        ec_densities(u**2, "F", dof=v, df_num=1), 2 * ec_densities(u, "t", dof=v), rtol=1e-10
    )


def test_t_field_tends_to_gaussian():
    u = np.array([2.0, 3.0, 4.0])
    np.testing.assert_allclose(ec_densities(u, "t", dof=1e8), ec_densities(u, "Z"), rtol=1e-6)
    np.testing.assert_allclose(ec_densities(u, "t", dof=math.inf), ec_densities(u, "Z"))


def test_published_two_dimensional_example():
    # Brett, Penny & Kiebel (2003), "An introduction to random field theory": a 2D search
    # region of 100 resels has E[EC] ~= 0.049 at Z = 3.8
    ec = float(expected_ec(3.8, [0, 0, 100, 0], RandomField(kind="Z")))
    assert ec == pytest.approx(100 * A * (2 * math.pi) ** -1.5 * 3.8 * math.exp(-(3.8**2) / 2))
    assert ec == pytest.approx(0.049, abs=5e-4)


# --------------------------------------------------------------------------------------------
# corrected p-values


RESELS = np.array([1.0, 30.0, 300.0, 1000.0])


@pytest.mark.parametrize("u", [4.0, 5.0, 6.5])
def test_voxel_p_fwe_known_resels(u):
    v = 20.0
    ec = sum(r * rho for r, rho in zip(RESELS, hand_t(u, v), strict=True))
    field = RandomField(kind="t", dof=v)
    assert float(expected_ec(u, RESELS, field)) == pytest.approx(ec, rel=1e-9)
    assert float(p_fwe_voxel(u, RESELS, field)) == pytest.approx(1 - math.exp(-ec), rel=1e-9)
    # Bonferroni cap (spm_P)
    n_vox = 10
    capped = float(p_fwe_voxel(u, RESELS, field, n_voxels=n_vox))
    assert capped == pytest.approx(min(1 - math.exp(-ec), n_vox * stats.t.sf(u, v)), rel=1e-9)


@pytest.mark.parametrize(
    "field",
    [
        RandomField(kind="Z"),
        RandomField(kind="t", dof=12.0),
        RandomField(kind="F", dof=25.0, df_num=3),
    ],
)
def test_height_threshold_solves_p_fwe_equals_alpha(field):
    info = height_threshold_fwe(0.05, RESELS, field)
    u = info["u_rft"]
    rho = (
        hand_z(u)
        if field.kind == "Z"
        else hand_t(u, field.dof)
        if field.kind == "t"
        else hand_f(u, field.df_num, field.dof)
    )
    ec = sum(r * x for r, x in zip(RESELS, rho, strict=True))
    assert 1 - math.exp(-ec) == pytest.approx(0.05, rel=1e-8)
    assert info["u"] == u and info["u_bonferroni"] == math.inf
    # with a voxel count the smaller of the RFT and Bonferroni thresholds is used (spm_uc)
    few = height_threshold_fwe(0.05, RESELS, field, n_voxels=50)
    assert few["u"] == pytest.approx(min(few["u_rft"], few["u_bonferroni"]))
    assert few["u_bonferroni"] == pytest.approx(field.isf(0.05 / 50), rel=1e-9)
    assert few["u"] < u


def test_gaussian_threshold_literature_value():
    # 1000 resels in 3D is the textbook whole-brain case: threshold near Z = 4.5 (Worsley 1996)
    u = height_threshold_fwe(0.05, [1.0, 0.0, 0.0, 1000.0], RandomField(kind="Z"))["u"]
    ec = 1000 * A**1.5 / (2 * math.pi) ** 2 * (u * u - 1) * math.exp(-u * u / 2)
    ec += 1.0 * 0.5 * math.erfc(u / math.sqrt(2))
    assert 1 - math.exp(-ec) == pytest.approx(0.05, rel=1e-8)
    assert 4.4 < u < 4.7


def test_cluster_p_values_hand():
    v, u = 20.0, 3.5
    field = RandomField(kind="t", dof=v)
    rho = hand_t(u, v)
    ec_hand = sum(r * x for r, x in zip(RESELS, rho, strict=True))
    en_hand = rho[0] / rho[3]  # expected resels per cluster
    beta = (math.gamma(2.5) / en_hand) ** (2 / 3)
    ec, en = expected_clusters(u, RESELS, field)
    assert ec == pytest.approx(ec_hand, rel=1e-9)
    assert en == pytest.approx(en_hand, rel=1e-9)
    k = np.array([0.1, 0.5, 1.0, 3.0])
    p_fwe, p_unc = cluster_p_values(k, u, RESELS, field)
    unc = np.exp(-beta * k ** (2 / 3))
    np.testing.assert_allclose(p_unc, unc, rtol=1e-9)
    np.testing.assert_allclose(p_fwe, 1 - np.exp(-ec_hand * unc), rtol=1e-9)
    assert np.all(np.diff(p_fwe) < 0)


def test_set_level_p_hand():
    field = RandomField(kind="Z")
    u, k = 3.0, 0.2
    rho = hand_z(u)
    ec = sum(r * x for r, x in zip(RESELS, rho, strict=True))
    beta = (math.gamma(2.5) / (rho[0] / rho[3])) ** (2 / 3)
    mean = ec * math.exp(-beta * k ** (2 / 3))
    for c in (1, 3, 8):
        expected = 1 - sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(c))
        assert set_level_p(c, k, u, RESELS, field) == pytest.approx(expected, rel=1e-7)
    assert set_level_p(0, k, u, RESELS, field) == 1.0
    assert set_level_p(3, 0.0, u, RESELS, field) == pytest.approx(
        1 - sum(math.exp(-ec) * ec**i / math.factorial(i) for i in range(3)), rel=1e-7
    )


@pytest.mark.parametrize("tails", [1, 2])
def test_critical_cluster_size(tails):
    mask = np.ones((30, 30, 30), bool)
    smooth = smoothness_from_fwhm(8.0, mask, np.diag([2.0, 2.0, 2.0, 1.0]))
    field = RandomField(kind="t", dof=15.0)
    u = field.isf(0.001)
    k = critical_cluster_size(0.05, u, smooth, field, tails=tails)
    v2r = 1 / smooth.resel_size_voxels

    def p(kv):
        return min(1.0, tails * float(cluster_p_values(kv * v2r, u, smooth.resels, field)[0]))

    assert p(k) <= 0.05 < p(k - 1)


# --------------------------------------------------------------------------------------------
# resels and smoothness


def test_resel_counts_of_a_box():
    mask = np.zeros((20, 20, 20), bool)
    a, b, c = 10, 7, 5
    mask[2 : 2 + a, 3 : 3 + b, 4 : 4 + c] = True
    fx, fy, fz = 2.0, 3.0, 4.0
    got = resel_counts(mask, [fx, fy, fz])
    la, lb, lc = a - 1, b - 1, c - 1  # box lengths between voxel centres
    expected = [
        1.0,
        la / fx + lb / fy + lc / fz,
        la * lb / (fx * fy) + la * lc / (fx * fz) + lb * lc / (fy * fz),
        la * lb * lc / (fx * fy * fz),
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_resel_count_r0_is_euler_characteristic():
    two = np.zeros((12, 12, 12), bool)
    two[1:4, 1:4, 1:4] = True
    two[6:10, 6:10, 6:10] = True
    assert resel_counts(two, [1, 1, 1])[0] == 2  # two components
    shell = np.zeros((12, 12, 12), bool)
    shell[2:10, 2:10, 2:10] = True
    shell[4:8, 4:8, 4:8] = False
    assert resel_counts(shell, [1, 1, 1])[0] == 2  # one component enclosing a cavity
    ring = np.zeros((12, 12, 3), bool)
    ring[2:10, 2:10, :] = True
    ring[4:8, 4:8, :] = False
    assert resel_counts(ring, [1, 1, 1])[0] == 0  # a solid torus


def test_fwhm_from_roughness():
    lam = np.diag([A / 9.0, A / 16.0, A / 25.0])
    np.testing.assert_allclose(fwhm_from_roughness(lam), [3.0, 4.0, 5.0], rtol=1e-12)
    # a rotation keeps the volume of a resel: prod(FWHM) = sqrt((4 ln 2)^3 / det)
    rot = stats.special_ortho_group.rvs(3, random_state=0)
    fw = fwhm_from_roughness(rot @ lam @ rot.T)
    assert np.prod(fw) == pytest.approx(60.0, rel=1e-10)


def _smooth_images(rng, n, shape, fwhm_vox, pad=8):
    big = tuple(s + 2 * pad for s in shape)
    sigma = np.asarray(fwhm_vox, dtype=float) / math.sqrt(8 * math.log(2))
    crop = tuple(slice(pad, pad + s) for s in shape)
    return np.stack(
        [ndimage.gaussian_filter(rng.standard_normal(big), sigma)[crop] for _ in range(n)]
    )


@pytest.mark.parametrize(
    ("fwhm_vox", "voxel"),
    [
        ((3.0, 3.0, 3.0), (2.0, 2.0, 2.0)),
        ((4.0, 4.0, 4.0), (3.0, 3.0, 3.0)),
        ((3.0, 4.0, 5.0), (2.0, 2.5, 3.0)),
    ],
)
def test_fwhm_estimated_on_gaussian_random_fields(fwhm_vox, voxel):
    rng = np.random.default_rng(7)
    n, shape = 20, (40, 40, 40)
    images = _smooth_images(rng, n, shape, fwhm_vox)
    mask = np.ones(shape, bool)
    mask[:2] = False  # a non-trivial search volume
    data = images[:, mask] + 5.0  # plus a constant the model removes
    fit = fit_ols(data, DesignMatrix(matrix=np.ones((n, 1)), columns=("intercept",)))
    affine = np.diag([*voxel, 1.0])
    smooth = estimate_smoothness(data, fit, mask, affine)
    # finite differences make the FWHM of smooth fields a few per cent too large (as SPM)
    np.testing.assert_allclose(smooth.fwhm_voxels, fwhm_vox, rtol=0.10)
    np.testing.assert_allclose(smooth.fwhm_mm, np.multiply(fwhm_vox, voxel), rtol=0.10)
    assert smooth.dof == n - 1 and smooth.n_images == n and smooth.source == "residuals"
    np.testing.assert_allclose(smooth.resels, resel_counts(mask, smooth.fwhm_voxels))
    assert smooth.resel_size_voxels == pytest.approx(np.prod(smooth.fwhm_voxels))
    assert smooth.n_voxels == mask.sum()
    assert smooth.volume_mm3 == pytest.approx(mask.sum() * np.prod(voxel))


def test_smoothness_from_fwhm():
    mask = np.ones((10, 12, 14), bool)
    s = smoothness_from_fwhm([6.0, 8.0, 9.0], mask, np.diag([2.0, 2.0, 3.0, 1.0]))
    np.testing.assert_allclose(s.fwhm_voxels, [3.0, 4.0, 3.0])
    np.testing.assert_allclose(s.fwhm_mm, [6.0, 8.0, 9.0])
    assert s.source == "fwhm_mm"
    with pytest.raises(ValueError, match="positive"):
        smoothness_from_fwhm(-1.0, mask, np.eye(4))


# --------------------------------------------------------------------------------------------
# apply_rft


SHAPE = (24, 24, 24)
N = 12


@pytest.fixture(scope="module")
def dataset():
    """Smooth noise (FWHM 3 voxels) with a positive and a negative blob; one-sample model."""
    rng = np.random.default_rng(3)
    images = _smooth_images(rng, N, SHAPE, (3.0, 3.0, 3.0))
    images /= images.std()
    signal = np.zeros(SHAPE)
    signal[5:11, 5:11, 5:11] = 1.6
    signal[15:20, 14:20, 14:19] = -1.8
    mask = np.zeros(SHAPE, bool)
    mask[1:-1, 1:-1, 1:-1] = True
    data = images[:, mask] + signal[mask]
    design = DesignMatrix(matrix=np.ones((N, 1)), columns=("intercept",))
    fit = fit_ols(data, design)
    contrast = compute_contrast(fit, np.array([[1.0]]), name="m", label="m", stat_type="t")
    ctx = InferenceContext(mask=mask, affine=np.diag([2.0, 2.0, 2.0, 1.0]), data=data, fit=fit)
    return contrast, ctx


FOOTER_KEYS = {
    "field",
    "df",
    "dof",
    "two_sided",
    "height_threshold_stat",
    "height_threshold_z",
    "height_threshold_p_unc",
    "height_threshold_p_fwe",
    "extent_threshold_voxels",
    "extent_threshold_p_unc",
    "extent_threshold_p_fwe",
    "expected_voxels_per_cluster",
    "expected_number_of_clusters",
    "set_level_c",
    "set_level_p",
    "fwe_p_stat",
    "fwe_p_rft_stat",
    "fwe_p_bonferroni_stat",
    "fdr_p_stat",
    "fwe_c_voxels",
    "fdr_c_voxels",
    "peak_fdr",
    "fwhm_mm",
    "fwhm_voxels",
    "voxel_size_mm",
    "resels",
    "resel_size_voxels",
    "volume_voxels",
    "volume_mm3",
    "smoothness_source",
    "smoothness_dof",
    "smoothness_n_images",
}


def test_apply_rft_voxel_level(dataset):
    contrast, ctx = dataset
    voxel, cluster = get_method("rft")(contrast, CorrectionSpec(method="rft"), ctx)
    assert (voxel.desc, cluster.desc) == ("rft", "rftCluster")
    assert voxel.method == cluster.method == "rft"
    smooth = smoothness_for(CorrectionSpec(method="rft"), ctx)
    field = RandomField(kind="t", dof=contrast.dof)
    u = height_threshold_fwe(0.05, smooth.resels, field, n_voxels=smooth.n_voxels)["u"]
    assert voxel.threshold_stat == pytest.approx(u)
    assert voxel.threshold_z == pytest.approx(stats.norm.isf(stats.t.sf(u, contrast.dof)))
    np.testing.assert_array_equal(voxel.surviving, contrast.stat >= u)
    assert voxel.surviving.any()
    assert set(voxel.extras) == FOOTER_KEYS
    assert voxel.extras["height_threshold_p_fwe"] == pytest.approx(0.05, rel=1e-6)
    assert voxel.extras["set_level_c"] == len(voxel.clusters) > 0
    assert list(voxel.clusters.columns) == [*CLUSTER_COLUMNS, *RFT_CLUSTER_COLUMNS]
    assert list(voxel.peaks.columns) == [*PEAK_COLUMNS, *RFT_PEAK_COLUMNS]
    # peak FWE p agrees with the map of voxel-level FWE p and is < alpha above the threshold
    logp = voxel.maps["logp_fwe"]
    p_map = p_fwe_voxel(contrast.stat, smooth.resels, field, n_voxels=smooth.n_voxels)
    top = np.argmax(contrast.stat)
    assert 10 ** -logp[top] == pytest.approx(float(p_map[top]), rel=1e-9)
    assert np.all(voxel.clusters["peak_p_fwe"] <= 0.05)
    assert np.all(voxel.peaks["p_fwe"] <= 0.05)
    np.testing.assert_allclose(
        voxel.peaks["p_unc"], stats.t.sf(voxel.peaks["peak_stat"], contrast.dof), rtol=1e-9
    )
    assert np.all(voxel.clusters["sign"] == "+")


def test_apply_rft_cluster_level(dataset):
    contrast, ctx = dataset
    spec = CorrectionSpec(method="rft", params=RftParams(cluster_forming_p=0.01))
    _, cluster = apply_rft(contrast, spec, ctx)
    u_c = stats.t.isf(0.01, contrast.dof)
    assert cluster.threshold_stat == pytest.approx(u_c)
    assert cluster.threshold_z == pytest.approx(stats.norm.isf(0.01))
    assert cluster.extras["cluster_forming_p"] == 0.01
    assert cluster.extras["n_clusters_formed"] == cluster.extras["set_level_c"]
    assert cluster.extras["n_clusters_formed"] >= len(cluster.clusters) >= 1
    assert np.all(cluster.clusters["p_fwe"] <= 0.05)
    # surviving voxels are exactly the listed clusters, all above the cluster-forming height
    assert cluster.surviving.sum() == cluster.clusters["size_voxels"].sum()
    assert np.all(contrast.stat[cluster.surviving] > u_c)
    smooth = smoothness_for(spec, ctx)
    field = RandomField(kind="t", dof=contrast.dof)
    k = cluster.clusters["size_voxels"].to_numpy() / smooth.resel_size_voxels
    p_fwe, p_unc = cluster_p_values(k, u_c, smooth.resels, field)
    np.testing.assert_allclose(cluster.clusters["p_fwe"], p_fwe, rtol=1e-12)
    np.testing.assert_allclose(cluster.clusters["p_unc"], p_unc, rtol=1e-12)
    assert np.all(cluster.clusters["q_fdr"] >= cluster.clusters["p_unc"] - 1e-15)
    fwe_c = cluster.extras["fwe_c_voxels"]
    assert np.all(cluster.clusters["size_voxels"] >= fwe_c)
    assert cluster.extras["expected_voxels_per_cluster"] > 0


def test_apply_rft_two_sided_and_extent(dataset):
    contrast, ctx = dataset
    spec = CorrectionSpec(method="rft", two_sided=True, cluster_extent=5)
    voxel, cluster = apply_rft(contrast, spec, ctx)
    assert voxel.two_sided and cluster.two_sided
    assert voxel.cluster_extent == cluster.cluster_extent == 5
    assert set(cluster.clusters["sign"]) == {"+", "-"}
    one = apply_rft(contrast, CorrectionSpec(method="rft"), ctx)[0]
    assert voxel.threshold_stat > one.threshold_stat  # each tail at alpha / 2
    assert voxel.extras["height_threshold_p_fwe"] == pytest.approx(0.05, rel=1e-6)
    assert np.all(voxel.clusters["size_voxels"] >= 5)
    neg = cluster.clusters[cluster.clusters["sign"] == "-"]
    assert np.all(neg["peak_stat"] < 0)
    assert np.all(cluster.extras["fwe_c_voxels"] <= cluster.clusters["size_voxels"])


def test_apply_rft_f_contrast(dataset):
    contrast, ctx = dataset
    f = compute_contrast(ctx.fit, np.array([[1.0]]), name="f", label="f", stat_type="F")
    voxel, cluster = apply_rft(f, CorrectionSpec(method="rft", two_sided=True), ctx)
    assert voxel.extras["field"] == "F" and voxel.extras["df"] == [1.0, contrast.dof]
    assert not voxel.two_sided and voxel.params["two_sided_ignored"] == "F contrast"
    # F(1, v) = t^2: the F field threshold at alpha equals the two-sided t threshold
    t_two = apply_rft(contrast, CorrectionSpec(method="rft", two_sided=True), ctx)[0]
    assert voxel.threshold_stat == pytest.approx(t_two.threshold_stat**2, rel=1e-6)
    assert voxel.surviving.sum() == t_two.surviving.sum()


def test_rft_needs_data_or_fwhm(dataset):
    contrast, ctx = dataset
    maps_only = InferenceContext(mask=ctx.mask, affine=ctx.affine)
    with pytest.raises(InferenceError, match="fwhm_mm"):
        apply_rft(contrast, CorrectionSpec(method="rft"), maps_only)
    spec = CorrectionSpec(method="rft", params=RftParams(fwhm_mm=(6.0, 6.0, 6.0)))
    voxel, _ = apply_rft(contrast, spec, maps_only)
    assert voxel.extras["smoothness_source"] == "fwhm_mm"
    np.testing.assert_allclose(voxel.extras["fwhm_voxels"], [3.0, 3.0, 3.0])
    assert voxel.params == {"cluster_forming_p": 0.001, "fwhm_mm": [6.0, 6.0, 6.0]}
    # a given FWHM overrides the estimate even when the model is available
    assert apply_rft(contrast, spec, ctx)[0].extras["smoothness_source"] == "fwhm_mm"
    # (the ranges of fwhm_mm and cluster_forming_p are checked once, by the config)


def test_smoothness_is_estimated_once_per_fit(dataset):
    _, ctx = dataset
    spec = CorrectionSpec(method="rft")
    assert smoothness_for(spec, ctx) is smoothness_for(spec, ctx)
