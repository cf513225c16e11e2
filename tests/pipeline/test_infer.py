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


def test_permutation_of_a_nonspherical_model_refits_by_ols(tmp_path):
    from fixtures.within_subject import config_text as within_config
    from fixtures.within_subject import write_within_subject

    write_within_subject(tmp_path, (6, 6, 5), seed=4)
    perm = "[{method: permutation, n_perm: 40, seed: 3, desc: p}]"
    found = {}
    for flag in (True, False):
        config = parse_config(
            within_config(nonsphericity=flag, corrections=perm), base_dir=tmp_path
        )
        ready = prepare_second_level(config)
        found[flag] = (ready, {c.name: r for c, (r,) in infer(config, ready)})
    ready, with_ns = found[True]
    _, ols = found[False]
    assert ready.fit.noise_model == "nonsphericity" and ready.ols_fit.noise_model == "ols"
    assert [c.name for c in ready.ols_contrasts] == ["main effect", "a minus c"]
    for name, result in with_ns.items():
        whitened = next(c for c in ready.contrasts if c.name == name)
        ols_contrast = next(c for c in ready.ols_contrasts if c.name == name)
        # the same statistic, resamples and null as the run without non-sphericity correction
        np.testing.assert_array_equal(result.arrays["null"], ols[name].arrays["null"])
        np.testing.assert_array_equal(result.surviving, ols[name].surviving)
        np.testing.assert_array_equal(result.z, ols_contrast.z)
        assert not np.allclose(whitened.z, ols_contrast.z)
        assert result.extras["statistic"].startswith("ordinary least-squares")
        assert "statistic" not in ols[name].extras and ols[name].z is None
