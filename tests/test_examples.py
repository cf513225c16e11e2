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


def test_example_two_sample_unpaired(examples: Path):
    s = _run(examples, "two_sample_unpaired")
    assert s["model"]["columns"] == ["intercept", "condition"]
    assert s["model"]["dof"] == 30.0


def test_example_two_sample_paired(examples: Path):
    unpaired = examples / "results/two_sample_unpaired"
    if not unpaired.exists():
        _run(examples, "two_sample_unpaired")
    s = _run(examples, "two_sample_paired")
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
    assert z_p[mask].max() > z_u[mask].max()


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
    fdr = by_name["different speaker"]["corrections"][1]
    peaks = pd.read_csv(examples / "results/first_level" / fdr["peaks_table"], sep="\t")
    assert _near(peaks, (44, 24, 20), 8.0)  # planted frontal "different speaker" response
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
