"""Random field theory (RFT): family-wise error control by the expected Euler characteristic.

The statistic map is treated as a lattice sample of a smooth t, F or Gaussian (Z) random field
whose smoothness is estimated from the model residuals (:mod:`.smoothness`) or given as
``fwhm_mm``. The numbers follow SPM12 (``spm_ECdensity``, ``spm_P_RF``, ``spm_P``, ``spm_uc``,
``spm_P_peakFDR``, ``spm_P_clusterFDR``, ``spm_list``): the voxel level in :mod:`.fields`, the
cluster, set and peak levels and SPM's table in :mod:`.tables`.

**Two-sided t contrasts** test each tail at ``alpha / 2``: corrected p-values (voxel, cluster,
set) are doubled (capped at 1), clusters of negative t are formed below ``-u`` and reported
with ``sign == '-'``, uncorrected peak p are two-sided (``2 P(T > |t|)``) and the FDR families
pool both tails. F contrasts are one-sided (a two-sided request is ignored and noted in
``params``).

Differences from SPM12, all small: uncorrected peak p is the exact ``P(T > t)`` (SPM reports
``1 - exp(-P(T > t))``) and the equivalent Z is the contrast's z; the smoothness estimate
(see :mod:`.smoothness`) is stationary and includes the ``(ν-2)/(ν-1)`` factor; cluster FDR is
also given for F fields (SPM: t fields only).

**Outputs** (:func:`apply_rft`): ``extras`` of both results carry SPM's table footer, for the
clusters of that result (formed above its ``height_threshold_stat``):

- ``field`` (``"T"``, ``"F"`` or ``"Z"``), ``df`` ``[df_num, dof]``, ``dof``, ``two_sided``;
- ``height_threshold_stat`` / ``_z`` / ``_p_unc`` / ``_p_fwe``: the height ``u`` of the
  table (FWE threshold for ``rft``, cluster-forming threshold for ``rftCluster``) in T/F, z,
  uncorrected p and voxel-level FWE p;
- ``extent_threshold_voxels`` (``k``), ``extent_threshold_p_unc`` / ``_p_fwe`` (None if
  ``k = 0``); ``expected_voxels_per_cluster`` ``<k>``; ``expected_number_of_clusters``
  ``<c>``; ``set_level_c``, ``set_level_p``;
- ``fwe_p_stat`` (FWEp: the voxel-level FWE height threshold in T/F), ``fwe_p_rft_stat`` and
  ``fwe_p_bonferroni_stat`` (the two candidates), ``fdr_p_stat`` (FDRp: voxel-wise BH
  threshold in T/F, None when nothing survives), ``fwe_c_voxels`` (FWEc: smallest cluster
  with cluster-level FWE p <= alpha at this height), ``fdr_c_voxels`` (FDRc, None when no
  cluster survives topological FDR), ``peak_fdr`` (``"topological"``);
- smoothness: ``fwhm_mm``, ``fwhm_voxels``, ``voxel_size_mm``, ``resels`` ``[R0..R3]``,
  ``resel_size_voxels``, ``volume_voxels``, ``volume_mm3``, ``smoothness_source``
  (``"residuals"`` or ``"fwhm_mm"``), ``smoothness_dof``, ``smoothness_n_images``;
- ``rftCluster`` only: ``cluster_forming_p``, ``cluster_forming_threshold_stat`` / ``_z``,
  ``n_clusters_formed``.

Non-finite numbers are stored as None.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...config.specs import CorrectionSpec, RftParams
from ...errors import InferenceError
from ...glm.results import ContrastResult
from ..clusters import apply_extent, find_clusters
from ..context import InferenceContext
from ..results import CorrectionResult
from ..scales import resolve_two_sided
from ..thresholds import make_correction
from .fields import RandomField, height_threshold_fwe
from .smoothness import Smoothness, estimate_smoothness, smoothness_from_fwhm
from .tables import Setup, add_columns, cluster_p_values, families, footer

__all__ = ["apply_rft", "smoothness_for"]

_SMOOTHNESS_CACHE: dict[str, Any] = {}


def smoothness_for(spec: CorrectionSpec, ctx: InferenceContext) -> Smoothness:
    """The smoothness an ``rft`` entry uses.

    Parameters
    ----------
    spec : CorrectionSpec
        Its :class:`~glmreport.config.specs.RftParams` ``fwhm_mm`` (3 numbers), when given, is
        used as is, even if a fitted model is available.
    ctx : InferenceContext
        Otherwise the smoothness is estimated from ``ctx.data`` and ``ctx.fit`` (cached for
        the last pair of arrays, so several contrasts of one run estimate it once).

    Returns
    -------
    Smoothness

    Raises
    ------
    InferenceError
        No ``fwhm_mm`` and no fitted model (map-only runs).
    """
    params: RftParams = spec.params  # type: ignore[assignment]
    if params.fwhm_mm is not None:
        return smoothness_from_fwhm(params.fwhm_mm, ctx.mask, ctx.affine)
    if ctx.data is None or ctx.fit is None:
        raise InferenceError(
            "rft needs a fitted model to estimate the smoothness from the residuals, but this "
            "run has no data (map-only inputs). Give the smoothness of the statistic map in "
            "the rft entry, e.g. 'fwhm_mm: 8.0' (or [8.0, 8.0, 8.0])."
        )
    keys = (ctx.data, ctx.fit.betas, ctx.fit.design.matrix, ctx.mask, ctx.affine)
    cached = _SMOOTHNESS_CACHE.get("last")
    if cached is not None:
        refs, value = cached
        if all(r() is k for r, k in zip(refs, keys, strict=True)):
            return value
    value = estimate_smoothness(ctx.data, ctx.fit, ctx.mask, ctx.affine)
    try:
        _SMOOTHNESS_CACHE["last"] = (tuple(weakref.ref(k) for k in keys), value)
    except TypeError:  # not weak-referenceable (e.g. a memmap subclass); skip caching
        _SMOOTHNESS_CACHE.pop("last", None)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    """One rft entry on one contrast: what both of its results share."""

    contrast: ContrastResult
    spec: CorrectionSpec
    ctx: InferenceContext
    setup: Setup
    stat: np.ndarray
    extent: int
    params: dict[str, Any]

    def extent_filter(self, formed: np.ndarray) -> np.ndarray:
        """``formed`` without its clusters smaller than the extent threshold ``k``."""
        if self.extent <= 1:
            return formed
        ctx = self.ctx
        return apply_extent(formed, self.setup.sign, ctx.mask, self.extent, ctx.connectivity)

    def result(
        self,
        route: str,
        title: str,
        u: float,
        *,
        surviving: np.ndarray,
        formed: np.ndarray,
        n_clusters: int | None = None,
        extras: dict[str, Any] | None = None,
        maps: dict[str, np.ndarray] | None = None,
    ) -> CorrectionResult:
        """A result whose tables are formed above ``u``, with SPM's columns and footer."""
        setup = self.setup
        fam = families(setup, formed, self.ctx)
        side = ", two-sided" if setup.two_sided else ""
        base = make_correction(
            self.contrast,
            self.spec,
            self.ctx,
            method="rft",
            desc=self.spec.result_desc(route),
            route=route,
            title=title + side + (f", k \u2265 {self.extent}" if self.extent > 1 else ""),
            threshold_z=float(setup.field.to_z(u)),
            threshold_stat=float(u),
            surviving=surviving,
            two_sided=setup.two_sided,
            cluster_extent=0,
            params=self.params,
            maps=maps,
        )
        clusters, peaks = add_columns(setup, u, fam, base.clusters, base.peaks)
        n = len(base.clusters) if n_clusters is None else n_clusters
        table_footer = {**footer(setup, u, self.extent, n, fam), **(extras or {})}
        return replace(
            base, clusters=clusters, peaks=peaks, extras=table_footer, cluster_extent=self.extent
        )


