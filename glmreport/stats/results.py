"""Frozen result objects passed between the statistical stages.

Arrays are stored over the voxels inside the analysis mask (``v`` = number of in-mask
voxels, in C order of the 3D mask) unless a field says it is 3D.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

StatType = Literal["t", "F"]

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
class DesignMatrix:
    """A design matrix whose named columns are the contract with contrasts.

    Attributes
    ----------
    matrix : (n_rows, n_columns) ndarray of float64
    columns : tuple of str
        Column names, unique.
    description : str
        Human-readable model name, e.g. ``"one-sample t-test"``.
    row_labels : tuple of str
        One label per row (input file name or subject/condition), may be empty.
    nuisance : tuple of str
        Columns of no interest (e.g. subject means in a paired or ANOVA design).
    """

    matrix: np.ndarray
    columns: tuple[str, ...]
    description: str = ""
    row_labels: tuple[str, ...] = ()
    nuisance: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape  # type: ignore[return-value]

    def to_frame(self) -> pd.DataFrame:
        """Return the matrix as a DataFrame with named columns."""
        return pd.DataFrame(self.matrix, columns=list(self.columns))


@dataclass(frozen=True, slots=True, kw_only=True)
class GLMFit:
    """Least-squares fit of a design to the in-mask data.

    Attributes
    ----------
    design : DesignMatrix
    betas : (n_columns, v) ndarray
    sigma2 : (v,) ndarray
        Residual variance, RSS / dof.
    dof : float
        Residual degrees of freedom.
    cov_unscaled : (n_groups, n_columns, n_columns) ndarray
        ``pinv(X'X)`` (prewhitened X for AR models) for each voxel group.
    groups : (v,) ndarray of int or None
        Index into ``cov_unscaled`` for each voxel; ``None`` means every voxel uses group 0.
    noise_model : str
        ``"ols"`` or ``"ar1"``.
    """

    design: DesignMatrix
    betas: np.ndarray
    sigma2: np.ndarray
    dof: float
    cov_unscaled: np.ndarray
    groups: np.ndarray | None = None
    noise_model: str = "ols"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContrastResult:
    """One t or F contrast evaluated at every in-mask voxel.

    Attributes
    ----------
    name : str
        As written by the user.
    label : str
        File-name-safe label (letters and digits only, camelCase), unique within a run.
    stat_type : {'t', 'F'}
    weights : (q, n_columns) ndarray
        Exactly the design's width; q == 1 for t.
    columns : tuple of str
        Design column names the weights are aligned to.
    effect : (q, v) ndarray
    variance : (q, q, v) ndarray
        Covariance of the effect estimate.
    stat : (v,) ndarray
        t or F value.
    p : (v,) ndarray
        One-sided p for t (H1: effect > 0), upper-tail p for F.
    z : (v,) ndarray
        Equivalent standard normal deviate of ``p`` (finite up to |z| >= 30).
    dof : float
        Denominator (error) degrees of freedom.
    df_num : int
        Numerator degrees of freedom (rank of the weights for F, 1 for t).
    """

    name: str
    label: str
    stat_type: StatType
    weights: np.ndarray
    columns: tuple[str, ...]
    effect: np.ndarray
    variance: np.ndarray
    stat: np.ndarray
    p: np.ndarray
    z: np.ndarray
    dof: float
    df_num: int = 1


#: The label of an entry's results when nothing else names it (other methods: the method name).
DEFAULT_DESC = {"permutation": "perm"}
#: Methods with several results (routes), each named ``<entry desc><suffix>``; the routes are
#: keyed by their default name (the result's ``desc`` when the entry keeps its default label).
ROUTE_SUFFIXES: dict[str, dict[str, str]] = {
    "permutation": {
        "permMaxT": "MaxT",
        "permClusterSize": "ClusterSize",
        "permClusterMass": "ClusterMass",
        "permTFCE": "TFCE",
    },
    "rft": {"rft": "", "rftCluster": "Cluster"},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectionSpec:
    """One validated entry of the config's ``corrections`` list.

    Attributes
    ----------
    method : str
        ``uncorrected``, ``fdr``, ``bonferroni``, ``permutation``, ``ari`` or ``rft``.
    alpha : float
    two_sided : bool
    cluster_extent : int
        Minimum cluster size in voxels (0 = none).
    contrasts : tuple of str or None
        Contrast names this entry applies to; ``None`` means all.
    params : dict
        Method-specific validated parameters (e.g. ``n_perm``, ``seed``, ``thresholds``).
    desc : str
        Label of the entry's results (letters and digits), unique within the config: the
        results' ``desc`` for one-result methods, the prefix of each route's name for
        permutation and rft (see :meth:`result_desc`). Default: the method name (``perm`` for
        permutation), as when the method appears once in the config.
    """

    method: str
    alpha: float = 0.05
    two_sided: bool = False
    cluster_extent: int = 0
    contrasts: tuple[str, ...] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    desc: str = ""

    def __post_init__(self) -> None:
        if not self.desc:
            object.__setattr__(self, "desc", DEFAULT_DESC.get(self.method, self.method))

    def routes(self) -> tuple[str, ...]:
        """The results this entry yields, by their default names (``permMaxT``, ``fdr`` ...)."""
        if self.method == "permutation":
            out = ["permMaxT"]
            if self.params.get("cluster_forming_p") is not None:
                out += ["permClusterSize", "permClusterMass"]
            if self.params.get("tfce"):
                out.append("permTFCE")
            return tuple(out)
        return tuple(ROUTE_SUFFIXES.get(self.method) or (self.method,))

    def result_desc(self, route: str) -> str:
        """The ``desc`` of this entry's result on ``route`` (a default name, e.g. ``permMaxT``).

        One-result methods: the entry's ``desc``; permutation and rft: the entry's ``desc``
        followed by the route's suffix (``MaxT``, ``ClusterSize``, ``ClusterMass``, ``TFCE``;
        ``""`` and ``Cluster`` for rft), so the defaults give ``permMaxT`` and ``rftCluster``.
        """
        suffixes = ROUTE_SUFFIXES.get(self.method)
        return self.desc + (suffixes[route] if suffixes else "")


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
