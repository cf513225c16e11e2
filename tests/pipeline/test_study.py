"""The study level end to end on a tiny synthetic BIDS + fMRIPrep dataset.

Identical maps whichever engine fits the runs (this process, a local process pool, a real
Dask ``LocalCluster`` on 127.0.0.1); the results folder's layout and summary; exclusion;
``on_error: skip``; ``--resume``; bad inputs refused with exit 2 before anything is written.
(Agreement with nilearn: ``tests/reference/test_study_pipeline.py``.)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from glmreport.cli import main
from glmreport.config.load import load_config
from glmreport.datasets.study import write_study
from glmreport.outputs.summary import read_summary
from glmreport.pipeline import run

CONFIG = """\
title: Faces
model:
  level: study
  bids: bids
  task: faces
  space: MNI152NLin2009cAsym
  {extra}
  first_level:
    smoothing_fwhm: 6
    confounds: ["trans_?", "rot_?"]
    scrub: {{fd: 0.5}}
  group:
    covariates: [age]
contrasts:
  - {{name: face > house, t: face - house}}
  - {{name: faces, t: face}}
corrections: [{{method: uncorrected, alpha: 0.01}}]
report: {{formats: []}}
"""


def _write_config(root: Path, name: str = "study.yaml", extra: str = "", **swap: str) -> Path:
    text = CONFIG.format(extra=extra)
    for old, new in swap.items():
        text = text.replace(old, new)
    (root / name).write_text(text)
    return root / name


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("study")
    write_study(root / "bids", n_subjects=3, n_runs=2, n_scans=30, shape=(8, 10, 8), voxel_mm=8.0)
    _write_config(root)
    return root


@pytest.fixture(scope="module")
def serial(dataset: Path) -> Path:
    return run(load_config(dataset / "study.yaml"), out=dataset / "serial", jobs=1)


def _maps(folder: Path) -> dict[str, np.ndarray]:
    files = sorted(folder.rglob("*.nii.gz"))
    return {str(f.relative_to(folder)): np.asarray(nib.load(f).dataobj) for f in files}


def test_results_folder_layout_and_summary(dataset: Path, serial: Path):
    summary = read_summary(serial)
    assert [c.name for c in summary.contrasts] == ["face > house", "faces"]
    assert summary.model.level == "second" and summary.model.n_inputs == 3
    assert summary.model.columns == ("intercept", "age")
    assert [s.id for s in summary.subjects] == ["01", "02", "03"]
    for record in summary.subjects:
        sub = read_summary(serial / record.folder)
        assert sub.model.level == "first" and len(sub.model.first.runs) == 2
        assert sub.model.first.signal_scaling.startswith("percent")
        assert sub.model.mask.n_voxels == record.mask_voxels
        assert record.runs == 2 and record.scans == 60
        assert 0 < record.mean_fd < record.max_fd
        assert record.dof == sub.model.dof and record.dof < 60
        tables = sorted(
            (dataset / "bids").rglob(f"sub-{record.id}_*_desc-confounds_timeseries.tsv")
        )
        fds = [pd.read_csv(t, sep="\t")["framewise_displacement"] for t in tables]
        assert len(fds) == 2 and record.scrubbed == sum(int((fd > 0.5).sum()) for fd in fds)
        assert list(record.design_matrices) == [
            f"{record.folder}/{r.design_matrix}" for r in sub.model.first.runs
        ]
        spikes = 0
        for path in record.design_matrices:
            design = pd.read_csv(serial / path, sep="\t")
            assert design.shape[0] == 30
            spikes += sum(c.startswith("motion_outlier") for c in design.columns)
        assert spikes == record.scrubbed
        assert set(record.effects) == {"face > house", "faces"}
        assert (serial / record.effects["faces"]).is_file()
        assert [c.corrections for c in sub.contrasts] == [(), ()]  # corrections: group only
        # no report rendered: no QC figures drawn
        assert record.figures is None and not (serial / record.folder / "figures").exists()
    study = summary.study
    assert study.task == "faces" and study.covariates == ("age",) and study.failed == ()
    assert any("trial_type n/a were dropped" in n for n in study.notes)
    assert any("framewise displacement > 0.5" in n for n in study.notes)
    group_mask = np.asarray(nib.load(serial / "mask.nii.gz").dataobj) > 0
    masks = [
        np.asarray(nib.load(serial / s.folder / "mask.nii.gz").dataobj) > 0
        for s in summary.subjects
    ]
    np.testing.assert_array_equal(group_mask, np.logical_and.reduce(masks))
    inputs = [r for r in summary.inputs if r.values["contrast"] == "faces"]
    assert [r.values["sub"] for r in inputs] == ["01", "02", "03"]
    assert all(r.path.startswith("serial/sub-0") for r in inputs)  # relative to the config
    assert "/tmp" not in (serial / "summary.json").read_text()


@pytest.mark.slow
def test_local_pool_and_dask_cluster_give_identical_maps(dataset: Path, serial: Path):
    """About 15 s on 2 busy cores, nearly all of it starting the Dask cluster's worker
    process. With another thread running, this process may not fork, and a study this small
    is fitted on its threads with ``jobs=2`` (said in the log); the next tests check fits
    made by forked and by pool workers."""
    import threading

    distributed = pytest.importorskip("distributed")
    expected = _maps(serial)
    said: list[str] = []
    stop = threading.Event()
    waiter = threading.Thread(target=stop.wait)
    waiter.start()
    try:
        pool = run(
            load_config(dataset / "study.yaml"), out=dataset / "pool", jobs=2, log=said.append
        )
    finally:
        stop.set()
        waiter.join()
    assert "6 small runs: fitted on 2 threads of this process" in " ".join(said)
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        dask = run(
            load_config(dataset / "study.yaml"),
            out=dataset / "dask",
            scheduler=cluster.scheduler_address,
        )
    for folder in (pool, dask):
        got = _maps(folder)
        assert got.keys() == expected.keys()
        for name, values in expected.items():
            np.testing.assert_array_equal(got[name], values, err_msg=name)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux")
def test_a_study_run_from_the_command_line_forks_its_workers(dataset: Path, serial: Path):
    """``glmreport run`` is one thread when the fits start: the runs go to worker processes
    forked from it (said in the log), and the maps are those of one process."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "glmreport", "run", "study.yaml", "--out", "forked", "--jobs=2"],
        cwd=dataset,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "6 runs: fitted on 2 worker processes forked from this one" in done.stderr
    expected, got = _maps(serial), _maps(dataset / "forked")
    assert got.keys() == expected.keys()
    for name, values in expected.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)


