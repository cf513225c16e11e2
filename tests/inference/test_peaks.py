"""Peaks: local maxima within a cluster, the greedy choice of sub-peaks, and their ids."""

from __future__ import annotations

import numpy as np

from glmreport.inference.peaks import candidates, local_maxima, peak_ids, select_peaks


def _line(values, labels):
    """Voxels along x of a (n, 1, 1) volume."""
    n = len(values)
    ijk = np.column_stack([np.arange(n), np.zeros(n, int), np.zeros(n, int)])
    return ijk, np.asarray(labels), np.asarray(values, dtype=float), (n, 1, 1)


def test_local_maxima_within_each_cluster():
    ijk, labels, values, shape = _line([1, 3, 2, 5, 4, 4], [1, 1, 1, 1, 2, 2])
    # voxel 3 (5.0) beats voxel 4 (4.0) but they are in different clusters: both are maxima;
    # the plateau 4, 4 of cluster 2 is represented by its first voxel
    np.testing.assert_array_equal(
        local_maxima(ijk, labels, values, shape), [False, True, False, True, True, False]
    )


def test_greedy_selection_by_height_and_distance():
    # one cluster, maxima at x = 0 (9), 3 (8), 5 (7), 9 (6) mm (unit voxels)
    values = [9, 1, 1, 8, 1, 7, 1, 1, 1, 6]
    ijk, labels, heights, shape = _line(values, [1] * 10)
    cand = candidates(np.arange(10), ijk, labels, heights, shape, np.eye(4))
    np.testing.assert_array_equal(cand.voxels, [0, 3, 5, 9])  # highest first
    np.testing.assert_array_equal(cand.first, [0])
    # more than 3.5 mm apart: 0, then 5 (3 is too close to 0), then 9
    ranks = select_peaks(cand, 1, min_distance_mm=3.5, max_subpeaks=3)
    np.testing.assert_array_equal(ranks, [0, -1, 1, 2])
    # at most one sub-peak
    ranks = select_peaks(cand, 1, min_distance_mm=3.5, max_subpeaks=1)
    np.testing.assert_array_equal(ranks, [0, -1, 1, -1])
    # exactly 4 mm is not "more than 4 mm": 9 is dropped after 5
    ranks = select_peaks(cand, 1, min_distance_mm=4.0, max_subpeaks=3)
    np.testing.assert_array_equal(ranks, [0, -1, 1, -1])


def test_peak_ids():
    ids = peak_ids(np.array([1, 1, 1, 2, 12]), np.array([0, 1, 2, 0, 0]), 30)
    assert list(ids) == ["1", "1a", "1b", "2", "12"]
    many = peak_ids(np.full(29, 3), np.arange(29), 28)
    assert list(many[[0, 1, 26, 27, 28]]) == ["3", "3a", "3z", "3aa", "3ab"]
