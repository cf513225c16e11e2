"""Inference and labels: every correction applied to the contrasts it names, then atlas
columns added to every table.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from ..config.specs import RunConfig
from ..errors import InferenceError
from ..inference.context import InferenceContext
from ..inference.crossref import cross_reference
from ..inference.effect_columns import add_effect_columns
from ..inference.registry import apply_correction
from .prepared import Log, Prepared, quiet

if TYPE_CHECKING:
    from ..inference.permutation.loop import NullRunner


def infer(
    config: RunConfig,
    prepared: Prepared,
    *,
    progress: bool = False,
    log: Log = quiet,
    null_runner: NullRunner | None = None,
):
    """Apply every correction to the contrasts it names.

    Entries with a small volume (``svc``) get their region (``prepared.regions``).
    With non-sphericity correction, permutation entries refit the data by OLS
    (:func:`_permutation_inputs`). ``null_runner`` computes the permutation nulls elsewhere
    (a cluster, :mod:`.group_nulls`); None computes them in this process.
    """
    ctx = InferenceContext(
        mask=prepared.masker.mask,
        affine=prepared.masker.affine,
        data=prepared.data,
        fit=prepared.fit,
        table=prepared.table,
        connectivity=config.clusters.connectivity,
        peak_min_distance_mm=config.clusters.min_distance_mm,
        max_subpeaks=config.clusters.max_subpeaks,
        progress=progress,
        regions=prepared.regions,
        null_runner=null_runner,
    )
    results = []
    for contrast in prepared.contrasts:
        specs = [
            s for s in config.corrections if s.contrasts is None or contrast.name in s.contrasts
        ]
        applied = []
        for spec in specs:
            log(f"{contrast.name}: {spec.method} ({spec.desc})")
            if spec.method == "permutation" and prepared.ols_fit is not None:
                applied.extend(_permutation_inputs(contrast, spec, ctx, prepared))
                continue
            applied.extend(_with_effects(config, contrast, prepared.fit, ctx, spec))
        applied = cross_reference(contrast, applied, specs, mask=ctx.mask, affine=ctx.affine)
        results.append((contrast, applied))
    return results


#: How the results of a permutation entry of a model fitted with non-sphericity correction
#: were computed (``extras["statistic"]``).
OLS_PERMUTATION = (
    "ordinary least-squares t/F (permutation refits the unwhitened model; it assumes "
    "exchangeable errors and does not use the non-sphericity estimate)"
)


def _permutation_inputs(contrast, spec, ctx: InferenceContext, prepared: Prepared) -> list:
    """A permutation entry on the OLS fit of a model fitted with non-sphericity correction.

    Permutation inference refits every resample by OLS; its results (thresholded map,
    tables) are those of the OLS statistic, which ``z`` carries.
    """
    ols = next((c for c in prepared.ols_contrasts if c.name == contrast.name), None)
    if ols is None:  # a conjunction (refused by the config) or a contrast without OLS twin
        raise InferenceError(
            f"permutation inference of '{contrast.name}' needs its OLS contrast, which this run "
            "did not compute."
        )
    ols_ctx = dataclasses.replace(ctx, fit=prepared.ols_fit)
    return [
        dataclasses.replace(r, z=ols.z, extras={**r.extras, "statistic": OLS_PERMUTATION})
        for r in _with_effects(None, ols, prepared.ols_fit, ols_ctx, spec)
    ]


def _with_effects(config: RunConfig | None, contrast, fit, ctx: InferenceContext, spec) -> list:
    """The results of one entry, with effect sizes in their tables (none for existing maps).

    The effect sizes are those of the contrast the entry thresholded (its peaks): the OLS
    contrast for permutation entries of a model fitted with non-sphericity correction.
    """
    results = apply_correction(contrast, spec, ctx)
    if config is not None and config.model.level == "maps":
        return results
    return add_effect_columns(contrast, results, fit, mask=ctx.mask, affine=ctx.affine)


def label(config: RunConfig, prepared: Prepared, results, log: Log):
    """Add atlas columns to every table; returns (results, atlas info for summary.json)."""
    if not config.atlases:
        return results, []
    from ..labels.atlas import load_atlases
    from ..labels.labelling import label_tables

    loaded = load_atlases(config.atlases, data_space=config.model.space)
    info = [a.describe() for a in loaded]
    out = []
    for contrast, corrections in results:
        labelled = []
        for corr in corrections:
            labels = corr.cluster_labels
            if labels is None:
                labels = np.zeros(prepared.masker.n_voxels, dtype=int)
            clusters, peaks, notes = label_tables(
                corr.clusters,
                corr.peaks,
                labels,
                mask=prepared.masker.mask,
                affine=prepared.masker.affine,
                atlases=loaded,
            )
            extras = {**corr.extras, "atlas_notes": list(notes)} if notes else corr.extras
            labelled.append(
                dataclasses.replace(corr, clusters=clusters, peaks=peaks, extras=extras)
            )
        out.append((contrast, labelled))
    return out, info