@pytest.mark.slow
def test_run_fits_in_pool_workers_equal_those_of_this_process(dataset: Path):
    """A study's pool also fits here while its workers start (so the test above may fit
    every run here): a pool that never does checks the fits that come back from workers."""
    from glmreport.pipeline.execution import LocalExecutor, SerialExecutor
    from glmreport.pipeline.study import SMALL_STUDY, plan_study, voxel_scans
    from glmreport.tasks.study_fit import RunTask, fit_run

    config = load_config(dataset / "study.yaml")
    plan = plan_study(config)
    tasks = [
        RunTask(
            run=run,
            subject_runs=subject.runs,
            settings=config.model.study.first_level,
            contrasts=plan.contrasts,
        )
        for subject in plan.study.subjects[:2]
        for run in subject.runs
    ]
    assert voxel_scans(tasks) == 4 * 8 * 10 * 8 * 30 < SMALL_STUDY
    here = SerialExecutor().map(fit_run, tasks)
    with LocalExecutor(jobs=2) as pool:
        there = pool.map(fit_run, tasks)
    for a, b in zip(here, there, strict=True):
        assert a.label == b.label and a.contrasts.keys() == b.contrasts.keys()
        np.testing.assert_array_equal(a.mask, b.mask)
        for name, result in a.contrasts.items():
            np.testing.assert_array_equal(result.effect, b.contrasts[name].effect)
            np.testing.assert_array_equal(result.variance, b.contrasts[name].variance)
        assert a.design.equals(b.design) and a.digests == b.digests


