"""A study subject's QC figures, written into its folder when the run renders a report.

For each subject (``sub-<id>/figures``, names from :mod:`glmreport.outputs.layout`):

- each run's design matrix (read back from the folder's ``design_matrix_<run>.tsv``);
- each run's framewise displacement by scan (fMRIPrep's confounds table; its leading ``n/a``
  is not drawn), with the scrubbing threshold when one is configured;
- the glass brain of each first-level contrast's z map, ``|z| >= 3.09`` (the figure the
  report's subject grid shows, which embeds this file instead of drawing it again).

Everything is read from the subject's folder and its confounds tables, so a folder kept by
``--resume`` gets its figures as a new one does. A run without a report (``--no-report``)
makes none: the figures cost matplotlib time that only a report asks for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd

from .. import figures
from ..config.specs import RunConfig
from ..inputs.bids import StudySubject
from ..inputs.confounds import FD_COLUMN, confound_values, read_confounds
from ..outputs.layout import FIGURES, map_figure_name, run_figure_name
from ..outputs.summary import read_summary
from ..report.study import DISPLAY_Z, GLASS_WIDTH_IN
from .prepared import Log, quiet


def _save(folder: Path, rel: str, png: figures.Png) -> str:
    (folder / rel).write_bytes(png.data)
    return rel


def _fd(path: Path | None, label: str) -> np.ndarray | None:
    if path is None:
        return None
    table = read_confounds(path)
    if FD_COLUMN not in table.columns:
        return None
    return confound_values(table, [FD_COLUMN], source=label)[FD_COLUMN].to_numpy(float)


def write_subject_figures(
    stage: Path,
    subject: StudySubject,
    record: dict[str, Any],
    *,
    config: RunConfig,
    background: figures.Background,
) -> dict[str, dict[str, str]]:
    """Draw one subject's QC figures into ``stage / record['folder'] / 'figures'``.

    Parameters
    ----------
    stage : Path
        The (staging) results folder of the study.
    subject : StudySubject
        The subject's runs as found (their confounds tables).
    record : dict
        Its ``subjects`` entry (``folder``).
    config : RunConfig
    background : figures.Background
        The glass brains' outline.

    Returns
    -------
    dict
        The entry's ``figures`` (:class:`glmreport.outputs.summary.SubjectFigures`), paths
        relative to ``stage``.
    """
    name = record["folder"]
    folder = stage / name
    (folder / FIGURES).mkdir(exist_ok=True)
    summary = read_summary(folder)
    threshold = config.model.study.first_level.scrub_fd
    by_label = {r.label: r for r in subject.runs}
    designs, motion = {}, {}
    for run in summary.model.first.runs if summary.model.first else ():
        table = pd.read_csv(folder / run.design_matrix, sep="\t")
        png = figures.plot_design_matrix(
            table.to_numpy(float), [str(c) for c in table.columns], row_label="scan"
        )
        rel = run_figure_name(run.name, "designMatrix")
        designs[run.name] = f"{name}/{_save(folder, rel, png)}"
        found = by_label.get(run.name)
        fd = _fd(found.confounds, run.name) if found is not None else None
        if fd is not None:
            png = figures.plot_framewise_displacement(fd, threshold=threshold)
            motion[run.name] = f"{name}/{_save(folder, run_figure_name(run.name, 'fd'), png)}"
    glass = {}
    for contrast in summary.contrasts:
        img = nib.load(folder / contrast.maps.z)
        z = np.asarray(img.dataobj, dtype=np.float32)
        png = figures.plot_map_glass_brain(
            z.reshape(z.shape[:3]),
            img.affine,
            background,
            threshold=DISPLAY_Z,
            width_in=GLASS_WIDTH_IN,
            dpi=figures.DEFAULT_DPI,  # the report's: its grid embeds this file
        )
        rel = map_figure_name(contrast.maps.z, "glassBrain")
        glass[contrast.name] = f"{name}/{_save(folder, rel, png)}"
    return {"design_matrices": designs, "framewise_displacement": motion, "glass_brains": glass}


def with_figures(
    stage: Path,
    subjects: Sequence[StudySubject],
    records: Sequence[dict[str, Any]],
    *,
    config: RunConfig,
    log: Log = quiet,
) -> list[dict[str, Any]]:
    """The ``subjects`` entries with their QC figures, drawing those not drawn yet (a folder
    kept by ``--resume`` keeps the figures it has)."""
    background = figures.load_background()
    by_id = {s.id: s for s in subjects}
    out = []
    log(f"drawing the QC figures of {len(records)} subjects")
    for record in records:
        kept = record.get("figures")
        files = [rel for group in (kept or {}).values() for rel in group.values()]
        if kept and all((stage / rel).is_file() for rel in files):
            out.append(record)
            continue
        drawn = write_subject_figures(
            stage, by_id[record["id"]], record, config=config, background=background
        )
        out.append({**record, "figures": drawn})
    return out
