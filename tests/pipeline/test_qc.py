"""The run's quality checks (``summary.json`` ``qc``) against references on the same inputs:
VIF against statsmodels (relative 1e-8), efficiency and the design's correlation against
numpy (1e-10), the outlier measure of a planted outlier, p-value counts, mask coverage."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.outliers_influence import variance_inflation_factor

from glmreport.config.load import parse_config
from glmreport.pipeline.qc import P_BINS, quality_checks
from glmreport.pipeline.second_level import prepare_second_level

AFFINE = np.array([[4.0, 0, 0, -20], [0, 4.0, 0, -30], [0, 0, 4.0, -10], [0, 0, 0, 1]])


def _study(folder, n=16, seed=5):
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    score = 0.8 * (age - 40) / 10 + 0.6 * rng.standard_normal(n)  # correlated with age
    group = np.array(["p", "c"] * (n // 2))
    maps = rng.standard_normal((n, 8, 8, 8)).astype(np.float32)
    maps[3] *= 6.0  # one input far noisier than the others
    rows = []
    for i in range(n):
        nib.Nifti1Image(maps[i], AFFINE).to_filename(folder / f"s{i}.nii.gz")
        rows.append({"path": f"s{i}.nii.gz", "age": age[i], "score": score[i], "group": group[i]})
    pd.DataFrame(rows).to_csv(folder / "inputs.tsv", sep="\t", index=False)


def _config(folder, space="null"):
    text = (
        f"model: {{inputs: inputs.tsv, space: {space}, "
        "design: {formula: '1 + group + age + score'}}\n"
        "contrasts: [{name: age, t: age}, {name: covariates, F: [age, score]}]\n"
        "corrections: [{method: fdr}]\n"
        "report: {formats: []}\n"
    )
    return parse_config(text, base_dir=folder)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qc")
    _study(folder)
    config = _config(folder)
    prepared = prepare_second_level(config)
    return prepared, quality_checks(config, prepared), folder


def test_vif_matches_statsmodels(checked):
    prepared, qc, _ = checked
    x = prepared.design.to_numpy(float)
    columns = list(prepared.design.columns)
    assert set(qc["vif"]) == set(columns) - {"Intercept"}  # non-constant columns only
    for name, value in qc["vif"].items():
        expected = variance_inflation_factor(x, columns.index(name))
        assert value == pytest.approx(expected, rel=1e-8)
    assert qc["vif"]["age"] > 1.5  # age and score are correlated


def test_efficiency_and_correlation_by_hand(checked):
    prepared, qc, _ = checked
    x = prepared.design.to_numpy(float)
    columns = list(prepared.design.columns)
    inv = np.linalg.inv(x.T @ x)
    c = np.zeros(len(columns))
    c[columns.index("age")] = 1.0
    assert qc["efficiency"]["age"] == pytest.approx(1.0 / (c @ inv @ c), rel=1e-10)
    f = np.zeros((2, len(columns)))
    f[0, columns.index("age")] = f[1, columns.index("score")] = 1.0
    assert qc["efficiency"]["covariates"] == pytest.approx(2 / np.trace(f @ inv @ f.T), rel=1e-10)
    corr = qc["correlation"]
    i, j = corr["columns"].index("age"), corr["columns"].index("score")
    expected = np.corrcoef(x[:, columns.index("age")], x[:, columns.index("score")])[0, 1]
    assert corr["matrix"][i][j] == pytest.approx(expected, rel=1e-10)
    assert np.isnan(corr["matrix"][0][0]) and "Intercept" in corr["note"]


def test_the_noisy_input_is_flagged_and_p_values_counted(checked):
    prepared, qc, _ = checked
    flagged = [o["input"] for o in qc["outliers"] if o["flagged"]]
    assert flagged == [3]
    assert len(qc["outliers"]) == 16 and qc["outlier_threshold"] == 3.5
    hist = qc["p_values"]["age"]
    assert hist["sided"] == "two-sided" and len(hist["counts"]) == P_BINS
    assert sum(hist["counts"]) == hist["n"] == prepared.masker.n_voxels
    assert qc["p_values"]["covariates"]["sided"] == "upper tail"
    # no signal: Storey's pi0 near 1 (its SE is about 1/sqrt(m) = 0.044 here)
    assert hist["pi0"] == pytest.approx(1.0, abs=0.15)
    assert qc["mask_coverage"] is None and any("Mask coverage" in n for n in qc["notes"])


def test_mask_coverage_in_mni_space(checked):
    prepared, _, folder = checked
    qc = quality_checks(_config(folder, space="MNI152NLin2009cAsym"), prepared)
    cov = qc["mask_coverage"]
    # a 32 x 32 x 32 mm box covers a small part of the brain, and lies inside it
    assert 0.0 < cov["fraction_covered"] < 0.05 and cov["n_mask_voxels"] == 512
    assert cov["fraction_outside"] == pytest.approx(cov["n_outside"] / 512)
