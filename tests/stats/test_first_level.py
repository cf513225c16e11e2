"""First-level designs, EPI mask, BOLD loading and fixed effects (no reference library)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from glmreport.errors import ContrastError, DesignError, InputError
from glmreport.stats.contrasts import compute_contrast
from glmreport.stats.first_level import (
    check_design,
    check_design_rows,
    compute_epi_mask,
    cosine_drift,
    make_first_level_design,
    make_frame_times,
    polynomial_drift,
    prepare_events,
    read_design_file,
    run_mean_image,
    run_timeseries,
)
from glmreport.stats.fixed_effects import fixed_effects
from glmreport.stats.results import ContrastResult, DesignMatrix, GLMFit

N_SCANS, T_R = 60, 2.0


@pytest.fixture
def events():
    return pd.DataFrame(
        {
            "onset": [10.0, 30.0, 50.0, 70.0, 90.0, 30.0],
            "duration": [4.0, 4.0, 0.0, 4.0, 4.0, 4.0],
            "trial_type": ["b", "a", "b", "a", "b", "a"],
            "modulation": [1.0, 2.0, 1.0, 1.0, 1.0, 0.5],
        }
    )


def test_frame_times():
    np.testing.assert_allclose(make_frame_times(4, 2.0, 0.5), [1.0, 3.0, 5.0, 7.0])
    with pytest.raises(DesignError, match="slice_time_ref"):
        make_frame_times(4, 2.0, 1.5)


def test_column_order_and_names(events):
    conf = pd.DataFrame({"tx": np.linspace(0, 1, N_SCANS), "rz": np.sin(np.arange(N_SCANS))})
    ft = make_frame_times(N_SCANS, T_R)
    d = make_first_level_design(
        ft, events, hrf_model="spm + derivative", confounds=conf, high_pass=0.02
    )
    k = int(np.floor(2 * N_SCANS * 0.02 * T_R))
    assert d.columns == (
        "a",
        "a_derivative",
        "b",
        "b_derivative",
        "tx",
        "rz",
        *(f"drift_{i}" for i in range(1, k + 1)),
        "constant",
    )
    assert d.nuisance[:2] == ("tx", "rz") and d.nuisance[-1] == "constant"
    assert d.matrix.shape == (N_SCANS, len(d.columns))
    np.testing.assert_array_equal(d.matrix[:, -1], 1.0)
    np.testing.assert_array_equal(d.matrix[:, 4], conf["tx"])
    # derivative orthogonal to its HRF regressor
    assert abs(d.matrix[:, 0] @ d.matrix[:, 1]) < 1e-10
    fir = make_first_level_design(ft, events, hrf_model="fir", fir_delays=[0, 2], drift_model=None)
    assert fir.columns == ("a_delay_0", "a_delay_2", "b_delay_0", "b_delay_2", "constant")


def test_duplicate_events_sum_modulation(events):
    clean, notes = prepare_events(events)
    a30 = clean[(clean.trial_type == "a") & (clean.onset == 30.0)]
    assert len(a30) == 1 and a30.modulation.iloc[0] == pytest.approx(2.5)
    assert any("duplicated" in n for n in notes)
    # a doubled amplitude doubles the regressor (linearity)
    ft = make_frame_times(N_SCANS, T_R)
    one = pd.DataFrame({"onset": [20.0], "duration": [3.0], "trial_type": ["x"]})
    two = one.assign(modulation=2.0)
    d1 = make_first_level_design(ft, one, drift_model=None)
    d2 = make_first_level_design(ft, two, drift_model=None)
    np.testing.assert_allclose(d2.matrix[:, 0], 2 * d1.matrix[:, 0], atol=1e-14)


def test_drift_bases():
    ft = make_frame_times(100, 2.0)
    cos = cosine_drift(ft, 0.01)
    assert cos.shape == (100, 5)  # floor(2 * 100 * 0.01 * 2) = 4 cosines + constant
    gram = cos[:, :-1].T @ cos[:, :-1]
    np.testing.assert_allclose(gram, np.eye(4), atol=1e-12)  # DCT-II is orthonormal
    pol = polynomial_drift(ft, 3)
    g = pol.T @ pol
    np.testing.assert_allclose(g - np.diag(np.diag(g)), 0, atol=1e-9)
    np.testing.assert_allclose(pol[:, -1], 1.0, atol=1e-12)
    with pytest.raises(DesignError, match="Nyquist"):
        make_first_level_design(ft, None, high_pass=0.3)
    with pytest.raises(DesignError, match="Did you mean 'cosine'"):
        make_first_level_design(ft, None, drift_model="cosin")


def test_events_past_end_of_run():
    ft = make_frame_times(N_SCANS, T_R)
    late = pd.DataFrame({"onset": [10.0, 125.0], "duration": [1.0, 1.0], "trial_type": ["a", "a"]})
    with pytest.raises(DesignError, match="after the end of the run"):
        make_first_level_design(ft, late)
    # an event ending after the run is fine
    ok = pd.DataFrame({"onset": [110.0], "duration": [30.0], "trial_type": ["a"]})
    assert make_first_level_design(ft, ok).shape[0] == N_SCANS


def test_events_missing_columns_and_bad_values():
    ft = make_frame_times(N_SCANS, T_R)
    with pytest.raises(DesignError, match="no 'duration' column.*Did you mean 'durations'"):
        make_first_level_design(
            ft, pd.DataFrame({"onset": [1.0], "durations": [1.0], "trial_type": ["a"]})
        )
    with pytest.raises(DesignError, match="'trial_type'"):
        make_first_level_design(ft, pd.DataFrame({"onset": [1.0], "duration": [1.0]}))
    with pytest.raises(DesignError, match="onset.*finite numbers; rows 2"):
        prepare_events(
            pd.DataFrame({"onset": [1.0, "x"], "duration": [1.0, 1.0], "trial_type": ["a", "b"]})
        )
    with pytest.raises(DesignError, match="negative"):
        prepare_events(pd.DataFrame({"onset": [1.0], "duration": [-1.0], "trial_type": ["a"]}))


def test_confounds_checked():
    ft = make_frame_times(N_SCANS, T_R)
    with pytest.raises(DesignError, match="has 59 rows but the run has 60 scans"):
        make_first_level_design(ft, None, confounds=pd.DataFrame({"x": np.zeros(59)}))
    bad = pd.DataFrame({"x": np.r_[np.nan, np.ones(59)]})
    with pytest.raises(DesignError, match="fill them"):
        make_first_level_design(ft, None, confounds=bad)
    with pytest.raises(DesignError, match="unique; constant"):
        make_first_level_design(ft, None, confounds=pd.DataFrame({"constant": np.arange(60.0)}))


def test_check_design_reports_problems():
    n = 30
    x = np.column_stack(
        [
            np.arange(n, dtype=float),
            np.arange(n, dtype=float),
            np.zeros(n),
            np.ones(n) * 2,
            np.ones(n),
        ]
    )
    d = DesignMatrix(matrix=x, columns=("a", "b", "empty", "c2", "constant"))
    w = check_design(d)
    assert "columns a and b are identical" in w
    assert "column empty is constant (all zeros)" in w
    assert "column c2 is constant (a second intercept)" in w
    assert any(s.startswith("the design is rank deficient: rank 2 < 5") for s in w)
    ft = make_frame_times(N_SCANS, T_R)
    ev = pd.DataFrame({"onset": [10.0, 60.0], "duration": [5.0, 5.0], "trial_type": ["a", "b"]})
    assert check_design(make_first_level_design(ft, ev)) == []


def test_design_row_count_checked(tmp_path):
    d = DesignMatrix(matrix=np.ones((10, 1)), columns=("constant",))
    with pytest.raises(DesignError, match="10 rows but the BOLD run has 12 scans"):
        check_design_rows(d, 12)


def test_read_design_file_tsv_and_npz(tmp_path, events):
    ft = make_frame_times(N_SCANS, T_R)
    d = make_first_level_design(ft, events)
    tsv = tmp_path / "design.tsv"
    d.to_frame().to_csv(tsv, sep="\t", index=False)
    back = read_design_file(tsv, n_scans=N_SCANS)
    assert back.columns == d.columns
    np.testing.assert_allclose(back.matrix, d.matrix, rtol=1e-12)
    indexed = tmp_path / "indexed.tsv"
    d.to_frame().to_csv(indexed, sep="\t")
    assert read_design_file(indexed).columns == d.columns
    npz = tmp_path / "design.npz"
    np.savez(npz, matrix=d.matrix, columns=np.array(d.columns))
    assert read_design_file(npz, n_scans=N_SCANS).columns == d.columns
    with pytest.raises(DesignError, match="60 rows but the BOLD run has 61 scans"):
        read_design_file(tsv, n_scans=61)
    with pytest.raises(InputError, match="not found"):
        read_design_file(tmp_path / "nope.tsv")


def _brain_volume(rng, shape=(20, 22, 16)):
    ii, jj, kk = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    centre = np.array(shape) / 2 - 0.5
    r = ((ii - centre[0]) / 8) ** 2 + ((jj - centre[1]) / 9) ** 2 + ((kk - centre[2]) / 6) ** 2
    brain = r <= 1
    vol = rng.normal(5.0, 1.0, shape)  # background noise
    vol[brain] = rng.normal(100.0, 5.0, brain.sum())
    return vol, brain


def test_compute_epi_mask_recovers_brain():
    rng = np.random.default_rng(3)
    vol, brain = _brain_volume(rng)
    vol[10, 11, 8] = 5.0  # dark hole inside the brain
    vol[0, 0, 0] = 120.0  # isolated bright voxel outside
    mask = compute_epi_mask(vol)
    assert mask[10, 11, 8] and not mask[0, 0, 0]
    dice = 2 * (mask & brain).sum() / (mask.sum() + brain.sum())
    assert dice > 0.95
    with pytest.raises(InputError, match="constant"):
        compute_epi_mask(np.ones((10, 10, 10)))


def test_run_loading_scaled_int16(tmp_path):
    rng = np.random.default_rng(4)
    shape, n = (6, 5, 4), 12
    data = rng.normal(1000, 50, (*shape, n)).astype(np.float32)
    img = nib.Nifti1Image(np.round(data).astype(np.int16), np.eye(4))
    img.header.set_slope_inter(0.5, 10.0)
    path = tmp_path / "bold.nii.gz"
    nib.save(img, path)
    loaded = nib.load(path)
    expected = np.asarray(loaded.dataobj, dtype=np.float64)
    np.testing.assert_allclose(run_mean_image(loaded), expected.mean(-1), rtol=1e-12)
    mask = np.zeros(shape, bool)
    mask[1:4, 2:, 1:3] = True
    y = run_timeseries(loaded, mask)
    assert y.dtype == np.float32 and y.shape == (n, mask.sum())
    np.testing.assert_allclose(y, expected[mask].T, rtol=1e-6)
    with pytest.raises(InputError, match="does not match the mask"):
        run_timeseries(loaded, np.ones((2, 2, 2), bool))
    # a per-volume transform (e.g. smoothing) sees scaled 3D volumes
    doubled = run_timeseries(loaded, mask, volume_fn=lambda vol: 2 * vol)
    np.testing.assert_allclose(doubled, 2 * y, rtol=1e-6)
    # uncompressed and in-memory images give the same values
    plain = tmp_path / "bold.nii"
    nib.save(img, plain)
    np.testing.assert_array_equal(run_timeseries(nib.load(plain), mask), y)
    in_memory = nib.Nifti1Image(expected.astype(np.float32), np.eye(4))
    np.testing.assert_allclose(run_timeseries(in_memory, mask), y, rtol=1e-6)
    np.testing.assert_allclose(run_mean_image(in_memory), expected.mean(-1), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# fixed effects


def _t_result(effect, var, dof, weights=(1.0, 0.0), columns=("a", "b")):
    effect = np.asarray(effect, float)
    var = np.asarray(var, float)
    t = np.divide(effect, np.sqrt(var), out=np.zeros_like(effect), where=var > 0)
    return ContrastResult(
        name="c",
        label="c",
        stat_type="t",
        weights=np.array([weights]),
        columns=columns,
        effect=effect[None],
        variance=var[None, None],
        stat=t,
        p=stats.t.sf(t, dof),
        z=np.zeros_like(t),
        dof=dof,
    )


def test_fixed_effects_t_precision_weighted():
    r1 = _t_result([1.0, 2.0, 0.0], [1.0, 4.0, 1.0], 50)
    r2 = _t_result([3.0, 2.0, 0.0], [3.0, 4.0, 1.0], 70)
    ffx = fixed_effects([r1, r2], name="c", label="c")
    # voxel 0: weights 1 and 1/3 -> effect (1 + 1) / (4/3) = 1.5, variance 3/4
    np.testing.assert_allclose(ffx.effect[0], [1.5, 2.0, 0.0])
    np.testing.assert_allclose(ffx.variance[0, 0], [0.75, 2.0, 0.5])
    np.testing.assert_allclose(ffx.stat, ffx.effect[0] / np.sqrt(ffx.variance[0, 0]))
    assert ffx.dof == 120.0 and ffx.df_num == 1
    np.testing.assert_allclose(ffx.p, stats.t.sf(ffx.stat, 120), rtol=1e-10)
    np.testing.assert_allclose(ffx.z, stats.norm.isf(ffx.p), atol=1e-8)
    assert ffx.columns == ("a", "b")
    plain = fixed_effects([r1, r2], name="c", label="c", precision_weighted=False)
    np.testing.assert_allclose(plain.effect[0], [2.0, 2.0, 0.0])
    np.testing.assert_allclose(plain.variance[0, 0], [1.0, 2.0, 0.5])


def test_fixed_effects_zero_variance_run_is_ignored():
    r1 = _t_result([0.0, 0.0], [0.0, 0.0], 50)  # constant voxels in run 1
    r2 = _t_result([2.0, 0.0], [1.0, 0.0], 50)
    ffx = fixed_effects([r1, r2], name="c", label="c")
    np.testing.assert_allclose(ffx.effect[0], [2.0, 0.0])
    np.testing.assert_allclose(ffx.stat, [2.0, 0.0])
    assert ffx.p[1] == 1.0 and ffx.z[1] == 0.0


def test_fixed_effects_z_finite_for_huge_t():
    r = _t_result([100.0], [1e-4], 100)
    ffx = fixed_effects([r, r], name="c", label="c")
    assert np.isfinite(ffx.z).all() and ffx.z[0] > 30


def test_fixed_effects_f_wald_combination():
    rng = np.random.default_rng(5)
    n, v, p = 80, 7, 3
    fits, results = [], []
    for run in range(2):
        x = np.column_stack([rng.normal(size=(n, 2)), np.ones(n)])
        y = x @ rng.normal(size=(p, v)) + rng.normal(size=(n, v)) * (1 + run)
        pinv = np.linalg.pinv(x)
        b = pinv @ y
        s2 = ((y - x @ b) ** 2).sum(0) / (n - p)
        fit = GLMFit(
            design=DesignMatrix(matrix=x, columns=("u", "w", "constant")),
            betas=b,
            sigma2=s2,
            dof=float(n - p),
            cov_unscaled=(pinv @ pinv.T)[None],
        )
        fits.append(fit)
        c = np.array([[1.0, 0, 0], [0, 1.0, 0]])
        results.append(compute_contrast(fit, c, name="f", label="f", stat_type="F"))
    ffx = fixed_effects(results, name="f", label="f")
    for j in range(v):
        precs = [np.linalg.inv(r.variance[:, :, j]) for r in results]
        total = sum(precs)
        e = np.linalg.solve(
            total, sum(P @ r.effect[:, j] for P, r in zip(precs, results, strict=True))
        )
        np.testing.assert_allclose(ffx.effect[:, j], e, rtol=1e-10)
        np.testing.assert_allclose(ffx.variance[:, :, j], np.linalg.inv(total), rtol=1e-10)
        np.testing.assert_allclose(ffx.stat[j], e @ total @ e / 2, rtol=1e-10)
    assert ffx.df_num == 2 and ffx.dof == 2 * (n - p)
    np.testing.assert_allclose(ffx.p, stats.f.sf(ffx.stat, 2, 2 * (n - p)), rtol=1e-8)


def test_fixed_effects_rejects_mismatch_and_names_columns():
    r1 = _t_result([1.0, 2.0], [1.0, 1.0], 10)
    r2 = _t_result([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 10)
    with pytest.raises(ContrastError, match="same contrast on the same voxels"):
        fixed_effects([r1, r2], name="c", label="c")
    with pytest.raises(ContrastError, match="no runs"):
        fixed_effects([], name="c", label="c")
    r3 = _t_result([1.0, 2.0], [1.0, 1.0], 10, weights=(1.0, 0.0, 0.0), columns=("a", "b", "x"))
    ffx = fixed_effects([r1, r3], name="c", label="c", run_names=["r1", "r2"])
    assert ffx.columns == ("r1:a", "r1:b", "r2:a", "r2:b", "r2:x")
    assert ffx.weights.shape == (1, 5)


@pytest.mark.parametrize("slice_time_ref", [0.0, 0.5, 1.0])
def test_run_end_is_n_scans_times_tr(slice_time_ref):
    # frame times are offset by slice_time_ref x TR, the run still ends at n_scans x TR
    ft = make_frame_times(N_SCANS, T_R, slice_time_ref)
    end = N_SCANS * T_R

    def design(onset: float):
        events = pd.DataFrame({"onset": [10.0, onset], "duration": [1.0, 1.0], "trial_type": "a"})
        return make_first_level_design(ft, events)

    assert design(end - 0.01).shape[0] == N_SCANS
    with pytest.raises(DesignError, match=r"end of the run \(120 s; the run has 60 scans"):
        design(end)
    with pytest.raises(DesignError, match="onset 120.9 s"):
        design(end + 0.45 * T_R)  # before frame_times[-1] + TR when slice_time_ref >= 0.5


def test_na_trial_type_dropped_with_note_and_rows_numbered_as_in_file():
    events = pd.DataFrame(
        {
            "onset": [1.0, 5.0, np.nan, 20.0],
            "duration": [1.0, 1.0, 1.0, 1.0],
            "trial_type": ["a", np.nan, None, "n/a"],
        }
    )
    out, notes = prepare_events(events.iloc[[0, 1, 3]], source="ev.tsv")
    assert out["trial_type"].tolist() == ["a"]
    assert notes == ["ev.tsv: 2 event(s) with trial_type n/a were dropped (rows 2, 3)"]
    # a missing onset of an n/a event is dropped with it; one of a kept event is an error
    out, notes = prepare_events(events, source="ev.tsv")
    assert out["onset"].tolist() == [1.0] and "3 event(s)" in notes[0]
    events.loc[1, "trial_type"] = "b"
    events.loc[1, "onset"] = np.nan
    with pytest.raises(
        DesignError, match=r"ev.tsv: column 'onset' must hold finite numbers; rows 2"
    ):
        prepare_events(events, source="ev.tsv")


def test_truncated_bold_is_an_input_error(tmp_path):
    path = tmp_path / "bold.nii.gz"
    data = np.random.default_rng(0).normal(100, 1, (5, 5, 4, 20)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    img = nib.load(path)
    with pytest.raises(InputError, match=r"bold.nii.gz: volume \d+ of 20 cannot be read"):
        run_mean_image(img, source=str(path))
    with pytest.raises(InputError, match="truncated or corrupt"):
        run_timeseries(img, np.ones((5, 5, 4), bool), source=str(path))


def test_header_with_too_many_scans_is_refused_before_reading(tmp_path):
    from glmreport.io import load_image

    header = nib.Nifti2Header()  # NIfTI-1 dimensions stop at 32 767
    header.set_data_shape((4, 4, 4, 200_000))
    header.set_data_dtype(np.float32)
    header.set_data_offset(544)
    (tmp_path / "bold.nii").write_bytes(header.binaryblock + b"\0" * 1000)
    with pytest.raises(InputError, match=r"bold.nii: .*\(4, 4, 4, 200000\).* and 100,000 volumes"):
        load_image(tmp_path / "bold.nii", allow_4d=True)
