"""The non-sphericity fit of a within-subject ANOVA: whitened fit, epsilons, refusals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from glmreport.errors import DesignError
from glmreport.glm.contrasts import compute_contrast
from glmreport.glm.covariance import greenhouse_geisser
from glmreport.glm.results import DesignMatrix
from glmreport.glm.within_subject import ALL_CELLS, effect_contrasts, fit_within_subject


def design_of(cells: list[str], subjects: list[str]) -> DesignMatrix:
    names = sorted(set(cells))
    subs = sorted(set(subjects))
    x = np.hstack(
        [
            (np.array(cells)[:, None] == np.array(names)).astype(float),
            (np.array(subjects)[:, None] == np.array(subs)).astype(float),
        ]
    )
    return DesignMatrix(
        matrix=x,
        columns=tuple(names) + tuple(f"sub-{s}" for s in subs),
        nuisance=tuple(f"sub-{s}" for s in subs),
    )


def test_a_2_x_3_design_is_whitened_with_an_epsilon_per_effect():
    rng = np.random.default_rng(0)
    a_levels, b_levels, n_sub = ("a1", "a2"), ("b1", "b2", "b3"), 12
    rows = [(s, a, b) for s in range(n_sub) for a in a_levels for b in b_levels]
    cells = [f"{a}_{b}" for _, a, b in rows]
    subjects = [f"{s:02d}" for s, _, _ in rows]
    factors = {"A": [a for _, a, _ in rows], "B": [b for _, _, b in rows]}
    sd = np.array([1.0, 1.0, 2.0, 1.0, 1.0, 3.0])  # cells in row order a1_b1 .. a2_b3
    data = (rng.standard_normal((n_sub, 6, 3000)) * sd[None, :, None]).reshape(n_sub * 6, 3000)
    design = design_of(cells, subjects)
    out = fit_within_subject(data, design, cells=cells, subjects=subjects, factors=factors)
    assert out.fit.noise_model == "nonsphericity" and out.fit.design is design
    n, rank = data.shape[0], np.linalg.matrix_rank(design.matrix)
    assert out.fit.dof == pytest.approx(n - rank, abs=1e-6)
    assert set(out.epsilons) == {ALL_CELLS, "A", "B", "A x B"}
    assert out.epsilons["A"] == pytest.approx(1.0)  # one contrast: always spherical
    assert out.epsilons[ALL_CELLS] < 0.9  # unequal variances
    contrasts = effect_contrasts(cells, factors, out.estimate.levels)
    for name in ("B", "A x B"):
        want = greenhouse_geisser(out.estimate.level_covariance, contrasts[name])
        assert out.epsilons[name] == pytest.approx(want)
    summary = out.summary()
    assert summary["epsilon_by_effect"] == {k: v for k, v in out.epsilons.items() if k != ALL_CELLS}
    assert summary["levels"] == list(out.estimate.levels) and summary["dof"] == out.fit.dof
    # contrasts run on the whitened fit unchanged
    weights = np.zeros((1, design.matrix.shape[1]))
    weights[0, :2] = [1, -1]
    result = compute_contrast(out.fit, weights, name="c", label="c", stat_type="t")
    assert result.dof == out.fit.dof and np.isfinite(result.z).all()


def test_effect_contrasts_span_the_textbook_effects():
    levels = ["x", "y"], ["p", "q", "r"]
    cells = ["_".join(c) for c in itertools.product(*levels)]
    factors = {"A": [c.split("_")[0] for c in cells], "B": [c.split("_")[1] for c in cells]}
    out = effect_contrasts(cells, factors, cells)
    assert {k: v.shape for k, v in out.items()} == {"A": (6, 1), "B": (6, 2), "A x B": (6, 2)}
    # every column is a contrast (sums to 0) and the three effects are orthogonal
    for mat in out.values():
        np.testing.assert_allclose(mat.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out["A"].T @ out["B"], 0, atol=1e-12)
    np.testing.assert_allclose(out["B"].T @ out["A x B"], 0, atol=1e-12)
    # A: x cells against y cells
    a = out["A"][:, 0]
    assert np.allclose(a[:3], a[0]) and np.allclose(a[3:], -a[0])


def test_two_cells_are_refused():
    cells = ["a", "b"] * 6
    subjects = [str(i // 2) for i in range(12)]
    design = design_of(cells, subjects)
    data = np.random.default_rng(1).standard_normal((12, 50))
    with pytest.raises(DesignError, match="at least 3 within-subject cells"):
        fit_within_subject(data, design, cells=cells, subjects=subjects)
