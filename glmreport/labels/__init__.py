"""Stage 5, labels: atlases -> one label column per atlas in the cluster and peak tables.

``sources`` finds an atlas's files (``templateflow`` for registry and TemplateFlow atlases,
``fsl`` for FSL's, or a file); ``label_files`` reads label names (TSV, FSL XML, lookup tables);
``atlas_images`` reads the image and matches it with its names; ``atlas`` puts these together
into :class:`LoadedAtlas` objects (:func:`load_atlases`); ``sampling`` looks atlases up in
world coordinates; ``labelling`` adds one column per atlas to the cluster and peak tables.
The atlas specs and the registry of names are config's (``glmreport.config.specs``,
``glmreport.config.atlas_registry``).

The names below are imported from their module on first use, so that ``glmreport atlases``
(``templateflow``) does not import the NumPy, SciPy and pandas code of the other modules.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the module of this package that defines it.
_EXPORTS = {
    "LoadedAtlas": "atlas",
    "atlas_notes": "atlas",
    "load_atlases": "atlas",
    "read_label_file": "label_files",
    "DEFAULT_PROB_THRESHOLD": "labelling",
    "DEFAULT_TOP_N": "labelling",
    "NO_LABEL": "labelling",
    "NO_VOXELS": "labelling",
    "UNAVAILABLE": "labelling",
    "check_overlap": "labelling",
    "cluster_compositions": "labelling",
    "label_tables": "labelling",
    "peak_labels": "labelling",
    "ResampledAtlas": "sampling",
    "resample_atlas": "sampling",
    "sample_atlas": "sampling",
    "fetch_atlases": "templateflow",
    "list_atlases": "templateflow",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
