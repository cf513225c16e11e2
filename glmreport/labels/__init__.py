"""Stage 5, labels: atlases -> one label column per atlas in the cluster and peak tables.

``sources`` finds an atlas's files (``templateflow`` for registry and TemplateFlow atlases,
``fsl`` for FSL's, or a file); ``label_files`` reads label names (TSV, FSL XML, lookup tables);
``atlas_images`` reads the image and matches it with its names; ``atlas`` puts these together
into :class:`LoadedAtlas` objects (:func:`load_atlases`); ``sampling`` looks atlases up in
world coordinates; ``labelling`` adds one column per atlas to the cluster and peak tables.
The atlas specs and the registry of names are config's (``glmreport.config.specs``,
``glmreport.config.atlas_registry``).
"""

from __future__ import annotations

from .atlas import LoadedAtlas, atlas_notes, load_atlases
from .label_files import read_label_file
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
from .sampling import ResampledAtlas, resample_atlas, sample_atlas
from .templateflow import fetch_atlases, list_atlases

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
