"""``participants.tsv``: read it and join its columns onto a table of subjects.

BIDS' ``participants.tsv`` has one row per subject, a ``participant_id`` column
(``sub-<label>``) and any others (age, sex, group, ...), ``n/a`` for missing values. The study
level joins it onto the subjects it analyses; a second-level analysis onto its inputs table
through the ``sub`` entity, so covariates need not be copied by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, suggest

ID_COLUMN = "participant_id"
_LABEL = re.compile(r"[a-zA-Z0-9]+")
_MISSING = ("n/a", "")
_IDENTIFIER = re.compile(r"^[+-]?0\d")


class ParticipantsError(InputError):
    """``participants.tsv`` is missing, malformed or does not cover the subjects."""


class MissingParticipantsError(ParticipantsError):
    """Subjects of the analysis have no row in ``participants.tsv``."""


def _listed(items: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(str(i)[:40] for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def subject_label(value: object) -> str:
    """The label of a subject given as ``sub-01``, ``01`` or a whole number like ``3.0``."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text[4:] if text.startswith("sub-") else text


def _typed(column: pd.Series) -> pd.Series:
    """Missing cells as NaN; numbers as float unless a value looks like a code (``007``)."""
    text = column.astype(str).str.strip()
    missing = text.isin(_MISSING)
    present = text[~missing]
    numbers = pd.to_numeric(present, errors="coerce")
    if len(present) and numbers.notna().all() and not present.str.match(_IDENTIFIER).any():
        out = pd.Series(np.nan, index=column.index, dtype=float)
        out[~missing] = numbers.astype(float)
        return out
    return text.where(~missing, np.nan)


def read_participants(path: str | Path) -> pd.DataFrame:
    """Read ``participants.tsv``.

    Returns
    -------
    DataFrame
        ``sub`` (the label without ``sub-``) first, then the file's other columns in order;
        ``n/a`` and empty cells are NaN; columns whose every present value is a number are
        float (codes with leading zeros stay text).

    Raises
    ------
    ParticipantsError
        The file is missing or unreadable, has no ``participant_id`` column, an id that is not
        ``sub-<letters and digits>`` (or the bare label), or an id twice.
    """
    path = Path(path)
    where = str(path)[-160:]
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ParticipantsError(f"participants table not found: {where}") from None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ParticipantsError(
            f"cannot read participants table {where}: {str(exc)[:160]}"
        ) from None
    columns = [str(c) for c in raw.columns]
    if ID_COLUMN not in columns:
        raise ParticipantsError(
            f"{where}: no {ID_COLUMN} column; its columns are {_listed(columns)}."
            + suggest(ID_COLUMN, columns)
        )
    labels = raw[ID_COLUMN].map(subject_label)
    bad = [i for i, label in enumerate(labels) if not _LABEL.fullmatch(label)]
    if bad:
        raise ParticipantsError(
            f"{where}: row {bad[0] + 2}: participant_id {raw[ID_COLUMN].iloc[bad[0]][:40]!r} is "
            "not sub-<label> with a label of letters and digits"
        )
    twice = sorted(set(labels[labels.duplicated()]))
    if twice:
        raise ParticipantsError(f"{where}: participants listed twice: {_listed(twice)}")
    out = pd.DataFrame({"sub": labels.to_numpy()})
    for col in columns:
        if col not in (ID_COLUMN, "sub"):
            out[col] = _typed(raw[col]).to_numpy()
    return out


def join_participants(
    table: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    key: str = "sub",
    columns: Sequence[str] | None = None,
    source: str = "participants.tsv",
) -> pd.DataFrame:
    """Add participants' columns to ``table`` by subject.

    Parameters
    ----------
    table : DataFrame
        Has a ``key`` column of subject labels (``01`` or ``sub-01``; whole numbers allowed).
    participants : DataFrame
        As returned by :func:`read_participants`.
    key : str
        The subject column of ``table``.
    columns : sequence of str or None
        Participants' columns to add; default all.
    source : str
        The participants file, for messages.

    Returns
    -------
    DataFrame
        ``table`` (row order kept) with the added columns.

    Raises
    ------
    ParticipantsError
        ``table`` has no ``key`` column, a requested column is unknown, or an added column is
        already in ``table``.
    MissingParticipantsError
        Subjects of ``table`` without a row in ``participants``.
    """
    if key not in table.columns:
        raise ParticipantsError(
            f"cannot join {source}: the table has no {key!r} column to match participants on"
        )
    available = [c for c in participants.columns if c != "sub"]
    wanted = available if columns is None else list(columns)
    unknown = [c for c in wanted if c not in available]
    if unknown:
        raise ParticipantsError(
            f"{source} has no column {unknown[0][:60]!r}; its columns are {_listed(available)}."
            + suggest(unknown[0], available)
        )
    clash = [c for c in wanted if c in table.columns]
    if clash:
        raise ParticipantsError(
            f"columns {_listed(clash)} are both in the table and in {source}; rename or drop one"
        )
    labels = table[key].map(subject_label)
    known = set(participants["sub"])
    absent = list(dict.fromkeys(label for label in labels if label not in known))
    if absent:
        raise MissingParticipantsError(
            f"{source} has no row for {_listed(['sub-' + a for a in absent])}; "
            f"it lists {_listed(['sub-' + s for s in participants['sub']])}."
            + suggest(f"sub-{absent[0]}", [f"sub-{k}" for k in known])
        )
    values = participants.set_index("sub")[wanted].loc[labels.to_numpy()]
    out = table.copy()
    for col in wanted:
        out[col] = values[col].to_numpy()
    return out


def require_values(
    table: pd.DataFrame, columns: Sequence[str], *, source: str, key: str = "sub"
) -> None:
    """Refuse missing values (``n/a``) in the columns a model uses, naming the subjects.

    Raises
    ------
    ParticipantsError
    """
    for col in columns:
        missing = table[col].isna().to_numpy()
        if not missing.any():
            continue
        if key in table.columns:
            who = _listed([f"sub-{subject_label(s)}" for s in table.loc[missing, key]])
        else:
            who = f"{int(missing.sum())} rows"
        raise ParticipantsError(
            f"{source}: column {col[:60]!r} is n/a for {who}; a covariate needs a value for "
            "every subject (exclude them or fill the value)"
        )
