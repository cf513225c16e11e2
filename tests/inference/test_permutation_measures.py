"""What the nulls measure: cluster-forming threshold, critical values and FWE p-values."""

from __future__ import annotations

import numpy as np
import pytest

from glmreport.errors import InferenceError
from glmreport.inference.permutation import (
    cluster_forming_threshold,
    cluster_measures,
    critical_value,
    fwe_p_values,
)
from glmreport.inference.permutation.measures import map_maxima
from glmreport.inference.tfce import neighbour_graph, tfce


@pytest.mark.parametrize("n_perm", [20, 99, 100, 1000, 10000])
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_critical_value_matches_p_values(n_perm, alpha):
    rng = np.random.default_rng(n_perm)
    null = np.round(rng.gamma(4.0, size=n_perm), 2)  # with ties
    scores = np.concatenate([null, rng.gamma(4.0, size=500), [null.max(), null.max() + 1]])
    crit = critical_value(null, alpha)
    p = fwe_p_values(scores, null)
    np.testing.assert_array_equal(p < alpha, scores > crit)
    assert p[-2] >= 1 / n_perm
    assert p[-1] == 0.0


def test_cluster_forming_threshold():
    assert cluster_forming_threshold(0.001, "t", 15, two_sided=True) == pytest.approx(4.0728, 1e-4)
    assert cluster_forming_threshold(0.001, "t", 15) == pytest.approx(3.7328, 1e-4)
    assert cluster_forming_threshold(0.01, "F", 20, 2) == pytest.approx(5.8489, 1e-4)
    with pytest.raises(InferenceError, match="cluster_forming_p"):
        cluster_forming_threshold(1.5, "t", 10)


def test_fwe_p_values_by_hand():
    null = np.array([1.0, 3.0, 2.0, 5.0])
    np.testing.assert_allclose(
        fwe_p_values([0.5, 2.0, 2.5, 5.0, 6.0], null), [1, 0.75, 0.5, 0.25, 0]
    )


def _line():
    """Six voxels in a row: clusters {0, 1} (+3) and {3, 4} (-4) above 2, voxel 5 at 1."""
    graph = neighbour_graph(np.ones((6, 1, 1), bool), 6)
    return graph, np.array([3.0, 3.0, 0.0, -4.0, -4.0, 1.0])


def test_cluster_measures_sizes_and_masses():
    graph, stat = _line()
    voxels, labels, sizes, masses = cluster_measures(stat, 2.0, graph, two_sided=True)
    np.testing.assert_array_equal(voxels, [0, 1, 3, 4])
    assert labels[0] == labels[1] != labels[2] == labels[3]
    np.testing.assert_array_equal(np.sort(sizes), [2, 2])
    np.testing.assert_allclose(np.sort(masses), [2.0, 4.0])  # sum of |stat| - threshold
    voxels, _, sizes, masses = cluster_measures(stat, 2.0, graph, two_sided=False)
    np.testing.assert_array_equal(voxels, [0, 1])
    np.testing.assert_allclose([sizes[0], masses[0]], [2.0, 2.0])
    voxels, labels, sizes, masses = cluster_measures(stat, 9.0, graph, two_sided=True)
    assert voxels.size == labels.size == sizes.size == masses.size == 0


def test_map_maxima():
    graph, stat = _line()
    size, mass, tf = map_maxima(stat, graph, 2.0, None, True)
    assert (size, mass, tf) == (2.0, 4.0, 0.0)
    kw = {"E": 0.5, "H": 2.0, "dh": "auto"}
    size, mass, tf = map_maxima(stat, graph, None, kw, True)
    assert (size, mass) == (0.0, 0.0)
    assert tf == pytest.approx(np.abs(tfce(stat, graph, two_sided=True, **kw)).max())
