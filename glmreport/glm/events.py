"""Events and confounds of a first-level run, checked and put in design order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from ..errors import DesignError, suggest
from ..inputs.tables import read_table

EVENT_COLUMNS = ("onset", "duration", "trial_type")


_EVENT_KEY = ["trial_type", "onset", "duration"]


def read_events(path, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Read a BIDS events file and prepare it (:func:`prepare_events`).

    Numeric ``trial_type`` codes become labels (``"1"``, not ``"1.0"``); ``n/a`` stays
    missing (those events are dropped with a note).
    """
    table = read_table(path, what="events file")
    if "trial_type" in table.columns:
        table["trial_type"] = [
            v if pd.isna(v) else str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
            for v in table["trial_type"]
        ]
    return prepare_events(table, source=source)


def prepare_events(
    events: pd.DataFrame, *, source: str = "events"
) -> tuple[pd.DataFrame, list[str]]:
    """Validate an events table and merge duplicated events.

    Parameters
    ----------
    events : DataFrame
        Columns ``onset`` and ``duration`` (seconds) and ``trial_type`` are required;
        ``modulation`` (event amplitude, default 1) is optional; other columns are ignored.
        Events whose ``trial_type`` is missing (BIDS ``n/a``, empty) are dropped with a note.
    source : str
        Where the table came from, for messages (e.g. the file path).

    Returns
    -------
    events : DataFrame
        Columns ``trial_type``, ``onset``, ``duration``, ``modulation``; events with the same
        trial_type, onset and duration are merged into one whose modulation is the sum
        (row order of first appearance kept).
    notes : list of str
        Human-readable remarks (ignored columns, dropped ``n/a`` events, merged duplicates).

    Raises
    ------
    DesignError
        A required column is missing, or onset/duration/modulation are not finite numbers
        (``n/a`` included), or a duration is negative; rows are numbered from 1 (the first
        event) as in the file.
    """
    if not isinstance(events, pd.DataFrame):
        raise DesignError(f"{source}: expected a table of events, got {type(events).__name__}.")
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        hints = "".join(suggest(m, [str(c) for c in events.columns]) for m in missing)
        raise DesignError(
            f"{source}: the events table has no {', '.join(repr(m) for m in missing)} column; "
            f"an events table needs columns {', '.join(EVENT_COLUMNS)} (and optionally "
            f"modulation); found {[str(c) for c in events.columns]}.{hints}"
        )
    notes = []
    extra = [str(c) for c in events.columns if c not in (*EVENT_COLUMNS, "modulation")]
    if extra:
        notes.append(f"{source}: columns ignored: {', '.join(extra)}")
    trial = events["trial_type"].to_numpy(dtype=object)
    absent = pd.isna(trial) | np.fromiter(
        (_text(v).strip() in ("n/a", "") for v in trial), dtype=bool, count=len(trial)
    )
    numbers = np.flatnonzero(~absent) + 1  # file rows of the kept events
    if absent.any():
        dropped = ", ".join(str(int(i) + 1) for i in np.flatnonzero(absent)[:5])
        more = " ..." if absent.sum() > 5 else ""
        notes.append(
            f"{source}: {int(absent.sum())} event(s) with trial_type n/a were dropped "
            f"(rows {dropped}{more})"
        )
        events = events.loc[~absent]
    columns: dict[str, np.ndarray] = {"trial_type": events["trial_type"].to_numpy()}
    for col in ("onset", "duration", "modulation"):
        if col not in events.columns:  # modulation: 1 for every event
            columns[col] = np.ones(len(events))
            continue
        values = events[col]
        if not is_numeric_dtype(values):
            values = pd.to_numeric(values, errors="coerce")
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            rows = ", ".join(str(int(numbers[i])) for i in bad[:5])
            raise DesignError(
                f"{source}: column {col!r} must hold finite numbers; rows {rows} do not "
                "(missing values, n/a, are not allowed there)."
            )
        columns[col] = arr
    negative = np.flatnonzero(columns["duration"] < 0)
    if negative.size:
        rows = ", ".join(str(int(numbers[i])) for i in negative[:5])
        raise DesignError(f"{source}: durations must be >= 0 seconds; rows {rows} are negative.")
    out = pd.DataFrame(columns)  # one frame, built once
    keys = list(zip(*(out[c].tolist() for c in _EVENT_KEY), strict=True))
    if len(set(keys)) == len(keys):
        return out, notes  # no duplicated event: grouping would give this table back
    merged = out.groupby(_EVENT_KEY, sort=False).agg({"modulation": "sum"}).reset_index()
    notes.append(
        f"{source}: {len(out) - len(merged)} duplicated events (same trial_type, onset and "
        "duration) were merged, their modulations summed"
    )
    return merged[["trial_type", "onset", "duration", "modulation"]], notes


def _text(value: object) -> str:
    """A cell as text, as pandas' ``astype(str)`` gives it (bytes decoded as UTF-8)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def select_confounds(
    confounds: pd.DataFrame, columns: Sequence[str] | None = None, *, source: str = "confounds"
) -> pd.DataFrame:
    """Pick confound columns and check they are finite numbers.

    Parameters
    ----------
    confounds : DataFrame
        One row per scan.
    columns : sequence of str or None
        Columns to keep, in this order; ``None`` keeps all.
    source : str
        Where the table came from, for messages.

    Returns
    -------
    DataFrame of float64

    Raises
    ------
    DesignError
        A requested column is absent, non-numeric or has missing values.
    """
    available = [str(c) for c in confounds.columns]
    confounds = confounds.set_axis(available, axis=1)
    cols = list(available if columns is None else columns)
    absent = [c for c in cols if c not in available]
    if absent:
        raise DesignError(
            f"{source}: confound columns not found: {', '.join(absent)}."
            + suggest(absent[0], available)
            + f" Available: {', '.join(available[:30])}{' ...' if len(available) > 30 else ''}"
        )
    picked = confounds[cols]
    if all(pd.api.types.is_float_dtype(t) for t in picked.dtypes):
        out = picked.astype(np.float64)  # already numbers (a study's selected confounds)
    else:
        out = picked.apply(pd.to_numeric, errors="coerce").astype(np.float64)
    finite = np.isfinite(out.to_numpy()).all(axis=0)  # one pass over the whole table
    ok: dict[str, bool] = {}  # by name: a repeated name is every column it labels
    for name, column_ok in zip(out.columns, finite, strict=True):
        ok[name] = ok.get(name, True) and bool(column_ok)
    bad = [c for c in cols if not ok[c]]
    if bad:
        raise DesignError(
            f"{source}: confound columns {', '.join(bad)} contain missing, non-numeric or "
            "infinite values (e.g. the first row of a derivative column); fill them (e.g. with "
            "0) or leave the columns out."
        )
    return out
