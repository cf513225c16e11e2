"""Effect sizes in the tables of a run, recomputed by hand from the input images.

A small study is written to NIfTI files and run through the second-level preparation and
inference; at every peak of the tables the inputs are read back from the files and the model
fitted by ``numpy.linalg.lstsq`` at that voxel alone. Tolerance: relative 1e-5 (the images are
float32; the fits agree to about 1e-12 on the same float64 values).
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from glmreport.config.load import parse_config
from glmreport.pipeline.infer import infer
from glmreport.pipeline.second_level import prepare_second_level

RTOL = 1e-5
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
AFFINE[:3, 3] = -9.0
BLOCK = (slice(1, 3), slice(1, 3), slice(1, 3))
CORRECTIONS = "[{method: uncorrected, alpha: 0.01}, {method: fdr, alpha: 0.05}]"


def _write(folder, n=14, seed=3):
    """Maps with an effect shared by all inputs, a group difference and an age slope."""
    rng = np.random.default_rng(seed)
    group = np.array(["a", "b"] * (n // 2))
    age = np.linspace(-1.0, 1.0, n) + 0.3 * rng.standard_normal(n)
    maps = rng.standard_normal((n, 6, 6, 6)).astype(np.float32)
    for i in range(n):
        maps[(i, *BLOCK)] += 3.0 + (2.5 if group[i] == "a" else 0.0) + 1.5 * age[i]
    rows = []
    for i, volume in enumerate(maps):
        name = f"sub-{i + 1:02d}.nii.gz"
        nib.Nifti1Image(volume, AFFINE).to_filename(folder / name)
        rows.append({"path": name, "group": group[i], "age": age[i]})
    pd.DataFrame(rows).to_csv(folder / "inputs.tsv", sep="\t", index=False)
    design = pd.DataFrame({"intercept": 1.0, "g": (group == "a").astype(float), "age": age})
    design.to_csv(folder / "design.tsv", sep="\t", index=False)
    return design.to_numpy()


def _run(folder, design: str, contrast: str):
    text = (
        "title: effects\n"
        f"model: {{inputs: inputs.tsv, space: null, design: {design}}}\n"
        f"contrasts: [{contrast}]\n"
        f"corrections: {CORRECTIONS}\n"
        "report: {formats: []}\n"
    )
    config = parse_config(text, base_dir=folder)
    prepared = prepare_second_level(config)
    ((_, results),) = infer(config, prepared)
    return prepared, results


def _values_at(folder, n, xyz):
    """The inputs' values at a world coordinate, read back from the files."""
    ijk = np.rint(np.linalg.solve(AFFINE, [*xyz, 1.0])[:3]).astype(int)
    return np.array(
        [
            np.asarray(nib.load(folder / f"sub-{i + 1:02d}.nii.gz").dataobj)[tuple(ijk)]
            for i in range(n)
        ],
        dtype=np.float64,
    )


def _by_hand_t(y, x, c):
    beta, rss, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    dof = len(y) - rank
    sigma2 = float(np.sum((y - x @ beta) ** 2)) / dof
    effect = float(c @ beta)
    se = np.sqrt(float(c @ np.linalg.inv(x.T @ x) @ c) * sigma2)
    half = stats.t.ppf(0.975, dof) * se
    return effect, effect - half, effect + half, effect / np.sqrt(sigma2)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("effects")
    return folder, _write(folder)


def _check_t_peaks(results, folder, x, c):
    n_rows = 0
    for result in results:
        for _, row in result.peaks.iterrows():
            y = _values_at(folder, len(x), (row.peak_x, row.peak_y, row.peak_z))
            expected = _by_hand_t(y, x, c)
            found = (row.effect, row.effect_ci_low, row.effect_ci_high, row.cohens_d)
            np.testing.assert_allclose(found, expected, rtol=RTOL)
            n_rows += 1
    return n_rows


def test_one_sample_peaks_match_lstsq(study):
    folder, design = study
    _, results = _run(folder, "one-sample", "{name: mean, t: intercept}")
    x = np.ones((len(design), 1))
    assert _check_t_peaks(results, folder, x, np.array([1.0])) >= 2
    # one-sample d is the mean over the SD of the inputs (ddof 1)
    row = results[0].peaks.iloc[0]
    y = _values_at(folder, len(x), (row.peak_x, row.peak_y, row.peak_z))
    assert row.cohens_d == pytest.approx(y.mean() / y.std(ddof=1), rel=RTOL)


def test_two_sample_peaks_and_cluster_means_match_lstsq(study, tmp_path):
    folder, design = study
    prepared, results = _run(
        folder, "{two-sample: {group: group, levels: [a, b]}}", "{name: a > b, t: group}"
    )
    x = design[:, :2]
    assert _check_t_peaks(results, folder, x, np.array([0.0, 1.0])) >= 1
    # Cohen's d_s: difference of the group means over the pooled SD
    row = results[0].peaks.iloc[0]
    y = _values_at(folder, len(x), (row.peak_x, row.peak_y, row.peak_z))
    a, b = y[x[:, 1] == 1], y[x[:, 1] == 0]
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(y) - 2))
    assert row.cohens_d == pytest.approx((a.mean() - b.mean()) / pooled, rel=RTOL)
    # mean effect of a cluster: the mean over its voxels of the per-voxel estimates
    result = results[0]
    data = prepared.data.astype(np.float64)
    beta = np.linalg.lstsq(x, data, rcond=None)[0]
    for _, cluster in result.clusters.iterrows():
        inside = result.cluster_labels == int(cluster.cluster_id)
        assert cluster.mean_effect == pytest.approx(beta[1, inside].mean(), rel=RTOL)


def test_f_contrast_partial_eta2_is_the_extra_sum_of_squares(study):
    folder, design = study
    _, results = _run(folder, "{matrix: design.tsv}", "{name: group and age, F: [g, age]}")
    n_rows = 0
    for result in results:
        assert "effect" not in result.peaks.columns and "cohens_d" not in result.peaks.columns
        for _, row in result.peaks.iterrows():
            y = _values_at(folder, len(design), (row.peak_x, row.peak_y, row.peak_z))
            rss_full = np.sum((y - design @ np.linalg.lstsq(design, y, rcond=None)[0]) ** 2)
            reduced = design[:, :1]
            rss_reduced = np.sum((y - reduced @ np.linalg.lstsq(reduced, y, rcond=None)[0]) ** 2)
            expected = (rss_reduced - rss_full) / rss_reduced  # SS_effect / (SS_effect + SS_err)
            assert row.partial_eta2 == pytest.approx(expected, rel=RTOL)
            n_rows += 1
        assert "mean_effect" not in result.clusters.columns  # a vector estimate: no mean
    assert n_rows >= 1
