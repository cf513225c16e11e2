"""Frozen results of inference: :class:`CorrectionResult` and the column schema of the
cluster and peak tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Column schema of every clusters table (extra columns such as atlas labels may follow).
CLUSTER_COLUMNS = (
    "cluster_id",
    "sign",
    "size_voxels",
    "volume_mm",
    "peak_x",
    "peak_y",
    "peak_z",
    "peak_value",
    "peak_stat",
)


#: Column schema of every peaks table (extra columns such as atlas labels may follow).
PEAK_COLUMNS = (
    "cluster_id",
    "peak_x",
    "peak_y",
    "peak_z",
    "peak_value",
    "peak_stat",
    "size_voxels",
    "volume_mm",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectionResult:
    """A correction applied to one contrast: thresholds, survivors and tables.

    Attributes
    ----------
    method : str
        Config method name (``fdr``, ``permutation`` ...).
    desc : str
        File-name label unique within the contrast, e.g. ``fdr``, ``permMaxT``,
        ``permClusterSize``, ``rft``, ``fdrQ01``; used as ``desc-<desc>`` in output names
        (:meth:`CorrectionSpec.result_desc`).
    title : str
        Human-readable name, e.g. ``"FDR q < 0.05 (Benjamini-Hochberg)"``.
    alpha : float
    two_sided : bool
    threshold_z : float or None
        Voxel height threshold on the z scale (None where the method has no height threshold).
    threshold_stat : float or None
        The same threshold in the contrast's own units (t or F).
    cluster_extent : int
        Minimum cluster size in voxels applied (0 = none).
    surviving : (v,) ndarray of bool
        In-mask voxels that survive.
    clusters : DataFrame
        Columns start with ``CLUSTER_COLUMNS``; method-specific columns may follow
        (e.g. ``p_fwe``, ``tdp``).
    peaks : DataFrame
        Columns start with ``PEAK_COLUMNS``; ``cluster_id`` strings like ``"1"``, ``"1a"``
        (main peak, then sub-peaks). Negative clusters are numbered after the positive ones
        and marked by ``sign == '-'`` in the clusters table.
    params : dict
        Method parameters as configured (n_perm, seed, cluster_forming_p, ...).
    extras : dict
        JSON-serialisable method-specific numbers (critical cluster size, FWHM, resels ...).
    maps : dict of str -> (v,) ndarray
        Extra voxel maps to write, keyed by BIDS ``stat-`` label (e.g. ``logp_fwe``, ``tfce``,
        ``tdp``).
    arrays : dict of str -> ndarray
        Extra arrays saved to an ``.npz`` beside the tables (e.g. null distributions).
    cluster_labels : (v,) ndarray of int or None
        Cluster membership of each in-mask voxel (0 = none, k = ``cluster_id`` k), as returned
        by ``clusters.find_clusters``; used for atlas composition and cluster figures.
    route : str
        What kind of result this is, by its default name (``permMaxT``, ``rftCluster``,
        ``fdr`` ...), whatever the entry's label; empty means the same as ``desc``.
    cluster_index : (v,) or (k, v) ndarray of int or None
        The cluster index map written beside the tables, when it is not the one
        :func:`~glmreport.inference.cluster_index.cluster_index_map` derives from
        ``cluster_labels`` and the clusters table (ARI: one row per cluster-forming threshold).
    z : (v,) ndarray or None
        The z values this result thresholds when they are not the contrast's (a permutation
        entry of a model fitted with non-sphericity correction thresholds the OLS statistic);
        its thresholded map shows them. None: the contrast's.
    """

    method: str
    desc: str
    title: str
    alpha: float
    two_sided: bool
    threshold_z: float | None
    threshold_stat: float | None
    cluster_extent: int
    surviving: np.ndarray
    clusters: pd.DataFrame
    peaks: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    cluster_labels: np.ndarray | None = None
    route: str = ""
    cluster_index: np.ndarray | None = None
    z: np.ndarray | None = None
