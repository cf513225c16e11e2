"""The design partition of permutation inference: effect and nuisance bases, scheme, row labels."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.group_data import two_group

from glmreport.inference.permutation import (
    partition_design,
)


@pytest.mark.parametrize(
    ("design", "weights", "scheme", "n_nuisance"),
    [
        ("one", [[1.0]], "sign-flip", 0),
        ("groups", [[1.0, -1.0]], "freedman-lane", 1),
        ("groups", [[1.0, 0.0]], "sign-flip", 1),
        ("groups", [[0.5, 0.5]], "sign-flip", 1),
        ("age", [[0.0, 1.0]], "freedman-lane", 1),
        ("age", [[1.0, 0.0]], "sign-flip", 1),
        ("age_only", [[1.0]], "freedman-lane", 0),
        ("three", [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "freedman-lane", 1),
        ("three", [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "sign-flip", 0),
    ],
)
def test_partition_design(design, weights, scheme, n_nuisance):
    n = 10
    rng = np.random.default_rng(0)
    age = rng.normal(40, 10, n)
    g = two_group(n)[:, 0]
    x = {
        "one": np.ones((n, 1)),
        "groups": two_group(n),
        "age": np.column_stack([np.ones(n), age]),
        "age_only": age[:, None],
        "three": np.column_stack([np.ones(n), g, age]),
    }[design]
    model = partition_design(x, np.array(weights))
    assert model.scheme == scheme
    assert model.nuisance_basis.shape[1] == n_nuisance
    assert model.df_num == len(weights)
    assert model.dof == n - np.linalg.matrix_rank(x)
    basis = model.basis
    np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-10)
    # same column space as the design
    np.testing.assert_allclose(basis @ (basis.T @ x), x, atol=1e-8 * np.abs(x).max())


def test_partition_rank_deficient_anova():
    """Cell means plus subject columns (rank-deficient): the condition effect is tested."""
    n_sub, n_cond = 5, 3
    subj = np.kron(np.eye(n_sub), np.ones((n_cond, 1)))
    cond = np.kron(np.ones((n_sub, 1)), np.eye(n_cond))
    x = np.hstack([cond, subj])
    w = np.array([[1.0, -1.0, 0.0] + [0.0] * n_sub, [0.0, 1.0, -1.0] + [0.0] * n_sub])
    model = partition_design(x, w)
    assert model.scheme == "freedman-lane"
    assert model.df_num == 2
    assert model.dof == n_sub * n_cond - (n_sub + n_cond - 1)
    assert model.nuisance_basis.shape[1] == n_sub
