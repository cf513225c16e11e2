"""Design QC: VIF (against statsmodels), efficiency and design correlation."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from statsmodels.stats.outliers_influence import variance_inflation_factor

from glmreport.errors import ContrastError, DesignError
from glmreport.glm.design_qc import design_array, design_correlation, efficiency, vif

RTOL = 1e-10
#: statsmodels >= 0.15 standardises by default; older versions have no such argument.
SM_STANDARDIZE = "standardize" in inspect.signature(variance_inflation_factor).parameters


def _designs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 30
    a = rng.standard_normal(n)
    b = 0.8 * a + 0.3 * rng.standard_normal(n)
    c = rng.standard_normal(n)
    g = (np.arange(n) < 12).astype(float)
    age = 30 + 5 * rng.standard_normal(n) + 4 * g  # age differs between the groups
    subjects = np.vstack([np.eye(n // 2)] * 2)
    return {
        "correlated covariates": np.column_stack([np.ones(n), a, b, c]),
        "two-sample + age": np.column_stack([np.ones(n), g, age]),
        "cell means + age": np.column_stack([g, 1 - g, age - age.mean()]),
        "paired": np.column_stack([np.r_[np.ones(n // 2), np.zeros(n // 2)], subjects]),
        "no intercept": np.column_stack([a + 2, b, c]),
        "rank-deficient": np.column_stack([np.ones(n), a, b, a - 2 * b]),
    }


def _statsmodels_vif(x: np.ndarray, j: int, standardize: bool) -> float:
    kwargs = {"standardize": standardize} if SM_STANDARDIZE else {}
    with warnings.catch_warnings():  # ill-conditioning / division by zero on purpose
        warnings.simplefilter("ignore")
        return float(variance_inflation_factor(x, j, **kwargs))


@pytest.mark.parametrize("name", list(_designs()))
@pytest.mark.parametrize("standardize", [False, True])
def test_vif_matches_statsmodels(name, standardize):
    if standardize and not SM_STANDARDIZE:
        pytest.skip("this statsmodels has no standardize argument")
    x = _designs()[name]
    columns = [f"c{j}" for j in range(x.shape[1])]
    ours = vif(x, columns, standardize=standardize)
    constant = [j for j in range(x.shape[1]) if np.ptp(x[:, j]) == 0]
    assert list(ours) == [columns[j] for j in range(x.shape[1]) if j not in constant]
    for j, column in enumerate(columns):
        if j in constant:
            continue
        ref = _statsmodels_vif(x, j, standardize)
        if np.isinf(ours[column]):
            assert name == "rank-deficient" or (
                standardize and name in ("cell means + age", "paired")
            )
            assert ref > 1e12  # statsmodels: 1 / (1 - R^2) with R^2 = 1 up to rounding
        else:
            assert ours[column] == pytest.approx(ref, rel=RTOL)


def test_vif_values_by_hand():
    # two covariates with sample correlation r, intercept: VIF = 1 / (1 - r^2) for both
    rng = np.random.default_rng(1)
    n = 25
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    b = 0.6 * a + b
    r = np.corrcoef(a, b)[0, 1]
    out = vif(np.column_stack([np.ones(n), a, b]), ["intercept", "a", "b"])
    assert out == pytest.approx({"a": 1 / (1 - r**2), "b": 1 / (1 - r**2)}, rel=RTOL)
    # orthogonal cell means: 1; rank-deficient: inf; a single column: 1
    cells = np.repeat(np.eye(3), 4, axis=0)
    assert vif(cells, ["a", "b", "c"]) == {"a": 1.0, "b": 1.0, "c": 1.0}
    with_subjects = np.column_stack([cells, np.tile(np.eye(4), (3, 1))])
    assert all(np.isinf(list(vif(with_subjects, list("abcdefg")).values())))
    assert vif(a[:, None], ["a"]) == {"a": 1.0}
    with pytest.raises(DesignError, match="2 column names"):
        vif(cells, ["a", "b"])
    with pytest.raises(DesignError, match="missing or infinite"):
        vif(np.array([[1.0, np.nan], [1.0, 2.0]]), ["a", "b"])


def test_efficiency_hand_computed():
    # one-sample, n = 10: Var(mean) = sigma^2 / 10
    assert efficiency(np.ones((10, 1)), [1.0]) == pytest.approx(10.0, rel=1e-12)
    # two-sample, n1 = 4, n2 = 6, (intercept, group): Var(diff) = sigma^2 (1/4 + 1/6)
    g = np.r_[np.ones(4), np.zeros(6)]
    x = np.column_stack([np.ones(10), g])
    assert efficiency(x, [0.0, 1.0]) == pytest.approx(12 / 5, rel=1e-12)
    # F on a 3-group cell-means design (2, 3, 5): C D^-1 C' = [[5/6, -1/3], [-1/3, 8/15]]
    cells = np.repeat(np.eye(3), [2, 3, 5], axis=0)
    c = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    assert efficiency(cells, c) == pytest.approx(2 / (5 / 6 + 8 / 15), rel=1e-12)  # 60/41
    assert efficiency(cells, c, criterion="D") == pytest.approx(np.sqrt(3), rel=1e-12)
    assert efficiency(cells, c[:1]) == pytest.approx(1 / (1 / 2 + 1 / 3), rel=1e-12)
    # a rank-deficient design: estimable differences only
    anova = np.column_stack([cells, np.ones(10)])
    assert efficiency(anova, [1.0, -1.0, 0.0, 0.0]) == pytest.approx(1.2, rel=1e-10)
    with pytest.raises(ContrastError, match="not estimable"):
        efficiency(anova, [1.0, 0.0, 0.0, 0.0])
    with pytest.raises(ContrastError, match="width"):
        efficiency(cells, [1.0, -1.0])
    with pytest.raises(ContrastError, match="independent"):
        efficiency(cells, np.vstack([c, c.sum(axis=0)]), criterion="D")


def test_design_correlation_marks_constant_columns():
    x = _designs()["correlated covariates"]
    out = design_correlation(x, ["intercept", "a", "b", "c"])
    assert out.constant == ("intercept",)
    assert "intercept" in out.note
    assert np.isnan(out.matrix[0]).all() and np.isnan(out.matrix[:, 0]).all()
    np.testing.assert_allclose(out.matrix[1:, 1:], np.corrcoef(x[:, 1:].T), rtol=1e-12)
    assert out.matrix.shape == (4, 4) and out.columns == ("intercept", "a", "b", "c")
    clean = design_correlation(x[:, 1:], ["a", "b", "c"])
    assert clean.note == "" and clean.constant == ()
    np.testing.assert_allclose(np.diag(clean.matrix), 1.0)


def test_design_array_refuses_bad_designs():
    np.testing.assert_array_equal(design_array([[1, 2], [3, 4]], ("a", "b")), [[1, 2], [3, 4]])
    with pytest.raises(DesignError, match="2D"):
        design_array(np.ones(3), None)
    with pytest.raises(DesignError, match="column names"):
        design_array(np.ones((3, 2)), ("a",))
    with pytest.raises(DesignError, match="missing or infinite"):
        design_array(np.array([[1.0, np.nan]]), None)
