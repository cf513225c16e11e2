"""Random field theory inference: FWE voxel and cluster thresholds from the smoothness.

``smoothness`` estimates the smoothness (FWHM, resels) from the residuals or takes it from the
config; ``fields`` holds the random fields, their EC densities and the voxel level; ``tables``
the cluster, set and peak levels and SPM's table; ``correction`` holds ``apply_rft``; the
names below are the package's public API.
"""

from __future__ import annotations

from .correction import apply_rft, smoothness_for
from .fields import (
    RandomField,
    ec_densities,
    expected_clusters,
    expected_ec,
    height_threshold_fwe,
    p_fwe_voxel,
)
from .smoothness import (
    Smoothness,
    estimate_smoothness,
    fwhm_from_roughness,
    resel_counts,
    roughness,
    smoothness_from_fwhm,
)
from .tables import cluster_p_values, critical_cluster_size, set_level_p

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
