"""The demo data: maps on the bundled template grid with known blobs, and its config."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pandas as pd
from nibabel.affines import apply_affine

from glmreport.config.load import load_config
from glmreport.datasets.demo import (
    Blob,
    blob_map,
    smooth_noise,
    template_grid,
    write_demo,
    write_first_level,
)
from glmreport.outputs.safety import DEMO_MARKER


def test_blob_peaks_at_its_centre_with_its_amplitude():
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -20.0
    volume = blob_map([Blob(center=(0.0, 4.0, -2.0), amplitude=-1.5)], (21, 21, 21), affine)
    peak = np.unravel_index(np.argmin(volume), volume.shape)
    np.testing.assert_allclose(apply_affine(affine, peak), (0.0, 4.0, -2.0))
    assert volume.min() == np.float32(-1.5) and volume.dtype == np.float32
    assert not blob_map([], (2, 2, 2), affine).any()


def test_smooth_noise_has_unit_variance():
    noise = smooth_noise(np.random.default_rng(0), 2, (40, 40, 40))
    assert noise.shape == (2, 40, 40, 40)
    assert abs(float(noise[:, 8:-8, 8:-8, 8:-8].std()) - 1.0) < 0.1


def test_demo_folder(tmp_path):
    config_path = write_demo(tmp_path, n_subjects=4, seed=1)
    assert config_path == tmp_path / "demo.yaml"
    assert json.loads((tmp_path / DEMO_MARKER).read_text())
    table = pd.read_csv(tmp_path / "inputs.tsv", sep="\t")
    assert len(table) == 4 and {"path", "age"} <= set(table.columns)
    mask, affine = template_grid()
    image = nib.load(tmp_path / table["path"][0])
    assert image.shape == mask.shape and np.allclose(image.affine, affine)
    data = np.asarray(image.dataobj)
    assert not data[~mask].any() and data[mask].std() > 0  # zero outside the brain mask
    config = load_config(config_path)
    assert [c.name for c in config.contrasts] == ["button press", "age", "effects of interest"]


def test_first_level_runs(tmp_path):
    write_first_level(tmp_path, n_scans=30)
    bold = nib.load(tmp_path / "sub-01_run-1_bold.nii.gz")
    assert bold.shape == (40, 48, 36, 30)
    design = pd.read_csv(tmp_path / "sub-01_run-2_design.tsv", sep="\t")
    assert len(design) == 30 and "constant" in design.columns
    events = pd.read_csv(tmp_path / "sub-01_run-1_events.tsv", sep="\t")
    assert list(events.columns) == ["onset", "duration", "trial_type"]
