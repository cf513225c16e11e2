"""The names of the files in a results folder: the one place that names them.

A results folder is a BIDS derivative. Statistical maps and tables are named by entity-label
pairs, ``<key>-<label>``, joined by ``_`` and followed by a suffix; every label holds letters and
digits only, and ``desc`` is always the last entity::

    maps/[sub-<l>_][ses-<l>_][task-<l>_][space-<l>_]contrast-<l>_stat-<l>[_desc-<l>]_statmap.nii.gz
    maps/<same name>.json                                   (sidecar of every map)
    maps/[...]contrast-<l>_stat-clusterIndex_desc-<l>_statmap.nii.gz   (cluster index map)
    tables/[...]contrast-<l>_desc-<l>_clusters.tsv | _peaks.tsv | _arrays.npz
    figures/<run>_desc-designMatrix_bold.png | _desc-fd_bold.png    (a study's subjects)
    figures/[...]contrast-<l>_stat-z_desc-glassBrain_statmap.png     (a study's subjects)

``sub``, ``ses`` and ``task`` are kept when every input file carries the same label for them
(a first-level model of one subject's runs); ``space`` is the model's template space. They come
first, in BIDS's entity order; ``contrast``, ``stat`` and ``desc`` are glmreport's own entities.
Readers never rebuild these names: they take the paths that ``summary.json`` lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..inputs.entities import bids_entities

SUMMARY = "summary.json"
DESCRIPTION = "dataset_description.json"
MASK = "mask.nii.gz"
DESIGN = "design_matrix.tsv"
MAPS = "maps"
TABLES = "tables"
#: Report files by format.
REPORT_FILES = {"html": "report.html", "pdf": "report.pdf"}
#: The BIDS entities a results folder keeps from its inputs, in BIDS order.
INPUT_ENTITIES = ("sub", "ses", "task")
#: Map keys of the inference stage whose BIDS ``stat-`` label differs from the key.
STAT_LABELS = {"logp_fwe": "logpFWE"}

LABEL = re.compile(r"[A-Za-z0-9]+")


def check_label(value: str, what: str) -> str:
    """``value`` when it is a BIDS label (letters and digits only), else ValueError."""
    if not isinstance(value, str) or not LABEL.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not a BIDS label (letters and digits only)")
    return value


def stat_label(key: str) -> str:
    """The ``stat-`` label of a map key: ``logp_fwe`` -> ``logpFWE``, ``tfce`` -> ``tfce``.

    Keys without a fixed label are written in camelCase (``max_t`` -> ``maxT``).
    """
    if key in STAT_LABELS:
        return STAT_LABELS[key]
    words = [w for w in re.split(r"[^A-Za-z0-9]+", key) if w]
    label = "".join(words[:1] + [w[:1].upper() + w[1:] for w in words[1:]])
    return check_label(label, "stat key")


@dataclass(frozen=True, slots=True, kw_only=True)
class Entities:
    """BIDS entities that prefix every name in a results folder.

    Attributes
    ----------
    sub, ses, task : str or None
        Shared by every input file (None when absent or when the inputs differ).
    space : str or None
        Template space of the data (``model.space``), None when unknown.
    """

    sub: str | None = None
    ses: str | None = None
    task: str | None = None
    space: str | None = None

    def __post_init__(self) -> None:
        for key in (*INPUT_ENTITIES, "space"):
            value = getattr(self, key)
            if value is not None:
                check_label(value, f"entity {key}")

    @property
    def prefix(self) -> str:
        """``sub-01_task-faces_space-MNI152NLin2009cAsym_`` (empty without entities)."""
        pairs = [(k, getattr(self, k)) for k in (*INPUT_ENTITIES, "space")]
        return "".join(f"{k}-{v}_" for k, v in pairs if v is not None)


def shared_entities(paths: Iterable[str | Path], *, space: str | None) -> Entities:
    """The entities of :data:`INPUT_ENTITIES` that every input path shares, and the space.

    Parameters
    ----------
    paths : iterable of str or Path
        Input files (entities are read from file and folder names).
    space : str or None
        The model's template space; kept only when it is a BIDS label.

    Returns
    -------
    Entities
    """
    found: list[Mapping[str, str]] = [bids_entities(p) for p in paths]
    shared: dict[str, str] = {}
    for key in INPUT_ENTITIES:
        values = {f.get(key) for f in found}
        if found and len(values) == 1:
            value = values.pop()
            if value is not None and LABEL.fullmatch(value):
                shared[key] = value
    kept_space = space if isinstance(space, str) and LABEL.fullmatch(space) else None
    return Entities(**shared, space=kept_space)


def map_name(
    contrast: str, stat: str, desc: str | None = None, *, entities: Entities | None = None
) -> str:
    """``maps/<entities>contrast-<contrast>_stat-<stat>[_desc-<desc>]_statmap.nii.gz``."""
    prefix = entities.prefix if entities is not None else ""
    check_label(contrast, "contrast label")
    check_label(stat, "stat label")
    tail = f"_desc-{check_label(desc, 'desc')}" if desc else ""
    return f"{MAPS}/{prefix}contrast-{contrast}_stat-{stat}{tail}_statmap.nii.gz"


#: The ``stat-`` label of cluster index maps.
CLUSTER_INDEX = "clusterIndex"


def cluster_map_name(contrast: str, desc: str, *, entities: Entities | None = None) -> str:
    """The cluster index map of a correction result:
    ``maps/<entities>contrast-<contrast>_stat-clusterIndex_desc-<desc>_statmap.nii.gz``.

    A statistical-map name rather than BIDS's ``_dseg`` (discrete segmentation): the values
    are signed (clusters of negative statistics are negative) and its look-up table is the
    correction's clusters table (``cluster_id``), named in the map's sidecar.
    """
    return map_name(contrast, CLUSTER_INDEX, desc, entities=entities)


def table_name(contrast: str, desc: str, suffix: str, *, entities: Entities | None = None) -> str:
    """``tables/<entities>contrast-<contrast>_desc-<desc>_<suffix>.tsv`` (clusters, peaks)."""
    prefix = entities.prefix if entities is not None else ""
    check_label(contrast, "contrast label")
    check_label(desc, "desc")
    return f"{TABLES}/{prefix}contrast-{contrast}_desc-{desc}_{suffix}.tsv"


def arrays_name(contrast: str, desc: str, *, entities: Entities | None = None) -> str:
    """``tables/<entities>contrast-<contrast>_desc-<desc>_arrays.npz`` (null distributions)."""
    return table_name(contrast, desc, "arrays", entities=entities)[: -len(".tsv")] + ".npz"


def sidecar_name(map_rel: str) -> str:
    """The JSON sidecar of a map: the same name ending in ``.json``."""
    for ext in (".nii.gz", ".nii"):
        if map_rel.endswith(ext):
            return map_rel[: -len(ext)] + ".json"
    raise ValueError(f"{map_rel!r} is not a NIfTI file name")


def run_design_name(run: str) -> str:
    """The design matrix of one run of a first-level model: ``design_matrix_<run>.tsv``."""
    return f"design_matrix_{run}.tsv"


#: Folder of a subject's QC figures (a study's ``sub-<id>/figures``).
FIGURES = "figures"


def run_figure_name(run: str, desc: str) -> str:
    """A figure of one run: ``figures/<run>_desc-<desc>_bold.png``.

    ``run`` is the run's BIDS name without suffix (``sub-01_task-faces_run-1``); ``desc``
    says what is drawn (``designMatrix``, ``fd``).
    """
    if not re.fullmatch(r"[A-Za-z0-9]+-[A-Za-z0-9]+(_[A-Za-z0-9]+-[A-Za-z0-9]+)*", run):
        raise ValueError(f"run {run!r} is not a BIDS name of key-label pairs")
    return f"{FIGURES}/{run}_desc-{check_label(desc, 'desc')}_bold.png"


def map_figure_name(map_rel: str, desc: str) -> str:
    """A figure of a map: ``maps/<name>_statmap.nii.gz`` ->
    ``figures/<name>_desc-<desc>_statmap.png`` (the map's name must carry no ``desc``)."""
    stem = map_rel.removeprefix(f"{MAPS}/").removesuffix("_statmap.nii.gz")
    if stem == map_rel or "/" in stem or "_desc-" in stem:
        raise ValueError(f"{map_rel!r} is not the name of a map without desc")
    return f"{FIGURES}/{stem}_desc-{check_label(desc, 'desc')}_statmap.png"
