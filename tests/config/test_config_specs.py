"""The frozen specs a config is made of."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from glmreport.config.specs import (
    AtlasSpec,
    ClusterOptions,
    ContrastSpec,
    DesignSpec,
    ModelConfig,
    ReportOptions,
    RunConfig,
)


def test_defaults_are_the_documented_ones():
    model = ModelConfig(level="second")
    assert (model.mask, model.space, model.smoothing_fwhm) == ("auto", "MNI152NLin2009cAsym", 0.0)
    assert (model.hrf, model.noise_model, model.fir_delays) == ("glover", "ar1", (0,))
    assert ClusterOptions() == ClusterOptions(connectivity=26, min_distance_mm=8.0, max_subpeaks=3)
    assert ReportOptions().formats == ("html",)
    config = RunConfig(title="t", output=None, model=model, contrasts=(), corrections=())
    assert config.two_sided is False and config.atlases == () and config.source is None


@pytest.mark.parametrize(
    "spec",
    [
        ContrastSpec(name="c", stat_type="t", definition="a"),
        DesignSpec(kind="one-sample"),
        AtlasSpec(name="a", source="file", file=Path("a.nii")),
        ClusterOptions(),
    ],
)
def test_specs_are_frozen_and_keyword_only(spec):
    field = dataclasses.fields(spec)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(spec, field, None)
    with pytest.raises(TypeError):
        type(spec)(*[getattr(spec, f.name) for f in dataclasses.fields(spec)])
