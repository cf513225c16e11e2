"""apply_permutation: the results of each route, their tables, and the errors it raises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures.group_data import ols_contrast, smooth_noise, two_group

from glmreport.config.specs import CorrectionSpec, PermutationParams
from glmreport.errors import InferenceError
from glmreport.glm.results import GLMFit
from glmreport.inference.context import InferenceContext
from glmreport.inference.permutation import (
    apply_permutation,
    cluster_forming_threshold,
    critical_value,
)
from glmreport.inference.registry import get_method
from glmreport.inference.results import CLUSTER_COLUMNS, PEAK_COLUMNS


def _planted(n=12, seed=10, shape=(14, 14, 12)):
    """Smooth noise with a positive and a negative blob, one-sample design."""
    data, mask = smooth_noise(n, seed, shape=shape, sigma=1.2)
    pos = np.zeros(shape)
    pos[3:7, 3:7, 3:6] = 1.2
    neg = np.zeros(shape)
    neg[8:12, 8:12, 6:9] = 1.2
    data = data + pos[mask] - neg[mask]
    x = np.ones((n, 1))
    fit, con = ols_contrast(data, x, [[1.0]], columns=("intercept",))
    table = pd.DataFrame({"subject": [f"sub-{i:02d}" for i in range(n)], "site": ["a", "b"] * 6})
    ctx = InferenceContext(
        mask=mask, affine=np.diag([2.0, 2.0, 2.0, 1.0]), data=data, fit=fit, table=table
    )
    return con, ctx, pos[mask] > 0, neg[mask] > 0


def test_apply_permutation_results():
    con, ctx, pos, neg = _planted()
    params = PermutationParams(n_perm=400, seed=3, cluster_forming_p=0.001, tfce=True)
    spec = CorrectionSpec(method="permutation", alpha=0.05, two_sided=True, params=params)
    assert get_method("permutation") is apply_permutation
    results = apply_permutation(con, spec, ctx)
    assert [r.desc for r in results] == [
        "permMaxT",
        "permClusterSize",
        "permClusterMass",
        "permTFCE",
    ]
    for r in results:
        assert r.method == "permutation" and r.two_sided
        assert r.arrays["null"].shape == (400,)
        assert r.extras["n_perm"] == 400 and r.extras["exact"] is False
        assert r.extras["scheme"] == "sign-flip"
        assert r.extras["observed_max"] == pytest.approx(r.arrays["null"][0])
        assert r.extras["critical_value"] == pytest.approx(critical_value(r.arrays["null"], 0.05))
        assert r.params["n_perm"] == 400 and r.params["seed"] == 3
        assert r.params["blocks"] is None and r.params["tfce_dh"] == "auto"
        assert tuple(r.clusters.columns[: len(CLUSTER_COLUMNS)]) == CLUSTER_COLUMNS
        assert tuple(r.peaks.columns[: len(PEAK_COLUMNS)]) == PEAK_COLUMNS
        assert "p_fwe" in r.clusters.columns
        assert np.all(r.clusters["p_fwe"] < 0.05)
        # the planted blobs are found, nothing far from them
        assert r.surviving[pos].any() and r.surviving[neg].any()
        assert set(r.clusters["sign"]) == {"+", "-"}
    max_t, size, mass, tf = results
    assert max_t.extras["null_label"] == "max |t|"
    assert max_t.threshold_stat == pytest.approx(max_t.extras["critical_value"])
    assert max_t.threshold_z > 0
    p = 10 ** -max_t.maps["logp_fwe"]
    np.testing.assert_array_equal(max_t.surviving, np.abs(con.stat) > max_t.threshold_stat)
    np.testing.assert_array_equal(max_t.surviving, p < 0.05 - 1e-12)
    assert "p_fwe" in max_t.peaks.columns and np.all(max_t.peaks["p_fwe"] < 0.05)
    thr = cluster_forming_threshold(0.001, "t", con.dof, two_sided=True)
    for r, kind in ((size, "size"), (mass, "mass")):
        assert r.threshold_stat == pytest.approx(thr)
        assert r.extras[f"critical_cluster_{kind}"] == r.extras["critical_value"]
        assert r.extras["cluster_forming_p"] == 0.001
        assert np.all(r.clusters[f"cluster_{kind}"] > r.extras["critical_value"])
        assert np.all(np.abs(con.stat[r.surviving]) > thr)
    assert size.cluster_extent == int(size.extras["critical_value"]) + 1
    np.testing.assert_array_equal(size.clusters["cluster_size"], size.clusters["size_voxels"])
    assert set(tf.maps) == {"tfce", "logp_fwe"}
    assert tf.threshold_z is None and tf.threshold_stat is None
    np.testing.assert_array_equal(
        tf.surviving, np.abs(tf.maps["tfce"]) > tf.extras["critical_value"]
    )
    assert tf.extras["null_label"] == "max |TFCE|"


def test_apply_permutation_without_signal_and_one_sided():
    data, mask = smooth_noise(10, 21)
    x = np.ones((10, 1))
    fit, con = ols_contrast(data, x, [[1.0]], columns=("intercept",))
    ctx = InferenceContext(mask=mask, affine=np.eye(4), data=data, fit=fit)
    spec = CorrectionSpec(method="permutation", params=PermutationParams(n_perm=100, tfce=True))
    max_t, tf = apply_permutation(con, spec, ctx)
    assert not max_t.two_sided and max_t.extras["null_label"] == "max t"
    assert tf.extras["null_label"] == "max TFCE"
    assert max_t.surviving.sum() == 0 and len(max_t.clusters) == 0
    assert "p_fwe" in max_t.clusters.columns and "p_fwe" in max_t.peaks.columns


def test_apply_permutation_f_contrast_and_blocks():
    n = 12
    data, mask = smooth_noise(n, 30, shape=(8, 8, 8))
    x = np.column_stack([two_group(n), np.arange(n) % 3])
    fit, con = ols_contrast(data, x, [[1, -1, 0], [0, 0, 1]], "F")
    table = pd.DataFrame({"site": np.repeat(["a", "b", "c"], 4)})
    ctx = InferenceContext(mask=mask, affine=np.eye(4), data=data, fit=fit, table=table)
    spec = CorrectionSpec(
        method="permutation",
        two_sided=True,
        params=PermutationParams(n_perm=60, blocks="site", cluster_forming_p=0.01),
    )
    results = apply_permutation(con, spec, ctx)
    assert [r.desc for r in results] == ["permMaxT", "permClusterSize", "permClusterMass"]
    max_f = results[0]
    assert not max_f.two_sided and max_f.params["two_sided_ignored"] == "F contrast"
    assert max_f.extras["null_label"] == "max F"
    assert max_f.extras["scheme"] == "freedman-lane" and max_f.extras["blocks"] == "site"
    thr = cluster_forming_threshold(0.01, "F", con.dof, 2)
    assert results[1].threshold_stat == pytest.approx(thr)


def test_sign_flip_blocks_note():
    con, ctx, _, _ = _planted()
    spec = CorrectionSpec(method="permutation", params=PermutationParams(n_perm=50, blocks="site"))
    (max_t,) = apply_permutation(con, spec, ctx)
    assert "free" in max_t.extras["blocks_note"]


def test_apply_permutation_errors():
    con, ctx, _, _ = _planted()
    spec = CorrectionSpec(
        method="permutation", params=PermutationParams(n_perm=10, blocks="subjct")
    )
    with pytest.raises(InferenceError, match="Did you mean 'subject'"):
        apply_permutation(con, spec, ctx)
    no_data = InferenceContext(mask=ctx.mask, affine=ctx.affine)
    with pytest.raises(InferenceError, match="statistic maps"):
        apply_permutation(con, CorrectionSpec(method="permutation"), no_data)
    fit = ctx.fit
    ar1 = GLMFit(
        design=fit.design,
        betas=fit.betas,
        sigma2=fit.sigma2,
        dof=fit.dof,
        cov_unscaled=fit.cov_unscaled,
        noise_model="ar1",
    )
    ar_ctx = InferenceContext(mask=ctx.mask, affine=ctx.affine, data=ctx.data, fit=ar1)
    with pytest.raises(InferenceError, match="ar1"):
        apply_permutation(con, CorrectionSpec(method="permutation"), ar_ctx)
