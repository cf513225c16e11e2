"""Inference and labels: every correction on the contrasts it names, then atlas columns."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.atlas_files import save_image
from fixtures.tiny_study import AFFINE, EFFECT, config_text, write_tiny_study

from glmreport.config.load import parse_config
from glmreport.pipeline.infer import infer, label
from glmreport.pipeline.prepared import quiet
from glmreport.pipeline.second_level import prepare_second_level

CORRECTIONS = "[{method: uncorrected, alpha: 0.001}, {method: fdr, contrasts: [effect]}]"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    write_tiny_study(folder)
    config = parse_config(config_text(corrections=CORRECTIONS), base_dir=folder)
    return config, prepare_second_level(config), folder


def test_every_correction_is_applied(prepared):
    config, ready, _ = prepared
    ((contrast, results),) = infer(config, ready)
    assert contrast.name == "effect" and [r.desc for r in results] == ["uncorrected", "fdr"]
    effect = np.zeros((6, 6, 6), bool)
    effect[EFFECT] = True
    surviving = ready.masker.inverse(results[0].surviving)
    assert surviving[effect].all() and not surviving[~effect].any()
    assert results[0].clusters["size_voxels"].tolist() == [8]


def test_labels_add_one_column_per_atlas(prepared, tmp_path):
    config, ready, folder = prepared
    results = infer(config, ready)
    assert label(config, ready, results, quiet) == (results, [])
    codes = np.zeros((6, 6, 6), dtype=np.int16)
    codes[EFFECT] = 1
    save_image(codes, AFFINE, tmp_path / "atlas.nii.gz")
    (tmp_path / "atlas.tsv").write_text("index\tname\n1\tblock\n")
    text = config_text(corrections=CORRECTIONS) + (
        f"atlases: [{{file: {tmp_path / 'atlas.nii.gz'}, labels: {tmp_path / 'atlas.tsv'},"
        " name: box}]\n"
    )
    config = parse_config(text, base_dir=folder)
    labelled, info = label(config, ready, results, quiet)
    (_, (uncorrected, _)) = labelled[0]
    assert info[0]["name"] == "box" and info[0]["status"] == "ok"
    assert uncorrected.peaks["box"].tolist()[0] == "block"
    assert uncorrected.clusters["box"].tolist() == ["100% block"]
