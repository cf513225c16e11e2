"""The stage order: run writes a results folder; validate checks without fitting."""

from __future__ import annotations

import json

import pytest
from fixtures.tiny_study import config_text, write_tiny_study

from glmreport.config.load import parse_config
from glmreport.errors import ConfigError, OutputError
from glmreport.pipeline.run import prepare, run, validate


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    write_tiny_study(folder)
    return parse_config(config_text(), base_dir=folder, source=folder / "analysis.yaml")


def test_run_writes_the_results_folder(config, tmp_path):
    out = run(config, out=tmp_path / "results", formats=())
    assert out == (tmp_path / "results").resolve()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["level"] == "second" and summary["model"]["n_inputs"] == 10
    assert [c["name"] for c in summary["contrasts"]] == ["effect"]
    assert not list(out.glob("*.html"))  # formats=() writes no report
    with pytest.raises(OutputError):
        run(config, out=out, formats=())  # an existing folder needs overwrite


def test_validate_and_prepare(config):
    checked = validate(config)
    assert checked.contrasts == () and checked.masker.n_voxels == 216
    assert len(prepare(config).contrasts) == 1


def test_validate_refuses_permutation_on_maps(tmp_path):
    text = (
        "model: {level: maps, maps: [{name: z, path: z.nii, stat: z}]}\n"
        "corrections: [{method: permutation}]\n"
    )
    with pytest.raises(ConfigError, match="permutation"):
        validate(parse_config(text, base_dir=tmp_path))
