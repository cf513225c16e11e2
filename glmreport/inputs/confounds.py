"""Confound regressors of a study's runs, from fMRIPrep's confounds tables.

:func:`select_study_confounds` picks columns by name or shell-style pattern
(``trans_*``, ``a_comp_cor_0[0-4]``, ``rot_?``; case-sensitive, as :func:`fnmatch.fnmatchcase`),
keeps them in the order of the file, and returns them as numbers, one row per scan.

Missing values. fMRIPrep writes ``n/a`` where a value is undefined: the first scan of every
temporal-derivative column (``*_derivative1``), of ``framewise_displacement``, ``dvars``,
``std_dvars`` and ``rmsd``. A design cannot hold missing values; these leading ``n/a`` are
replaced by 0, as nilearn's ``first_level_from_bids`` does (state it in the methods: "n/a
values at the start of confound regressors were set to 0"). An ``n/a`` after the first
defined value of a column is an error naming the column and scans.

How nilearn 0.14.1 treats them, for comparison:

- ``FirstLevelModel.fit`` / ``make_first_level_design_matrix`` refuse confounds holding NaN
  ("Extra regressors contain NaN values"): the caller must fill them;
- ``first_level_from_bids`` without ``confounds_strategy`` reads the whole table and sets the
  first row's NaN to 0 (``c.iloc[0] = c.iloc[0].fillna(0.0)``) -- the rule used here;
- ``nilearn.interfaces.fmriprep.load_confounds`` (and ``first_level_from_bids`` with a
  ``confounds_strategy``) copies the second row's value into the first row's NaN and then
  demeans every column; scrubbing there removes the flagged scans (``sample_mask``, plus
  segments shorter than ``scrub=5`` scans) instead of adding regressors.

With a constant in the design, demeaning a confound changes no other estimate; filling the
first value with 0 or with the second value changes that one scan's fit of that regressor.

Scrubbing. With ``fd_threshold``, every scan whose framewise displacement (column
``framewise_displacement``, mm) exceeds the threshold gets its own spike regressor (1 at
that scan, 0 elsewhere), named ``motion_outlier00``, ``motion_outlier01``, ... as fMRIPrep
names its own. The first scan (FD ``n/a``) is never flagged. For the effects of interest a
spike regressor is equivalent to removing the scan (ordinary least squares); each costs one
degree of freedom.
"""

from __future__ import annotations

import fnmatch
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, suggest

FD_COLUMN = "framewise_displacement"
SPIKE_PREFIX = "motion_outlier"
#: Bounds on what a config may ask for.
MAX_PATTERNS = 1000
MAX_PATTERN_LENGTH = 200
_GLOB = set("*?[")
_MISSING = ("n/a", "")


class ConfoundError(InputError):
    """A confounds table cannot give the regressors asked for."""


class UnknownConfoundError(ConfoundError):
    """A requested confound name or pattern matches no column."""


