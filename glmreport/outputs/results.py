"""Write fitted results into a results folder: maps, tables and summary.json.

The folder layout (BIDS-derivatives style) is documented in the README; the report reads it
back without refitting.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..glm.results import ContrastResult
from ..inference.results import CorrectionResult
from ..inputs.masking import Masker
from .safety import DESCRIPTION, dataset_description
from .shareable import cap_text, cap_title, scrub, share_inputs, share_path
from .write import to_jsonable, write_json, write_nifti, write_tsv

SUMMARY = "summary.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContrastOutput:
    """A contrast with the corrections applied to it."""

    contrast: ContrastResult
    corrections: tuple[CorrectionResult, ...]
    maps_available: tuple[str, ...] = ("effect", "variance", "stat", "z", "p")
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOutput:
    """Everything written to a results folder.

    ``shared_from`` is the config's folder: when given, paths in the summary are written
    relative to it (files elsewhere by name) and no absolute local path is kept.
    """

    title: str
    model: dict[str, Any]
    masker: Masker
    design: pd.DataFrame | None
    inputs: list[dict[str, Any]]
    contrasts: tuple[ContrastOutput, ...]
    atlases: list[dict[str, Any]] = field(default_factory=list)
    inference: dict[str, Any] = field(default_factory=dict)
    extra_designs: dict[str, pd.DataFrame] = field(default_factory=dict)
    config_file: str | None = None
    config_text: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    shared_from: Path | None = None


def map_name(label: str, stat: str, desc: str | None = None) -> str:
    """``maps/contrast-<label>[_desc-<desc>]_stat-<stat>_statmap.nii.gz``."""
    middle = f"_desc-{desc}" if desc else ""
    return f"maps/contrast-{label}{middle}_stat-{stat}_statmap.nii.gz"


def table_name(label: str, desc: str, kind: str) -> str:
    """``tables/contrast-<label>_desc-<desc>_<kind>.tsv``."""
    return f"tables/contrast-{label}_desc-{desc}_{kind}.tsv"


def _contrast_maps(contrast: ContrastResult, available: Sequence[str]) -> dict[str, np.ndarray]:
    stat_key = "t" if contrast.stat_type == "t" else "F"
    maps: dict[str, np.ndarray] = {}
    if "effect" in available:
        maps["effect"] = contrast.effect[0] if contrast.effect.shape[0] == 1 else contrast.effect
    if "variance" in available:
        var = contrast.variance
        maps["variance"] = (
            var[0, 0] if var.shape[0] == 1 else np.stack([var[i, i] for i in range(var.shape[0])])
        )
    maps[stat_key] = contrast.stat
    maps["z"] = contrast.z
    maps["p"] = contrast.p
    return maps


class _MapWriter:
    """Collects NIfTI writes and runs them on a thread pool (gzip releases the GIL)."""

    def __init__(self, folder: Path, masker: Masker) -> None:
        self.folder, self.masker = folder, masker
        self.jobs: list[tuple[Path, np.ndarray]] = []

    def add(self, rel: str, values: np.ndarray) -> str:
        self.jobs.append((self.folder / rel, np.asarray(values, dtype=np.float32)))
        return rel

    def _write(self, job: tuple[Path, np.ndarray]) -> None:
        path, values = job
        write_nifti(path, self.masker.inverse(values), self.masker.affine)

    def flush(self) -> None:
        workers = min(len(self.jobs), os.cpu_count() or 1) or 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(self._write, self.jobs))
        self.jobs.clear()


def write_results(folder: Path, run: RunOutput) -> dict[str, Any]:
    """Write maps, tables, design and summary.json into ``folder``.

    Returns
    -------
    dict
        The summary (also written to ``folder / 'summary.json'``).
    """
    folder = Path(folder)
    (folder / "maps").mkdir(exist_ok=True)
    (folder / "tables").mkdir(exist_ok=True)
    masker = run.masker
    write_nifti(folder / "mask.nii.gz", masker.mask, masker.affine)
    design_file = None
    if run.design is not None:
        design_file = "design_matrix.tsv"
        write_tsv(folder / design_file, run.design)
    extra_designs = {}
    for name, frame in run.extra_designs.items():
        extra_designs[name] = f"design_matrix_{name}.tsv"
        write_tsv(folder / extra_designs[name], frame)

    writer = _MapWriter(folder, masker)
    contrasts_out = []
    for item in run.contrasts:
        c = item.contrast
        maps_rel = {}
        for key, values in _contrast_maps(c, item.maps_available).items():
            rel = writer.add(map_name(c.label, key), values)
            maps_rel["stat" if key in ("t", "F") else key] = rel
        corrections = []
        for corr in item.corrections:
            corrections.append(_write_correction(folder, c, corr, writer))
        contrasts_out.append(
            {
                "name": c.name,
                "label": c.label,
                "stat_type": c.stat_type,
                "dof": c.dof,
                "df_num": c.df_num,
                "weights": c.weights,
                "columns": list(c.columns),
                "maps": maps_rel,
                "notes": list(item.notes),
                "corrections": corrections,
            }
        )
    model = dict(run.model)
    if extra_designs:
        model["runs"] = [{"name": n, "design_matrix": p} for n, p in extra_designs.items()]
    summary = {
        "glmreport_version": __version__,
        "title": cap_title(run.title),
        "config_file": run.config_file,
        "config_text": cap_text(run.config_text),
        "model": model,
        "design_matrix": design_file,
        "mask": "mask.nii.gz",
        "background": None,
        "inputs": run.inputs,
        "inference": run.inference,
        "contrasts": contrasts_out,
        "atlases": run.atlases,
        "provenance": run.provenance,
        "report": {},
    }
    if run.shared_from is not None:
        summary = _shareable(summary, Path(run.shared_from))
    writer.flush()
    write_json(folder / DESCRIPTION, dataset_description(summary["title"]))
    write_json(folder / SUMMARY, summary)
    return summary


def _shareable(summary: dict[str, Any], base: Path) -> dict[str, Any]:
    """The summary with every local path relative to ``base`` or reduced to a file name."""
    verbatim = {key: summary[key] for key in ("title", "config_text")}
    out = scrub(to_jsonable({k: v for k, v in summary.items() if k not in verbatim}), base)
    out["inputs"] = share_inputs(summary["inputs"] or [], base)
    if summary.get("config_file"):
        out["config_file"] = share_path(summary["config_file"], base)[0]
    return {key: verbatim.get(key, out.get(key)) for key in summary}


def _write_correction(
    folder: Path, contrast: ContrastResult, corr: CorrectionResult, writer: _MapWriter
) -> dict[str, Any]:
    label, desc = contrast.label, corr.desc
    map_rel = writer.add(map_name(label, "z", desc), np.where(corr.surviving, contrast.z, 0.0))
    extra_maps = {
        key: writer.add(map_name(label, key, desc), values) for key, values in corr.maps.items()
    }
    clusters_rel = table_name(label, desc, "clusters")
    peaks_rel = table_name(label, desc, "peaks")
    write_tsv(folder / clusters_rel, corr.clusters)
    write_tsv(folder / peaks_rel, corr.peaks)
    arrays_rel = None
    if corr.arrays:
        arrays_rel = f"tables/contrast-{label}_desc-{desc}_arrays.npz"
        np.savez_compressed(folder / arrays_rel, **corr.arrays)
    scale = "z and " + ("t" if contrast.stat_type == "t" else "F")
    return {
        "method": corr.method,
        "desc": desc,
        "route": corr.route or desc,
        "title": corr.title,
        "alpha": corr.alpha,
        "two_sided": corr.two_sided,
        "threshold_z": corr.threshold_z,
        "threshold_stat": corr.threshold_stat,
        "threshold_scale": scale,
        "cluster_extent": corr.cluster_extent,
        "n_voxels": int(np.count_nonzero(corr.surviving)),
        "n_clusters": int(len(corr.clusters)),
        "clusters_table": clusters_rel,
        "peaks_table": peaks_rel,
        "map": map_rel,
        "maps": extra_maps,
        "arrays": arrays_rel,
        "params": corr.params,
        "extras": corr.extras,
    }
