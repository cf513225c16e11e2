"""Atlas labelling of peaks and clusters.

``atlases`` resolves atlas entries (registry, TemplateFlow, FSL, file) into
:class:`LoadedAtlas` objects and resamples them; ``labelling`` adds one column per atlas to
the cluster and peak tables.
"""

from __future__ import annotations

from .atlases import (
    AtlasSpec,
    LoadedAtlas,
    ResampledAtlas,
    atlas_notes,
    fetch_atlases,
    list_atlases,
    load_atlases,
    read_label_file,
    registry,
    registry_keys,
    registry_spec,
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
    "AtlasSpec",
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
    "registry",
    "registry_keys",
    "registry_spec",
    "resample_atlas",
    "sample_atlas",
]
