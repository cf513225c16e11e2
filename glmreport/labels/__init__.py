"""Stage 5, labels: atlases -> one label column per atlas in the cluster and peak tables.

``atlas`` resolves atlas specs (registry, TemplateFlow, FSL, file) into :class:`LoadedAtlas`
objects and resamples them; ``labelling`` adds one column per atlas to the cluster and peak
tables. The atlas specs and the registry of names are config's (``glmreport.config.specs``,
``glmreport.config.atlas_registry``).
"""

from __future__ import annotations

from .atlas import (
    LoadedAtlas,
    ResampledAtlas,
    atlas_notes,
    fetch_atlases,
    list_atlases,
    load_atlases,
    read_label_file,
    resample_atlas,
    sample_atlas,
)
from .labelling import (
    DEFAULT_PROB_THRESHOLD,
    DEFAULT_TOP_N,
    NO_LABEL,
    NO_VOXELS,
    UNAVAILABLE,
    check_overlap,
    cluster_compositions,
    label_tables,
    peak_labels,
)

__all__ = [
    "LoadedAtlas",
    "ResampledAtlas",
    "DEFAULT_PROB_THRESHOLD",
    "DEFAULT_TOP_N",
    "NO_LABEL",
    "NO_VOXELS",
    "UNAVAILABLE",
    "atlas_notes",
    "check_overlap",
    "cluster_compositions",
    "fetch_atlases",
    "label_tables",
    "list_atlases",
    "load_atlases",
    "peak_labels",
    "read_label_file",
    "resample_atlas",
    "sample_atlas",
]
