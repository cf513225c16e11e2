"""Conversions between the z, t and F scales, sidedness, and the guard of levels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from glmreport.config.corrections import is_probability
from glmreport.config.specs import CorrectionSpec
from glmreport.errors import InferenceError
from glmreport.glm.results import ContrastResult
from glmreport.inference.scales import check_probability, resolve_two_sided, stat_to_z, z_to_stat

DOF = 12.0


@pytest.mark.parametrize("z", [-3.0, 0.0, 1.0, 2.5, 3.09, 5.0, 8.0])
@pytest.mark.parametrize(("stat_type", "df_num"), [("t", 1), ("F", 1), ("F", 3)])
def test_z_to_stat_matches_scipy(z, stat_type, df_num):
    p = stats.norm.sf(z)
    got = z_to_stat(z, stat_type, DOF, df_num)
    if stat_type == "t":
        assert got == pytest.approx(stats.t.isf(p, DOF), rel=1e-10, abs=1e-12)
        log_p = stats.t.logsf(got, DOF)
    else:
        if p > 1e-8:  # scipy's f.isf is inaccurate below (1e-2 relative at p = 6e-16)
            assert got == pytest.approx(stats.f.isf(p, df_num, DOF), rel=1e-9)
        log_p = stats.f.logsf(got, df_num, DOF)
    assert log_p == pytest.approx(stats.norm.logsf(z), rel=1e-10, abs=1e-12)
    assert stat_to_z(got, stat_type, DOF, df_num) == pytest.approx(z, rel=1e-9, abs=1e-9)


def test_f_with_one_numerator_df_is_squared_two_sided_t():
    for z in (1.0, 3.0, 6.0, 10.0):
        t_two_sided = stats.t.isf(stats.norm.sf(z) / 2, DOF)
        assert z_to_stat(z, "F", DOF, 1) == pytest.approx(t_two_sided**2, rel=1e-9)


@pytest.mark.parametrize("z", [12.0, 20.0, 30.0, 36.0])
@pytest.mark.parametrize(("stat_type", "df_num"), [("t", 1), ("F", 4)])
def test_z_to_stat_extreme_values_round_trip(z, stat_type, df_num):
    s = z_to_stat(z, stat_type, DOF, df_num)
    assert math.isfinite(s) and s > 0
    log_p = stats.t.logsf(s, DOF) if stat_type == "t" else stats.f.logsf(s, df_num, DOF)
    assert log_p == pytest.approx(stats.norm.logsf(z), rel=1e-9)
    assert stat_to_z(s, stat_type, DOF, df_num) == pytest.approx(z, rel=1e-9)


def test_z_to_stat_infinite_and_errors():
    assert z_to_stat(math.inf, "t", DOF) == math.inf
    assert z_to_stat(math.inf, "F", DOF, 2) == math.inf
    assert z_to_stat(-math.inf, "F", DOF, 2) == 0.0
    assert math.isnan(z_to_stat(math.nan, "t", DOF))
    with pytest.raises(ValueError, match="'t' or 'F'"):
        z_to_stat(1.0, "chi2", DOF)


def test_stat_to_z_vectorised_both_tails():
    t = np.array([-40.0, -3.0, 0.0, 2.0, 40.0, np.nan])
    z = stat_to_z(t, "t", DOF)
    expected = -stats.norm.ppf(stats.t.sf(t[1:4], DOF))
    np.testing.assert_allclose(z[1:4], expected, atol=1e-12)
    assert z[0] < -7 and z[4] > 7 and math.isnan(z[5])
    assert z[0] == pytest.approx(-z[4], rel=1e-12)


@pytest.mark.parametrize("value", [1e-12, 0.05, 0.5, 0.999])
def test_check_probability_accepts_the_open_unit_interval(value):
    assert check_probability(value) == value
    assert isinstance(check_probability(np.float32(0.25)), float)


@pytest.mark.parametrize("value", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_check_probability_refuses_with_the_config_rule(value):
    assert not is_probability(value)
    with pytest.raises(InferenceError, match=r"cluster_forming_p must be in \(0, 1\)"):
        check_probability(value, "cluster_forming_p")


def _contrast(stat_type: str) -> ContrastResult:
    q = 2 if stat_type == "F" else 1
    return ContrastResult(
        name="c",
        label="c",
        stat_type=stat_type,
        weights=np.eye(q, 2),
        columns=("a", "b"),
        effect=np.zeros((q, 3)),
        variance=np.ones((q, q, 3)),
        stat=np.zeros(3),
        p=np.ones(3),
        z=np.zeros(3),
        dof=DOF,
        df_num=q,
    )


def test_resolve_two_sided():
    two = CorrectionSpec(method="fdr", two_sided=True)
    one = CorrectionSpec(method="fdr")
    assert resolve_two_sided(_contrast("t"), two) == (True, {})
    assert resolve_two_sided(_contrast("t"), one) == (False, {})
    assert resolve_two_sided(_contrast("F"), two) == (False, {"two_sided_ignored": "F contrast"})
    assert resolve_two_sided(_contrast("F"), one) == (False, {})
