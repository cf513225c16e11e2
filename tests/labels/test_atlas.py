"""Atlas registry, sources (TemplateFlow, FSL, file), label files, resampling, offline cases."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from fixtures.synthetic_templateflow import HOCPA, HOCPA_TSV, REGION_NAMES

from glmreport.config.atlas_registry import registry, registry_keys, registry_spec
from glmreport.config.specs import AtlasSpec
from glmreport.errors import AtlasError
from glmreport.labels.atlas import atlas_notes, load_atlases
from glmreport.labels.label_files import read_label_file
from glmreport.labels.sampling import resample_atlas, sample_atlas
from glmreport.labels.templateflow import fetch_atlases, list_atlases

SCHAEFER = (
    "tpl-MNI152NLin6Asym/tpl-MNI152NLin6Asym_res-02_atlas-Schaefer2018_"
    "desc-400Parcels7Networks_dseg.nii.gz"
)


@pytest.fixture
def no_hang():
    """Fail (instead of hanging) if a test takes more than 60 s."""

    def _alarm(signum, frame):
        raise TimeoutError("test exceeded 60 s (network hang?)")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _hocpa(home: Path) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    img = nib.load(home / HOCPA)
    table = pd.read_csv(home / HOCPA_TSV, sep="\t")
    names = dict(zip(table["index"].astype(int), table["name"].astype(str), strict=True))
    return np.asanyarray(img.dataobj).astype(int), img.affine, names


def _file_spec(image: Path, labels: Path | None, **kw) -> AtlasSpec:
    return AtlasSpec(name=kw.pop("name", "custom"), source="file", file=image, labels=labels, **kw)


def _save(data: np.ndarray, affine: np.ndarray, path: Path) -> Path:
    nib.Nifti1Image(data, affine).to_filename(path)
    return path


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


# ---------------------------------------------------------------------------- TemplateFlow


def test_harvard_oxford_from_templateflow(templateflow_home):
    (atlas,) = load_atlases(
        [registry_spec("harvard-oxford-cortical")], data_space="MNI152NLin6Asym"
    )
    data, affine, names = _hocpa(templateflow_home)
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
    assert "could not be downloaded (ConnectionError: Name or service not known)" in atlas.message
    ((name, ok, message),) = fetch_atlases(["schaefer-400-7"])
    assert name == "schaefer-400-7" and not ok and "ConnectionError" in message
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


# ---------------------------------------------------------------------------- resampling


def test_resample_1mm_atlas_onto_2mm_grid(templateflow_home, tmp_path):
    data, affine, _ = _hocpa(templateflow_home)
    fine = data.repeat(2, axis=0).repeat(2, axis=1).repeat(2, axis=2).astype(np.int16)
    fine_affine = np.diag([1.0, 1.0, 1.0, 1.0])
    fine_affine[:3, 3] = affine[:3, 3] - 0.5  # 2x2x2 block of 1 mm voxels per 2 mm voxel
    image = _save(fine, fine_affine, tmp_path / "ho_1mm.nii.gz")
    (atlas,) = load_atlases([_file_spec(image, templateflow_home / HOCPA_TSV)], data_space=None)
    mask = np.ones(data.shape, dtype=bool)
    resampled = resample_atlas(atlas, mask=mask, affine=affine)
    np.testing.assert_array_equal(resampled.codes, data[mask])


def test_resample_2mm_atlas_onto_3mm_grid(templateflow_home):
    from nilearn.image import resample_img

    (atlas,) = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    data, affine, _ = _hocpa(templateflow_home)
    grid = np.diag([3.0, 3.0, 3.0, 1.0])
    grid[:3, 3] = (-91.3, -127.1, -73.4)  # no 3 mm centre is half-way between 2 mm centres
    shape = (61, 73, 61)
    mask = np.ones(shape, dtype=bool)
    got = resample_atlas(atlas, mask=mask, affine=grid).codes.reshape(shape)
    # Direct lookup: grid voxel -> world -> nearest atlas voxel.
    ijk = np.argwhere(mask)
    src = nib.affines.apply_affine(np.linalg.inv(affine), nib.affines.apply_affine(grid, ijk))
    src = np.rint(src).astype(int)
    inside = np.all((src >= 0) & (src < data.shape), axis=1)
    expected = np.zeros(len(ijk), dtype=int)
    expected[inside] = data[tuple(src[inside].T)]
    np.testing.assert_array_equal(got.ravel(), expected)
    assert (got > 0).sum() > 10_000
    reference = resample_img(
        nib.Nifti1Image(data.astype(np.int16), affine),
        target_affine=grid,
        target_shape=shape,
        interpolation="nearest",
        force_resample=True,
        copy_header=True,
    )
    np.testing.assert_array_equal(got, np.asanyarray(reference.dataobj))


def test_resample_is_cached_per_grid(templateflow_home):
    (atlas,) = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    mask = np.zeros((91, 109, 91), dtype=bool)
    mask[20:70, 20:90, 20:70] = True
    first = resample_atlas(atlas, mask=mask, affine=atlas.affine)
    assert resample_atlas(atlas, mask=mask.copy(), affine=atlas.affine.copy()) is first
    other = resample_atlas(atlas, mask=mask, affine=atlas.affine + np.eye(4) * 0)
    assert other is first and len(atlas.cache) == 1
    mask[20, 20, 20] = False
    assert resample_atlas(atlas, mask=mask, affine=atlas.affine) is not first
    assert len(atlas.cache) == 2


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
    image = _save(data.astype(np.float32), affine, tmp_path / f"prob{int(scale)}.nii.gz")
    labels = tmp_path / "prob_labels.csv"
    labels.write_text("index,name\n1,Area A\n2,Area B\n3,Area C\n")
    return image, labels, affine


@pytest.mark.parametrize("scale", [100.0, 1.0])
def test_probabilistic_file_atlas(tmp_path, scale):
    image, labels, affine = _prob_atlas(tmp_path, scale)
    (atlas,) = load_atlases([_file_spec(image, labels)], data_space=None)
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
    (atlas,) = load_atlases([_file_spec(image, labels)], data_space=None)
    assert atlas.names == {1: "Area A", 2: "Area B", 3: "Area C"}


# ---------------------------------------------------------------------------- label files


def test_label_file_formats(tmp_path, templateflow_home):
    tsv = read_label_file(templateflow_home / HOCPA_TSV)
    assert tsv == dict(enumerate(REGION_NAMES, start=1))
    csv_file = tmp_path / "l.csv"
    csv_file.write_text("Index,Name,colour\n1,Left Thing,#fff\n2,Right Thing,#000\n")
    assert read_label_file(csv_file) == {1: "Left Thing", 2: "Right Thing"}
    lut = tmp_path / "l.txt"
    lut.write_text(
        "# FreeSurfer-like lookup table\n0 Unknown 0 0 0 0\n"
        "1 Left Precentral Gyrus 220 20 10 0\n2 Area 44 10 10 10 0\n3 Plain\n"
    )
    assert read_label_file(lut) == {
        0: "Unknown",
        1: "Left Precentral Gyrus",
        2: "Area 44",
        3: "Plain",
    }
    xml = tmp_path / "l.xml"
    xml.write_text(
        '<?xml version="1.0"?><atlas><header><type>Label</type></header><data>'
        '<label index="0" x="0" y="0" z="0">Unclassified</label>'
        '<label index="1" x="1" y="1" z="1">Thing one</label></data></atlas>'
    )
    assert read_label_file(xml) == {0: "Unclassified", 1: "Thing one"}
    rgb = tmp_path / "rgb.lut"
    rgb.write_text("1 Precentral 220 20 10\n2 Area 44 10 10 10\n")
    assert read_label_file(rgb) == {1: "Precentral", 2: "Area 44"}
    aal = tmp_path / "aal.txt"
    aal.write_text("1 Precentral_L 2001\n2 Precentral_R 2002\n")
    assert read_label_file(aal) == {1: "Precentral_L 2001", 2: "Precentral_R 2002"}
    tabbed_txt = tmp_path / "tabbed.txt"
    tabbed_txt.write_text("index\tname\n5\tFive\n")
    assert read_label_file(tabbed_txt) == {5: "Five"}


def test_fsl_xml_labels_for_file_atlas(tmp_path):
    data = np.zeros((6, 6, 6), dtype=np.int16)
    data[:3] = 1  # summary image of a probabilistic atlas: value = XML index + 1
    data[3:] = 2
    image = _save(data, np.eye(4), tmp_path / "summary.nii.gz")
    xml = tmp_path / "atlas.xml"
    xml.write_text(
        "<atlas><header><type>Probabilistic</type></header><data>"
        '<label index="0">Zero</label><label index="1">One</label></data></atlas>'
    )
    (atlas,) = load_atlases([_file_spec(image, xml)], data_space=None)
    assert atlas.names == {1: "Zero", 2: "One"}


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
    _save(prob, affine, folder / "Fake-prob-2mm.nii.gz")
    summary = np.zeros((10, 10, 10), dtype=np.int16)
    summary[:5] = 1
    summary[5:] = 2
    _save(summary, affine, folder / "Fake-maxprob-thr25-2mm.nii.gz")
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
    _save(labelled, affine, folder / "Fake-labels-2mm.nii.gz")
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


# ---------------------------------------------------------------------------- bad inputs


def test_labels_disagree_with_image(templateflow_home, tmp_path):
    short = tmp_path / "short.tsv"
    rows = pd.read_csv(templateflow_home / HOCPA_TSV, sep="\t")
    rows[rows["index"] <= 4].to_csv(short, sep="\t", index=False)
    spec = _file_spec(templateflow_home / HOCPA, short, where="atlases[0]")
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
        load_atlases([_file_spec(image, labels)], data_space=None)


def test_missing_files(tmp_path, templateflow_home):
    with pytest.raises(AtlasError, match="atlas image .*nope.nii.gz does not exist"):
        load_atlases([_file_spec(tmp_path / "nope.nii.gz", None)], data_space=None)
    with pytest.raises(AtlasError, match="label file .*nope.tsv does not exist"):
        load_atlases(
            [_file_spec(templateflow_home / HOCPA, tmp_path / "nope.tsv")], data_space=None
        )


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("binary.tsv", b"\xff\xfe\x00\x81\x9f garbage", "cannot be read as text"),
        ("cols.tsv", b"id\tlabel\n1\tA\n", "expected a header with 'index' and 'name'"),
        ("noint.csv", b"index,name\none,A\n", "index 'one' is not an integer"),
        ("dup.tsv", b"index\tname\n1\tA\n1\tB\n", "index 1 appears twice"),
        ("bad.xml", b"<atlas><data><label index='1'>A</label>", "cannot be read"),
        ("bad.txt", b"Precentral 1 2 3\n", "expected 'index name"),
    ],
)
def test_unreadable_label_file(tmp_path, templateflow_home, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    spec = _file_spec(templateflow_home / HOCPA, path, where="atlases[4]")
    with pytest.raises(
        AtlasError, match=rf"^atlases\[4\]: (label file|FSL atlas XML) .*{name}.*{match}"
    ):
        load_atlases([spec], data_space=None)


def test_unreadable_or_wrong_images(tmp_path):
    junk = tmp_path / "junk.nii.gz"
    junk.write_bytes(b"not a nifti")
    with pytest.raises(AtlasError, match="cannot be read as NIfTI"):
        load_atlases([_file_spec(junk, None)], data_space=None)
    image, labels, _ = _prob_atlas(tmp_path)
    with pytest.raises(AtlasError, match="4D .* kind is deterministic"):
        load_atlases([_file_spec(image, labels, kind="deterministic")], data_space=None)
    floats = _save(np.full((4, 4, 4), 0.5, np.float32), np.eye(4), tmp_path / "f.nii.gz")
    with pytest.raises(AtlasError, match="non-integer values"):
        load_atlases([_file_spec(floats, None)], data_space=None)
    big = _save(np.full((4, 4, 4, 2), 250.0, np.float32), np.eye(4), tmp_path / "big.nii.gz")
    with pytest.raises(AtlasError, match="values up to 250"):
        load_atlases([_file_spec(big, None)], data_space=None)


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
        [_file_spec(_save(data, np.eye(4), tmp_path / "a.nii"), None)], data_space="MNI152NLin6Asym"
    )
    assert atlas.names == {7: "label 7"}
    assert "not stated" in atlas.space_note
    assert atlas_notes([atlas]) == [atlas.space_note]
