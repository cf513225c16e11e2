"""Cluster index maps: every voxel of a cluster carries the cluster's number in the table.

As FSL's ``cluster --oindex`` and SPM's label image, for region-of-interest work: the value of
a voxel is the ``cluster_id`` of its cluster in the correction's clusters table, 0 outside every
cluster; the clusters of negative statistics of a two-sided test (``sign == '-'``, numbered
after the positive ones) carry their number negated. The number of voxels holding ``k`` (or
``-k``) is the table's ``size_voxels`` of cluster ``k``.

ARI reports nested clusters at several cluster-forming thresholds (numbered on through the
table, lowest threshold first), which one volume cannot hold: its map has one volume per
threshold (:attr:`~glmreport.inference.results.CorrectionResult.cluster_index`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .results import CorrectionResult

__all__ = ["cluster_index_map", "signed_labels"]


def signed_labels(labels: np.ndarray, clusters: pd.DataFrame, *, offset: int = 0) -> np.ndarray:
    """Cluster labels as an index map: ``id + offset``, negated for ``sign == '-'`` clusters.

    Parameters
    ----------
    labels : (v,) ndarray of int
        0 outside clusters, ``k`` in the cluster whose ``cluster_id`` is ``k``.
    clusters : DataFrame
        The clusters table of those labels (``cluster_id`` and, two-sided, ``sign``).
    offset : int
        Added to every number (ARI numbers its thresholds' clusters on through the table).

    Returns
    -------
    (v,) ndarray of int32
    """
    labels = np.asarray(labels, dtype=np.int64)
    out = np.where(labels > 0, labels + offset, 0)
    if len(clusters) and "sign" in clusters.columns:
        negative_ids = clusters.loc[clusters["sign"] == "-", "cluster_id"].to_numpy(np.int64)
        out = np.where(np.isin(labels, negative_ids) & (labels > 0), -out, out)
    return out.astype(np.int32)


def cluster_index_map(result: CorrectionResult) -> np.ndarray | None:
    """The cluster index map of a correction result.

    Parameters
    ----------
    result : CorrectionResult

    Returns
    -------
    (v,) or (k, v) ndarray of int32, or None
        ``result.cluster_index`` when the method made its own (ARI), else the signed
        ``cluster_labels`` (:func:`signed_labels`); None for a result without clusters.
    """
    if result.cluster_index is not None:
        return np.asarray(result.cluster_index).astype(np.int32)
    if result.cluster_labels is None:
        return None
    return signed_labels(result.cluster_labels, result.clusters)
