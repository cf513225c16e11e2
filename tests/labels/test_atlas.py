"""Loading atlases: the registry, probabilistic and file atlases, bad inputs."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from fixtures.atlas_files import file_spec, save_image
from fixtures.synthetic_templateflow import HOCPA, HOCPA_TSV

from glmreport.config.atlas_registry import registry, registry_keys, registry_spec
from glmreport.config.specs import AtlasSpec
from glmreport.errors import AtlasError
from glmreport.labels.atlas import atlas_notes, load_atlases
from glmreport.labels.sampling import resample_atlas, sample_atlas

# ---------------------------------------------------------------------------- registry


def test_registry_entries_are_complete():
    keys = registry_keys()
    for key in ("harvard-oxford-cortical", "harvard-oxford-subcortical", "schaefer-400-7"):
        assert key in keys
    schaefer = [k for k in keys if k.startswith("schaefer-")]
    assert len(schaefer) == 16
    for key, entry in registry().items():
        assert entry["citation"]["text"] and entry["citation"]["doi"].startswith("10."), key
        assert entry["licence"], key
        assert entry["space"] == entry["templateflow"]["template"], key
        assert entry["kind"] in ("deterministic", "probabilistic"), key
    assert registry()["harvard-oxford-cortical"]["templateflow"] == {
        "template": "MNI152NLin6Asym",
        "atlas": "HOCPA",
        "desc": "th25",
        "resolution": 2,
        "suffix": "dseg",
    }
    assert registry()["schaefer-400-7"]["templateflow"]["desc"] == "400Parcels7Networks"


def test_unknown_registry_name_suggests():
    with pytest.raises(AtlasError, match=r"atlases\[0\].*Did you mean 'harvard-oxford-cortical'"):
        registry_spec("harvard-oxford-cortcal", where="atlases[0]")
    spec = AtlasSpec(name="x", source="registry", registry_key="schaefer-400-8", where="atlases[1]")
    with pytest.raises(AtlasError, match="Did you mean 'schaefer-400-7'"):
        load_atlases([spec], data_space=None)


# ---------------------------------------------------------------------------- probabilistic file


def _prob_atlas(tmp_path: Path, scale: float = 100.0) -> tuple[Path, Path, np.ndarray]:
    """10^3 grid at 2 mm: A ramps 0..90 % along x, C is 3 %, B the rest."""
    i = np.arange(10, dtype=float)[:, None, None] * np.ones((10, 10, 10))
    a = 10.0 * i
    c = np.full_like(a, 3.0)
    b = 100.0 - a - c
    data = np.stack([a, b, c], axis=-1) * (scale / 100.0)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -10.0
    image = save_image(data.astype(np.float32), affine, tmp_path / f"prob{int(scale)}.nii.gz")
    labels = tmp_path / "prob_labels.csv"
    labels.write_text("index,name\n1,Area A\n2,Area B\n3,Area C\n")
    return image, labels, affine


@pytest.mark.parametrize("scale", [100.0, 1.0])
def test_probabilistic_file_atlas(tmp_path, scale):
    image, labels, affine = _prob_atlas(tmp_path, scale)
    (atlas,) = load_atlases([file_spec(image, labels)], data_space=None)
    assert atlas.ok and atlas.kind == "probabilistic"
    assert atlas.names == {1: "Area A", 2: "Area B", 3: "Area C"}
    assert atlas.prob_scale == pytest.approx(0.01 if scale == 100.0 else 1.0)
    centre = nib.affines.apply_affine(affine, [2, 5, 5])
    halfway = nib.affines.apply_affine(affine, [2.5, 5, 5])
    probs = sample_atlas(atlas, np.array([centre, halfway]))
    np.testing.assert_allclose(probs, [[0.20, 0.77, 0.03], [0.25, 0.72, 0.03]], atol=1e-6)
    resampled = resample_atlas(atlas, mask=np.ones((10, 10, 10), bool), affine=affine)
    expected = np.where(np.arange(10) <= 4, 2, 1)[:, None, None] * np.ones((10, 10, 10), int)
    np.testing.assert_array_equal(resampled.codes, expected.ravel())
    np.testing.assert_allclose(
        resampled.max_prob.reshape(10, 10, 10)[:, 0, 0],
        np.maximum(np.arange(10) * 0.1, 0.97 - np.arange(10) * 0.1),
        atol=1e-6,
    )


def test_probabilistic_background_row_is_dropped(tmp_path):
    image, _, _ = _prob_atlas(tmp_path)
    labels = tmp_path / "with_background.tsv"
    labels.write_text("index\tname\n0\tBackground\n1\tArea A\n2\tArea B\n3\tArea C\n")
    (atlas,) = load_atlases([file_spec(image, labels)], data_space=None)
    assert atlas.names == {1: "Area A", 2: "Area B", 3: "Area C"}


# ---------------------------------------------------------------------------- bad inputs


def test_labels_disagree_with_image(templateflow_home, tmp_path):
    short = tmp_path / "short.tsv"
    rows = pd.read_csv(templateflow_home / HOCPA_TSV, sep="\t")
    rows[rows["index"] <= 4].to_csv(short, sep="\t", index=False)
    spec = file_spec(templateflow_home / HOCPA, short, where="atlases[0]")
    with pytest.raises(
        AtlasError,
        match=r"atlases\[0\]: .*disagree.*8 value\(s\).*5, 6, 7, 8, 9 \(and 3 more\)",
    ):
        load_atlases([spec], data_space=None)


def test_probabilistic_labels_count_mismatch(tmp_path):
    image, _, _ = _prob_atlas(tmp_path)
    labels = tmp_path / "two.csv"
    labels.write_text("index,name\n1,A\n2,B\n")
    with pytest.raises(AtlasError, match="3 volumes .* names 2 labels"):
        load_atlases([file_spec(image, labels)], data_space=None)


def test_missing_files(tmp_path, templateflow_home):
    with pytest.raises(AtlasError, match="atlas image .*nope.nii.gz does not exist"):
        load_atlases([file_spec(tmp_path / "nope.nii.gz", None)], data_space=None)
    with pytest.raises(AtlasError, match="label file .*nope.tsv does not exist"):
        load_atlases([file_spec(templateflow_home / HOCPA, tmp_path / "nope.tsv")], data_space=None)


def test_unreadable_or_wrong_images(tmp_path):
    junk = tmp_path / "junk.nii.gz"
    junk.write_bytes(b"not a nifti")
    with pytest.raises(AtlasError, match="cannot be read as NIfTI"):
        load_atlases([file_spec(junk, None)], data_space=None)
    image, labels, _ = _prob_atlas(tmp_path)
    with pytest.raises(AtlasError, match="4D .* kind is deterministic"):
        load_atlases([file_spec(image, labels, kind="deterministic")], data_space=None)
    floats = save_image(np.full((4, 4, 4), 0.5, np.float32), np.eye(4), tmp_path / "f.nii.gz")
    with pytest.raises(AtlasError, match="non-integer values"):
        load_atlases([file_spec(floats, None)], data_space=None)
    big = save_image(np.full((4, 4, 4, 2), 250.0, np.float32), np.eye(4), tmp_path / "big.nii.gz")
    with pytest.raises(AtlasError, match="values up to 250"):
        load_atlases([file_spec(big, None)], data_space=None)


def test_duplicate_names(templateflow_home):
    with pytest.raises(AtlasError, match="used twice"):
        load_atlases(
            [
                registry_spec("harvard-oxford-cortical", where="atlases[0]"),
                registry_spec("harvard-oxford-cortical", where="atlases[1]"),
            ],
            data_space=None,
        )


def test_file_atlas_without_labels_gets_numbered_names(tmp_path):
    data = np.zeros((4, 4, 4), np.int16)
    data[1, 1, 1] = 7
    (atlas,) = load_atlases(
        [file_spec(save_image(data, np.eye(4), tmp_path / "a.nii"), None)],
        data_space="MNI152NLin6Asym",
    )
    assert atlas.names == {7: "label 7"}
    assert "not stated" in atlas.space_note
    assert atlas_notes([atlas]) == [atlas.space_note]
