"""Small-volume correction (SVC): an ``rft`` or ``permutation`` entry inside a region.

SPM's small-volume correction controls the family-wise error inside an a-priori region (a
sphere or a mask) instead of the whole analysis mask: the FWE threshold comes from the region
alone. Here an entry with ``svc`` runs its method on the region's voxels as if the region were
the analysis mask, so its results equal those of a run whose mask is the region, except in
one respect for ``rft``:

- ``rft``: the resel counts are those of the region; the smoothness is that of the whole
  analysis mask (estimated from all its residuals, as SPM's SVC does, or the entry's
  ``fwhm_mm``). A run whose mask is the region would estimate the smoothness from the region's
  residuals alone (fewer voxels, a noisier estimate), so the two agree exactly when
  ``fwhm_mm`` is given.
- ``permutation``: the same resamples (same seed) refit the region's voxels; the null
  distributions hold the maxima over the region (max-T, cluster size and mass of the clusters
  formed inside it, TFCE computed on the region).

Results are returned over the whole analysis mask (nothing survives outside the region, method
maps are NaN there) on routes ending in ``SVC`` (``rftSVC``, ``permMaxTSVC`` ...), labelled
``<desc><route suffix>SVC``; their extras add ``svc_region`` (the region in words),
``svc_voxels`` (its in-mask voxels) and, for rft, ``svc_smoothness``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..config.specs import SVC_SUFFIX, CorrectionSpec
from ..errors import InferenceError
from ..glm.results import ContrastResult, GLMFit
from .context import InferenceContext
from .results import CorrectionResult

__all__ = ["apply_svc", "restrict_context", "restrict_contrast"]


def _subset(value: Any, keep: np.ndarray) -> Any:
    """``value[..., keep]`` for arrays over the voxels (last axis of length ``keep.size``)."""
    if isinstance(value, np.ndarray) and value.ndim and value.shape[-1] == keep.size:
        return value[..., keep]
    return value


def restrict_contrast(contrast: ContrastResult, keep: np.ndarray) -> ContrastResult:
    """The contrast at the voxels ``keep`` (a (v,) boolean over the in-mask voxels)."""
    changes = {
        f.name: _subset(getattr(contrast, f.name), keep)
        for f in dataclasses.fields(contrast)
        if f.name != "weights"
    }
    return dataclasses.replace(contrast, **changes)


def _restrict_fit(fit: GLMFit | None, keep: np.ndarray) -> GLMFit | None:
    if fit is None:
        return None
    groups = None if fit.groups is None else fit.groups[keep]
    return dataclasses.replace(
        fit, betas=fit.betas[:, keep], sigma2=fit.sigma2[keep], groups=groups
    )


def restrict_context(ctx: InferenceContext, keep: np.ndarray) -> InferenceContext:
    """The context with the region as the analysis mask (data and fit at its voxels)."""
    mask = np.zeros(ctx.mask.shape, dtype=bool)
    mask[ctx.mask] = keep
    data = None if ctx.data is None else np.asarray(ctx.data)[:, keep]
    return dataclasses.replace(
        ctx, mask=mask, data=data, fit=_restrict_fit(ctx.fit, keep), regions={}
    )


def _expand(values: np.ndarray, keep: np.ndarray, fill: Any) -> np.ndarray:
    values = np.asarray(values)
    out = np.full((*values.shape[:-1], keep.size), fill, dtype=values.dtype)
    out[..., keep] = values
    return out


def _expand_result(
    res: CorrectionResult, spec: CorrectionSpec, keep: np.ndarray, extras: dict[str, Any]
) -> CorrectionResult:
    """A region's result over the whole mask, on its ``SVC`` route."""
    route = (res.route or res.desc) + SVC_SUFFIX
    maps = {k: _expand(np.asarray(v, dtype=np.float64), keep, np.nan) for k, v in res.maps.items()}
    labels = None if res.cluster_labels is None else _expand(res.cluster_labels, keep, 0)
    index = None if res.cluster_index is None else _expand(res.cluster_index, keep, 0)
    region = spec.svc.describe() if spec.svc is not None else "region"
    return dataclasses.replace(
        res,
        desc=spec.result_desc(route),
        route=route,
        title=f"{res.title}; small volume: {region}",
        surviving=_expand(res.surviving, keep, False),
        maps=maps,
        cluster_labels=labels,
        cluster_index=index,
        extras={**res.extras, **extras},
    )


def apply_svc(
    contrast: ContrastResult, spec: CorrectionSpec, ctx: InferenceContext
) -> list[CorrectionResult]:
    """Apply an ``rft`` or ``permutation`` entry with ``svc`` inside its region.

    Parameters
    ----------
    contrast : ContrastResult
    spec : CorrectionSpec
        ``spec.svc`` is set; its region is ``ctx.regions[spec.desc]``.
    ctx : InferenceContext

    Returns
    -------
    list of CorrectionResult
        The method's results computed in the region, over the whole mask, on ``SVC`` routes.

    Raises
    ------
    InferenceError
        No region for the entry, an empty one, or a method without small-volume correction.
    """
    region = ctx.regions.get(spec.desc)
    if region is None or spec.svc is None:
        raise InferenceError(f"no small volume was made for the correction '{spec.desc}'.")
    keep = np.asarray(region, dtype=bool)
    if keep.shape != (int(ctx.mask.sum()),) or not keep.any():
        raise InferenceError(
            f"the small volume of the correction '{spec.desc}' has no voxel in the analysis mask."
        )
    sub_contrast, sub_ctx = restrict_contrast(contrast, keep), restrict_context(ctx, keep)
    extras: dict[str, Any] = {
        "svc_region": spec.svc.describe(),
        "svc_voxels": int(keep.sum()),
    }
    if spec.method == "rft":
        from .rft import apply_rft, smoothness_for
        from .rft.smoothness import resel_counts

        whole = smoothness_for(spec, ctx)
        local = dataclasses.replace(
            whole,
            resels=resel_counts(sub_ctx.mask, whole.fwhm_voxels),
            n_voxels=int(keep.sum()),
            volume_mm3=whole.volume_mm3 / max(whole.n_voxels, 1) * int(keep.sum()),
        )
        extras["svc_smoothness"] = (
            "estimated from the residuals of the whole analysis mask"
            if whole.source == "residuals"
            else "given (fwhm_mm)"
        )
        results = apply_rft(sub_contrast, spec, sub_ctx, smoothness=local)
    elif spec.method == "permutation":
        from .permutation import apply_permutation

        results = apply_permutation(sub_contrast, spec, sub_ctx)
    else:
        raise InferenceError(f"'{spec.method}' has no small-volume correction (rft, permutation).")
    return [_expand_result(r, spec, keep, extras) for r in results]
