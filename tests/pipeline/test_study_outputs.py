"""What a study adds to its results folder besides the maps: the group level's design checks
(``qc``) against statsmodels and numpy recomputations on the group design and the subjects'
effect maps, and each subject's QC figures (drawn only when a report is rendered)."""

from __future__ import annotations

import base64
import re

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.outliers_influence import variance_inflation_factor

from glmreport import figures
from glmreport.config.load import load_config
from glmreport.datasets.study import write_study
from glmreport.outputs.summary import read_summary
from glmreport.pipeline import run
from glmreport.pipeline.qc import P_BINS
from glmreport.report.study import DISPLAY_Z, GLASS_WIDTH_IN

CONFIG = """\
title: Faces
model:
  level: study
  bids: bids
  task: faces
  space: MNI152NLin2009cAsym
  first_level:
    smoothing_fwhm: 6
    confounds: ["trans_?", "rot_?"]
    scrub: {fd: 0.3}
  group:
    covariates: [age]
contrasts:
  - {name: face > house, t: face - house}
  - {name: faces, t: face}
corrections: [{method: uncorrected, alpha: 0.01}]
report: {formats: [html]}
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("study_outputs")
    write_study(root / "bids", n_subjects=5, n_runs=2, n_scans=30, shape=(8, 10, 8), voxel_mm=8.0)
    (root / "study.yaml").write_text(CONFIG)
    out = run(load_config(root / "study.yaml"), out=root / "results", jobs=1)
    return root, out, read_summary(out)


def _volume(path) -> np.ndarray:
    return np.asarray(nib.load(path).dataobj, dtype=np.float64)


def test_group_design_checks_match_statsmodels_and_numpy(study):
    _, out, summary = study
    qc = summary.qc
    design = pd.read_csv(out / summary.design_matrix, sep="\t")
    x = design.to_numpy(float)
    columns = list(design.columns)
    assert columns == ["intercept", "age"] and set(qc.vif) == {"age"}
    assert qc.vif["age"] == pytest.approx(variance_inflation_factor(x, 1), rel=1e-8)
    inv = np.linalg.inv(x.T @ x)
    # every group result is the group mean of its first-level contrast: c = [1, 0]
    assert set(qc.efficiency) == {"face > house", "faces"}
    for value in qc.efficiency.values():
        assert value == pytest.approx(1.0 / inv[0, 0], rel=1e-10)
    mask = _volume(out / summary.mask) > 0
    assert qc.mask_coverage.n_mask_voxels == int(mask.sum()) == summary.model.mask.n_voxels


def test_group_input_checks_recomputed_from_the_subject_effect_maps(study):
    _, out, summary = study
    qc = summary.qc
    x = pd.read_csv(out / summary.design_matrix, sep="\t").to_numpy(float)
    mask = _volume(out / summary.mask) > 0
    n, p = x.shape
    hat = x @ np.linalg.pinv(x)
    leverage = np.diag(hat)
    assert len(qc.outliers) == len(summary.inputs) == 2 * n  # one per subject and contrast
    for k, name in enumerate(["face > house", "faces"]):
        rows = qc.outliers[k * n : (k + 1) * n]
        inputs = summary.inputs[k * n : (k + 1) * n]
        assert [r.input for r in rows] == list(range(k * n, (k + 1) * n))
        assert [i.values["contrast"] for i in inputs] == [name] * n
        assert [i.values["sub"] for i in inputs] == [s.id for s in summary.subjects]
        y = np.stack([_volume(out / s.effects[name])[mask] for s in summary.subjects])
        resid = y - hat @ y
        sigma2 = (resid**2).sum(axis=0) / (n - p)
        keep = sigma2 > 0
        studentised = resid[:, keep] ** 2 / (sigma2[keep] * (1.0 - leverage[:, None]))
        measure = studentised.mean(axis=1)
        np.testing.assert_allclose([r.leverage for r in rows], leverage, rtol=1e-10)
        np.testing.assert_allclose([r.measure for r in rows], measure, rtol=1e-5)


def test_group_p_value_histograms_recomputed_from_the_p_maps(study):
    _, out, summary = study
    mask = _volume(out / summary.mask) > 0
    for contrast in summary.contrasts:
        hist = summary.qc.p_values[contrast.name]
        p = _volume(out / contrast.maps.p)[mask]
        p = np.clip(np.minimum(1.0, 2.0 * np.minimum(p, 1.0 - p)), 0.0, 1.0)  # two-sided
        counts, _ = np.histogram(p, bins=P_BINS, range=(0.0, 1.0))
        assert hist.sided == "two-sided" and hist.n == mask.sum() == sum(hist.counts)
        # the p map is stored as float32: a value on a bin edge may move one bin
        assert np.abs(np.asarray(hist.counts) - counts).sum() <= 2
        assert hist.pi0 == pytest.approx(min(1.0, (p > 0.5).mean() / 0.5), abs=2 / p.size)


def test_report_shows_the_group_design_checks(study):
    _, out, _ = study
    html = (out / "report.html").read_text()
    assert 'id="design-checks"' in html


def test_subject_qc_figures_are_written_named_and_listed(study):
    root, out, summary = study
    for record in summary.subjects:
        found = record.figures
        sub = read_summary(out / record.folder)
        runs = [r.name for r in sub.model.first.runs]
        assert list(found.design_matrices) == runs == list(found.framewise_displacement)
        assert list(found.glass_brains) == ["face > house", "faces"]
        names = [
            *found.design_matrices.values(),
            *found.framewise_displacement.values(),
            *found.glass_brains.values(),
        ]
        assert sorted(p.name for p in (out / record.folder / "figures").iterdir()) == sorted(
            n.rsplit("/", 1)[1] for n in names
        )
        for run_name, rel in found.design_matrices.items():
            assert rel == f"{record.folder}/figures/{run_name}_desc-designMatrix_bold.png"
            assert found.framewise_displacement[run_name].endswith(f"{run_name}_desc-fd_bold.png")
        for contrast in sub.contrasts:
            rel = found.glass_brains[contrast.name]
            assert rel.endswith(f"contrast-{contrast.label}_stat-z_desc-glassBrain_statmap.png")
            img = nib.load(out / record.folder / contrast.maps.z)
            expected = figures.plot_map_glass_brain(
                np.asarray(img.dataobj, dtype=np.float32),
                img.affine,
                figures.load_background(),
                threshold=DISPLAY_Z,
                width_in=GLASS_WIDTH_IN,
            )
            assert (out / rel).read_bytes() == expected.data
    assert str(root) not in (out / "summary.json").read_text()


def test_report_embeds_the_subject_glass_brains_and_names_the_figures(study):
    root, out, summary = study
    html = (out / "report.html").read_text()
    for record in summary.subjects:
        for rel in record.figures.glass_brains.values():
            data = base64.b64encode((out / rel).read_bytes()).decode("ascii")
            assert f"data:image/png;base64,{data}" in html
        for rel in record.figures.framewise_displacement.values():
            assert f"<code>{rel}</code>" in html  # named, not linked: the report is one file
    assert "QC figures" in html and str(root) not in html
    assert not re.search(r'(href|src)="(?!#|data:)', html)


def test_resume_keeps_the_figures_of_kept_subjects_and_draws_missing_ones(study, tmp_path):
    import shutil

    root, out, summary = study
    again = tmp_path / "again"
    shutil.copytree(out, again)
    shutil.rmtree(again / "sub-01" / "figures")
    before = {p: p.stat().st_mtime_ns for p in (again / "sub-02" / "figures").iterdir()}
    run(load_config(root / "study.yaml"), out=again, jobs=1, resume=True)
    resumed = read_summary(again)
    assert all(s.reused for s in resumed.subjects)
    assert [s.figures for s in resumed.subjects] == [s.figures for s in summary.subjects]
    for record in resumed.subjects:
        for rel in record.figures.glass_brains.values():
            assert (again / rel).read_bytes() == (out / rel).read_bytes()
    assert {p: p.stat().st_mtime_ns for p in (again / "sub-02" / "figures").iterdir()} == before
