"""FSL atlases under $FSLDIR: probabilistic, max-probability and label atlases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.atlas_files import save_image

from glmreport.config.specs import AtlasSpec
from glmreport.errors import AtlasError
from glmreport.labels.atlas import load_atlases
from glmreport.labels.sampling import sample_atlas

# ---------------------------------------------------------------------------- FSL


def _fake_fsl(tmp_path: Path) -> Path:
    fsldir = tmp_path / "fsl"
    folder = fsldir / "data" / "atlases" / "Fake"
    folder.mkdir(parents=True)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = (-10.0, -10.0, -10.0)
    prob = np.zeros((10, 10, 10, 2), dtype=np.uint8)
    prob[:5, ..., 0] = 80  # percent, as FSL stores them
    prob[5:, ..., 1] = 60
    prob[5:, ..., 0] = 10
    save_image(prob, affine, folder / "Fake-prob-2mm.nii.gz")
    summary = np.zeros((10, 10, 10), dtype=np.int16)
    summary[:5] = 1
    summary[5:] = 2
    save_image(summary, affine, folder / "Fake-maxprob-thr25-2mm.nii.gz")
    (fsldir / "data" / "atlases" / "Fake-Atlas.xml").write_text(
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<atlas version="1.0"><header>'
        "<name>Fake probabilistic atlas</name><shortname>FK</shortname>"
        "<type>Probabilistic</type><images><imagefile>/Fake/Fake-prob-2mm</imagefile>"
        "<summaryimagefile>/Fake/Fake-maxprob-thr25-2mm</summaryimagefile></images>"
        '</header><data><label index="0" x="2" y="5" z="5">Front Part</label>'
        '<label index="1" x="7" y="5" z="5">Back Part</label></data></atlas>\n'
    )
    labelled = np.zeros((10, 10, 10), dtype=np.int16)
    labelled[2:8, 2:8, 2:8] = 3
    save_image(labelled, affine, folder / "Fake-labels-2mm.nii.gz")
    (fsldir / "data" / "atlases" / "Fake-Labels.xml").write_text(
        "<atlas><header><name>Fake label atlas</name><type>Label</type><images>"
        "<imagefile>/Fake/Fake-labels-2mm</imagefile>"
        "<summaryimagefile>/Fake/Fake-labels-2mm</summaryimagefile></images></header><data>"
        '<label index="0">Unclassified</label><label index="3">Core</label></data></atlas>'
    )
    return fsldir


def test_fsl_atlases(tmp_path, monkeypatch):
    monkeypatch.setenv("FSLDIR", str(_fake_fsl(tmp_path)))
    prob, maxprob, labels = load_atlases(
        [
            AtlasSpec(name="fake", source="fsl", fsl="Fake-Atlas"),
            AtlasSpec(name="fake-max", source="fsl", fsl="fake-atlas", kind="deterministic"),
            AtlasSpec(name="fake-labels", source="fsl", fsl="Fake-Labels"),
        ],
        data_space="MNI152NLin6Asym",
    )
    assert prob.kind == "probabilistic" and prob.names == {1: "Front Part", 2: "Back Part"}
    assert prob.prob_scale == 0.01 and prob.space == "MNI152NLin6Asym" and prob.space_note == ""
    np.testing.assert_allclose(sample_atlas(prob, [[-6.0, 0.0, 0.0]]), [[0.8, 0.0]])
    assert maxprob.kind == "deterministic" and maxprob.names == {1: "Front Part", 2: "Back Part"}
    assert maxprob.image_path.name == "Fake-maxprob-thr25-2mm.nii.gz"
    assert int(sample_atlas(maxprob, [[6.0, 0.0, 0.0]])[0]) == 2
    assert labels.kind == "deterministic" and labels.names == {3: "Core"}


def test_fsl_unknown_name_and_missing_fsldir(tmp_path, monkeypatch):
    monkeypatch.setenv("FSLDIR", str(_fake_fsl(tmp_path)))
    spec = AtlasSpec(name="x", source="fsl", fsl="Fake-Atlsa", where="atlases[2]")
    with pytest.raises(AtlasError, match=r"atlases\[2\].*Did you mean 'Fake-Atlas'"):
        load_atlases([spec], data_space=None)
    monkeypatch.delenv("FSLDIR")
    (atlas,) = load_atlases(
        [AtlasSpec(name="ho", source="fsl", fsl="HarvardOxford-Cortical")], data_space=None
    )
    assert atlas.status == "missing" and "FSLDIR is not set" in atlas.message
