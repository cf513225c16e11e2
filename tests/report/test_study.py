"""The report's study section reads the subjects' QC figures the run drew: it embeds their glass
brains as they are (drawing one only when the run drew none) and lists the files by their
paths inside the results folder."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from glmreport import figures
from glmreport.outputs.summary import StudySubject, SubjectFigures
from glmreport.report.context import Context
from glmreport.report.study import _figure_files, _glass, _with_effect_columns


def _record(figures_entry: SubjectFigures | None) -> StudySubject:
    return StudySubject(
        id="01",
        runs=1,
        scans=30,
        mask_voxels=100,
        folder="sub-01",
        mean_fd=0.1,
        max_fd=0.2,
        effects={"a": "sub-01/maps/x.nii.gz"},
        inputs_hash="0" * 64,
        figures=figures_entry,
    )


def _context(folder: Path, dpi: float = figures.DEFAULT_DPI) -> Context:
    return Context(
        results_dir=folder,
        dpi=dpi,
        background=figures.load_background(),
        mask=None,
        mask_affine=None,
        layout=None,
    )


def test_the_drawn_glass_brain_is_embedded_as_it_is(tmp_path: Path):
    fig = figures.plot_framewise_displacement(np.linspace(0, 1, 10), threshold=0.5)
    rel = "sub-01/figures/sub-01_contrast-a_stat-z_desc-glassBrain_statmap.png"
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_bytes(fig.data)
    entry = SubjectFigures(
        design_matrices={"sub-01_run-1": "sub-01/figures/sub-01_run-1_desc-designMatrix_bold.png"},
        framewise_displacement={"sub-01_run-1": "sub-01/figures/sub-01_run-1_desc-fd_bold.png"},
        glass_brains={"a": rel},
    )
    item = _glass(_record(entry), None, tmp_path / "sub-01", "a", _context(tmp_path))
    assert item.src == "data:image/png;base64," + base64.b64encode(fig.data).decode("ascii")
    assert (item.width, item.height) == (fig.width, fig.height)
    # a report at another dpi draws its own (here: nothing to draw from, so none)
    other = _context(tmp_path, dpi=figures.DEFAULT_DPI / 2)
    assert _glass(_record(entry), None, tmp_path / "sub-01", "a", other) is None
    assert _figure_files(_record(entry)) == (
        ("design matrix, sub-01_run-1", entry.design_matrices["sub-01_run-1"]),
        ("framewise displacement, sub-01_run-1", entry.framewise_displacement["sub-01_run-1"]),
        ("glass brain, a", rel),
    )


def test_without_drawn_figures_nothing_is_listed_or_read(tmp_path: Path):
    record = _record(None)
    assert _figure_files(record) == ()
    # no file drawn and no subject summary to draw from: no figure (the grid says so)
    assert _glass(record, None, tmp_path / "sub-01", "a", _context(tmp_path)) is None
    missing = SubjectFigures(
        design_matrices={}, framewise_displacement={}, glass_brains={"a": "sub-01/gone.png"}
    )
    assert _glass(_record(missing), None, tmp_path / "sub-01", "a", _context(tmp_path)) is None


def test_each_effect_column_has_one_number_of_decimals():
    """4 significant digits of the column's largest value, the same decimals on every row
    (1.220, not 1.22), a real minus sign, empty where a subject has no value."""
    rows = [
        (("sub-01", "2"), [1.2554, -0.0123, 1.2554]),
        (("sub-02", "2"), [1.22, None, 1.22]),
        (("sub-03", "2"), [-12.5, 0.000456, 0.5]),
    ]
    out = _with_effect_columns(rows)
    assert out[0] == ("sub-01", "2", "1.26", "\u22120.01230", "1.255")
    assert out[1] == ("sub-02", "2", "1.22", "", "1.220")
    assert out[2] == ("sub-03", "2", "\u221212.50", "0.00046", "0.500")
    assert _with_effect_columns([((), [1.5]), ((), [-0.0001])])[1] == ("0.000",)
    assert _with_effect_columns([]) == []
