"""Effect-size columns of the clusters and peaks tables (values are checked against lstsq in
tests/pipeline/test_infer_effects.py; here: which columns, which rows, which clusters)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from glmreport.config.specs import AriParams, CorrectionSpec
from glmreport.glm.contrasts import compute_contrast
from glmreport.glm.ols import fit_ols
from glmreport.glm.results import DesignMatrix
from glmreport.inference.ari import apply_ari
from glmreport.inference.context import InferenceContext
from glmreport.inference.effect_columns import add_effect_columns, has_effects
from glmreport.inference.thresholds import apply_bonferroni, apply_uncorrected

SHAPE = (10, 10, 10)


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(7)
    n = 12
    y = rng.standard_normal((n, *SHAPE))
    y[:, 2:5, 2:5, 2:5] += 2.0
    y[:, 7:9, 7:9, 7:9] -= 1.5
    mask = np.ones(SHAPE, bool)
    data = y.reshape(n, -1)
    fit = fit_ols(data, DesignMatrix(matrix=np.ones((n, 1)), columns=("intercept",)))
    contrast = compute_contrast(fit, np.ones((1, 1)), name="c", label="c", stat_type="t")
    ctx = InferenceContext(mask=mask, affine=np.eye(4))
    return data, fit, contrast, ctx


def test_peaks_and_clusters_get_their_effects(case):
    data, fit, contrast, ctx = case
    spec = CorrectionSpec(method="uncorrected", alpha=0.001, two_sided=True)
    (result,) = add_effect_columns(
        contrast, apply_uncorrected(contrast, spec, ctx), fit, mask=ctx.mask, affine=ctx.affine
    )
    peaks, clusters = result.peaks, result.clusters
    assert list(peaks.columns[-4:]) == ["effect", "effect_ci_low", "effect_ci_high", "cohens_d"]
    assert (peaks["effect_ci_low"] < peaks["effect"]).all()
    assert (peaks["effect"] < peaks["effect_ci_high"]).all()
    # the sign of the estimate follows the cluster's sign; mean over the cluster's voxels
    signs = np.sign(clusters["mean_effect"]).map({1.0: "+", -1.0: "-"})
    assert (signs == clusters["sign"]).all() and {"+", "-"} <= set(clusters["sign"])
    for _, row in clusters.iterrows():
        inside = result.cluster_labels == int(row.cluster_id)
        assert row.mean_effect == pytest.approx(data[:, inside].mean(), rel=1e-12)


def test_first_level_has_no_cohens_d_and_empty_tables_keep_float_columns(case):
    _, _, contrast, ctx = case
    spec = CorrectionSpec(method="bonferroni", alpha=1e-30)  # nothing survives
    (result,) = add_effect_columns(
        contrast, apply_bonferroni(contrast, spec, ctx), None, mask=ctx.mask, affine=ctx.affine
    )
    assert result.peaks.empty and "cohens_d" not in result.peaks.columns
    assert result.peaks["effect"].dtype == np.float64
    assert result.clusters["mean_effect"].dtype == np.float64


def test_conjunctions_and_maps_get_no_columns(case):
    _, fit, contrast, ctx = case
    spec = CorrectionSpec(method="uncorrected", alpha=0.001)
    results = apply_uncorrected(contrast, spec, ctx)
    maps = dataclasses.replace(contrast, variance=np.full_like(contrast.variance, np.nan))
    conjunction = dataclasses.replace(contrast, conjunction=("a", "b"))
    assert not has_effects(maps) and not has_effects(conjunction) and has_effects(contrast)
    for c in (maps, conjunction):
        (same,) = add_effect_columns(c, results, fit, mask=ctx.mask, affine=ctx.affine)
        assert same is results[0]


def test_ari_clusters_of_every_threshold_get_their_mean(case):
    data, fit, contrast, ctx = case
    spec = CorrectionSpec(method="ari", params=AriParams(thresholds=(2.5, 3.5)))
    (result,) = add_effect_columns(
        contrast, apply_ari(contrast, spec, ctx), fit, mask=ctx.mask, affine=ctx.affine
    )
    clusters = result.clusters
    assert len(set(clusters["threshold_z"])) == 2
    for row_index, (_, row) in enumerate(clusters.iterrows()):
        block = sorted(set(clusters["threshold_z"])).index(row.threshold_z)
        inside = np.abs(result.cluster_index[block]) == int(row.cluster_id)
        assert inside.any(), row_index
        assert row.mean_effect == pytest.approx(data[:, inside].mean(), rel=1e-12)
