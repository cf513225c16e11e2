"""The BIDS-derivative metadata of a results folder: ``dataset_description.json`` and the JSON
sidecar of every statistical map.

``dataset_description.json`` names the folder a derivative (``DatasetType``), the glmreport that
wrote it (``GeneratedBy``, also the marker that lets ``--overwrite`` replace the folder) and,
when the inputs sit in a BIDS dataset (a ``dataset_description.json`` in a folder above them),
that dataset (``SourceDatasets``, by a path relative to the results folder or by its name:
never an absolute path). A map's sidecar says what the map holds: the contrast (name, weights
and design columns), the statistic and its degrees of freedom, its units and, for a correction's
maps, the correction with its parameters and thresholds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..glm.results import ContrastResult
from ..inference.results import CorrectionResult
from .layout import DESCRIPTION

BIDS_VERSION = "1.9.0"
#: Folders above an input searched for its dataset's ``dataset_description.json``.
MAX_LEVELS = 8
#: Source datasets recorded at most (one per dataset, not per input).
MAX_SOURCES = 50
_DESCRIPTION_MAX_BYTES = 1 << 20

#: What the values of each map are.
UNITS = {
    "effect": "units of the input data (the contrast of the model's coefficients)",
    "variance": "squared units of the effect",
    "t": "t statistic",
    "F": "F statistic",
    "z": "z score (standard normal with the same p-value)",
    "p": "uncorrected p-value",
    "logpFWE": "-log10 of the family-wise error corrected p-value",
    "tfce": "threshold-free cluster enhancement score",
    "tdp": "lower confidence bound on the true discovery proportion (0-1)",
}


def generated_by() -> list[dict[str, str]]:
    """The BIDS ``GeneratedBy`` entry naming this glmreport."""
    return [{"Name": "glmreport", "Version": __version__}]


def dataset_description(
    title: str, *, source_datasets: Iterable[Mapping[str, str]] = ()
) -> dict[str, Any]:
    """The ``dataset_description.json`` of a results folder (a BIDS derivative)."""
    out: dict[str, Any] = {
        "Name": title,
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": generated_by(),
    }
    sources = [dict(s) for s in source_datasets]
    if sources:
        out["SourceDatasets"] = sources
    return out


def _read_description(path: Path) -> dict[str, Any] | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        if path.stat().st_size > _DESCRIPTION_MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}  # there, but unreadable: still the dataset's root
    return data if isinstance(data, dict) else {}


def _dataset_root(folder: Path, seen: dict[Path, Path | None]) -> Path | None:
    """The nearest folder at or above ``folder`` holding a dataset_description.json."""
    trail = []
    root = None
    for _ in range(MAX_LEVELS):
        if folder in seen:
            root = seen[folder]
            break
        trail.append(folder)
        if _read_description(folder / DESCRIPTION) is not None:
            root = folder
            break
        if folder.parent == folder:
            break
        folder = folder.parent
    for item in trail:
        seen[item] = root
    return root


def source_datasets(
    inputs: Iterable[str | Path], *, results_folder: Path | None, base: Path | None
) -> list[dict[str, str]]:
    """``SourceDatasets`` entries: the BIDS datasets the inputs sit in.

    Parameters
    ----------
    inputs : iterable of str or Path
        Input files (absolute, or relative to the current folder).
    results_folder : Path or None
        Where the results folder will be; a dataset is named by its path relative to it when
        both lie in ``base``.
    base : Path or None
        The config's folder; a dataset elsewhere is named by its ``Name`` (or folder name).

    Returns
    -------
    list of dict
        ``{"URL": <relative path or name>}`` (plus ``DOI`` when the dataset gives one), in
        the order first met, at most :data:`MAX_SOURCES`.
    """
    seen: dict[Path, Path | None] = {}
    roots: list[Path] = []
    for item in inputs:
        root = _dataset_root(Path(os.path.abspath(item)).parent, seen)
        if root is not None and root not in roots:
            roots.append(root)
        if len(roots) >= MAX_SOURCES:
            break
    return [_source_entry(root, results_folder, base) for root in roots]


def _source_entry(root: Path, results_folder: Path | None, base: Path | None) -> dict[str, str]:
    description = _read_description(root / DESCRIPTION) or {}
    name = description.get("Name")
    url = str(name) if isinstance(name, str) and name.strip() else root.name
    if results_folder is not None and base is not None:
        folder, top = Path(os.path.abspath(results_folder)), Path(os.path.abspath(base))
        if root.is_relative_to(top) and folder.is_relative_to(top):
            url = Path(os.path.relpath(root, folder)).as_posix()
    entry = {"URL": url[:500]}
    doi = description.get("DatasetDOI")
    if isinstance(doi, str) and doi.strip():
        entry["DOI"] = doi[:200]
    return entry


def map_sidecar(
    contrast: ContrastResult,
    stat: str,
    *,
    correction: CorrectionResult | None = None,
    thresholded: bool = False,
) -> dict[str, Any]:
    """The JSON sidecar of one statistical map.

    Parameters
    ----------
    contrast : ContrastResult
    stat : str
        The map's ``stat-`` label (``effect``, ``t``, ``z``, ``logpFWE`` ...).
    correction : CorrectionResult, optional
        The correction that made the map (its thresholded map or one of its own maps).
    thresholded : bool
        The map holds z where the correction's voxels survive and 0 elsewhere.
    """
    dof = float(contrast.dof)
    out: dict[str, Any] = {
        "Statistic": stat,
        "Units": UNITS.get(stat, ""),
        "Contrast": {
            "Name": contrast.name,
            "Label": contrast.label,
            "StatType": contrast.stat_type,
            "Weights": np.atleast_2d(contrast.weights).tolist(),
            "Columns": list(contrast.columns),
            **({"Conjunction": list(contrast.conjunction)} if contrast.conjunction else {}),
        },
        "DegreesOfFreedom": dof if np.isfinite(dof) else None,
        "NumeratorDegreesOfFreedom": int(contrast.df_num),
    }
    if correction is not None:
        out["Correction"] = _correction_sidecar(contrast, correction)
    if thresholded:
        out["Thresholded"] = True
        out["NonSurvivingValue"] = 0
    return out


def cluster_map_sidecar(
    contrast: ContrastResult, correction: CorrectionResult, *, clusters_table: str
) -> dict[str, Any]:
    """The JSON sidecar of a cluster index map (see :mod:`glmreport.inference.cluster_index`).

    Parameters
    ----------
    contrast : ContrastResult
    correction : CorrectionResult
    clusters_table : str
        The clusters table whose ``cluster_id`` the values are (relative path).
    """
    out = map_sidecar(contrast, "clusterIndex", correction=correction)
    out["Units"] = ""
    out["Description"] = (
        "Cluster index map: each voxel holds the cluster_id of its cluster in the clusters "
        "table, negated for clusters of negative statistics (sign '-') of a two-sided test; "
        "0 outside every cluster."
    )
    out["ClustersTable"] = clusters_table
    thresholds = correction.extras.get("thresholds") if correction.method == "ari" else None
    if thresholds and len(thresholds) > 1:
        out["Volumes"] = [f"clusters of z > {float(t):g}" for t in thresholds]
    return out


def _correction_sidecar(contrast: ContrastResult, corr: CorrectionResult) -> dict[str, Any]:
    return {
        "Method": corr.method,
        "Desc": corr.desc,
        "Route": corr.route or corr.desc,
        "Title": corr.title,
        "Alpha": corr.alpha,
        "TwoSided": corr.two_sided,
        "ThresholdZ": corr.threshold_z,
        "ThresholdStat": corr.threshold_stat,
        "ThresholdScale": f"z and {contrast.stat_type}",
        "ClusterExtent": corr.cluster_extent,
        "Parameters": dict(corr.params),
        "SurvivingVoxels": int(np.count_nonzero(corr.surviving)),
    }
