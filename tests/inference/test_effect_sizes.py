"""Effect sizes: contrast estimate with CI, Cohen's d and partial eta squared.

Every value is checked against a hand computation from the simulated inputs or against
statsmodels on the same data (tolerances stated per assertion; all are floating-point level).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from glmreport.errors import ContrastError
from glmreport.glm.contrasts import compute_contrast
from glmreport.glm.fixed_effects import fixed_effects
from glmreport.glm.ols import fit_ols
from glmreport.glm.results import DesignMatrix
from glmreport.inference.effect_sizes import (
    F_EFFECT_COLUMNS,
    T_EFFECT_COLUMNS,
    cluster_mean_effect,
    partial_eta_squared,
    peak_effects,
    t_critical,
    voxel_effects,
)

RTOL = 1e-10


def _fit(y: np.ndarray, x: np.ndarray, columns: list[str]):
    return fit_ols(y, DesignMatrix(matrix=x, columns=tuple(columns)))


def _contrast(fit, weights, stat_type="t"):
    return compute_contrast(fit, np.atleast_2d(weights), name="c", label="c", stat_type=stat_type)


def test_one_sample_d_is_mean_over_sd_and_t_over_sqrt_n():
    rng = np.random.default_rng(1)
    n, v = 16, 40
    y = 0.4 + 2.0 * rng.standard_normal((n, v))
    fit = _fit(y, np.ones((n, 1)), ["intercept"])
    con = _contrast(fit, [1.0])
    eff = voxel_effects(con, fit)
    np.testing.assert_allclose(eff.effect, y.mean(axis=0), rtol=RTOL)
    np.testing.assert_allclose(eff.se, y.std(axis=0, ddof=1) / np.sqrt(n), rtol=RTOL)
    np.testing.assert_allclose(eff.cohens_d, y.mean(axis=0) / y.std(axis=0, ddof=1), rtol=RTOL)
    np.testing.assert_allclose(eff.cohens_d, con.stat / np.sqrt(n), rtol=RTOL)
    # the interval of scipy's one-sample t interval
    lo, hi = stats.t.interval(0.95, n - 1, loc=y.mean(axis=0), scale=stats.sem(y, axis=0))
    np.testing.assert_allclose(eff.ci_low, lo, rtol=RTOL)
    np.testing.assert_allclose(eff.ci_high, hi, rtol=RTOL)


def test_two_sample_d_is_classic_pooled_sd_d():
    rng = np.random.default_rng(2)
    n1, n2, v = 9, 13, 30
    y = rng.standard_normal((n1 + n2, v)) * 1.5
    y[:n1] += 0.8
    group = np.r_[np.ones(n1), np.zeros(n2)]
    fit = _fit(y, np.column_stack([np.ones(n1 + n2), group]), ["intercept", "group"])
    con = _contrast(fit, [0.0, 1.0])
    eff = voxel_effects(con, fit)
    a, b = y[:n1], y[n1:]
    pooled = np.sqrt(
        ((n1 - 1) * a.var(axis=0, ddof=1) + (n2 - 1) * b.var(axis=0, ddof=1)) / (n1 + n2 - 2)
    )
    diff = a.mean(axis=0) - b.mean(axis=0)
    np.testing.assert_allclose(eff.effect, diff, rtol=RTOL)
    np.testing.assert_allclose(eff.cohens_d, diff / pooled, rtol=RTOL)
    np.testing.assert_allclose(eff.cohens_d, con.stat * np.sqrt(1 / n1 + 1 / n2), rtol=RTOL)
    # Welch-free classic t interval of the difference
    half = stats.t.ppf(0.975, n1 + n2 - 2) * pooled * np.sqrt(1 / n1 + 1 / n2)
    np.testing.assert_allclose(eff.ci_low, diff - half, rtol=RTOL)
    np.testing.assert_allclose(eff.ci_high, diff + half, rtol=RTOL)


def test_paired_d_is_sqrt2_dz_mean_difference_over_within_subject_residual_sd():
    rng = np.random.default_rng(3)
    n, v = 12, 25
    subject = rng.standard_normal((n, v)) * 3.0  # large between-subject variance
    a = subject + 0.5 + rng.standard_normal((n, v))
    b = subject + rng.standard_normal((n, v))
    y = np.vstack([a, b])
    cond = np.r_[np.ones(n), np.zeros(n)]
    subjects = np.vstack([np.eye(n), np.eye(n)])
    x = np.column_stack([cond, subjects])
    fit = _fit(y, x, ["cond"] + [f"sub-{i:02d}" for i in range(n)])
    con = _contrast(fit, np.r_[1.0, np.zeros(n)])
    d = voxel_effects(con, fit).cohens_d
    diff = a - b
    d_z = diff.mean(axis=0) / diff.std(axis=0, ddof=1)
    np.testing.assert_allclose(d, np.sqrt(2) * d_z, rtol=RTOL)
    np.testing.assert_allclose(d / np.sqrt(2), con.stat / np.sqrt(n), rtol=RTOL)
    # the residual SD by hand: remove subject means and condition means (two-way, no
    # interaction), residual dof n - 1
    subject_mean, grand = (a + b) / 2, y.mean(axis=0)
    resid = np.vstack(
        [a - subject_mean - a.mean(axis=0) + grand, b - subject_mean - b.mean(axis=0) + grand]
    )
    sigma = np.sqrt((resid**2).sum(axis=0) / (n - 1))
    np.testing.assert_allclose(d, diff.mean(axis=0) / sigma, rtol=RTOL)


def test_covariate_adjusted_d_and_ci_match_statsmodels():
    rng = np.random.default_rng(4)
    n, v = 20, 6
    age = rng.uniform(20, 60, n)
    group = (np.arange(n) % 2).astype(float)
    y = 1.0 + 0.05 * age[:, None] + 0.7 * group[:, None] + rng.standard_normal((n, v))
    x = np.column_stack([np.ones(n), group, age - age.mean()])
    fit = _fit(y, x, ["intercept", "group", "age"])
    c = np.array([0.0, 1.0, -2.0])
    con = _contrast(fit, c)
    for level in (0.95, 0.9):
        eff = voxel_effects(con, fit, level=level)
        for k in range(v):
            res = sm.OLS(y[:, k], x).fit()
            test = res.t_test(c[None])
            lo, hi = test.conf_int(alpha=1 - level)[0]
            assert eff.effect[k] == pytest.approx(float(test.effect[0]), rel=RTOL)
            assert eff.se[k] == pytest.approx(float(test.sd[0, 0]), rel=RTOL)
            assert eff.ci_low[k] == pytest.approx(lo, rel=RTOL)
            assert eff.ci_high[k] == pytest.approx(hi, rel=RTOL)
            assert eff.cohens_d[k] == pytest.approx(c @ res.params / np.sqrt(res.scale), rel=RTOL)
    # adjusted, not raw: the one-sample d with a covariate differs from mean / SD
    fit1 = _fit(y, np.column_stack([np.ones(n), age - age.mean()]), ["intercept", "age"])
    d1 = voxel_effects(_contrast(fit1, [1.0, 0.0]), fit1).cohens_d
    raw = y.mean(axis=0) / y.std(axis=0, ddof=1)
    assert np.all(np.abs(d1 - raw) > 1e-3)
    np.testing.assert_allclose(d1, y.mean(axis=0) / np.sqrt(fit1.sigma2), rtol=RTOL)


def test_fixed_effects_over_runs_give_estimate_and_ci_without_d():
    rng = np.random.default_rng(5)
    v = 10
    runs = []
    for r in range(2):
        n = 40 + 10 * r
        x = np.column_stack([np.ones(n), rng.standard_normal(n)])
        y = 2.0 + 0.5 * x[:, 1:2] + rng.standard_normal((n, v)) * (1 + r)
        fit = _fit(y, x, ["const", "task"])
        runs.append(_contrast(fit, [0.0, 1.0]))
    fx = fixed_effects(runs, name="task", label="task")
    assert fx.dof == 38 + 48
    eff = voxel_effects(fx, None)
    assert eff.cohens_d is None
    table = peak_effects(fx, None, np.array([3, -1, 0]))
    assert tuple(table.columns) == T_EFFECT_COLUMNS[:3]
    w = 1 / np.stack([r.variance[0, 0] for r in runs])
    e = (np.stack([r.effect[0] for r in runs]) * w).sum(axis=0) / w.sum(axis=0)
    se = 1 / np.sqrt(w.sum(axis=0))
    tc = stats.t.ppf(0.975, 86)
    np.testing.assert_allclose(table["effect"].to_numpy()[[0, 2]], e[[3, 0]], rtol=RTOL)
    np.testing.assert_allclose(
        table["effect_ci_high"].to_numpy()[[0, 2]], (e + tc * se)[[3, 0]], rtol=RTOL
    )
    np.testing.assert_allclose(
        table["effect_ci_low"].to_numpy()[[0, 2]], (e - tc * se)[[3, 0]], rtol=RTOL
    )
    assert table.iloc[1].isna().all()


def _anova_data(rng, n_per=8):
    g = np.repeat(["a", "b", "c"], n_per)
    h = np.tile(["u", "w"], len(g) // 2)
    age = rng.uniform(20, 60, len(g))
    return pd.DataFrame({"g": g, "h": h, "age": age})


@pytest.mark.parametrize(
    ("formula", "term"),
    [("C(g) + age", "C(g)"), ("C(g) + age", "age"), ("C(g) * C(h)", "C(g):C(h)")],
)
def test_partial_eta2_matches_statsmodels_anova(formula, term):
    rng = np.random.default_rng(6)
    table = _anova_data(rng)
    n, v = len(table), 4
    effect = (table["g"] == "b").to_numpy() * 0.8 + (table["h"] == "u").to_numpy() * 0.3
    y = effect[:, None] + 0.02 * table["age"].to_numpy()[:, None] + rng.standard_normal((n, v))
    model = smf.ols("y ~ " + formula, data=table.assign(y=y[:, 0]))
    x, names = np.asarray(model.exog), list(model.exog_names)
    rows = [i for i, name in enumerate(names) if re.sub(r"\[[^]]*\]", "", name) == term]
    assert rows
    weights = np.eye(len(names))[rows]
    fit = _fit(y, x, names)
    con = _contrast(fit, weights, "F")
    eta = voxel_effects(con, fit).partial_eta2
    for k in range(v):
        res = smf.ols("y ~ " + formula, data=table.assign(y=y[:, k])).fit()
        aov = sm.stats.anova_lm(res, typ=2)
        ss_effect, ss_error = aov.loc[term, "sum_sq"], aov.loc["Residual", "sum_sq"]
        assert eta[k] == pytest.approx(ss_effect / (ss_effect + ss_error), rel=RTOL, abs=1e-12)
        assert con.stat[k] == pytest.approx(aov.loc[term, "F"], rel=1e-9)


def test_partial_eta_squared_formula_edges():
    f = np.array([0.0, 2.5, np.inf, np.nan])
    out = partial_eta_squared(f, 2, 20)
    np.testing.assert_allclose(out[:3], [0.0, 5.0 / 25.0, 1.0], rtol=1e-15)
    assert np.isnan(out[3])
    assert t_critical(19) == pytest.approx(stats.t.ppf(0.975, 19), rel=1e-12)
    assert t_critical(7.5, 0.9) == pytest.approx(stats.t.ppf(0.95, 7.5), rel=1e-12)


def test_peak_effects_sample_voxel_effects_in_order():
    rng = np.random.default_rng(7)
    n, v = 14, 50
    y = 0.3 + rng.standard_normal((n, v))
    y[:, 5] = 1.0  # constant voxel: fitted exactly, sigma2 = 0
    fit = _fit(y, np.ones((n, 1)), ["intercept"])
    con = _contrast(fit, [1.0])
    full = voxel_effects(con, fit).to_frame()
    idx = np.array([10, -1, 3, 10, 5])
    table = peak_effects(con, fit, idx)
    assert tuple(table.columns) == T_EFFECT_COLUMNS
    assert list(table.index) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(table.iloc[[0, 2, 3]].to_numpy(), full.iloc[[10, 3, 10]])
    assert table.iloc[1].isna().all()
    # exact fit: the estimate is exact (CI of width 0), d undefined
    assert table.loc[4, "effect"] == pytest.approx(1.0, rel=1e-12)
    assert table.loc[4, "effect_ci_low"] == table.loc[4, "effect_ci_high"]
    assert np.isnan(table.loc[4, "cohens_d"])
    empty = peak_effects(con, fit, np.array([], dtype=np.int64))
    assert tuple(empty.columns) == T_EFFECT_COLUMNS and len(empty) == 0
    # F contrast: partial eta squared only
    x = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    fit2 = _fit(y, x, ["i", "a", "b"])
    con_f = _contrast(fit2, np.eye(3)[1:], "F")
    table_f = peak_effects(con_f, fit2, np.array([0, 7]))
    assert tuple(table_f.columns) == F_EFFECT_COLUMNS
    expected = con_f.stat[[0, 7]] * 2 / (con_f.stat[[0, 7]] * 2 + (n - 3))
    np.testing.assert_allclose(table_f["partial_eta2"], expected, rtol=RTOL)


def test_cluster_mean_effect_is_mean_over_cluster_voxels():
    rng = np.random.default_rng(8)
    n, v = 10, 12
    y = rng.standard_normal((n, v))
    fit = _fit(y, np.ones((n, 1)), ["intercept"])
    con = _contrast(fit, [1.0])
    labels = np.array([0, 1, 1, 2, 0, 2, 2, 1, 0, 0, 0, 0])
    out = cluster_mean_effect(con, labels, 3)
    means = y.mean(axis=0)
    np.testing.assert_allclose(out[:2], [means[[1, 2, 7]].mean(), means[[3, 5, 6]].mean()])
    assert out.shape == (3,) and np.isnan(out[2])  # cluster 3 has no voxel
    # a multi-row F contrast has no scalar estimate
    x = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    fit2 = _fit(y, x, ["i", "a", "b"])
    assert np.isnan(cluster_mean_effect(_contrast(fit2, np.eye(3)[1:], "F"), labels, 2)).all()


def test_bad_arguments_are_refused():
    rng = np.random.default_rng(9)
    y = rng.standard_normal((8, 6))
    fit = _fit(y, np.ones((8, 1)), ["intercept"])
    con = _contrast(fit, [1.0])
    with pytest.raises(ValueError, match="confidence level"):
        voxel_effects(con, fit, level=1.0)
    other = _fit(rng.standard_normal((8, 5)), np.ones((8, 1)), ["intercept"])
    with pytest.raises(ContrastError, match=r"shape \(6,\)"):
        voxel_effects(con, other)
    with pytest.raises(ContrastError, match=r"\[-1, 6\)"):
        peak_effects(con, fit, np.array([0, 6]))
    with pytest.raises(ContrastError, match="integer"):
        peak_effects(con, fit, np.array([0.0, 1.0]))
    with pytest.raises(ContrastError, match="0..2"):
        cluster_mean_effect(con, np.array([0, 1, 3, 0, 0, 0]), 2)
