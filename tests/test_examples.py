"""Every example config runs on its synthetic stand-in and finds what was planted there."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from glmreport.cli import main
from glmreport.outputs.schema import summary_schema
from glmreport.outputs.summary import read_summary

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory, templateflow_home: Path) -> Path:
    folder = tmp_path_factory.mktemp("examples")
    for config in EXAMPLES.glob("*.yaml"):
        shutil.copy(config, folder / config.name)
    subprocess.run(
        [sys.executable, str(EXAMPLES / "make_data.py"), str(folder / "data")], check=True
    )
    return folder


def _run(examples: Path, name: str) -> dict:
    assert main(["run", str(examples / f"{name}.yaml"), "--quiet", "--overwrite"]) == 0
    folder = examples / "results" / name
    summary = json.loads((folder / "summary.json").read_text())
    # every summary fits the results contract and its published JSON Schema
    jsonschema.validate(summary, summary_schema(), cls=jsonschema.Draft202012Validator)
    assert read_summary(folder).title == summary["title"]
    return summary


def _map(examples: Path, name: str, rel: str) -> np.ndarray:
    return nib.load(examples / "results" / name / rel).get_fdata()


def _near(peaks: pd.DataFrame, xyz, tol_mm: float) -> bool:
    d = np.linalg.norm(peaks[["peak_x", "peak_y", "peak_z"]].to_numpy() - np.asarray(xyz), axis=1)
    return bool((d <= tol_mm).any())


def test_every_example_is_tested():
    names = {p.stem for p in EXAMPLES.glob("*.yaml")}
    tested = {n.split("test_example_")[1] for n in globals() if n.startswith("test_example_")}
    assert names == tested


def test_example_one_sample(examples: Path):
    s = _run(examples, "one_sample")
    (contrast,) = s["contrasts"]
    assert s["model"]["smoothing_fwhm"] == 8.0 and s["model"]["n_inputs"] == 16
    methods = [c["desc"] for c in contrast["corrections"]]
    assert methods[0] == "uncorrected" and "permMaxT" in methods
    unc = contrast["corrections"][0]
    peaks = pd.read_csv(examples / "results/one_sample" / unc["peaks_table"], sep="\t")
    assert _near(peaks, (-38, -22, 56), 8.0)  # planted left motor activation
    assert (examples / "results/one_sample/report.html").is_file()


#: Planted vertical > horizontal effects of the two-condition stand-in (MNI mm).
OCCIPITAL = ((10.0, -88.0, 4.0), (-10.0, -88.0, 4.0))


def _survivors(examples: Path, name: str, correction: dict) -> pd.DataFrame:
    """The peaks of a correction, checked to hold something."""
    assert correction["n_voxels"] > 0 and correction["n_clusters"] > 0, correction["desc"]
    return pd.read_csv(examples / "results" / name / correction["peaks_table"], sep="\t")


def _all_near(peaks: pd.DataFrame, centres, tol_mm: float) -> bool:
    """Every main peak lies within ``tol_mm`` of one of ``centres`` (no cluster elsewhere)."""
    main = peaks[~peaks["cluster_id"].astype(str).str[-1].str.isalpha()]
    xyz = main[["peak_x", "peak_y", "peak_z"]].to_numpy()
    d = np.linalg.norm(xyz[:, None, :] - np.asarray(centres)[None], axis=2)
    return bool((d.min(axis=1) <= tol_mm).all())


def _check_two_conditions(examples: Path, name: str) -> dict:
    """The planted difference survives FDR and Bonferroni at both occipital poles; the
    Bonferroni clusters are the planted ones only."""
    s = _run(examples, name)
    by_desc = {c["desc"]: c for c in s["contrasts"][0]["corrections"]}
    for desc in ("fdr", "bonferroni"):
        peaks = _survivors(examples, name, by_desc[desc])
        assert all(_near(peaks, centre, 8.0) for centre in OCCIPITAL), desc
    assert _all_near(_survivors(examples, name, by_desc["bonferroni"]), OCCIPITAL, 12.0)
    return by_desc


def test_example_two_sample_unpaired(examples: Path):
    by_desc = _check_two_conditions(examples, "two_sample_unpaired")
    s = json.loads((examples / "results/two_sample_unpaired/summary.json").read_text())
    assert s["model"]["columns"] == ["intercept", "condition"]
    assert s["model"]["dof"] == 30.0
    assert by_desc["fdr"]["n_clusters"] == 2  # one per occipital pole, nothing else


def test_example_two_sample_paired(examples: Path):
    unpaired = examples / "results/two_sample_unpaired"
    if not unpaired.exists():
        _run(examples, "two_sample_unpaired")
    paired = _check_two_conditions(examples, "two_sample_paired")
    s = json.loads((examples / "results/two_sample_paired/summary.json").read_text())
    assert s["model"]["dof"] == 15.0
    assert s["model"]["columns"][:2] == ["condition", "subject-01"]
    rel = s["contrasts"][0]["maps"]
    eff_p = _map(examples, "two_sample_paired", rel["effect"])
    eff_u = _map(examples, "two_sample_unpaired", rel["effect"])
    var_p = _map(examples, "two_sample_paired", rel["variance"])
    var_u = _map(examples, "two_sample_unpaired", rel["variance"])
    z_p = _map(examples, "two_sample_paired", rel["z"])
    z_u = _map(examples, "two_sample_unpaired", rel["z"])
    mask = _map(examples, "two_sample_paired", "mask.nii.gz") > 0
    # same effect (difference of condition means), smaller variance once pairs are modelled
    np.testing.assert_allclose(eff_p[mask], eff_u[mask], atol=1e-5)
    assert np.median(var_p[mask] / var_u[mask]) < 0.6
    # z larger where the effect was planted (the largest z of both saturate near t's limit)
    from glmreport.datasets.demo import VERTICAL, blob_map

    img = nib.load(examples / "results/two_sample_paired/mask.nii.gz")
    planted = mask & (blob_map(VERTICAL, mask.shape, img.affine) > 1.0)
    assert np.median(z_p[planted]) > np.median(z_u[planted]) + 0.5
    unpaired_fdr = json.loads((unpaired / "summary.json").read_text())["contrasts"][0]
    assert paired["fdr"]["n_voxels"] > unpaired_fdr["corrections"][1]["n_voxels"]


def test_example_anova_3x3(examples: Path):
    s = _run(examples, "anova_3x3")
    cols = s["model"]["columns"]
    assert cols[:9] == [f"{a}_{b}" for a in ("FF", "SF", "UF") for b in ("Del", "Imm", "Ini")]
    assert len(cols) == 25 and s["model"]["n_inputs"] == 144
    faces, famous, inter = s["contrasts"]
    assert inter["stat_type"] == "F" and inter["df_num"] == 2
    bonf = faces["corrections"][0]
    peaks = pd.read_csv(examples / "results/anova_3x3" / bonf["peaks_table"], sep="\t")
    assert _near(peaks, (40, -52, -18), 8.0)  # planted right fusiform face response
    assert "harvard-oxford-cortical" in peaks.columns
    descs = [c["desc"] for c in faces["corrections"]]
    assert {"permClusterSize", "permClusterMass"} <= set(descs)
    assert all(c["desc"] in ("bonferroni", "fdr", "uncorrected") for c in famous["corrections"])


def test_example_ari(examples: Path):
    s = _run(examples, "ari")
    ari = [c for c in s["contrasts"][0]["corrections"] if c["method"] == "ari"][0]
    tdp = _map(examples, "ari", ari["maps"]["tdp"])
    assert 0 < tdp.max() <= 1


def test_example_first_level(examples: Path):
    s = _run(examples, "first_level")
    assert s["model"]["level"] == "first" and len(s["model"]["first"]["runs"]) == 2
    names = [c["name"] for c in s["contrasts"]]
    assert names[:3] == [
        "different sentence",
        "different sentence (run-1)",
        "different sentence (run-2)",
    ]
    by_name = {c["name"]: c for c in s["contrasts"]}
    # fixed effects pool both runs' dof
    assert by_name["different sentence"]["dof"] == pytest.approx(
        by_name["different sentence (run-1)"]["dof"] + by_name["different sentence (run-2)"]["dof"]
    )
    assert by_name["effects of interest"]["stat_type"] == "F"
    # the planted responses survive FDR (clusters of 5 voxels or more), and nothing else does:
    # frontal for different speakers, temporal for different sentences, both for the F test
    frontal, temporal = (44.0, 24.0, 20.0), (-56.0, -20.0, 4.0)
    for name, planted in (
        ("different speaker", [frontal]),
        ("different sentence", [temporal]),
        ("effects of interest", [frontal, temporal]),
    ):
        fdr = by_name[name]["corrections"][1]
        assert fdr["method"] == "fdr" and fdr["cluster_extent"] == 5
        peaks = _survivors(examples, "first_level", fdr)
        assert all(_near(peaks, centre, 10.0) for centre in planted), name
        assert _all_near(peaks, planted, 14.0), name
        assert fdr["n_clusters"] == len(planted), name
    assert (examples / "results/first_level/report.html").is_file()


def test_example_study(examples: Path):
    s = _run(examples, "study")
    assert s["model"]["level"] == "second" and s["model"]["n_inputs"] == 6
    assert [sub["id"] for sub in s["subjects"]] == ["01", "02", "03", "04", "05", "06"]
    assert s["study"]["task"] == "faces" and s["study"]["covariates"] == ["age"]
    assert all(
        (examples / "results/study" / sub["folder"] / "summary.json").is_file()
        for sub in s["subjects"]
    )
    by_name = {c["name"]: c for c in s["contrasts"]}
    fdr = by_name["face > house"]["corrections"][0]
    peaks = pd.read_csv(examples / "results/study" / fdr["peaks_table"], sep="\t")
    assert _near(peaks, (18, -30, 2), 8.0)  # the planted "fusiform" face blob
    fdr = by_name["house > face"]["corrections"][0]
    peaks = pd.read_csv(examples / "results/study" / fdr["peaks_table"], sep="\t")
    assert _near(peaks, (-22, -26, -2), 8.0)  # the planted "parahippocampal" house blob
    html = (examples / "results/study/report.html").read_text()
    assert 'id="study"' in html and "sub-06" in html
