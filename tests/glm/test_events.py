"""Events and confounds tables: required columns, defaults, merged duplicates, finite values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glmreport.errors import DesignError
from glmreport.glm.events import prepare_events, select_confounds


def test_prepare_events_defaults_and_merges():
    events = pd.DataFrame(
        {
            "onset": [0.0, 10.0, 10.0, 20.0, 30.0],
            "duration": [1.0, 2.0, 2.0, 1.0, 1.0],
            "trial_type": ["a", "b", "b", "a", None],
            "response_time": [0.4, 0.5, 0.6, 0.7, 0.8],
        }
    )
    ev, notes = prepare_events(events, source="run-1_events.tsv")
    assert list(ev.columns) == ["trial_type", "onset", "duration", "modulation"]
    # the two identical "b" events are merged (modulation summed); the n/a event dropped
    assert ev["trial_type"].tolist() == ["a", "b", "a"]
    np.testing.assert_array_equal(ev["onset"], [0.0, 10.0, 20.0])
    np.testing.assert_array_equal(ev["modulation"], [1.0, 2.0, 1.0])
    text = " ".join(notes)
    assert "response_time" in text and "merged" in text


def test_events_without_duplicates_are_the_grouped_table():
    """Without duplicated events the table is kept as it is: what grouping would give."""
    rng = np.random.default_rng(0)
    events = pd.DataFrame(
        {
            "onset": np.round(rng.uniform(0, 200, 40), 1),
            "duration": rng.choice([0.0, 1.5], 40),
            "trial_type": rng.choice(["face", "house", "1"], 40),
            "modulation": rng.normal(1, 0.2, 40),
        }
    ).drop_duplicates(["trial_type", "onset", "duration"])
    events.loc[events.index[0], "onset"] = -0.0
    ev, notes = prepare_events(events)
    grouped = (
        ev.groupby(["trial_type", "onset", "duration"], sort=False)
        .agg({"modulation": "sum"})
        .reset_index()[["trial_type", "onset", "duration", "modulation"]]
    )
    pd.testing.assert_frame_equal(ev, grouped)
    np.testing.assert_array_equal(ev["modulation"], events["modulation"])
    assert not any("merged" in n for n in notes)


def test_prepare_events_errors():
    with pytest.raises(DesignError, match="no 'onset' column.*Did you mean 'onsett'"):
        prepare_events(pd.DataFrame({"onsett": [0.0], "duration": [1], "trial_type": ["a"]}))
    bad = pd.DataFrame({"onset": [0.0, np.nan], "duration": [1, 1], "trial_type": ["a", "b"]})
    with pytest.raises(DesignError, match="onset"):
        prepare_events(bad)
    negative = pd.DataFrame({"onset": [0.0], "duration": [-1.0], "trial_type": ["a"]})
    with pytest.raises(DesignError, match="duration"):
        prepare_events(negative)
    with pytest.raises(DesignError, match="table of events"):
        prepare_events([1, 2, 3])  # type: ignore[arg-type]


def test_select_confounds():
    table = pd.DataFrame({"tx": [0.1, 0.2], "ty": ["1", "2"], "fd": [np.nan, 0.3]})
    out = select_confounds(table, ["ty", "tx"])
    assert list(out.columns) == ["ty", "tx"] and out.dtypes.eq(np.float64).all()
    np.testing.assert_array_equal(out["ty"], [1.0, 2.0])
    with pytest.raises(DesignError, match="fd"):
        select_confounds(table)
    with pytest.raises(DesignError, match="not found: tz. Available: tx, ty, fd"):
        select_confounds(table, ["tz"])


def test_absent_trial_types_are_those_pandas_reads_as_text():
    """Bytes are read as their text (b"n/a" is n/a); a NUL is a character like any other."""
    events = pd.DataFrame(
        {
            "onset": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "duration": 1.0,
            "trial_type": [b"n/a", b"", "n/a\x00", "\x00", " n/a ", b"go"],
        }
    )
    ev, notes = prepare_events(events)
    assert ev["trial_type"].tolist() == ["n/a\x00", "\x00", b"go"]
    assert "3 event(s) with trial_type n/a were dropped (rows 1, 2, 5)" in " ".join(notes)


def test_repeated_confound_names_are_refused_by_the_design_and_checked_by_name():
    from glmreport.glm.first_level import make_first_level_design, make_frame_times

    table = pd.DataFrame([[0.1, 0.2, np.nan], [0.3, 0.4, 0.5]], columns=["x", "x", "y"])
    out = select_confounds(table, ["x"])
    assert list(out.columns) == ["x", "x"]
    with pytest.raises(DesignError, match="confound columns y contain missing"):
        select_confounds(table)
    with pytest.raises(DesignError, match="x appear more than once"):
        make_first_level_design(
            make_frame_times(2, 2.0), None, drift_model=None, confounds=table[["x", "x"]]
        )
