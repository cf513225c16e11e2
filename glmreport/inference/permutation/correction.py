"""The ``permutation`` correction: FWE results of max-T, cluster size, cluster mass and TFCE.

:func:`apply_permutation` partitions the design (:mod:`.partition`), draws the resamples
(:mod:`.resamples`), computes the null distributions (:mod:`.null`) and turns each route into
a :class:`~glmreport.inference.results.CorrectionResult`: a score survives when its FWE p <
alpha, i.e. when it exceeds the ``ceil(alpha * n_perm)``-th largest null value.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...config.specs import CorrectionSpec, PermutationParams
from ...errors import InferenceError, suggest
from ...glm.formula import row_name
from ...glm.results import ContrastResult, GLMFit
from ..clusters import voxel_index
from ..context import InferenceContext
from ..results import CorrectionResult
from ..scales import resolve_two_sided, stat_to_z
from ..tfce import NeighbourGraph, connected_components, neighbour_graph
from ..thresholds import make_correction
from .measures import cluster_forming_threshold, cluster_measures, critical_value, fwe_p_values
from .null import NullSettings, PermutationNull, permutation_null
from .resamples import check_resample_table

__all__ = ["apply_permutation"]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    """What every result of one permutation entry on one contrast shares."""

    contrast: ContrastResult
    spec: CorrectionSpec
    ctx: InferenceContext
    null: PermutationNull
    graph: NeighbourGraph
    two_sided: bool
    params: dict[str, Any]
    common: dict[str, Any]

    @property
    def count(self) -> str:
        """E.g. ``"1,000 sign flips"`` or ``"720 permutations (all)"``."""
        what = "sign flips" if self.null.scheme == "sign-flip" else "permutations"
        return f"{self.null.n_perm:,} {what}{' (all)' if self.null.exact else ''}"

    @property
    def side(self) -> str:
        return ", two-sided" if self.two_sided else ""

    @property
    def stat_name(self) -> str:
        return "t" if self.contrast.stat_type == "t" else "F"

    def score(self, values: np.ndarray) -> np.ndarray:
        return np.abs(values) if self.two_sided else values

    def z_of(self, stat_value: float) -> float:
        c = self.contrast
        return float(stat_to_z(stat_value, c.stat_type, c.dof, c.df_num))

    def result(self, route: str, title: str, **kwargs: Any) -> CorrectionResult:
        """A :func:`make_correction` result of this entry on ``route``."""
        return make_correction(
            self.contrast,
            self.spec,
            self.ctx,
            method="permutation",
            desc=self.spec.result_desc(route),
            route=route,
            title=f"Permutation FWE p < {self.spec.alpha:g}, {title}",
            two_sided=self.two_sided,
            params=self.params,
            **kwargs,
        )


def apply_permutation(
    contrast: ContrastResult, spec: CorrectionSpec, ctx: InferenceContext
) -> list[CorrectionResult]:
    """Permutation (sign-flip or Freedman-Lane) FWE inference for one contrast.

    Parameters
    ----------
    contrast : ContrastResult
        Supplies ``weights``, ``stat_type``, ``z`` and ``stat`` (for the tables).
    spec : CorrectionSpec
        ``method == "permutation"``, with :class:`~glmreport.config.specs.PermutationParams`
        (``n_perm``, ``seed``, ``cluster_forming_p``, ``tfce``, ``blocks``: a column of the
        inputs table, ``tfce_E``, ``tfce_H``, ``tfce_dh``).
    ctx : InferenceContext
        ``data``, ``fit.design``, ``mask``, ``affine``, ``connectivity``, ``table``,
        ``progress``, ``null_runner`` (where the null is computed).

    Returns
    -------
    list of CorrectionResult
        ``permMaxT`` always; ``permClusterSize`` and ``permClusterMass`` with a
        ``cluster_forming_p``; ``permTFCE`` with ``tfce`` (routes; each result's ``desc`` is
        ``spec.result_desc(route)``, the route itself for a default-labelled entry). Each has
        ``arrays["null"]`` (the max-statistic null, resample 0 = observed) and extras
        ``observed_max``, ``critical_value``, ``null_label``, ``n_perm``, ``exact``, ``scheme``
        and ``min_p_fwe`` (``1 / n_perm``, the smallest attainable p). Clusters tables gain
        ``p_fwe``: the cluster's FWE p for the cluster routes (with ``cluster_size`` or
        ``cluster_mass``), the smallest voxel FWE p inside the cluster for max-T and TFCE;
        peaks tables of max-T and TFCE gain the voxel FWE p at each peak.

    Raises
    ------
    InferenceError
        No data (map-only runs), a non-OLS fit, a resample table too large, or a bad
        ``blocks`` column.
    """
    params: PermutationParams = spec.params  # type: ignore[assignment]
    if contrast.conjunction:
        raise InferenceError(
            f"permutation inference of the conjunction '{contrast.name}' is not available: "
            "correct it with uncorrected, fdr, bonferroni or rft thresholds."
        )
    data, fit = _model_inputs(ctx)
    two_sided, note = resolve_two_sided(contrast, spec)
    n = int(fit.design.matrix.shape[0])
    check_resample_table(params.n_perm, n)
    blocks = _blocks_from_table(params.blocks, ctx, n)
    cfp = params.cluster_forming_p
    threshold = None
    if cfp is not None:
        threshold = cluster_forming_threshold(
            cfp, contrast.stat_type, contrast.dof, contrast.df_num, two_sided=two_sided
        )
    settings = NullSettings(
        n_perm=params.n_perm,
        seed=params.seed,
        two_sided=two_sided,
        stat_type=contrast.stat_type,
        cluster_threshold=threshold,
        tfce=params.tfce,
        tfce_E=float(params.tfce_E),
        tfce_H=float(params.tfce_H),
        tfce_dh=params.tfce_dh,
        connectivity=int(ctx.connectivity),
        progress=bool(ctx.progress),
    )
    null = permutation_null(
        data,
        fit.design.matrix,
        contrast.weights,
        settings,
        blocks=blocks,
        mask=ctx.mask,
        runner=ctx.null_runner,
    )
    run = _Run(
        contrast=contrast,
        spec=spec,
        ctx=ctx,
        null=null,
        graph=neighbour_graph(ctx.mask, int(ctx.connectivity)),
        two_sided=two_sided,
        params={**params.to_dict(), **note},
        common=_common_extras(null, params.blocks if blocks is not None else None),
    )
    results = [_max_t_result(run)]
    if threshold is not None and cfp is not None:
        for kind, nulls in (("size", null.max_size), ("mass", null.max_mass)):
            if nulls is not None:
                results.append(_cluster_result(run, kind, nulls, threshold, cfp))
    if null.tfce is not None and null.max_tfce is not None:
        results.append(_tfce_result(run, params, null.tfce, null.max_tfce))
    return results


# --------------------------------------------------------------------------------------------
# inputs


def _model_inputs(ctx: InferenceContext) -> tuple[np.ndarray, GLMFit]:
    """The data and the OLS fit the resamples refit."""
    if ctx.data is None or ctx.fit is None:
        raise InferenceError(
            "permutation inference needs the input images and the fitted design; it is not "
            "available for runs on statistic maps (model.level: maps)."
        )
    if ctx.fit.noise_model != "ols":
        raise InferenceError(
            f"permutation inference assumes exchangeable inputs and an OLS fit; this model "
            f"uses noise model '{ctx.fit.noise_model}' (time series are not exchangeable). "
            "Use it on a second-level model."
        )
    return ctx.data, ctx.fit


def _blocks_from_table(name: str | None, ctx: InferenceContext, n: int) -> np.ndarray | None:
    """The exchangeability block of every input, from column ``name`` of the inputs table."""
    if name is None:
        return None
    table = ctx.table
    if table is None:
        raise InferenceError(
            f"permutation blocks '{name}' needs the inputs table, which this run does not have."
        )
    if name not in table.columns:
        raise InferenceError(
            f"permutation blocks: no column '{name}' in the inputs table; columns: "
            f"{list(map(str, table.columns))}." + suggest(name, map(str, table.columns))
        )
    values = table[name]
    if len(values) != n:
        raise InferenceError(
            f"permutation blocks '{name}' has {len(values)} rows but there are {n} inputs."
        )
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InferenceError(
            f"permutation blocks column '{name}' has a missing value (n/a) in "
            f"{row_name(table, row)}; every input needs a block."
        )
    return values.to_numpy()


def _common_extras(null: PermutationNull, blocks: str | None) -> dict[str, Any]:
    common: dict[str, Any] = {
        "n_perm": int(null.n_perm),
        "exact": bool(null.exact),
        "scheme": null.scheme,
        "min_p_fwe": 1.0 / null.n_perm,
    }
    if blocks is not None:
        common["blocks"] = str(blocks)
        if null.scheme == "sign-flip":
            common["blocks_note"] = "sign flips are free within and across blocks"
    return common


# --------------------------------------------------------------------------------------------
# routes


def _max_t_result(run: _Run) -> CorrectionResult:
    """Voxel-wise max statistic: survivors above the critical value, voxel FWE p maps."""
    null, name = run.null, run.stat_name
    crit = critical_value(null.max_stat, run.spec.alpha)
    p_vox = fwe_p_values(run.score(null.stat), null.max_stat)
    res = run.result(
        "permMaxT",
        f"voxel-wise max-{name} ({run.count}{run.side})",
        threshold_z=run.z_of(crit),
        threshold_stat=crit,
        surviving=run.score(null.stat) > crit,
        extras={
            "observed_max": float(null.max_stat[0]),
            "critical_value": crit,
            "null_label": f"max |{name}|" if run.two_sided else f"max {name}",
            **run.common,
        },
        maps={"logp_fwe": -np.log10(p_vox)},
        arrays={"null": null.max_stat.copy()},
    )
    return _voxel_p_tables(res, p_vox, run)


def _cluster_result(
    run: _Run, kind: str, nulls: np.ndarray, threshold: float, cfp: float
) -> CorrectionResult:
    """Cluster size (``kind == "size"``) or mass FWE: whole clusters above the critical value."""
    stat = run.null.stat
    voxels, labels, sizes, masses = cluster_measures(stat, threshold, run.graph, run.two_sided)
    values = sizes if kind == "size" else masses
    crit = critical_value(nulls, run.spec.alpha)
    keep = values > crit
    surviving = np.zeros(stat.size, dtype=bool)
    surviving[voxels[keep[labels]]] = True
    route = "permClusterSize" if kind == "size" else "permClusterMass"
    res = run.result(
        route,
        f"cluster {kind} (cluster-forming p < {cfp:g}; {run.count}{run.side})",
        threshold_z=run.z_of(threshold),
        threshold_stat=threshold,
        surviving=surviving,
        cluster_extent=int(math.floor(crit)) + 1 if kind == "size" else 0,
        extras={
            "observed_max": float(nulls[0]),
            "critical_value": crit,
            f"critical_cluster_{kind}": crit,
            "null_label": f"max cluster {kind}",
            "cluster_forming_p": float(cfp),
            "cluster_forming_threshold": threshold,
            **run.common,
        },
        arrays={"null": nulls.copy()},
    )
    component = np.full(stat.size, -1, dtype=np.int64)
    component[voxels] = labels
    clusters = res.clusters.copy()
    comp = _component_of_rows(clusters, component, run.ctx)
    p_clu = fwe_p_values(values, nulls)
    clusters[f"cluster_{kind}"] = _by_component(comp, values)
    clusters["p_fwe"] = _by_component(comp, p_clu)
    return dataclasses.replace(res, clusters=clusters)


def _tfce_result(
    run: _Run, params: PermutationParams, tfce_map: np.ndarray, nulls: np.ndarray
) -> CorrectionResult:
    """TFCE: voxels whose ``|TFCE|`` exceeds the critical value, voxel FWE p maps."""
    crit = critical_value(nulls, run.spec.alpha)
    score = run.score(tfce_map)
    p_tfce = fwe_p_values(score, nulls)
    res = run.result(
        "permTFCE",
        f"TFCE ({run.count}{run.side})",
        threshold_z=None,
        threshold_stat=None,
        surviving=score > crit,
        cluster_extent=0,
        extras={
            "observed_max": float(nulls[0]),
            "critical_value": crit,
            "null_label": "max |TFCE|" if run.two_sided else "max TFCE",
            "tfce_E": float(params.tfce_E),
            "tfce_H": float(params.tfce_H),
            "tfce_dh": params.tfce_dh,
            **run.common,
        },
        maps={"tfce": tfce_map.copy(), "logp_fwe": -np.log10(p_tfce)},
        arrays={"null": nulls.copy()},
    )
    return _voxel_p_tables(res, p_tfce, run)


# --------------------------------------------------------------------------------------------
# table columns


def _voxel_of_rows(table: pd.DataFrame, ctx: InferenceContext) -> np.ndarray:
    """In-mask index of each row's peak (-1 outside the mask)."""
    xyz = table[["peak_x", "peak_y", "peak_z"]].to_numpy(float)
    return voxel_index(xyz, mask=ctx.mask, affine=ctx.affine)


