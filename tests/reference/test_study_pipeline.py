"""The study level against nilearn's pipeline on the same BIDS + fMRIPrep files.

A small synthetic study (3 subjects x 2 runs of 40 scans on a 10 x 12 x 10 grid of 8 mm
voxels, written by :func:`glmreport.datasets.study.write_study`) is analysed by
``glmreport run`` (``level: study``: glover HRF, cosine drift 0.01 Hz, AR(1), 5 mm smoothing,
six motion parameters with their expansions, percent signal change) and by nilearn 0.14
(``FirstLevelModel(signal_scaling=0)`` per run, ``compute_fixed_effects(precision_weighted=
True)`` per subject, ``SecondLevelModel`` one-sample; :mod:`fixtures.study_nilearn`). The
subjects' effects and the group z map agree to 1e-4 (absolute, in percent signal change and
z), on the same group mask.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

pytest.importorskip("nilearn")
from fixtures.study_nilearn import nilearn_group_z  # noqa: E402

from glmreport.config.load import load_config  # noqa: E402
from glmreport.datasets.study import write_study  # noqa: E402
from glmreport.outputs.summary import read_summary  # noqa: E402
from glmreport.pipeline import run  # noqa: E402

CONFIG = """\
title: Faces vs houses
model:
  level: study
  bids: bids
  task: faces
  space: MNI152NLin2009cAsym
  first_level:
    hrf: glover
    drift: {model: cosine, high_pass: 0.01}
    noise_model: ar1
    smoothing_fwhm: 5
    confounds: ["trans_*", "rot_?"]
contrasts:
  - {name: face > house, t: face - house}
corrections: [{method: fdr, alpha: 0.05}]
report: {formats: []}
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("study")
    write_study(root / "bids", n_subjects=3, n_runs=2, n_scans=40, shape=(10, 12, 10), voxel_mm=8.0)
    (root / "study.yaml").write_text(CONFIG)
    return root


@pytest.fixture(scope="module")
def results(study: Path) -> Path:
    return run(load_config(study / "study.yaml"), out=study / "results", formats=(), jobs=1)


def _data(path: Path) -> np.ndarray:
    return np.asarray(nib.load(path).dataobj, dtype=float)


@pytest.mark.slow
def test_group_z_and_subject_effects_equal_nilearn(study: Path, results: Path):
    reference = nilearn_group_z(study / "bids", smoothing_fwhm=5.0)
    summary = read_summary(results)
    contrast = summary.contrasts[0]
    assert contrast.name == "face > house" and summary.model.n_inputs == 3
    mask = _data(results / summary.mask) > 0
    np.testing.assert_array_equal(mask, np.asarray(reference.mask.dataobj) > 0)
    z = _data(results / contrast.maps.z)
    expected = np.asarray(reference.z.dataobj, dtype=float)
    np.testing.assert_allclose(z[mask], expected[mask], atol=1e-4, rtol=0)
    assert np.abs(z[mask]).max() > 2  # the planted effect is there
    for record in summary.subjects:
        effect = _data(results / record.effects["face > house"])
        theirs = np.asarray(reference.subjects[record.id]["effect"].dataobj, dtype=float)
        inside = _data(results / record.folder / "mask.nii.gz") > 0
        np.testing.assert_array_equal(
            inside, np.asarray(reference.subjects[record.id]["mask"].dataobj) > 0
        )
        np.testing.assert_allclose(effect[inside], theirs[inside], atol=1e-4, rtol=0)
    assert [s.id for s in summary.subjects] == ["01", "02", "03"]
    assert all(s.runs == 2 and s.scans == 80 for s in summary.subjects)
