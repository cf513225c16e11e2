"""Write fitted results into a results folder: maps and their sidecars, tables, design
matrices, ``dataset_description.json`` and ``summary.json``.

Every name comes from :mod:`~glmreport.outputs.layout`; the summary is checked against the
contract (:mod:`~glmreport.outputs.summary_types`) and written by its one writer. The report
reads the folder back without refitting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..glm.results import ContrastResult
from ..inference.cluster_index import cluster_index_map
from ..inference.results import CorrectionResult
from ..inputs.masking import Masker
from .derivative import cluster_map_sidecar, dataset_description, map_sidecar, source_datasets
from .layout import (
    DESCRIPTION,
    DESIGN,
    MAPS,
    MASK,
    SUMMARY,
    TABLES,
    Entities,
    arrays_name,
    cluster_map_name,
    map_name,
    run_design_name,
    shared_entities,
    sidecar_name,
    stat_label,
    table_name,
)
from .shareable import cap_text, cap_title, scrub, share_inputs, share_path
from .summary_io import nest_model, summary_from_json, write_summary
from .summary_types import SCHEMA_VERSION, Summary
from .write import to_jsonable, write_json, write_nifti, write_tsv

#: Unthresholded maps of a contrast, by summary key.
CONTRAST_MAPS = ("effect", "variance", "stat", "z", "p")


@dataclass(frozen=True, slots=True, kw_only=True)
class ContrastOutput:
    """A contrast with the corrections applied to it."""

    contrast: ContrastResult
    corrections: tuple[CorrectionResult, ...]
    maps_available: tuple[str, ...] = CONTRAST_MAPS
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOutput:
    """Everything written to a results folder.

    ``shared_from`` is the config's folder: when given, paths in the summary are written
    relative to it (files elsewhere by name) and no absolute local path is kept.
    ``results_folder`` is where the folder will finally be (it is written in a staging folder
    first); source datasets are named relative to it. ``qc`` is the ``qc`` block of the summary
    (:class:`~glmreport.outputs.summary_qc.QualityChecks` as plain values).
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
    results_folder: Path | None = None
    qc: dict[str, Any] | None = None
    subjects: list[dict[str, Any]] = field(default_factory=list)
    study: dict[str, Any] | None = None


#: Maps holding fewer bytes than this in all (as float32 volumes) are written on one thread.
THREADED_BYTES = 4 << 20