def _listed(items: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(str(i)[:60] for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _rows(index: np.ndarray) -> str:
    """1-based scan numbers, at most five."""
    return ", ".join(str(int(i) + 1) for i in index[:5]) + (" ..." if index.size > 5 else "")


def match_confounds(columns: Sequence[str], patterns: Sequence[str], *, source: str) -> list[str]:
    """The columns matching any of ``patterns``, in the order of ``columns``.

    Parameters
    ----------
    columns : sequence of str
        The table's columns.
    patterns : sequence of str
        Names or shell-style patterns (``*``, ``?``, ``[...]``).
    source : str
        The run or file, for messages.

    Raises
    ------
    UnknownConfoundError
        A name is not a column or a pattern matches none (with the nearest names).
    """
    if isinstance(patterns, str) or len(patterns) > MAX_PATTERNS:
        raise ConfoundError(f"{source}: confounds must be a list of at most {MAX_PATTERNS} names")
    columns = [str(c) for c in columns]
    chosen: set[str] = set()
    for pattern in patterns:
        if not isinstance(pattern, str) or not 0 < len(pattern) <= MAX_PATTERN_LENGTH:
            raise ConfoundError(
                f"{source}: a confound must be a name or pattern of 1 to "
                f"{MAX_PATTERN_LENGTH} characters; got {repr(pattern)[:60]}"
            )
        hits = [c for c in columns if fnmatch.fnmatchcase(c, pattern)]
        if not hits:
            kind = "pattern" if _GLOB & set(pattern) else "column"
            raise UnknownConfoundError(
                f"{source}: no confound {kind} {pattern[:60]!r} in the confounds table."
                + suggest(pattern, columns)
                + f" Its columns include: {_listed(columns)}"
            )
        chosen.update(hits)
    return [c for c in columns if c in chosen]


def confound_values(table: pd.DataFrame, columns: Sequence[str], *, source: str) -> pd.DataFrame:
    """``columns`` of ``table`` as float64, ``n/a`` (or empty) as NaN.

    Raises
    ------
    ConfoundError
        A cell is neither a number nor ``n/a``.
    """
    batch = _as_float_table(table, columns)
    if batch is not None:
        return pd.DataFrame(batch, index=range(len(table)), columns=list(columns))
    out = {}
    for col in columns:
        values = table[col]
        fast = _as_floats(values)
        if fast is not None:
            out[col] = fast
            continue
        if not pd.api.types.is_numeric_dtype(values):
            text = values.astype(str).str.strip()
            numbers = pd.to_numeric(text.where(~text.isin(_MISSING)), errors="coerce")
            bad = np.flatnonzero(numbers.isna().to_numpy() & ~text.isin(_MISSING).to_numpy())
            if bad.size:
                raise ConfoundError(
                    f"{source}: confound {col[:60]!r} must hold numbers or n/a; scans "
                    f"{_rows(bad)} hold {str(values.iloc[bad[0]])[:30]!r}"
                )
            values = numbers
        out[col] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(out, index=range(len(table)), columns=list(columns))


def _as_float_table(table: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    """``columns`` as one float64 array when every cell is a plain number or ``n/a``/empty:
    the values of :func:`_as_floats` column by column, converted in one pass (else None:
    the columns are then taken one by one)."""
    columns = list(columns)
    if not columns or len(set(columns)) != len(columns):
        return None
    picked = table[columns]
    if any(pd.api.types.is_numeric_dtype(t) for t in picked.dtypes):
        return None
    cells = picked.to_numpy(dtype=object)
    try:
        text = np.array([str(v).strip() for v in cells.ravel()], dtype=object)
        missing = np.isin(text, _MISSING)
        text[missing] = "nan"
        numbers = text.astype(np.float64)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(numbers[~missing]).all():
        return None  # a literal nan or inf: the column-by-column path decides
    return numbers.reshape(cells.shape)


def _as_floats(values: pd.Series) -> np.ndarray | None:
    """The column as float64 when every cell is a number or ``n/a``/empty (else None: the
    careful path then names the bad cells)."""
    if pd.api.types.is_numeric_dtype(values):
        return None
    cells = values.to_numpy(dtype=object)
    try:
        text = np.array([str(v).strip() for v in cells], dtype=object)
        text[np.isin(text, _MISSING)] = "nan"
        numbers = text.astype(np.float64)
    except (TypeError, ValueError):
        return None
    # a literal "nan"/"inf" in the file is not fMRIPrep's n/a: let the careful path decide
    lowered = np.char.lower(np.asarray([str(v).strip() for v in cells], dtype=str))
    if np.isin(lowered, ["nan", "inf", "-inf", "+inf", "infinity", "-infinity"]).any():
        return None
    return numbers


def fill_leading_na(frame: pd.DataFrame, *, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Replace each column's leading NaN by 0; refuse NaN or infinities anywhere else.

    Returns
    -------
    frame : DataFrame
        A float64 copy without NaN.
    notes : list of str
        Which columns were filled, and over how many scans.
    """
    values = frame.to_numpy(dtype=np.float64, copy=True)  # one array: no per-column frames
    leads = np.argmin(np.isnan(values), axis=0) if values.size else []
    filled: dict[int, list[str]] = {}
    for j, col in enumerate(frame.columns):
        column = values[:, j]
        lead = int(leads[j]) if not np.isnan(column).all() else column.size
        if lead == column.size:
            raise ConfoundError(f"{source}: confound {str(col)[:60]!r} is n/a in every scan")
        bad = np.flatnonzero(~np.isfinite(column[lead:])) + lead
        if bad.size:
            raise ConfoundError(
                f"{source}: confound {str(col)[:60]!r} is n/a or infinite at scans "
                f"{_rows(bad)}; only leading n/a (fMRIPrep's first derivative or FD value) are "
                "set to 0"
            )
        if lead:
            column[:lead] = 0.0
            filled.setdefault(lead, []).append(str(col))
    out = pd.DataFrame(values, index=frame.index, columns=frame.columns)
    notes = [
        f"{source}: leading n/a set to 0 in the first {lead} scan(s) of {_listed(cols)}"
        for lead, cols in sorted(filled.items())
    ]
    return out, notes


def spike_regressors(fd: np.ndarray, threshold: float) -> pd.DataFrame:
    """One spike column per scan with ``fd > threshold`` (NaN never exceeds it).

    Parameters
    ----------
    fd : (n_scans,) ndarray
        Framewise displacement in mm.
    threshold : float
        mm.

    Returns
    -------
    DataFrame
        (n_scans, k) of 0/1 floats named ``motion_outlier00 ..`` (wider numbers past 99).
    """
    fd = np.asarray(fd, dtype=np.float64)
    flagged = np.flatnonzero(np.nan_to_num(fd, nan=-np.inf) > threshold)
    width = max(2, len(str(max(flagged.size - 1, 0))))
    spikes = np.zeros((fd.size, flagged.size))
    spikes[flagged, np.arange(flagged.size)] = 1.0
    names = [f"{SPIKE_PREFIX}{k:0{width}d}" for k in range(flagged.size)]
    return pd.DataFrame(spikes, columns=names)


def read_confounds(
    path: str | Path, *, nrows: int | None = None, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read an fMRIPrep confounds TSV as text (``n/a`` kept), one row per scan.

    Parameters
    ----------
    path : str or Path
    nrows : int, optional
        Read only the first rows (``1``: the column names and a check that a row exists).
    columns : sequence of str, optional
        Read only these columns (names of the file's header, :func:`confound_columns`), in
        the file's order; a file has a hundred or more, a run uses a few.

    Raises
    ------
    ConfoundError
        The file is missing, unreadable or has no rows.
    """
    path = Path(path)
    try:
        table = pd.read_csv(
            path,
            sep="\t",
            dtype=str,
            keep_default_na=False,
            nrows=nrows,
            usecols=None if columns is None else list(columns),
        )
    except (
        OSError,
        ValueError,  # pandas' ParserError and EmptyDataError, and columns the file lacks
        UnicodeDecodeError,
    ) as exc:
        raise ConfoundError(
            f"cannot read confounds table {str(path)[-160:]}: {str(exc)[:160]}"
        ) from None
    if table.empty:
        raise ConfoundError(f"confounds table {str(path)[-160:]} has no rows")
    return table


#: Longest header line read by :func:`confound_columns` itself (a longer one goes to pandas).
_MAX_HEADER_CHARS = 1 << 20


def confound_columns(path: str | Path) -> list[str]:
    """The column names of a confounds table, as :func:`read_confounds` reads them.

    The header line is split on tabs and a row after it is required, without reading the
    table: a study checks every run's confound names before fitting any. A header that
    pandas would rewrite (a byte-order mark, empty or repeated names), a quote in the first
    two lines, a blank header or first row or a file that cannot be read this way goes through
    :func:`read_confounds`, so names and errors are always those of the full read.

    Raises
    ------
    ConfoundError
        The file is missing, unreadable or has no rows.
    """
    names = _plain_header(path)
    if names is None:
        return [str(c) for c in read_confounds(path, nrows=1).columns]
    return names


def _plain_header(path: str | Path) -> list[str] | None:
    """The header's names when pandas reads them as they are written (see
    :func:`confound_columns`), else None."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            header = fh.readline(_MAX_HEADER_CHARS)
            row = fh.readline(_MAX_HEADER_CHARS)
    except (OSError, UnicodeDecodeError):
        return None
    return _plain_names(header, row)


def _plain_names(header: str, row: str) -> list[str] | None:
    """The names of a header line (its line end kept) followed by the first row, when pandas
    reads them as they are written, else None."""
    names = header.rstrip("\r\n").split("\t")
    plain = (
        header.endswith("\n")
        and header.strip(" \r\n")  # pandas skips a line of spaces as blank
        and row.strip(" \t\r\n")
        and not any(c in header + row for c in '"\ufeff')
        and all(names)
        and len(set(names)) == len(names)
    )
    return names if plain else None


def study_confounds_table(
    path: str | Path, patterns: Sequence[str], *, scrub: bool, source: str
) -> pd.DataFrame:
    """The confounds table of a run, as far as :func:`select_study_confounds` reads it.

    The file is read once, and only the columns matching ``patterns`` and
    ``framewise_displacement`` are parsed. The whole table is read by :func:`read_confounds`
    instead, so that errors are those of the whole table in their order, when the header is
    one pandas would rewrite (see :func:`confound_columns`), a line has more or fewer cells
    than the header or the file holds a quote, a name or pattern matches no column, a run
    scrubs without that column (its message names the nearest columns), or the file cannot be
    read or decoded.
    """
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return read_confounds(path)
    lines = text.split("\n")
    names = _plain_names(lines[0] + "\n", lines[1] + "\n") if len(lines) > 2 else None
    if names is None or (scrub and FD_COLUMN not in names) or '"' in text:
        return read_confounds(path)
    tabs = len(names) - 1
    if any(line.count("\t") != tabs for line in lines if line.rstrip("\r")):
        return read_confounds(path)  # pandas ignores a row's extra cells in unread columns
    try:
        chosen = set(match_confounds(names, patterns, source=source)) | {FD_COLUMN}
    except ConfoundError:  # raised by select_study_confounds, after its other checks
        return read_confounds(path)
    usecols = [n for n in names if n in chosen]
    try:
        table = pd.read_csv(
            io.StringIO(text), sep="\t", dtype=str, keep_default_na=False, usecols=usecols
        )
    except ValueError:
        return read_confounds(path)  # the whole read names the file and the fault
    return table if not table.empty else read_confounds(path)


def select_study_confounds(
    table: pd.DataFrame,
    patterns: Sequence[str],
    *,
    source: str,
    fd_threshold: float | None = None,
    n_scans: int | None = None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The confound regressors of one run: selected columns, n/a filled, optional spikes.

    Parameters
    ----------
    table : DataFrame
        The run's confounds table (text or numbers; ``n/a`` for missing), one row per scan.
    patterns : sequence of str
        Column names or shell-style patterns; the result keeps the file's column order.
    source : str
        The run (or file) named in messages, e.g. ``sub-01_task-faces_run-1``.
    fd_threshold : float or None
        Scrubbing: add a spike regressor for each scan whose ``framewise_displacement``
        exceeds this many mm.
    n_scans : int or None
        When given, the table must have one row per scan of the run.

    Returns
    -------
    confounds : DataFrame
        float64, one row per scan: the selected columns, then the spike regressors.
    notes : tuple of str
        Filled n/a and flagged scans, for the report.

    Raises
    ------
    UnknownConfoundError
        An unknown name or a pattern matching nothing (with the nearest names), or no
        ``framewise_displacement`` column when scrubbing.
    ConfoundError
        Non-numeric cells, n/a after the start of a column, an invalid threshold, a spike
        name already selected from the table, or a row count other than ``n_scans``.
    """
    if n_scans is not None and len(table) != n_scans:
        raise ConfoundError(
            f"{source}: the confounds table has {len(table)} rows but the run has {n_scans} "
            "scans; it needs one row per scan"
        )
    table = table.set_axis([str(c) for c in table.columns], axis=1)
    columns = match_confounds(list(table.columns), patterns, source=source)
    frame = confound_values(table, columns, source=source)
    frame, notes = fill_leading_na(frame, source=source)
    if fd_threshold is not None:
        spikes, more = _scrub(table, fd_threshold, source=source)
        clash = [c for c in spikes.columns if c in frame.columns]
        if clash:
            raise ConfoundError(
                f"{source}: scrubbing adds {clash[0]}, which is also selected from the table; "
                f"select fMRIPrep's {SPIKE_PREFIX}* columns or scrub, not both"
            )
        frame = pd.concat([frame, spikes], axis=1)
        notes += more
    return frame, tuple(notes)


def _scrub(table: pd.DataFrame, threshold: float, *, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Spike regressors for FD > threshold and a note saying how many scans were flagged."""
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 < threshold < math.inf
    ):
        raise ConfoundError(
            f"{source}: the scrubbing FD threshold must be a number of mm > 0; "
            f"got {repr(threshold)[:40]}"
        )
    if FD_COLUMN not in table.columns:
        raise UnknownConfoundError(
            f"{source}: scrubbing needs a {FD_COLUMN} column in the confounds table."
            + suggest(FD_COLUMN, list(table.columns))
        )
    fd = confound_values(table, [FD_COLUMN], source=source)
    spikes = spike_regressors(fd[FD_COLUMN].to_numpy(), float(threshold))
    k, n = spikes.shape[1], len(table)
    notes = [
        f"{source}: {k} of {n} scans have framewise displacement > {threshold:g} mm"
        + (f"; one spike regressor each ({spikes.columns[0]}..)" if k else "")
    ]
    return spikes, notes
