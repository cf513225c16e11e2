"""Relate the corrections of one contrast to each other, cluster by cluster.

For every cluster of every correction: which of the contrast's corrections its peak voxel
survives (``survives``), and, when an ARI entry applies to the contrast, the ARI lower bound on
the cluster's true-discovery proportion (``ari_tdp``; ``ari_tdp_<desc>`` per entry when several
ARI entries apply) — ARI's bounds hold simultaneously for any set of voxels, so they are valid
for clusters chosen by another correction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..config.specs import CorrectionSpec
from ..glm.results import ContrastResult
from .ari import cluster_tdp, hommel_value
from .clusters import voxel_index
from .results import CorrectionResult


def cross_reference(
    contrast: ContrastResult,
    corrections: Sequence[CorrectionResult],
    specs: Sequence[CorrectionSpec],
    *,
    mask: np.ndarray,
    affine: np.ndarray,
) -> list[CorrectionResult]:
    """Add ``survives`` (and ``ari_tdp``) columns to every correction's clusters table.

    Parameters
    ----------
    contrast : ContrastResult
    corrections : sequence of CorrectionResult
        All corrections applied to ``contrast``.
    specs : sequence of CorrectionSpec
        The config entries that applied to ``contrast`` (ARI entries give alpha and sidedness).
    mask, affine
        The analysis grid.

    Returns
    -------
    list of CorrectionResult
        Copies with the new columns; ``survives`` lists the ``desc`` of every correction whose
        surviving voxels include the cluster's peak (``-`` when none). With one ARI entry the
        bound is column ``ari_tdp``; with several, one column ``ari_tdp_<desc>`` per entry.
    """
    aris = [s for s in specs if s.method == "ari"]
    # one ARI entry: column ``ari_tdp``; several: ``ari_tdp_<desc>`` for each
    bounds = []
    for spec in aris:
        sided = spec.two_sided and contrast.stat_type == "t"
        column = "ari_tdp" if len(aris) == 1 else f"ari_tdp_{spec.result_desc('ari')}"
        bounds.append((column, spec, sided, hommel_value(contrast.z, spec.alpha, two_sided=sided)))
    out = []
    for corr in corrections:
        clusters = corr.clusters.copy()
        if not clusters.empty:
            peaks = voxel_index(
                clusters[["peak_x", "peak_y", "peak_z"]].to_numpy(float), mask=mask, affine=affine
            )
            clusters["survives"] = [
                ", ".join(other.desc for other in corrections if idx >= 0 and other.surviving[idx])
                or "-"
                for idx in peaks
            ]
            if corr.method != "ari" and corr.cluster_labels is not None:
                for column, spec, sided, hommel in bounds:
                    tdp = cluster_tdp(
                        contrast.z,
                        corr.cluster_labels,
                        alpha=spec.alpha,
                        two_sided=sided,
                        hommel=hommel,
                    )
                    clusters[column] = [tdp.get(int(c), np.nan) for c in clusters["cluster_id"]]
        out.append(dataclasses.replace(corr, clusters=clusters))
    return out