def _component_of_rows(
    table: pd.DataFrame, component: np.ndarray, ctx: InferenceContext
) -> np.ndarray:
    """Component (``component[voxel]``) of each row's peak voxel, -1 when none."""
    vox = _voxel_of_rows(table, ctx)
    return np.where(vox >= 0, component[np.maximum(vox, 0)], -1)


def _by_component(comp: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values[comp]`` per row, NaN for rows without a component (float64, also when empty)."""
    if comp.size == 0:
        return np.zeros(0)
    return np.where(comp >= 0, values[np.maximum(comp, 0)], np.nan)


def _voxel_p_tables(res: CorrectionResult, p_map: np.ndarray, run: _Run) -> CorrectionResult:
    """Add ``p_fwe`` (voxel-level) to the peaks table and, per cluster, its smallest value."""
    peaks = res.peaks.copy()
    vox = _voxel_of_rows(peaks, run.ctx)
    peaks["p_fwe"] = np.where(vox >= 0, p_map[np.maximum(vox, 0)], np.nan)
    clusters = res.clusters.copy()
    if not len(clusters):
        clusters["p_fwe"] = pd.Series([], dtype="float64")
        return dataclasses.replace(res, clusters=clusters, peaks=peaks)
    voxels = np.flatnonzero(res.surviving)
    labels = np.full(run.graph.n_voxels, -1, dtype=np.int64)
    if voxels.size:
        sign = run.null.stat[voxels] if res.two_sided else None
        labels[voxels], _ = connected_components(voxels, run.graph, sign=sign)
    inside = labels >= 0
    n_comp = int(labels.max()) + 1 if inside.any() else 0
    best = np.full(n_comp, np.inf)
    np.minimum.at(best, labels[inside], p_map[inside])
    clusters["p_fwe"] = _by_component(_component_of_rows(clusters, labels, run.ctx), best)
    return dataclasses.replace(res, clusters=clusters, peaks=peaks)
