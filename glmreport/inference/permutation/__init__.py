"""Permutation inference: sign-flipping and Freedman-Lane nulls of max-T, cluster size,
cluster mass and TFCE.

``correction`` holds the method (the partition of the design, the resamples, the null
distributions and ``apply_permutation``); the names below are the package's public API.
"""

from __future__ import annotations

from .correction import (
    DEFAULT_PARAMS,
    MAX_RESAMPLES,
    PermutationModel,
    PermutationNull,
    apply_permutation,
    check_resample_table,
    cluster_forming_threshold,
    count_resamples,
    critical_value,
    fwe_p_values,
    make_resamples,
    partition_design,
    permutation_null,
)

__all__ = [
    "DEFAULT_PARAMS",
    "MAX_RESAMPLES",
    "PermutationModel",
    "PermutationNull",
    "apply_permutation",
    "check_resample_table",
    "cluster_forming_threshold",
    "count_resamples",
    "critical_value",
    "fwe_p_values",
    "make_resamples",
    "partition_design",
    "permutation_null",
]
