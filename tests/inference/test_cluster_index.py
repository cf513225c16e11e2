"""Cluster index maps from cluster labels and the clusters table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from glmreport.inference.cluster_index import cluster_index_map, signed_labels
from glmreport.inference.clusters import find_clusters
from glmreport.inference.results import CorrectionResult


def test_signed_labels_negate_negative_clusters_and_add_the_offset():
    labels = np.array([0, 1, 1, 2, 3, 0, 3])
    table = pd.DataFrame({"cluster_id": [1, 2, 3], "sign": ["+", "-", "-"]})
    np.testing.assert_array_equal(signed_labels(labels, table), [0, 1, 1, -2, -3, 0, -3])
    np.testing.assert_array_equal(signed_labels(labels, table, offset=4), [0, 5, 5, -6, -7, 0, -7])
    assert signed_labels(labels, table).dtype == np.int32
    # one-sided tables may have no sign column
    one = pd.DataFrame({"cluster_id": [1, 2, 3]})
    np.testing.assert_array_equal(signed_labels(labels, one), [0, 1, 1, 2, 3, 0, 3])


def _result(**kwargs) -> CorrectionResult:
    base = dict(
        method="uncorrected",
        desc="uncorrected",
        title="t",
        alpha=0.05,
        two_sided=True,
        threshold_z=1.0,
        threshold_stat=1.0,
        cluster_extent=0,
        surviving=np.zeros(4, bool),
        clusters=pd.DataFrame({"cluster_id": [], "sign": []}),
        peaks=pd.DataFrame(),
    )
    return CorrectionResult(**{**base, **kwargs})


def test_index_map_of_two_sided_clusters_matches_the_table():
    mask = np.ones((6, 6, 6), bool)
    z = np.zeros(mask.sum())
    vol = np.zeros(mask.shape)
    vol[1:3, 1:3, 1:3], vol[4:6, 4:6, 4] = 4.0, -5.0
    z[:] = vol[mask]
    surviving = np.abs(z) > 3
    cset = find_clusters(z, surviving, mask=mask, affine=np.eye(4), two_sided=True)
    res = _result(
        surviving=surviving, clusters=cset.clusters, peaks=cset.peaks, cluster_labels=cset.labels
    )
    index = cluster_index_map(res)
    sizes = {
        int(r.cluster_id) * (-1 if r.sign == "-" else 1): int(r.size_voxels)
        for r in cset.clusters.itertuples()
    }
    values, n = np.unique(index[index != 0], return_counts=True)
    assert dict(zip(values.tolist(), n.tolist(), strict=True)) == sizes == {1: 8, -2: 4}
    assert np.all(z[index < 0] < 0) and np.all(z[index > 0] > 0)


def test_a_method_map_wins_and_no_labels_give_none():
    assert cluster_index_map(_result()) is None
    stack = np.array([[0, 1, 1, 0], [0, 2, 0, 0]])
    res = dataclasses.replace(_result(), cluster_labels=np.zeros(4, int), cluster_index=stack)
    out = cluster_index_map(res)
    np.testing.assert_array_equal(out, stack)
    assert out.dtype == np.int32
