"""Fixed-effects combination of runs (no reference library)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from glmreport.errors import ContrastError
from glmreport.glm.contrasts import compute_contrast, estimate_contrast
from glmreport.glm.fixed_effects import fixed_effects
from glmreport.glm.results import ContrastResult, DesignMatrix, GLMFit


def _t_result(effect, var, dof, weights=(1.0, 0.0), columns=("a", "b")):
    effect = np.asarray(effect, float)
    var = np.asarray(var, float)
    t = np.divide(effect, np.sqrt(var), out=np.zeros_like(effect), where=var > 0)
    return ContrastResult(
        name="c",
        label="c",
        stat_type="t",
        weights=np.array([weights]),
        columns=columns,
        effect=effect[None],
        variance=var[None, None],
        stat=t,
        p=stats.t.sf(t, dof),
        z=np.zeros_like(t),
        dof=dof,
    )


def test_fixed_effects_t_precision_weighted():
    r1 = _t_result([1.0, 2.0, 0.0], [1.0, 4.0, 1.0], 50)
    r2 = _t_result([3.0, 2.0, 0.0], [3.0, 4.0, 1.0], 70)
    ffx = fixed_effects([r1, r2], name="c", label="c")
    # voxel 0: weights 1 and 1/3 -> effect (1 + 1) / (4/3) = 1.5, variance 3/4
    np.testing.assert_allclose(ffx.effect[0], [1.5, 2.0, 0.0])
    np.testing.assert_allclose(ffx.variance[0, 0], [0.75, 2.0, 0.5])
    np.testing.assert_allclose(ffx.stat, ffx.effect[0] / np.sqrt(ffx.variance[0, 0]))
    assert ffx.dof == 120.0 and ffx.df_num == 1
    np.testing.assert_allclose(ffx.p, stats.t.sf(ffx.stat, 120), rtol=1e-10)
    np.testing.assert_allclose(ffx.z, stats.norm.isf(ffx.p), atol=1e-8)
    assert ffx.columns == ("a", "b")
    plain = fixed_effects([r1, r2], name="c", label="c", precision_weighted=False)
    np.testing.assert_allclose(plain.effect[0], [2.0, 2.0, 0.0])
    np.testing.assert_allclose(plain.variance[0, 0], [1.0, 2.0, 0.5])


@pytest.mark.parametrize("precision_weighted", [True, False])
def test_fixed_effects_one_row_f_is_the_squared_t(precision_weighted):
    """An F contrast of one row combines as the t does: F = t^2 (it used to fail)."""
    runs_t = [
        _t_result([1.0, -2.0, 0.0], [1.0, 4.0, 0.0], 50),
        _t_result([3.0, 2.0, 0.0], [3.0, 4.0, 0.0], 70),
    ]
    runs_f = [dataclasses.replace(r, stat_type="F", stat=r.stat**2) for r in runs_t]
    t = fixed_effects(runs_t, name="c", label="c", precision_weighted=precision_weighted)
    f = fixed_effects(runs_f, name="c", label="c", precision_weighted=precision_weighted)
    assert f.df_num == 1 and f.dof == t.dof == 120.0
    np.testing.assert_allclose(f.stat, t.stat**2, rtol=1e-12)
    np.testing.assert_allclose(f.p, stats.f.sf(f.stat, 1, 120), rtol=1e-10)
    # no variance in any run: no statistic
    assert f.stat[2] == 0.0 and f.p[2] == 1.0 and f.z[2] == 0.0


def test_fixed_effects_zero_variance_run_is_ignored():
    r1 = _t_result([0.0, 0.0], [0.0, 0.0], 50)  # constant voxels in run 1
    r2 = _t_result([2.0, 0.0], [1.0, 0.0], 50)
    ffx = fixed_effects([r1, r2], name="c", label="c")
    np.testing.assert_allclose(ffx.effect[0], [2.0, 0.0])
    np.testing.assert_allclose(ffx.stat, [2.0, 0.0])
    assert ffx.p[1] == 1.0 and ffx.z[1] == 0.0


def test_fixed_effects_z_finite_for_huge_t():
    r = _t_result([100.0], [1e-4], 100)
    ffx = fixed_effects([r, r], name="c", label="c")
    assert np.isfinite(ffx.z).all() and ffx.z[0] > 30


def test_fixed_effects_f_wald_combination():
    rng = np.random.default_rng(5)
    n, v, p = 80, 7, 3
    fits, results = [], []
    for run in range(2):
        x = np.column_stack([rng.normal(size=(n, 2)), np.ones(n)])
        y = x @ rng.normal(size=(p, v)) + rng.normal(size=(n, v)) * (1 + run)
        pinv = np.linalg.pinv(x)
        b = pinv @ y
        s2 = ((y - x @ b) ** 2).sum(0) / (n - p)
        fit = GLMFit(
            design=DesignMatrix(matrix=x, columns=("u", "w", "constant")),
            betas=b,
            sigma2=s2,
            dof=float(n - p),
            cov_unscaled=(pinv @ pinv.T)[None],
        )
        fits.append(fit)
        c = np.array([[1.0, 0, 0], [0, 1.0, 0]])
        results.append(compute_contrast(fit, c, name="f", label="f", stat_type="F"))
    ffx = fixed_effects(results, name="f", label="f")
    for j in range(v):
        precs = [np.linalg.inv(r.variance[:, :, j]) for r in results]
        total = sum(precs)
        e = np.linalg.solve(
            total, sum(P @ r.effect[:, j] for P, r in zip(precs, results, strict=True))
        )
        np.testing.assert_allclose(ffx.effect[:, j], e, rtol=1e-10)
        np.testing.assert_allclose(ffx.variance[:, :, j], np.linalg.inv(total), rtol=1e-10)
        np.testing.assert_allclose(ffx.stat[j], e @ total @ e / 2, rtol=1e-10)
    assert ffx.df_num == 2 and ffx.dof == 2 * (n - p)
    np.testing.assert_allclose(ffx.p, stats.f.sf(ffx.stat, 2, 2 * (n - p)), rtol=1e-8)
    # the runs' effects and covariances alone (no per-run statistics) give the same maps
    for stat_type, c in (("F", [[1.0, 0, 0], [0, 1.0, 0]]), ("t", [[1.0, -1.0, 0]])):
        full = [
            compute_contrast(f, np.array(c), name="c", label="c", stat_type=stat_type) for f in fits
        ]
        est = [
            estimate_contrast(f, np.array(c), name="c", label="c", stat_type=stat_type)
            for f in fits
        ]
        a = fixed_effects(full, name="c", label="c")
        b = fixed_effects(est, name="c", label="c")
        for field in ("effect", "variance", "stat", "p", "z"):
            np.testing.assert_array_equal(getattr(b, field), getattr(a, field))
        assert (b.dof, b.df_num, b.columns) == (a.dof, a.df_num, a.columns)


def test_fixed_effects_rejects_mismatch_and_names_columns():
    r1 = _t_result([1.0, 2.0], [1.0, 1.0], 10)
    r2 = _t_result([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 10)
    with pytest.raises(ContrastError, match="same contrast on the same voxels"):
        fixed_effects([r1, r2], name="c", label="c")
    with pytest.raises(ContrastError, match="no runs"):
        fixed_effects([], name="c", label="c")
    r3 = _t_result([1.0, 2.0], [1.0, 1.0], 10, weights=(1.0, 0.0, 0.0), columns=("a", "b", "x"))
    ffx = fixed_effects([r1, r3], name="c", label="c", run_names=["r1", "r2"])
    assert ffx.columns == ("r1:a", "r1:b", "r2:a", "r2:b", "r2:x")
    assert ffx.weights.shape == (1, 5)