def apply_rft(
    contrast: ContrastResult,
    spec: CorrectionSpec,
    ctx: InferenceContext,
    *,
    smoothness: Smoothness | None = None,
) -> list[CorrectionResult]:
    """Random field theory FWE control at the voxel and cluster level (SPM-style).

    Parameters
    ----------
    contrast : ContrastResult
    spec : CorrectionSpec
        ``alpha``; ``two_sided``; ``cluster_extent`` (SPM's extent threshold ``k``, voxels);
        :class:`~glmreport.config.specs.RftParams` ``cluster_forming_p`` (uncorrected) and
        ``fwhm_mm`` (optional smoothness, required for map-only runs).
    ctx : InferenceContext
    smoothness : Smoothness, optional
        The smoothness and resel counts to use (a small volume: the whole mask's smoothness
        and the region's resels); default :func:`smoothness_for`.

    Returns
    -------
    list of CorrectionResult
        Two results (routes ``rft`` and ``rftCluster``; each result's ``desc`` is
        ``spec.result_desc(route)``, the route itself for a default-labelled entry):

        - ``rft``: voxel-level FWE. ``surviving`` = voxels above the FWE height
          threshold (``threshold_z`` / ``threshold_stat``), clusters of those voxels (extent
          filter applied) with SPM columns computed at that height;
          ``maps["logp_fwe"]`` = ``-log10`` voxel-level FWE p.
        - ``rftCluster``: cluster-level FWE. Clusters are formed above the
          cluster-forming height (uncorrected ``p < cluster_forming_p``, which is
          ``threshold_z`` / ``threshold_stat``); ``surviving`` = voxels of the clusters with
          cluster-level ``p_fwe <= alpha``, and the tables list those clusters.

        Clusters tables add ``size_resels``, ``p_fwe``, ``q_fdr``, ``p_unc`` (cluster level)
        and ``peak_p_fwe``, ``peak_q_fdr``, ``peak_p_unc`` (main peak); peaks tables add
        ``p_fwe``, ``q_fdr``, ``p_unc`` (peak level). ``peak_stat`` is the T (or F) value and
        ``peak_value`` the equivalent Z. ``extras`` hold SPM's footer (keys listed in the
        module docstring, "Outputs"), including ``set_level_p`` and ``set_level_c``.

    Raises
    ------
    InferenceError
        Map-only run without ``fwhm_mm``.
    """
    two_sided, note = resolve_two_sided(contrast, spec)
    field = RandomField.for_contrast(contrast)
    smooth = smoothness if smoothness is not None else smoothness_for(spec, ctx)
    params: RftParams = spec.params  # type: ignore[assignment]
    alpha = float(spec.alpha)
    tails = 2 if two_sided else 1
    stat = np.asarray(contrast.stat, dtype=np.float64)
    height = np.abs(stat) if two_sided else stat
    setup = Setup(
        field=field,
        smooth=smooth,
        two_sided=two_sided,
        alpha=alpha,
        height=np.where(np.isnan(height), -np.inf, height),
        sign=np.where(stat < 0, -1, 1).astype(np.int8) if two_sided else None,
        z=np.asarray(contrast.z, dtype=np.float64),
        u_fwe=height_threshold_fwe(alpha / tails, smooth.resels, field, n_voxels=smooth.n_voxels),
    )
    run = _Run(
        contrast=contrast,
        spec=spec,
        ctx=ctx,
        setup=setup,
        stat=stat,
        extent=max(int(spec.cluster_extent), 0),
        params={**params.to_dict(), **note},
    )
    return [_voxel_level(run), _cluster_level(run, float(params.cluster_forming_p))]


