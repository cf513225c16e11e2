"""Random fields: EC densities against Worsley et al. (1996) written out by hand, expected EC,
voxel-level FWE p and the FWE height threshold.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from fixtures.rft_formulas import RESELS, A, hand_f, hand_t, hand_z
from scipy import stats

from glmreport.inference.rft import (
    RandomField,
    ec_densities,
    expected_ec,
    height_threshold_fwe,
    p_fwe_voxel,
)


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
