"""Random field theory inference: FWE voxel and cluster thresholds from the smoothness.

``smoothness`` estimates the smoothness (FWHM, resels) from the residuals or takes it from the
config; ``correction`` holds the expected Euler characteristic, cluster and set p-values and
``apply_rft``; the names below are the package's public API.
"""

from __future__ import annotations

from .correction import (
    RandomField,
    apply_rft,
    cluster_p_values,
    critical_cluster_size,
    ec_densities,
    expected_clusters,
    expected_ec,
    height_threshold_fwe,
    p_fwe_voxel,
    set_level_p,
    smoothness_for,
)
from .smoothness import (
    Smoothness,
    estimate_smoothness,
    fwhm_from_roughness,
    resel_counts,
    roughness,
    smoothness_from_fwhm,
)

__all__ = [
    "RandomField",
    "Smoothness",
    "apply_rft",
    "cluster_p_values",
    "critical_cluster_size",
    "ec_densities",
    "estimate_smoothness",
    "expected_clusters",
    "expected_ec",
    "fwhm_from_roughness",
    "height_threshold_fwe",
    "p_fwe_voxel",
    "resel_counts",
    "roughness",
    "set_level_p",
    "smoothness_for",
    "smoothness_from_fwhm",
]
