"""First-level designs: frame times, events, drifts, design files (no reference library)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glmreport.errors import DesignError, InputError
from glmreport.glm.drift import cosine_drift, polynomial_drift
from glmreport.glm.events import prepare_events
from glmreport.glm.first_level import (
    check_design,
    check_design_rows,
    make_first_level_design,
    make_frame_times,
    read_design_file,
)
from glmreport.glm.results import DesignMatrix

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
