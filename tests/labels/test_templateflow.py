"""TemplateFlow atlases: the registry's lookups, offline cases, downloads with a time limit."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
from fixtures.atlas_files import SCHAEFER, hocpa
from fixtures.synthetic_templateflow import HOCPA, HOCPA_TSV, REGION_NAMES

from glmreport.config.atlas_registry import registry_keys, registry_spec
from glmreport.config.specs import AtlasSpec
from glmreport.labels.atlas import load_atlases
from glmreport.labels.label_files import read_label_file
from glmreport.labels.sampling import sample_atlas
from glmreport.labels.templateflow import fetch_atlases, list_atlases

# ---------------------------------------------------------------------------- TemplateFlow


def test_harvard_oxford_from_templateflow(templateflow_home):
    (atlas,) = load_atlases(
        [registry_spec("harvard-oxford-cortical")], data_space="MNI152NLin6Asym"
    )
    data, affine, names = hocpa(templateflow_home)
    assert atlas.ok and atlas.kind == "deterministic"
    assert atlas.image_path == templateflow_home / HOCPA
    assert atlas.names == dict(enumerate(REGION_NAMES, start=1)) == names
    assert atlas.n_labels == len(REGION_NAMES)
    np.testing.assert_array_equal(atlas.data, data)
    np.testing.assert_array_equal(atlas.affine, affine)
    assert atlas.space == "MNI152NLin6Asym" and atlas.space_note == ""
    assert atlas.doi == "10.1016/j.neuroimage.2006.01.021"
    summary = atlas.summary()
    assert summary["status"] == "ok" and summary["citation"] and summary["space_note"] == ""


def test_known_coordinate_is_its_region(templateflow_home):
    (atlas,) = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    xyz = np.array([[-40.0, -22.0, 56.0], [40.0, -22.0, 56.0], [40.0, 30.0, -20.0], [0, -17, 4]])
    codes = sample_atlas(atlas, xyz)
    # left/right x posterior/middle/anterior x lower/upper; the centre is unlabelled
    assert [atlas.names.get(int(c), "") for c in codes] == ["Region B", "Region H", "Region K", ""]


def test_real_harvard_oxford(real_templateflow_home):
    (atlas,) = load_atlases(
        [registry_spec("harvard-oxford-cortical")], data_space="MNI152NLin6Asym"
    )
    assert atlas.ok and atlas.n_labels == 48 and atlas.names[7] == "Precentral Gyrus"
    assert atlas.image_path == real_templateflow_home / HOCPA
    assert read_label_file(real_templateflow_home / HOCPA_TSV) == atlas.names
    code = int(sample_atlas(atlas, np.array([[-40.0, -22.0, 56.0]]))[0])
    assert atlas.names[code] in {"Precentral Gyrus", "Postcentral Gyrus"}


def test_templateflow_entry_equals_registry_entry(templateflow_home):
    spec = AtlasSpec(
        name="HO",
        source="templateflow",
        templateflow={
            "template": "MNI152NLin6Asym",
            "atlas": "HOCPA",
            "desc": "th25",
            "resolution": 2,
        },
    )
    tf_atlas, reg_atlas = load_atlases(
        [spec, registry_spec("harvard-oxford-cortical")], data_space="MNI152NLin6Asym"
    )
    assert tf_atlas.ok and tf_atlas.kind == "deterministic"
    np.testing.assert_array_equal(tf_atlas.data, reg_atlas.data)
    assert tf_atlas.names == reg_atlas.names


def test_space_mismatch_is_noted(templateflow_home):
    (atlas,) = load_atlases(
        [registry_spec("harvard-oxford-cortical")], data_space="MNI152NLin2009cAsym"
    )
    assert atlas.ok
    assert "MNI152NLin6Asym" in atlas.space_note and "MNI152NLin2009cAsym" in atlas.space_note
    (unknown,) = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    assert "not stated" in unknown.space_note


def test_offline_missing_atlas_is_reported_not_raised(templateflow_home, no_hang):
    start = time.monotonic()
    ho, schaefer = load_atlases(
        [registry_spec("harvard-oxford-cortical"), registry_spec("schaefer-400-7")],
        data_space="MNI152NLin6Asym",
    )
    assert time.monotonic() - start < 30
    assert ho.ok
    assert schaefer.status == "missing" and not schaefer.ok and schaefer.data is None
    msg = schaefer.message
    assert "schaefer-400-7" in msg and "Schaefer2018" in msg
    assert "glmreport atlases fetch schaefer-400-7" in msg
    assert "from templateflow import api; api.get('MNI152NLin6Asym'" in msg
    assert "TEMPLATEFLOW_HOME" in msg
    assert schaefer.summary()["status"] == "missing"
    assert schaefer.citation and schaefer.space == "MNI152NLin6Asym"


def _home_with_stub(templateflow_home: Path, tmp_path: Path) -> Path:
    """A TemplateFlow home where Schaefer is indexed but not downloaded (zero-byte file)."""
    home = tmp_path / "tf"
    shutil.copytree(templateflow_home, home)
    (home / SCHAEFER).write_bytes(b"")
    return home


def test_hanging_download_is_abandoned(templateflow_home, tmp_path, monkeypatch, no_hang):
    import templateflow.client  # noqa: F401  (bound to the fixture home first)

    home = _home_with_stub(templateflow_home, tmp_path)
    monkeypatch.setenv("TEMPLATEFLOW_HOME", str(home))
    calls = []

    def hang(config, filepath):  # stands in for an S3 request that never answers
        calls.append(filepath)
        time.sleep(5)

    monkeypatch.setattr(templateflow.client, "_s3_get", hang)
    start = time.monotonic()
    (atlas,) = load_atlases([registry_spec("schaefer-400-7")], data_space=None, timeout_s=0.5)
    assert time.monotonic() - start < 3
    assert calls and calls[0].name == Path(SCHAEFER).name
    assert atlas.status == "missing"
    assert "did not finish within 0.5 s" in atlas.message
    assert "glmreport atlases fetch schaefer-400-7" in atlas.message


def test_failed_download_is_reported(templateflow_home, tmp_path, monkeypatch, no_hang):
    import templateflow.client

    home = _home_with_stub(templateflow_home, tmp_path)
    monkeypatch.setenv("TEMPLATEFLOW_HOME", str(home))

    def refuse(config, filepath):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(templateflow.client, "_s3_get", refuse)
    (atlas,) = load_atlases([registry_spec("schaefer-400-7")], data_space=None)
    assert atlas.status == "missing"
    # One plain reason: no raw exception text, no cache path.
    assert "could not be downloaded (no network connection)" in atlas.message
    assert "Name or service" not in atlas.message and str(home) not in atlas.message
    ((name, ok, message),) = fetch_atlases(["schaefer-400-7"])
    assert name == "schaefer-400-7" and not ok and "no network connection" in message
    # With downloads off nothing is attempted.
    monkeypatch.setattr(templateflow.client, "_s3_get", None)
    (atlas,) = load_atlases([registry_spec("schaefer-400-7")], data_space=None, download=False)
    assert atlas.status == "missing" and "downloads are off" in atlas.message


def test_damaged_cached_file_is_reported(templateflow_home, tmp_path, monkeypatch):
    home = tmp_path / "tf"
    shutil.copytree(templateflow_home, home)
    (home / HOCPA).write_bytes(b"\x1f\x8b\x08\x00 cut short")
    monkeypatch.setenv("TEMPLATEFLOW_HOME", str(home))
    (atlas,) = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    assert atlas.status == "missing"
    assert "damaged" in atlas.message and "glmreport atlases fetch" in atlas.message


def test_list_and_fetch_atlases(templateflow_home, no_hang):
    rows = {row["name"]: row for row in list_atlases()}
    assert set(rows) == set(registry_keys())
    assert rows["harvard-oxford-cortical"]["available"] is True
    assert rows["harvard-oxford-cortical"]["path"] == str(templateflow_home / HOCPA)
    assert rows["schaefer-400-7"]["available"] is False
    assert "glmreport atlases fetch schaefer-400-7" in rows["schaefer-400-7"]["message"]
    results = fetch_atlases(["harvard-oxford-cortical", "harvard-oxford-cortcal"])
    assert results[0][:2] == ("harvard-oxford-cortical", True)
    assert results[1][1] is False and "Did you mean 'harvard-oxford-cortical'" in results[1][2]