def test_resume_reuses_unchanged_subjects(dataset: Path, serial: Path, tmp_path: Path):
    import shutil

    out = dataset / "resumed"
    shutil.copytree(serial, out)
    events = dataset / "bids/sub-02/func/sub-02_task-faces_run-1_events.tsv"
    before = events.stat().st_mtime_ns
    try:
        os.utime(events, ns=(before + 10**9, before + 10**9))  # sub-02 changed
        run(load_config(dataset / "study.yaml"), out=out, jobs=1, resume=True)
    finally:
        os.utime(events, ns=(before, before))
    summary = read_summary(out)
    assert [s.reused for s in summary.subjects] == [True, False, True]
    for name, values in _maps(serial).items():
        np.testing.assert_array_equal(_maps(out)[name], values, err_msg=name)


def test_exclusion_and_subjects(dataset: Path):
    config = _write_config(
        dataset, "exclude.yaml", extra='exclude: ["sub-02"]', **{"covariates: [age]": "{}"}
    )
    out = run(load_config(config), out=dataset / "excluded", jobs=1)
    summary = read_summary(out)
    assert [s.id for s in summary.subjects] == ["01", "03"]
    assert "excluded: sub-02" in summary.study.notes
    assert not (out / "sub-02").exists()


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize(
    ("extra", "swap", "words"),
    [
        ('subjects: ["09"]', {}, ["sub-09", "available: sub-01, sub-02, sub-03"]),
        ("", {'"rot_?"': '"rot_xx"'}, ["sub-01_task-faces_run-1", "rot_xx", "rot_x"]),
        ("", {"[age]": "[agee]"}, ["agee", "age"]),
        ("", {"[age]": "[handedness]"}, ["handedness", "n/a", "sub-03"]),
        ("task: houses", {"  task: faces\n": ""}, ["task-houses", "faces"]),
    ],
)
def test_bad_inputs_exit_2_and_write_nothing(dataset: Path, capsys, extra, swap, words):
    config = _write_config(dataset, "bad.yaml", extra=extra, **swap)
    before = _snapshot(dataset)
    assert main(["run", str(config), "--out", str(dataset / "bad"), "-q"]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    assert _snapshot(dataset) == before


def test_on_error_skip_leaves_the_failed_subject_out(tmp_path: Path, capsys):
    write_study(
        tmp_path / "bids", n_subjects=3, n_runs=1, n_scans=30, shape=(8, 10, 8), voxel_mm=8.0
    )
    events = tmp_path / "bids/sub-02/func/sub-02_task-faces_run-1_events.tsv"
    events.write_text("onset\tduration\ttrial_type\n-500\t1\tface\n3\t1\thouse\n")
    config = _write_config(tmp_path, extra="on_error: skip", **{"covariates: [age]": "{}"})
    out = run(load_config(config), out=tmp_path / "results", jobs=1)
    summary = read_summary(out)
    assert [s.id for s in summary.subjects] == ["01", "03"]
    (failed,) = summary.study.failed
    assert failed.id == "02" and "sub-02_task-faces_run-1" in failed.error
    config = _write_config(tmp_path, "raise.yaml")
    assert main(["run", str(config), "--out", str(tmp_path / "raised"), "-q", "--jobs", "1"]) == 2
    assert "sub-02_task-faces_run-1" in capsys.readouterr().err
    assert not (tmp_path / "raised").exists()


def test_validate_checks_a_study_without_fitting(dataset: Path, capsys):
    assert main(["validate", str(dataset / "study.yaml")]) == 0
    assert "OK - study level" in capsys.readouterr().out
    assert json.loads((dataset / "bids/dataset_description.json").read_text())["Name"]


def test_report_has_the_study_section(serial: Path):
    from glmreport.report.build import build_report_model
    from glmreport.report.render import render_report

    model = build_report_model(serial)
    study = model.study
    assert [r[0] for r in study.rows] == ["sub-01", "sub-02", "sub-03"]
    assert study.headers[0].startswith("face > house: effect at (")
    assert [g.contrast for g in study.grids] == ["face > house", "faces"]
    assert all(fig is not None for g in study.grids for _, fig in g.figures)
    assert "percent signal change" in study.methods and "set to 0" in study.methods
    html = render_report(serial, formats=("html",))["html"].read_text()
    assert 'id="study"' in html and "each subject&#39;s first level" in html.lower().replace(
        "'", "&#39;"
    )
