"""Every name a config may use has an implementation in the stage that handles it."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from glmreport.config.atlas_registry import registry_spec
from glmreport.config.specs import AtlasSpec, DesignSpec
from glmreport.config.vocabulary import (
    ATLAS_SOURCES,
    DESIGN_KINDS,
    DRIFT_MODELS,
    HRF_MODELS,
    METHODS,
    NOISE_MODELS,
)
from glmreport.glm.ar1 import fit_first_level
from glmreport.glm.design import build_design
from glmreport.glm.drift import make_drift
from glmreport.glm.first_level import make_first_level_design, make_frame_times
from glmreport.glm.hrf import normalize_hrf_model, regressor_names
from glmreport.inference import registry
from glmreport.labels.atlas import load_atlases

T_R, N_SCANS = 2.0, 40


def test_every_method_has_an_apply_function():
    assert tuple(registry.METHODS) == METHODS  # same names, same order (messages list them)
    for method in METHODS:
        apply = registry.get_method(method)
        assert callable(apply), method
        assert apply.__name__ == registry.METHODS[method].split(":")[1]


@pytest.mark.parametrize("hrf", HRF_MODELS)
def test_every_hrf_model_builds_its_regressors(hrf):
    assert normalize_hrf_model(hrf) == hrf
    events = pd.DataFrame({"onset": [4.0, 30.0], "duration": [2.0, 2.0], "trial_type": ["a"] * 2})
    design = make_first_level_design(
        make_frame_times(N_SCANS, T_R), events, hrf_model=hrf, fir_delays=(0, 1)
    )
    names = regressor_names("a", hrf, (0, 1))
    assert list(design.columns[: len(names)]) == names
    assert np.all(np.isfinite(design.matrix)) and design.matrix[:, : len(names)].any()


_TABLE = pd.DataFrame(
    {
        "path": [f"img-{i}.nii.gz" for i in range(6)],
        "group": ["a", "b"] * 3,
        "subject": ["01", "01", "02", "02", "03", "03"],
        "age": [20.0, 31.0, 42.0, 25.0, 37.0, 30.0],
    }
)
_DESIGNS = {
    "one-sample": {},
    "two-sample": {"group": "group"},
    "paired": {"condition": "group", "subject": "subject"},
    "anova": {"factors": ("group",)},
    "formula": {"formula": "1 + age"},
    "matrix": {"matrix": pd.DataFrame({"x": [1.0, 0, 1, 0, 1, 0], "y": [0.0, 1, 0, 1, 0, 1]})},
}


@pytest.mark.parametrize("kind", DESIGN_KINDS)
def test_every_design_kind_has_a_builder(kind):
    assert kind in _DESIGNS, f"add an example of design kind {kind!r} to this test"
    design = build_design(_TABLE, DesignSpec(kind=kind, **_DESIGNS[kind]))
    assert design.matrix.shape[0] == len(_TABLE) and design.matrix.shape[1] >= 1


@pytest.mark.parametrize("noise_model", NOISE_MODELS)
def test_every_noise_model_fits(noise_model):
    rng = np.random.default_rng(0)
    events = pd.DataFrame({"onset": [4.0, 40.0], "duration": [4.0, 4.0], "trial_type": ["a"] * 2})
    design = make_first_level_design(make_frame_times(N_SCANS, T_R), events)
    fit = fit_first_level(rng.standard_normal((N_SCANS, 5)), design, noise_model=noise_model)
    assert fit.noise_model == noise_model and fit.betas.shape == (design.shape[1], 5)


@pytest.mark.parametrize("drift_model", DRIFT_MODELS)
def test_every_drift_model_builds_a_basis(drift_model):
    drift, names = make_drift(make_frame_times(N_SCANS, T_R), drift_model, order=2)
    assert names[-1] == "constant" and drift.shape == (N_SCANS, len(names))


def _atlas_spec(source: str, folder: Path) -> AtlasSpec:
    if source == "registry":
        return registry_spec("harvard-oxford-cortical", where="atlases[0]")
    if source == "templateflow":
        query = {"template": "MNI152NLin6Asym", "atlas": "HOCPA", "desc": "th25", "resolution": 2}
        return AtlasSpec(name="ho", source=source, templateflow=query, where="atlases[0]")
    if source == "file":
        image = folder / "atlas.nii.gz"
        nib.Nifti1Image(np.arange(8, dtype=np.int16).reshape(2, 2, 2), np.eye(4)).to_filename(image)
        labels = folder / "atlas.tsv"
        labels.write_text("index\tname\n" + "".join(f"{i}\tregion {i}\n" for i in range(1, 8)))
        return AtlasSpec(name="own", source=source, file=image, labels=labels, where="atlases[0]")
    if source == "fsl":
        return AtlasSpec(
            name="fsl", source=source, fsl="HarvardOxford-Cortical", where="atlases[0]"
        )
    raise AssertionError(f"add an example of atlas source {source!r} to this test")


@pytest.mark.parametrize("source", ("registry", *ATLAS_SOURCES))
def test_every_atlas_source_has_a_loader(source, tmp_path, templateflow_home):
    (atlas,) = load_atlases([_atlas_spec(source, tmp_path)], data_space=None)
    assert atlas.spec.source == source
    # FSL's atlases need an FSL installation: without one the atlas is reported missing
    assert atlas.ok or (source == "fsl" and "FSL" in atlas.message), atlas.message
