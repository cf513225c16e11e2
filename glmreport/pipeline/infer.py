"""Inference and labels: every correction applied to the contrasts it names, then atlas
columns added to every table.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config.specs import RunConfig
from ..inference.context import InferenceContext
from ..inference.crossref import cross_reference
from ..inference.registry import apply_correction
from .prepared import Log, Prepared, quiet


def infer(config: RunConfig, prepared: Prepared, *, progress: bool = False, log: Log = quiet):
    """Apply every correction to the contrasts it names."""
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
    )
    results = []
    for contrast in prepared.contrasts:
        specs = [
            s for s in config.corrections if s.contrasts is None or contrast.name in s.contrasts
        ]
        applied = []
        for spec in specs:
            log(f"{contrast.name}: {spec.method} ({spec.desc})")
            applied.extend(apply_correction(contrast, spec, ctx))
        applied = cross_reference(contrast, applied, specs, mask=ctx.mask, affine=ctx.affine)
        results.append((contrast, applied))
    return results


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
