"""Writing the report files: one atomic writer, the summary's record of them, write faults."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixtures.report_fixtures import write_results

from glmreport.errors import OutputError
from glmreport.outputs.summary import read_summary
from glmreport.report.render import render_report


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_results(tmp_path_factory.mktemp("render") / "results", coarse=True, n_subjects=6)


def test_render_report_records_its_files(results: Path, tmp_path: Path):
    folder = tmp_path / "results"
    shutil.copytree(results, folder)
    assert read_summary(folder).report.html is None
    written = render_report(folder, formats=("html",))
    assert written == {"html": folder / "report.html"}
    assert (folder / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (folder / "report.html").stat().st_mode & 0o777 == 0o644
    assert read_summary(folder).report.html == "report.html"
    assert read_summary(folder).report.pdf is None
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_a_write_fault_is_an_output_error(results: Path, tmp_path: Path):
    folder = tmp_path / "results"
    shutil.copytree(results, folder)
    (folder / "report.html").mkdir()  # a folder where the file goes: it cannot be replaced
    with pytest.raises(OutputError, match="cannot write .*report.html"):
        render_report(folder, formats=("html",))
    assert read_summary(folder).report.html is None  # not recorded
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
