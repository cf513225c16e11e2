"""Permutation inference: sign-flipping and Freedman-Lane nulls of max-T, cluster size,
cluster mass and TFCE.

``partition`` splits the design into the tested effect and the nuisance (and picks the
scheme), ``resamples`` counts, enumerates and draws the resamples, ``products`` evaluates a
batch of resamples with one matrix product, ``loop`` evaluates a range of resamples (all of
them here, or chunks of them elsewhere: the same values), ``null`` builds the null
distributions of the ``measures`` (maxima, cluster sizes and masses, their FWE p-values),
``correction`` holds ``apply_permutation``; the names below are the package's public API.
"""

from __future__ import annotations

from .correction import apply_permutation
from .measures import cluster_forming_threshold, cluster_measures, critical_value, fwe_p_values
from .null import NullSettings, PermutationNull, permutation_null
from .partition import PermutationModel, partition_design
from .resamples import MAX_RESAMPLES, check_resample_table, count_resamples, make_resamples

__all__ = [
    "MAX_RESAMPLES",
    "NullSettings",
    "PermutationModel",
    "PermutationNull",
    "apply_permutation",
    "check_resample_table",
    "cluster_forming_threshold",
    "cluster_measures",
    "count_resamples",
    "critical_value",
    "fwe_p_values",
    "make_resamples",
    "partition_design",
    "permutation_null",
]