def _voxel_level(run: _Run) -> CorrectionResult:
    """Voxels above the FWE height threshold (extent filter applied)."""
    setup = run.setup
    u = setup.u_fwe["u"]
    formed = setup.height >= u
    # heights below the median are evaluated at the median (their FWE p is ~1 anyway)
    p_vox = setup.p_fwe(np.maximum(setup.height, setup.field.isf(0.5)))
    return run.result(
        "rft",
        f"RFT voxel-level FWE p < {setup.alpha:g}",
        u,
        surviving=run.extent_filter(formed),
        formed=formed,
        maps={"logp_fwe": -np.log10(np.maximum(p_vox, 1e-300))},
    )


def _cluster_level(run: _Run, cfp: float) -> CorrectionResult:
    """Clusters above the cluster-forming height with cluster-level FWE p <= alpha."""
    setup, ctx, field = run.setup, run.ctx, run.setup.field
    u_c = field.isf(cfp / setup.tails)
    formed = setup.height > u_c
    cset = find_clusters(
        setup.z,
        run.extent_filter(formed),
        mask=ctx.mask,
        affine=ctx.affine,
        stat=run.stat,
        two_sided=setup.two_sided,
        connectivity=ctx.connectivity,
        min_distance_mm=ctx.peak_min_distance_mm,
        max_subpeaks=ctx.max_subpeaks,
    )
    sizes_res = cset.clusters["size_voxels"].to_numpy(dtype=np.float64) * setup.v2r
    p_fwe = cluster_p_values(sizes_res, u_c, setup.smooth.resels, field)[0]
    p_clu = np.minimum(1.0, setup.tails * p_fwe)
    good_ids = cset.clusters["cluster_id"].to_numpy()[p_clu <= setup.alpha]
    return run.result(
        "rftCluster",
        f"RFT cluster-level FWE p < {setup.alpha:g} (cluster-forming p < {cfp:g})",
        u_c,
        surviving=(cset.labels > 0) & np.isin(cset.labels, good_ids),
        formed=formed,
        n_clusters=cset.n_clusters,
        extras={
            "cluster_forming_p": cfp,
            "cluster_forming_threshold_stat": float(u_c),
            "cluster_forming_threshold_z": float(field.to_z(u_c)),
            "n_clusters_formed": int(cset.n_clusters),
        },
    )
