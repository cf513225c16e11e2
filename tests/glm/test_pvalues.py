"""p and z of t and F values from log tail probabilities, finite far into the tails."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from glmreport.glm.pvalues import Z_CLIP, _f_p_z, _t_p_z, z_from_logp


def test_z_from_logp_matches_isf_and_stays_finite():
    p = np.array([0.5, 0.05, 1e-10, 1e-300])
    np.testing.assert_allclose(z_from_logp(np.log(p)), stats.norm.isf(p), rtol=1e-12)
    # p far below double precision: z is still finite and increasing
    z = z_from_logp(np.array([-1e3, -1e5]))
    assert np.all(np.isfinite(z)) and z[1] > z[0] > 40
    # the lower tail keeps its precision through log(1 - p)
    p = np.array([0.9, 1 - 1e-12])
    z = z_from_logp(np.log(p), log1mp=np.log1p(-p))
    np.testing.assert_allclose(z, stats.norm.isf(p), rtol=1e-6)


@pytest.mark.parametrize("dof", [3.0, 12.0, 150.0])
def test_t_p_and_z(dof):
    t = np.array([-6.0, -1.0, 0.0, 2.0, 5.0])
    p, z = _t_p_z(t, dof)
    np.testing.assert_allclose(p, stats.t.sf(t, dof), rtol=1e-10)
    np.testing.assert_allclose(z, stats.norm.isf(stats.t.sf(t, dof)), rtol=1e-8, atol=1e-12)
    # where p underflows, z still follows log P(T > t): finite, of opposite signs
    p, z = _t_p_z(np.array([-1e30, 1e30]), dof)
    # P(T > t) ~ Γ((ν+1)/2) / (sqrt(νπ) Γ(ν/2)) ν^((ν+1)/2) t^-ν / ν for large t
    log_c = special.gammaln((dof + 1) / 2) - special.gammaln(dof / 2) - 0.5 * np.log(dof * np.pi)
    log_p = log_c + (dof + 1) / 2 * np.log(dof) - dof * np.log(1e30) - np.log(dof)
    expected = -special.ndtri_exp(log_p)
    np.testing.assert_allclose(z, [-expected, expected], rtol=1e-6)
    assert expected > 20 and np.all(np.abs(z) <= Z_CLIP)


@pytest.mark.parametrize(("df_num", "dof"), [(1, 10.0), (3, 20.0)])
def test_f_p_and_z(df_num, dof):
    f = np.array([0.2, 1.0, 4.0, 30.0])
    p, z = _f_p_z(f, df_num, dof)
    np.testing.assert_allclose(p, stats.f.sf(f, df_num, dof), rtol=1e-10)
    np.testing.assert_allclose(z, stats.norm.isf(p), rtol=1e-8)
    _, z = _f_p_z(np.array([1e200]), df_num, dof)
    assert 30 < z[0] <= Z_CLIP
