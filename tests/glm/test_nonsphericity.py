"""Non-sphericity: covariance components, ReML pooling, whitening, dof and Greenhouse-Geisser.

Seeded synthetic data of a within-subject design (16 subjects x 3 levels unless a test says
otherwise); values are asserted against hand computations or closed forms with stated
tolerances. Reference comparisons (scipy optimisation, statsmodels GLS, null simulations) are in
tests/reference/test_nonsphericity_reference.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from glmreport.errors import DesignError, GlmReportError
from glmreport.glm.nonsphericity import (
    SELECT_ALL,
    estimate_nonsphericity,
    greenhouse_geisser,
    select_voxels,
    variance_components,
)
from glmreport.glm.reml import (
    component_stack,
    reduce_components,
    reml,
    residual_basis,
    settle_unidentified,
)
from glmreport.glm.whitening import effective_dof, fit_whitened, whitening_matrix

N_SUBJECTS = 16
LEVELS = ("a", "b", "c")


def within_design(n_subjects: int = N_SUBJECTS, levels: tuple[str, ...] = LEVELS):
    """Rows subject-major; design = one column per level, then one per subject."""
    lev = np.tile(np.array(levels), n_subjects)
    sub = np.repeat([f"s{i:02d}" for i in range(n_subjects)], len(levels))
    cells = (lev[:, None] == np.array(levels)).astype(float)
    subjects = (sub[:, None] == np.unique(sub)).astype(float)
    return lev, sub, np.hstack([cells, subjects])


def level_cov(variances=(1.0, 1.0, 6.0), corr=((1, 2, 0.8),)) -> np.ndarray:
    sd = np.sqrt(np.asarray(variances, dtype=float))
    r = np.eye(sd.size)
    for i, j, c in corr:
        r[i, j] = r[j, i] = c
    return np.outer(sd, sd) * r


def simulate(cov: np.ndarray, n_voxels: int, seed: int, n_subjects: int = N_SUBJECTS):
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(cov)
    e = rng.standard_normal((n_subjects, cov.shape[0], n_voxels))
    return np.einsum("ij,sjv->siv", chol, e).reshape(n_subjects * cov.shape[0], n_voxels)


def f_stat(fit, c: np.ndarray) -> np.ndarray:
    """F of contrast rows ``c`` at every voxel (computed here, not by the package)."""
    b = c @ fit.betas
    inv = np.linalg.inv(c @ fit.cov_unscaled[0] @ c.T)
    return np.einsum("iv,ij,jv->v", b, inv, b) / (c.shape[0] * fit.sigma2)


# --------------------------------------------------------------------------- components


def test_components_names_shapes_symmetry() -> None:
    lev, sub, _ = within_design()
    comps = variance_components(lev, sub)
    assert [c.name for c in comps] == [
        "var(a)",
        "var(b)",
        "var(c)",
        "cov(a,b)",
        "cov(a,c)",
        "cov(b,c)",
    ]
    for c in comps:
        assert c.matrix.shape == (48, 48)
        assert np.array_equal(c.matrix, c.matrix.T)
        assert set(np.unique(c.matrix)) <= {0.0, 1.0}
    assert [c.kind for c in comps] == ["variance"] * 3 + ["covariance"] * 3
    assert comps[4].levels == ("a", "c")


def test_variance_components_sum_to_identity() -> None:
    lev, sub, _ = within_design()
    comps = variance_components(lev, sub)
    total = sum(c.matrix for c in comps if c.kind == "variance")
    assert np.array_equal(total, np.eye(48))
    # each level's component marks exactly that level's 16 rows
    for c, name in zip(comps[:3], LEVELS, strict=True):
        assert np.array_equal(np.flatnonzero(np.diag(c.matrix)), np.flatnonzero(lev == name))


def test_covariance_components_link_only_one_subjects_rows() -> None:
    lev, sub, _ = within_design()
    for c in variance_components(lev, sub)[3:]:
        i, j = np.nonzero(c.matrix)
        assert np.all(sub[i] == sub[j])
        assert np.all(lev[i] != lev[j])
        assert set(lev[i]) == set(c.levels)
        assert i.size == 2 * N_SUBJECTS  # one (a, b) and one (b, a) entry per subject


def test_component_options_and_cells_as_levels() -> None:
    lev, sub, _ = within_design()
    equal = variance_components(lev, sub, unequal_variance=False)
    assert [c.name for c in equal][0] == "var" and np.array_equal(equal[0].matrix, np.eye(48))
    assert len(equal) == 4
    independent = variance_components(lev, sub, dependence=False)
    assert [c.name for c in independent] == ["var(a)", "var(b)", "var(c)"]
    # 3 x 3 within-subject design: the 9 cells are the levels -> 9 variances + 36 covariances
    cells = [f"{a}_{b}" for a in "xyz" for b in "pqr"]
    lev9, sub9, _ = within_design(8, tuple(cells))
    comps = variance_components(lev9, sub9)
    assert len(comps) == 9 + 36
    assert comps[9].name == "cov(x_p,x_q)"


def test_missing_levels_drop_links_and_empty_pairs() -> None:
    lev = np.array(["a", "b", "a", "b", "c", "c"])
    sub = np.array(["1", "1", "2", "2", "3", "4"])
    comps = {c.name: c.matrix for c in variance_components(lev, sub)}
    assert set(comps) == {"var(a)", "var(b)", "var(c)", "cov(a,b)"}  # a-c, b-c never together
    assert comps["cov(a,b)"].sum() == 4.0


@pytest.mark.parametrize(
    ("levels", "subjects", "message"),
    [
        (["a", "a"], ["1", "2"], "at least 2 levels"),
        (["a", "b", "a"], ["1", "1", "1"], "several inputs in level 'a'"),
        (["a", "b"], ["1"], "2 levels but 1 subjects"),
        ([], [], "non-empty"),
    ],
)
def test_component_errors(levels, subjects, message) -> None:
    with pytest.raises(DesignError, match=message):
        variance_components(levels, subjects)


def test_component_size_is_bounded() -> None:
    n = 5000  # 3 components of 5000 x 5000 = 7.5e7 values > 2**26
    levels = np.tile(["a", "b"], n // 2)
    subjects = np.repeat(np.arange(n // 2), 2)
    with pytest.raises(DesignError, match="at most 67108864 values"):  # MAX_COMPONENT_VALUES
        variance_components(levels, subjects)


# --------------------------------------------------------------------------- Greenhouse-Geisser


def test_greenhouse_geisser_hand_computed() -> None:
    # diag(1, 2, 3): C'SC has trace 4 and squared Frobenius norm 26/3 -> 16 / (2 * 26/3) = 12/13
    assert greenhouse_geisser(np.diag([1.0, 2.0, 3.0])) == pytest.approx(12 / 13, abs=1e-12)
    # variances 1/1/6, correlation .8 between the two unit-variance levels: 144/265
    assert greenhouse_geisser(level_cov(corr=((0, 1, 0.8),))) == pytest.approx(144 / 265, abs=1e-12)


def test_greenhouse_geisser_bounds() -> None:
    compound = 2.0 * np.eye(4) + 3.0 * np.ones((4, 4))  # spherical on the contrasts
    assert greenhouse_geisser(compound) == pytest.approx(1.0, abs=1e-12)
    v = np.array([1.0, -2.0, 0.5, 0.5, 0.0])  # rank one, orthogonal to the mean: lower bound
    assert greenhouse_geisser(np.outer(v, v)) == pytest.approx(1 / 4, abs=1e-12)
    one = greenhouse_geisser(level_cov(), contrasts=np.array([[1.0], [0.0], [-1.0]]))
    assert one == pytest.approx(1.0, abs=1e-12)  # a single contrast is always spherical
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 5))
    assert 1 / 4 <= greenhouse_geisser(a @ a.T) <= 1.0


def test_greenhouse_geisser_errors() -> None:
    with pytest.raises(DesignError, match="zero on the contrasts"):
        greenhouse_geisser(np.ones((3, 3)))
    with pytest.raises(DesignError, match="k >= 2"):
        greenhouse_geisser(np.ones((1, 1)))


# --------------------------------------------------------------------------- whitening and dof


def test_whitening_matrix_whitens() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((12, 12))
    v = a @ a.T + 0.1 * np.eye(12)
    w = whitening_matrix(v)
    assert np.allclose(w, w.T, atol=1e-12)
    assert np.allclose(w @ v @ w.T, np.eye(12), atol=1e-9)
    singular = np.outer(np.ones(4), np.ones(4))
    assert np.all(np.isfinite(whitening_matrix(singular)))  # floored, not inf
    with pytest.raises(DesignError, match="symmetric"):
        whitening_matrix(np.triu(v))
    with pytest.raises(DesignError, match="finite"):
        whitening_matrix(np.full((2, 2), np.nan))


def test_effective_dof_is_n_minus_rank_when_whitened_exactly() -> None:
    _, _, x = within_design()  # 48 rows, rank 3 + 16 - 1 = 18
    v = np.kron(np.eye(N_SUBJECTS), level_cov())
    dof, tr_rv = effective_dof(x, whitening_matrix(v), v)
    assert dof == pytest.approx(30.0, abs=1e-9)
    assert tr_rv == pytest.approx(30.0, abs=1e-9)


def test_effective_dof_satterthwaite_without_whitening() -> None:
    _, _, x = within_design()
    v = np.kron(np.eye(N_SUBJECTS), level_cov())
    dof, tr_rv = effective_dof(x, np.eye(48), v)
    # independent: eigenvalues of R V R (R the OLS residual projector)
    r = np.eye(48) - x @ np.linalg.pinv(x)
    eig = np.linalg.eigvalsh(r @ v @ r)
    assert tr_rv == pytest.approx(eig.sum(), rel=1e-10)
    assert dof == pytest.approx(eig.sum() ** 2 / np.sum(eig**2), rel=1e-10)
    assert dof < 30.0


def test_fit_whitened_identity_is_ols() -> None:
    lev, sub, x = within_design()
    y = simulate(level_cov(), 50, seed=1)
    y[:, 7] = 3.0  # constant voxel: fitted exactly by the subject columns
    fit = fit_whitened(y, x, np.eye(48), chunk_size=16)
    pinv = np.linalg.pinv(x)
    assert np.allclose(fit.betas, pinv @ y, atol=1e-12)
    rss = np.sum((y - x @ (pinv @ y)) ** 2, axis=0)
    rss[7] = 0.0
    assert np.allclose(fit.sigma2, rss / 30.0, rtol=1e-10, atol=1e-14)
    assert fit.sigma2[7] == 0.0
    assert fit.dof == 30.0
    assert np.allclose(fit.cov_unscaled[0], np.linalg.pinv(x.T @ x), atol=1e-12)
    assert fit.noise_model == "nonsphericity" and fit.groups is None


def test_fit_whitened_is_generalised_least_squares() -> None:
    lev, _, x = within_design()
    cells = x[:, :3]  # full rank: the GLS formula applies directly
    v = np.kron(np.eye(N_SUBJECTS), level_cov())
    y = simulate(level_cov(), 30, seed=2)
    fit = fit_whitened(y, cells, whitening_matrix(v), covariance=v)
    vi = np.linalg.inv(v)
    cov = np.linalg.inv(cells.T @ vi @ cells)
    beta = cov @ cells.T @ vi @ y
    resid = y - cells @ beta
    assert np.allclose(fit.betas, beta, atol=1e-10)
    assert np.allclose(fit.cov_unscaled[0], cov, atol=1e-10)
    assert np.allclose(fit.sigma2, np.einsum("iv,ij,jv->v", resid, vi, resid) / 45, rtol=1e-9)
    assert fit.dof == pytest.approx(45.0, abs=1e-9)


def test_fit_whitened_errors() -> None:
    _, _, x = within_design()
    with pytest.raises(DesignError, match="one row per design row"):
        fit_whitened(np.zeros((48, 3)), x[:10], np.eye(48))
    with pytest.raises(DesignError, match="missing or infinite"):
        fit_whitened(np.full((48, 3), np.inf), x, np.eye(48))
    with pytest.raises(DesignError, match="no residual degrees of freedom"):
        fit_whitened(np.zeros((3, 2)), np.eye(3), np.eye(3))


def test_whitened_fit_runs_through_the_contrast_code() -> None:
    """The fields plug into GLMFit and compute_contrast unchanged (the integration contract)."""
    from glmreport.glm.contrasts import compute_contrast
    from glmreport.glm.results import DesignMatrix, GLMFit

    lev, sub, x = within_design()
    v = np.kron(np.eye(N_SUBJECTS), level_cov())
    y = simulate(level_cov(), 40, seed=4)
    w = fit_whitened(y, x, whitening_matrix(v), covariance=v)
    columns = tuple(LEVELS) + tuple(f"sub-{s}" for s in np.unique(sub))
    design = DesignMatrix(matrix=x, columns=columns, nuisance=columns[3:])
    fit = GLMFit(
        design=design,
        betas=w.betas,
        sigma2=w.sigma2,
        dof=w.dof,
        cov_unscaled=w.cov_unscaled,
        groups=w.groups,
        noise_model=w.noise_model,
    )
    c = np.zeros((2, x.shape[1]))
    c[0, :3], c[1, :3] = [1, -1, 0], [0, 1, -1]
    result = compute_contrast(fit, c, name="main", label="main", stat_type="F")
    assert np.allclose(result.stat, f_stat(w, c), rtol=1e-10)
    assert result.dof == pytest.approx(30.0, abs=1e-9)


# --------------------------------------------------------------------------- estimation


def test_unidentified_part_settles_to_identity_for_spherical_data() -> None:
    lev, sub, x = within_design()
    comps = variance_components(lev, sub)
    q = component_stack(comps, 48)
    a = reduce_components(q, residual_basis(x))
    result = reml(np.eye(48), x, comps)  # a spherical second moment
    assert result.converged
    lam = settle_unidentified(result.hyperparameters, q, a)
    assert np.allclose(np.tensordot(lam, q, axes=1), np.eye(48), atol=1e-8)


def test_statistics_ignore_the_unidentified_between_subject_part() -> None:
    """V and V + (same-subject blocks) give the same within-subject F (Rao 1967)."""
    lev, sub, x = within_design()
    v = np.kron(np.eye(N_SUBJECTS), level_cov())
    u = np.array([0.3, 0.2, 0.4])  # adds 1u' + u1' to every subject's block
    shifted = v + np.kron(np.eye(N_SUBJECTS), np.add.outer(u, u))
    assert np.linalg.eigvalsh(shifted)[0] > 0
    y = simulate(level_cov(), 25, seed=5)
    c = np.zeros((2, x.shape[1]))
    c[0, :3], c[1, :3] = [1, -1, 0], [0, 1, -1]
    f1 = f_stat(fit_whitened(y, x, whitening_matrix(v), covariance=v), c)
    f2 = f_stat(fit_whitened(y, x, whitening_matrix(shifted), covariance=shifted), c)
    assert np.allclose(f1, f2, rtol=1e-9)


def test_estimate_fields_and_summary() -> None:
    lev, sub, x = within_design()
    y = simulate(level_cov(), 4000, seed=6) * np.linspace(0.5, 4.0, 4000)
    ns = estimate_nonsphericity(y, x, variance_components(lev, sub), nuisance=range(3, 19))
    assert ns.V.shape == (48, 48)
    assert np.trace(ns.V) == pytest.approx(48.0, abs=1e-9)
    assert np.allclose(ns.V, ns.V.T)
    assert np.linalg.eigvalsh(ns.V)[0] > 0
    recon = sum(ns.hyperparameters[c.name] * c.matrix for c in variance_components(lev, sub))
    assert np.allclose(recon, ns.V, atol=1e-12)
    assert ns.levels == LEVELS and ns.level_covariance.shape == (3, 3)
    assert ns.converged and ns.iterations >= 2
    # null data: a few voxels pass the omnibus F, fewer than 1000 -> every voxel is pooled
    assert ns.selection == SELECT_ALL and ns.n_voxels_pooled == 4000
    # true epsilon 0.6373; Monte Carlo sd of the estimate from 4000 voxels about 0.002
    assert ns.epsilon_gg == pytest.approx(greenhouse_geisser(level_cov()), abs=0.01)
    fields = json.loads(json.dumps(ns.summary()))
    assert fields["selection"] == ns.selection and fields["levels"] == ["a", "b", "c"]
    assert set(fields) == {
        "levels",
        "covariance",
        "hyperparameters",
        "epsilon_gg",
        "n_voxels_pooled",
        "selection",
        "iterations",
        "converged",
    }


def test_selection_is_the_omnibus_f() -> None:
    lev, sub, x = within_design()
    y = simulate(level_cov(), 3000, seed=7)
    y[:, :1200] += 8.0 * (lev == "c")[:, None]  # a strong within-subject effect in 1200 voxels
    selected, selection, _ = select_voxels(y, x, nuisance=range(3, 19))
    # independent i.i.d. F: full model vs subject columns, by least squares
    rss = np.sum((y - x @ np.linalg.lstsq(x, y, rcond=None)[0]) ** 2, axis=0)
    x0 = x[:, 3:]
    rss0 = np.sum((y - x0 @ np.linalg.lstsq(x0, y, rcond=None)[0]) ** 2, axis=0)
    f = ((rss0 - rss) / 2) / (rss / 30)
    from scipy import stats

    assert selection == "omnibus F p<0.001"
    assert np.array_equal(selected, f > stats.f.isf(0.001, 2, 30))
    assert selected[:1200].all() and selected.sum() < 1220
    ns = estimate_nonsphericity(y, x, variance_components(lev, sub), nuisance=range(3, 19))
    assert ns.selection == "omnibus F p<0.001" and 1200 <= ns.n_voxels_pooled < 1220
    # fewer than min_voxels pass: every voxel with residuals is pooled
    assert select_voxels(y, x, nuisance=range(3, 19), min_voxels=1300)[1] == SELECT_ALL


def test_no_voxel_passing_falls_back_to_all_voxels() -> None:
    lev, sub, x = within_design()
    y = simulate(level_cov(), 500, seed=8)
    for name in LEVELS:  # remove every level mean: the omnibus F is 0 at every voxel
        rows = lev == name
        y[rows] -= y[rows].mean(axis=0)
    y[:, 0] = 1.0  # constant voxel: never pooled
    ns = estimate_nonsphericity(y, x, variance_components(lev, sub), nuisance=range(3, 19))
    assert ns.selection == SELECT_ALL == "all in-mask voxels"
    assert ns.n_voxels_pooled == 499


def test_single_pass_is_spm_scaling() -> None:
    """reweight=False: one pass, voxels scaled by the i.i.d. residual mean square (SPM)."""
    lev, sub, x = within_design()
    comps = variance_components(lev, sub)
    y = simulate(level_cov(), 2000, seed=9) * np.linspace(1.0, 3.0, 2000)
    ns = estimate_nonsphericity(y, x[:, :3], comps, alpha=1.0, reweight=False)
    assert ns.iterations == 1 and ns.selection == SELECT_ALL
    r = y - x[:, :3] @ np.linalg.lstsq(x[:, :3], y, rcond=None)[0]
    scaled = r / np.sqrt(np.sum(r**2, axis=0) / 45)
    moment = scaled @ scaled.T / 2000
    ref = reml(moment, x[:, :3], comps)
    v = np.tensordot(ref.hyperparameters, component_stack(comps, 48), axes=1)
    assert np.allclose(ns.V, v * 48 / np.trace(v), atol=1e-6)


def test_estimate_errors() -> None:
    lev, sub, x = within_design()
    comps = variance_components(lev, sub)
    with pytest.raises(DesignError, match="fitted exactly"):
        estimate_nonsphericity(np.ones((48, 5)), x, comps)
    with pytest.raises(DesignError, match="not positive definite"):
        estimate_nonsphericity(simulate(level_cov(), 50, seed=1), x, comps[3:4])
    with pytest.raises(DesignError, match="nuisance column"):
        estimate_nonsphericity(simulate(level_cov(), 50, seed=1), x, comps, nuisance=[40])
    with pytest.raises(DesignError, match="Component"):
        estimate_nonsphericity(simulate(level_cov(), 50, seed=1), x, [np.eye(48)])
    with pytest.raises(GlmReportError):
        estimate_nonsphericity(np.zeros((47, 5)), x, comps)


def test_paired_design_is_left_unchanged() -> None:
    """Two levels: the within-subject covariance is one number, so V = I and epsilon = 1."""
    lev, sub, x = within_design(10, ("a", "b"))
    x = np.hstack([x[:, :1], x[:, 2:]])  # paired preset: condition indicator + subjects
    y = simulate(np.array([[1.0, 0.5], [0.5, 4.0]]), 2000, seed=10, n_subjects=10)
    ns = estimate_nonsphericity(y, x, variance_components(lev, sub), nuisance=range(1, 11))
    assert np.abs(ns.V - np.eye(20)).max() < 1e-10
    assert ns.epsilon_gg == 1.0
    whitened = fit_whitened(y, x, whitening_matrix(ns.V), covariance=ns.V)
    ols = fit_whitened(y, x, np.eye(20))
    c = np.zeros((1, 11))
    c[0, 0] = 1.0
    assert np.allclose(f_stat(whitened, c), f_stat(ols, c), rtol=1e-8)


def test_three_by_three_design_uses_cells_as_levels() -> None:
    cells = tuple(f"{a}_{b}" for a in "xyz" for b in "pqr")
    lev, sub, x = within_design(12, cells)
    a = np.random.default_rng(1).standard_normal((9, 9))
    truth = a @ a.T / 9 + 0.5 * np.eye(9)
    y = simulate(truth, 5000, seed=10, n_subjects=12)
    comps = variance_components(lev, sub)
    ns = estimate_nonsphericity(y, x, comps, nuisance=range(9, 21))
    assert len(ns.components) == 45 and ns.levels == cells and ns.converged
    # epsilon over the 9 cells and for the main effect of the first factor (x, y, z);
    # Monte Carlo sd 0.0017 for both over 6 seeds
    factor = np.kron(np.array([[1, -1, 0], [0, 1, -1]]).T, np.ones((3, 1)))
    assert ns.epsilon_gg == pytest.approx(greenhouse_geisser(truth), abs=0.01)
    assert greenhouse_geisser(ns.level_covariance, factor) == pytest.approx(
        greenhouse_geisser(truth, factor), abs=0.01
    )