class _MapWriter:
    """Collects NIfTI writes and runs them on a thread pool (gzip releases the GIL); writes
    each map's JSON sidecar."""

    def __init__(self, folder: Path, masker: Masker, base: Path | None) -> None:
        self.folder, self.masker, self.base = folder, masker, base
        self.jobs: list[tuple[Path, np.ndarray]] = []
        # in-mask voxels' positions in a volume flattened in Fortran order (NIfTI's order)
        mask = masker.mask
        self.f_index = np.ravel_multi_index(np.nonzero(mask), mask.shape, order="F")

    def add(
        self, rel: str, values: np.ndarray, sidecar: Mapping[str, Any], *, dtype: Any = np.float32
    ) -> str:
        self.jobs.append((self.folder / rel, np.asarray(values, dtype=dtype)))
        meta = scrub(to_jsonable(dict(sidecar)), self.base) if self.base else sidecar
        write_json(self.folder / sidecar_name(rel), meta)
        return rel

    def _volume(self, values: np.ndarray) -> np.ndarray:
        """``masker.inverse(values)`` laid out in Fortran order, the order of a NIfTI file's
        data: nibabel then writes it without a strided copy (the same bytes)."""
        shape = self.masker.mask.shape
        rows = values.reshape(-1, values.shape[-1])  # (1, v) or (k, v)
        size = int(np.prod(shape))
        flat = np.zeros(size * len(rows), dtype=values.dtype)
        for k, row in enumerate(rows):
            flat[k * size + self.f_index] = row
        return flat.reshape(shape if values.ndim == 1 else (*shape, len(rows)), order="F")

    def _write(self, job: tuple[Path, np.ndarray]) -> None:
        path, values = job
        write_nifti(path, self._volume(values), self.masker.affine, dtype=values.dtype)

    def flush(self) -> None:
        """Write the maps added: on threads (deflating releases the GIL) when they hold at least
        :data:`THREADED_BYTES` voxels' values, else here (a pool costs more than small maps)."""
        n_voxels = max(self.masker.n_voxels, 1)
        volumes = sum(max(values.size // n_voxels, 1) for _, values in self.jobs)
        workers = min(len(self.jobs), os.cpu_count() or 1)
        if workers < 2 or volumes * self.masker.mask.size * 4 < THREADED_BYTES:
            for job in self.jobs:
                self._write(job)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(self._write, self.jobs))
        self.jobs.clear()


def _contrast_maps(contrast: ContrastResult, available: Sequence[str]) -> dict[str, np.ndarray]:
    """Unthresholded maps by ``stat-`` label (``t`` or ``F`` for the statistic)."""
    maps: dict[str, np.ndarray] = {}
    if "effect" in available:
        maps["effect"] = contrast.effect[0] if contrast.effect.shape[0] == 1 else contrast.effect
    if "variance" in available:
        var = contrast.variance
        maps["variance"] = (
            var[0, 0] if var.shape[0] == 1 else np.stack([var[i, i] for i in range(var.shape[0])])
        )
    maps["t" if contrast.stat_type == "t" else "F"] = contrast.stat
    maps["z"] = contrast.z
    maps["p"] = contrast.p
    return maps


def _input_paths(inputs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The input files whose entities name the results (a first-level model: its BOLD runs)."""
    rows = [r for r in inputs if r.get("path")]
    if any(r.get("kind") == "bold" for r in rows):
        rows = [r for r in rows if r.get("kind") == "bold"]
    return [str(r["path"]) for r in rows]


def write_results(folder: Path, run: RunOutput) -> Summary:
    """Write maps, sidecars, tables, design matrices and summary.json into ``folder``.

    Returns
    -------
    Summary
        The summary written to ``folder / 'summary.json'``.
    """
    folder = Path(folder)
    (folder / MAPS).mkdir(exist_ok=True)
    (folder / TABLES).mkdir(exist_ok=True)
    masker = run.masker
    write_nifti(folder / MASK, masker.mask, masker.affine)
    design_file = None
    if run.design is not None:
        design_file = DESIGN
        write_tsv(folder / design_file, run.design)
    runs = []
    for name, frame in run.extra_designs.items():
        runs.append({"name": name, "design_matrix": run_design_name(name)})
        write_tsv(folder / run_design_name(name), frame)
    entities = shared_entities(_input_paths(run.inputs), space=run.model.get("space"))
    writer = _MapWriter(folder, masker, run.shared_from)
    contrasts = [_contrast_entry(folder, item, writer, entities) for item in run.contrasts]
    model = nest_model(dict(run.model))
    if model.get("first") is not None:
        model["first"]["runs"] = runs
    raw = {
        "schema_version": SCHEMA_VERSION,
        "glmreport_version": __version__,
        "title": cap_title(run.title),
        "config_file": run.config_file,
        "config_text": cap_text(run.config_text),
        "model": model,
        "design_matrix": design_file,
        "mask": MASK,
        "background": None,
        "inputs": run.inputs,
        "inference": run.inference,
        "contrasts": contrasts,
        "atlases": run.atlases,
        "provenance": run.provenance,
        "report": {"html": None, "pdf": None},
    }
    if run.qc is not None:
        raw["qc"] = run.qc
    if run.study is not None:
        raw["subjects"], raw["study"] = run.subjects, run.study
    if run.shared_from is not None:
        raw = _shareable(raw, Path(run.shared_from))
    summary = summary_from_json(to_jsonable(raw), file=SUMMARY, internal=True)
    writer.flush()
    sources = source_datasets(
        _input_paths(run.inputs), results_folder=run.results_folder, base=run.shared_from
    )
    write_json(folder / DESCRIPTION, dataset_description(summary.title, source_datasets=sources))
    write_summary(folder, summary, checked=True)
    return summary


def _shareable(summary: dict[str, Any], base: Path) -> dict[str, Any]:
    """The summary with every local path relative to ``base`` or reduced to a file name."""
    verbatim = {key: summary[key] for key in ("title", "config_text")}
    out = scrub(to_jsonable({k: v for k, v in summary.items() if k not in verbatim}), base)
    out["inputs"] = share_inputs(summary["inputs"] or [], base)
    if summary.get("config_file"):
        out["config_file"] = share_path(summary["config_file"], base)[0]
    return {key: verbatim.get(key, out.get(key)) for key in summary}


def _contrast_entry(
    folder: Path, item: ContrastOutput, writer: _MapWriter, entities: Entities
) -> dict[str, Any]:
    c = item.contrast
    maps_rel: dict[str, str | None] = {key: None for key in CONTRAST_MAPS}
    for stat, values in _contrast_maps(c, item.maps_available).items():
        rel = writer.add(map_name(c.label, stat, entities=entities), values, map_sidecar(c, stat))
        maps_rel["stat" if stat in ("t", "F") else stat] = rel
    return {
        "name": c.name,
        "label": c.label,
        "stat_type": c.stat_type,
        "dof": c.dof,
        "df_num": c.df_num,
        "weights": np.atleast_2d(c.weights),
        "columns": list(c.columns),
        "maps": maps_rel,
        "notes": list(item.notes),
        "conjunction": list(c.conjunction),
        "corrections": [
            _write_correction(folder, c, corr, writer, entities) for corr in item.corrections
        ],
    }


def _write_correction(
    folder: Path,
    contrast: ContrastResult,
    corr: CorrectionResult,
    writer: _MapWriter,
    entities: Entities,
) -> dict[str, Any]:
    label, desc = contrast.label, corr.desc
    z = contrast.z if corr.z is None else corr.z
    map_rel = writer.add(
        map_name(label, "z", desc, entities=entities),
        np.where(corr.surviving, z, 0.0),
        map_sidecar(contrast, "z", correction=corr, thresholded=True),
    )
    extra_maps = {}
    for key, values in corr.maps.items():
        stat = stat_label(key)
        rel = map_name(label, stat, desc, entities=entities)
        extra_maps[stat] = writer.add(rel, values, map_sidecar(contrast, stat, correction=corr))
    clusters_rel = table_name(label, desc, "clusters", entities=entities)
    peaks_rel = table_name(label, desc, "peaks", entities=entities)
    index = cluster_index_map(corr)
    cluster_rel = None
    if index is not None:
        cluster_rel = writer.add(
            cluster_map_name(label, desc, entities=entities),
            index,
            cluster_map_sidecar(contrast, corr, clusters_table=clusters_rel),
            dtype=np.int32,
        )
    write_tsv(folder / clusters_rel, corr.clusters)
    write_tsv(folder / peaks_rel, corr.peaks)
    arrays_rel = None
    if corr.arrays:
        arrays_rel = arrays_name(label, desc, entities=entities)
        np.savez_compressed(folder / arrays_rel, **corr.arrays)
    return {
        "method": corr.method,
        "desc": desc,
        "route": corr.route or desc,
        "title": corr.title,
        "alpha": corr.alpha,
        "two_sided": corr.two_sided,
        "threshold_z": corr.threshold_z,
        "threshold_stat": corr.threshold_stat,
        "threshold_scale": "z and " + ("t" if contrast.stat_type == "t" else "F"),
        "cluster_extent": corr.cluster_extent,
        "n_voxels": int(np.count_nonzero(corr.surviving)),
        "n_clusters": int(len(corr.clusters)),
        "map": map_rel,
        "clusters_table": clusters_rel,
        "peaks_table": peaks_rel,
        "maps": extra_maps,
        "arrays": arrays_rel,
        "params": corr.params,
        "extras": corr.extras,
        "cluster_map": cluster_rel,
    }
