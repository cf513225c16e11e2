"""Covariance components of within-subject designs and the Greenhouse-Geisser epsilon."""

from __future__ import annotations

import numpy as np
import pytest

from glmreport.errors import DesignError
from glmreport.glm.covariance import greenhouse_geisser, level_covariance, variance_components


def _paired(n_sub: int = 4):
    levels = ["pre"] * n_sub + ["post"] * n_sub
    subjects = [f"s{i}" for i in range(n_sub)] * 2
    return levels, subjects


def test_variance_components_of_a_paired_design():
    levels, subjects = _paired()
    comps = variance_components(levels, subjects)
    assert [c.name for c in comps] == ["var(post)", "var(pre)", "cov(post,pre)"]
    assert [c.kind for c in comps] == ["variance", "variance", "covariance"]
    # the variance components sum to the identity
    np.testing.assert_array_equal(comps[0].matrix + comps[1].matrix, np.eye(8))
    # the covariance links each subject's two inputs, symmetrically
    cov = comps[2].matrix
    np.testing.assert_array_equal(cov, cov.T)
    assert cov.sum() == 8 and cov[0, 4] == cov[4, 0] == 1 and cov[0, 5] == 0
    one = variance_components(levels, subjects, unequal_variance=False, dependence=False)
    assert [c.name for c in one] == ["var"]
    np.testing.assert_array_equal(one[0].matrix, np.eye(8))


def test_variance_components_errors():
    with pytest.raises(DesignError):
        variance_components(["a", "a"], ["s1", "s2"])  # one level
    with pytest.raises(DesignError):
        variance_components(["a", "a", "b"], ["s1", "s1", "s1"])  # two inputs of s1 in a
    with pytest.raises(DesignError):
        variance_components(["a", "b"], ["s1"])  # lengths differ


def test_level_covariance():
    levels, subjects = _paired()
    comps = variance_components(levels, subjects)
    names, cov = level_covariance(comps, np.array([2.0, 1.0, 0.5]))
    assert names == ("post", "pre")
    np.testing.assert_array_equal(cov, [[2.0, 0.5], [0.5, 1.0]])


def test_greenhouse_geisser():
    # compound symmetry is spherical: epsilon 1
    s = 0.5 * np.eye(4) + 0.5
    assert greenhouse_geisser(s) == pytest.approx(1.0)
    # all variance along one contrast: the lower bound 1 / (k - 1)
    c = np.array([1.0, -1.0, 0.0, 0.0]) / np.sqrt(2)
    assert greenhouse_geisser(np.outer(c, c) + 1.0) == pytest.approx(1 / 3)
    # one tested contrast: epsilon is 1 whatever the covariance
    assert greenhouse_geisser(np.diag([1.0, 2.0, 3.0]), np.array([[1.0], [-1.0], [0.0]])) == 1
    with pytest.raises(DesignError, match="zero on the contrasts"):
        greenhouse_geisser(np.ones((3, 3)))
    with pytest.raises(DesignError, match="k >= 2"):
        greenhouse_geisser(np.ones((1, 1)))
