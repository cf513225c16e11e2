"""First-level (single-subject, per-run) design matrices and the automatic EPI mask.

A first-level design has, in this column order (the order and names of nilearn's
``make_first_level_design_matrix``, so designs are recognisable to its users):

1. event regressors, conditions in sorted ``trial_type`` order, each expanded by the HRF model
   (``c``, ``c_derivative``, ``c_dispersion``; FIR: ``c_delay_<d>``) -- see :mod:`.hrf`;
2. confounds, in the order given, named as in their table;
3. drift regressors ``drift_1 ... drift_k``;
4. ``constant``.

Drift models:

- ``cosine``: DCT-II basis ``sqrt(2 / n) * cos(pi / n * (i + 0.5) * k)`` for
  ``k = 1 .. floor(2 * n * high_pass * dt)`` (capped at ``n - 1``), ``dt`` the mean frame
  spacing: every period longer than ``1 / high_pass`` seconds is modelled;
- ``polynomial``: ``(t / t_max) ** k`` for ``k = 0 .. order``, each orthogonalised (without
  normalisation) against the lower orders;
- ``None``: the constant only.

Unlike nilearn, a rank-deficient design is not silently regularised: :func:`check_design`
reports it and the fit uses the minimum-norm solution with ``dof = n - rank``.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from nibabel.arrayproxy import ArrayProxy
from nibabel.openers import ImageOpener
from pandas.api.types import is_numeric_dtype
from scipy import ndimage

from ..errors import DesignError, InputError, suggest
from .hrf import compute_event_regressors, normalize_hrf_model, regressor_names
from .results import DesignMatrix

DRIFT_MODELS = ("cosine", "polynomial", None)
_READ_ERRORS = (OSError, EOFError, zlib.error, ValueError)
#: Largest in-mask time series of one run held in memory (scans x in-mask voxels, float32).
MAX_TIMESERIES_BYTES = 16 << 30
EVENT_COLUMNS = ("onset", "duration", "trial_type")
_EVENT_KEY = ["trial_type", "onset", "duration"]


def make_frame_times(n_scans: int, t_r: float, slice_time_ref: float = 0.0) -> np.ndarray:
    """Acquisition time of each scan, ``t_r * (arange(n_scans) + slice_time_ref)``.

    Parameters
    ----------
    n_scans : int
    t_r : float
        Repetition time in seconds.
    slice_time_ref : float
        Fraction of the TR (0..1) at which the slice-timing reference slice was acquired.

    Returns
    -------
    frame_times : (n_scans,) ndarray
    """
    if not 0.0 <= slice_time_ref <= 1.0:
        raise DesignError(f"slice_time_ref must be between 0 and 1; got {slice_time_ref}.")
    if t_r <= 0:
        raise DesignError(f"t_r must be positive (seconds); got {t_r}.")
    return t_r * (np.arange(n_scans) + slice_time_ref)


# ---------------------------------------------------------------------------------------------
# events and confounds


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
    trial = events["trial_type"]
    absent = trial.isna().to_numpy() | trial.astype(str).str.strip().isin(("n/a", "")).to_numpy()
    numbers = np.flatnonzero(~absent) + 1  # file rows of the kept events
    if absent.any():
        dropped = ", ".join(str(int(i) + 1) for i in np.flatnonzero(absent)[:5])
        more = " ..." if absent.sum() > 5 else ""
        notes.append(
            f"{source}: {int(absent.sum())} event(s) with trial_type n/a were dropped "
            f"(rows {dropped}{more})"
        )
        events = events.loc[~absent]
    out = pd.DataFrame({"trial_type": events["trial_type"].to_numpy()})
    for col, default in (("onset", None), ("duration", None), ("modulation", 1.0)):
        if col not in events.columns:
            out[col] = default
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
        out[col] = arr
    negative = np.flatnonzero(out["duration"].to_numpy() < 0)
    if negative.size:
        rows = ", ".join(str(int(numbers[i])) for i in negative[:5])
        raise DesignError(f"{source}: durations must be >= 0 seconds; rows {rows} are negative.")
    merged = (
        out.groupby(_EVENT_KEY, sort=False).agg({"modulation": "sum"}).reset_index()
        if len(out)
        else out
    )
    if len(merged) != len(out):
        notes.append(
            f"{source}: {len(out) - len(merged)} duplicated events (same trial_type, onset and "
            "duration) were merged, their modulations summed"
        )
    return merged[["trial_type", "onset", "duration", "modulation"]], notes


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
    out = confounds[cols].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    bad = [c for c in cols if not np.isfinite(out[c].to_numpy()).all()]
    if bad:
        raise DesignError(
            f"{source}: confound columns {', '.join(bad)} contain missing, non-numeric or "
            "infinite values (e.g. the first row of a derivative column); fill them (e.g. with "
            "0) or leave the columns out."
        )
    return out


# ---------------------------------------------------------------------------------------------
# drifts


def cosine_drift(frame_times: np.ndarray, high_pass: float) -> np.ndarray:
    """DCT-II drift basis followed by a constant column.

    Parameters
    ----------
    frame_times : (n,) ndarray
    high_pass : float
        Cut-off frequency in Hz.

    Returns
    -------
    (n, k + 1) ndarray
        ``k = min(n - 1, floor(2 * n * high_pass * dt))`` cosines, then ones.
    """
    n = frame_times.size
    dt = (frame_times[-1] - frame_times[0]) / (n - 1)
    if high_pass * dt >= 0.5:
        raise DesignError(
            f"high_pass {high_pass} Hz is at or above the Nyquist frequency {0.5 / dt:.4g} Hz: "
            "the drift would model every frequency. Use a lower high_pass (e.g. 0.01)."
        )
    order = min(n - 1, int(np.floor(2 * n * high_pass * dt)))
    k = np.arange(1, order + 1)
    basis = np.sqrt(2.0 / n) * np.cos(np.pi / n * (np.arange(n)[:, None] + 0.5) * k)
    return np.hstack([basis, np.ones((n, 1))])


def polynomial_drift(frame_times: np.ndarray, order: int) -> np.ndarray:
    """Orthogonalised polynomial drifts of orders 1..order followed by a constant column.

    Parameters
    ----------
    frame_times : (n,) ndarray
    order : int

    Returns
    -------
    (n, order + 1) ndarray
    """
    powers = (frame_times / float(frame_times.max()))[:, None] ** np.arange(order + 1)
    # Gram-Schmidt without normalisation, as a QR: column k minus its projection on 0..k-1
    q, r = np.linalg.qr(powers)
    ortho = q * np.diag(r)
    return np.hstack([ortho[:, 1:], ortho[:, :1]])


def make_drift(
    frame_times: np.ndarray, drift_model: str | None, *, high_pass: float = 0.01, order: int = 1
) -> tuple[np.ndarray, list[str]]:
    """Drift regressors and the constant, named ``drift_1 .. drift_k, constant``.

    Parameters
    ----------
    frame_times : (n,) ndarray
    drift_model : {'cosine', 'polynomial', None}
    high_pass : float
        Hz, cosine only.
    order : int
        Polynomial only.

    Returns
    -------
    drift : (n, k + 1) ndarray
    names : list of str
    """
    model = drift_model.lower() if isinstance(drift_model, str) else drift_model
    if model == "none":
        model = None
    if model == "cosine":
        drift = cosine_drift(frame_times, high_pass)
    elif model == "polynomial":
        if int(order) < 0:
            raise DesignError(f"polynomial drift order must be >= 0; got {order}.")
        drift = polynomial_drift(frame_times, int(order))
    elif model is None:
        drift = np.ones((frame_times.size, 1))
    else:
        raise DesignError(
            f"unknown drift model {drift_model!r}; expected cosine, polynomial or none."
            + suggest(str(drift_model), ["cosine", "polynomial", "none"])
        )
    names = [f"drift_{k}" for k in range(1, drift.shape[1])] + ["constant"]
    return drift, names


# ---------------------------------------------------------------------------------------------
# design


def make_first_level_design(
    frame_times: np.ndarray,
    events: pd.DataFrame | None,
    *,
    hrf_model: str | None = "glover",
    fir_delays: Sequence[int] = (0,),
    drift_model: str | None = "cosine",
    high_pass: float = 0.01,
    drift_order: int = 1,
    confounds: pd.DataFrame | None = None,
    oversampling: int = 50,
    min_onset: float = -24.0,
    run_end: float | None = None,
    source: str = "events",
) -> DesignMatrix:
    """Build one run's design matrix from its events, confounds and a drift model.

    Parameters
    ----------
    frame_times : (n_scans,) ndarray
        Acquisition times in seconds (see :func:`make_frame_times`), increasing, n_scans >= 2.
    events : DataFrame or None
        ``onset``, ``duration``, ``trial_type`` [, ``modulation``] (see
        :func:`prepare_events`); ``None`` for a design without events.
    hrf_model : str or None
        One of :data:`glmreport.stats.hrf.HRF_MODELS` (``None`` = ``"none"``).
    fir_delays : sequence of int
        Delays in scans for ``"fir"``.
    drift_model : {'cosine', 'polynomial', None}
    high_pass : float
        Cosine cut-off in Hz.
    drift_order : int
        Polynomial order.
    confounds : DataFrame or None
        One row per scan; every column is added (see :func:`select_confounds`).
    oversampling : int
        Samples per TR of the convolution grid.
    min_onset : float
        Earliest allowed onset relative to the first frame, in seconds (<= 0).
    run_end : float or None
        End of the run in seconds; no event may start at or after it. Default
        ``n_scans * TR`` (TR the smallest frame spacing): the run starts at 0 s whatever the
        slice-timing reference of the frame times.
    source : str
        Where the events came from (e.g. the file path), for error messages.

    Returns
    -------
    DesignMatrix
        ``matrix`` (n_scans, p) with the columns described in the module docstring;
        ``nuisance`` lists the confound, drift and constant columns.

    Raises
    ------
    DesignError
        Bad events (missing columns, onsets before ``frame_times[0] + min_onset`` or at/after
        the end of the run, ``run_end``), confounds whose row count is not
        ``n_scans``, duplicated column names, or an unknown HRF/drift model.
    """
    frame_times = np.asarray(frame_times, dtype=np.float64)
    n = frame_times.size
    if frame_times.ndim != 1 or n < 2 or np.any(np.diff(frame_times) <= 0):
        raise DesignError("frame_times must be an increasing 1D array of at least 2 scans.")
    model = normalize_hrf_model(hrf_model)
    delays = [int(d) for d in fir_delays]
    if model == "fir" and (not delays or min(delays) < 0 or len(set(delays)) != len(delays)):
        raise DesignError(f"fir_delays must be distinct non-negative integers; got {delays}.")
    oversampling = int(oversampling)
    if oversampling < 1:
        raise DesignError(f"oversampling must be >= 1; got {oversampling}.")
    blocks: list[np.ndarray] = []
    names: list[str] = []
    nuisance: list[str] = []
    n_conditions = 0
    if events is not None:
        ev, _ = prepare_events(events, source=source)
        t_r = float(np.min(np.diff(frame_times)))
        end = n * t_r if run_end is None else float(run_end)
        start = frame_times[0] + min_onset
        onsets = ev["onset"].to_numpy()
        late = np.flatnonzero(onsets >= end)
        if late.size:
            raise DesignError(
                f"{source}: {late.size} event(s) start at or after the end of the run "
                f"({end:g} s; the run has {n} scans of TR {t_r:g} s), e.g. onset "
                f"{onsets[late[0]]:g} s of {str(ev['trial_type'].iloc[late[0]])[:40]!r}: check "
                "the events file belongs to this run, that onsets are in seconds, and t_r."
            )
        early = np.flatnonzero(onsets < start)
        if early.size:
            raise DesignError(
                f"{source}: {early.size} event(s) start before {start:g} s (first frame + "
                f"min_onset {min_onset:g} s), e.g. onset {onsets[early[0]]:g} s: onsets are in "
                "seconds from the start of the run."
            )
        conditions, codes = np.unique(ev["trial_type"].to_numpy(), return_inverse=True)
        n_conditions = conditions.size
        if n_conditions:
            blocks.append(
                compute_event_regressors(
                    frame_times,
                    onsets,
                    ev["duration"].to_numpy(),
                    ev["modulation"].to_numpy(),
                    codes,
                    n_conditions,
                    hrf_model=model,
                    fir_delays=delays,
                    oversampling=oversampling,
                    min_onset=min_onset,
                )
            )
            for condition in conditions:
                names += regressor_names(str(condition), model, delays)
    if confounds is not None:
        conf = confounds if isinstance(confounds, pd.DataFrame) else pd.DataFrame(confounds)
        if conf.shape[0] != n:
            raise DesignError(
                f"the confounds table has {conf.shape[0]} rows but the run has {n} scans; it "
                "needs exactly one row per scan."
            )
        conf = select_confounds(conf)
        blocks.append(conf.to_numpy())
        names += list(conf.columns)
        nuisance += list(conf.columns)
    drift, drift_names = make_drift(
        frame_times, drift_model, high_pass=high_pass, order=drift_order
    )
    blocks.append(drift)
    names += drift_names
    nuisance += drift_names
    duplicated = sorted(c for c, count in Counter(names).items() if count > 1)
    if duplicated:
        raise DesignError(
            f"design column names must be unique; {', '.join(duplicated)} appear more than once "
            "(a confound named like a condition or a drift column?)."
        )
    drift_desc = {
        "cosine": f"cosine drift (high-pass {high_pass:g} Hz)",
        "polynomial": f"polynomial drift (order {drift_order})",
    }.get(str(drift_model).lower(), "no drift")
    hrf_desc = f"FIR delays {delays}" if model == "fir" else f"{model} HRF"
    return DesignMatrix(
        matrix=np.hstack(blocks),
        columns=tuple(names),
        description=(
            f"first level: {n_conditions} condition(s), {hrf_desc}, {drift_desc}"
            + (f", {len(nuisance) - len(drift_names)} confound(s)" if confounds is not None else "")
        ),
        nuisance=tuple(nuisance),
    )


def design_from_frame(frame: pd.DataFrame, *, description: str = "", nuisance=()) -> DesignMatrix:
    """Wrap a numeric DataFrame (one row per scan, named columns) as a DesignMatrix.

    Parameters
    ----------
    frame : DataFrame
    description : str
    nuisance : sequence of str

    Returns
    -------
    DesignMatrix
    """
    cols = [str(c) for c in frame.columns]
    if len(set(cols)) != len(cols):
        raise DesignError(f"design column names must be unique; got {cols}.")
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        bad = [c for c, ok in zip(cols, np.isfinite(values).all(0), strict=True) if not ok]
        raise DesignError(f"design columns {', '.join(bad)} hold missing or non-numeric values.")
    return DesignMatrix(
        matrix=values, columns=tuple(cols), description=description, nuisance=tuple(nuisance)
    )


def read_design_file(
    path: str | Path, *, n_scans: int | None = None, key: str | None = None
) -> DesignMatrix:
    """Read a precomputed first-level design (TSV with a header row, or NPZ).

    Parameters
    ----------
    path : str or Path
        ``.tsv``/``.txt`` (tab separated) or ``.csv``: one row per scan, a header of column
        names (a leading unnamed index column, as written by ``DataFrame.to_csv``, is
        dropped). ``.npz``: an array ``key`` (default ``"matrix"``, or the only 2D array) of
        shape (n_scans, p) and an optional ``columns`` array of names (default
        ``reg_0 ...``).
    n_scans : int or None
        If given, the row count must equal it.
    key : str or None
        Array name in an NPZ file.

    Returns
    -------
    DesignMatrix

    Raises
    ------
    InputError
        The file is missing or unreadable.
    DesignError
        Wrong row count, non-numeric values, duplicated names.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"design file not found: {path}")
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read design file {path}: {exc}") from None
        if key is None:
            two_d = [k for k, a in arrays.items() if a.ndim == 2]
            key = "matrix" if "matrix" in arrays else (two_d[0] if len(two_d) == 1 else None)
        if key is None or key not in arrays:
            raise InputError(
                f"design file {path}: give design_key, one of {sorted(arrays)}"
                + suggest(str(key), arrays)
            )
        matrix = np.atleast_2d(np.asarray(arrays[key], dtype=np.float64))
        if "columns" in arrays:
            cols = [str(c) for c in arrays["columns"]]
        else:
            cols = [f"reg_{i}" for i in range(matrix.shape[1])]
        if len(cols) != matrix.shape[1]:
            raise DesignError(
                f"design file {path}: {len(cols)} column names for {matrix.shape[1]} columns."
            )
        frame = pd.DataFrame(matrix, columns=cols)
    else:
        sep = "," if path.suffix.lower() == ".csv" else "\t"
        try:
            frame = pd.read_csv(path, sep=sep)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read design file {path}: {exc}") from None
        if len(frame.columns) and str(frame.columns[0]).startswith("Unnamed: 0"):
            frame = frame.iloc[:, 1:]
    design = design_from_frame(frame, description=f"precomputed design ({path.name})")
    if n_scans is not None:
        check_design_rows(design, n_scans, source=str(path))
    return design


def check_design_rows(design: DesignMatrix, n_scans: int, *, source: str = "design") -> None:
    """Raise DesignError unless the design has one row per scan.

    Parameters
    ----------
    design : DesignMatrix
    n_scans : int
    source : str
        What the design is, for the message.
    """
    if design.matrix.shape[0] != n_scans:
        raise DesignError(
            f"{source}: the design matrix has {design.matrix.shape[0]} rows but the BOLD run "
            f"has {n_scans} scans; it needs exactly one row per scan."
        )


def check_design(design: DesignMatrix, *, corr_threshold: float = 0.999) -> list[str]:
    """Find columns that make a design hard to estimate or interpret.

    Parameters
    ----------
    design : DesignMatrix
    corr_threshold : float
        Report pairs of non-constant columns whose absolute correlation exceeds this.

    Returns
    -------
    list of str
        Warnings such as ``"column x is constant"`` (a constant column other than the one
        intercept, or an all-zero column, e.g. a condition without events in this run),
        ``"columns a and b are identical"``, ``"columns a and b are highly correlated
        (r = 0.9995)"`` and ``"the design is rank deficient: rank 7 < 8 columns ..."``.
        Empty if nothing was found.
    """
    x = np.asarray(design.matrix, dtype=np.float64)
    cols = list(design.columns)
    n, p = x.shape
    out: list[str] = []
    scale = np.maximum(np.abs(x).max(axis=0), 1e-300) if n else np.ones(p)
    ptp = np.ptp(x, axis=0) if n else np.zeros(p)
    constant = ptp <= 1e-12 * scale
    zero = np.abs(x).max(axis=0) == 0 if n else np.ones(p, bool)
    nonzero_const = [j for j in range(p) if constant[j] and not zero[j]]
    keep = next((j for j in nonzero_const if cols[j] in ("constant", "intercept")), None)
    if keep is None and nonzero_const:
        keep = nonzero_const[0]
    for j in range(p):
        if zero[j]:
            out.append(f"column {cols[j]} is constant (all zeros)")
        elif constant[j] and j != keep:
            out.append(f"column {cols[j]} is constant (a second intercept)")
    identical: set[int] = set()
    for i in range(p - 1):
        if zero[i]:
            continue
        diff = np.abs(x[:, i + 1 :] - x[:, i : i + 1]).max(axis=0) if n else np.zeros(p - i - 1)
        tol = 1e-10 * np.maximum(scale[i], scale[i + 1 :])
        for k in np.flatnonzero(diff <= tol):
            j = i + 1 + int(k)
            if j not in identical and not (constant[i] and constant[j] and j == keep):
                out.append(f"columns {cols[i]} and {cols[j]} are identical")
                identical.add(j)
    varying = np.flatnonzero(~constant)
    if varying.size > 1 and n > 2:
        centred = x[:, varying] - x[:, varying].mean(axis=0)
        centred /= np.linalg.norm(centred, axis=0)
        corr = centred.T @ centred
        iu, ju = np.triu_indices(varying.size, k=1)
        for a, b in zip(iu, ju, strict=True):
            i, j = int(varying[a]), int(varying[b])
            if abs(corr[a, b]) > corr_threshold and j not in identical:
                out.append(
                    f"columns {cols[i]} and {cols[j]} are highly correlated (r = {corr[a, b]:.4f})"
                )
    rank = int(np.linalg.matrix_rank(x)) if x.size else 0
    if rank < p:
        out.append(
            f"the design is rank deficient: rank {rank} < {p} columns; some contrasts are not "
            "estimable and the fit uses the minimum-norm solution"
        )
    if n <= rank:
        out.append(f"the design leaves no residual degrees of freedom ({n} scans, rank {rank})")
    return out


# ---------------------------------------------------------------------------------------------
# BOLD runs


def _volumes(img, *, source: str) -> tuple[tuple[int, ...], float, float, Iterator[np.ndarray]]:
    """Shape, scaling and a one-pass iterator over the stored (unscaled) volumes of a 4D image.

    Each item is one scan flattened x-fastest (NIfTI order). A NIfTI file is read
    sequentially, one volume at a time, so neither a compressed nor an uncompressed run is
    ever held whole in memory; other images are read through ``numpy.asarray``.
    """
    proxy = img.dataobj
    shape = tuple(int(s) for s in img.shape)
    if len(shape) != 4:
        raise InputError(f"{source}: a BOLD run must be 4D (x, y, z, time); got shape {shape}.")
    n_vox = int(np.prod(shape[:3]))
    n = shape[3]
    if isinstance(proxy, ArrayProxy) and getattr(proxy, "order", "F") == "F":
        slope, inter = float(proxy.slope), float(proxy.inter)
        dtype = np.dtype(proxy.dtype)
        size = n_vox * dtype.itemsize

        def stream() -> Iterator[np.ndarray]:
            t = 0
            try:
                with ImageOpener(proxy.file_like) as fobj:
                    fobj.seek(proxy.offset)
                    for t in range(n):
                        buf = fobj.read(size)
                        if len(buf) != size:
                            raise InputError(f"{source}: file ends after {t} of {n} volumes.")
                        yield np.frombuffer(buf, dtype=dtype)
            except InputError:
                raise
            except _READ_ERRORS as exc:
                raise _unreadable(source, exc, f"volume {t + 1} of {n}") from None

        return shape, slope, inter, stream()
    try:
        data = np.asarray(proxy)
    except _READ_ERRORS as exc:
        raise _unreadable(source, exc, "the data") from None
    return shape, 1.0, 0.0, (data[..., t].ravel(order="F") for t in range(n))


def _unreadable(source: str, exc: BaseException, what: str) -> InputError:
    return InputError(
        f"{source}: {what} cannot be read ({type(exc).__name__}: {str(exc)[:200]}); the file "
        "is truncated or corrupt."
    )


def run_mean_image(img, *, source: str = "BOLD run") -> np.ndarray:
    """Temporal mean of a 4D BOLD image, read one volume at a time.

    Parameters
    ----------
    img : nibabel image
        4D (X, Y, Z, n_scans).
    source : str
        For messages (e.g. the file path).

    Returns
    -------
    mean : (X, Y, Z) ndarray of float64
        Non-finite voxel means are set to 0.
    """
    shape, slope, inter, volumes = _volumes(img, source=source)
    total = np.zeros(int(np.prod(shape[:3])))
    for vol in volumes:
        total += vol
    mean = (total / shape[3] * slope + inter).reshape(shape[:3], order="F")
    return np.nan_to_num(mean, nan=0.0, posinf=0.0, neginf=0.0)


def run_timeseries(
    img,
    mask: np.ndarray,
    *,
    source: str = "BOLD run",
    volume_fn: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """In-mask time series of a 4D BOLD image as float32, read one volume at a time.

    Parameters
    ----------
    img : nibabel image
        4D (X, Y, Z, n_scans) on the grid of ``mask``.
    mask : (X, Y, Z) ndarray of bool
    source : str
        For messages (e.g. the file path).
    volume_fn : callable or None
        Applied to each scaled (X, Y, Z) float32 volume before masking, e.g. spatial
        smoothing; must return an array of the same shape.

    Returns
    -------
    Y : (n_scans, v) ndarray of float32, C-ordered
        Columns in C order of the mask (``volume[mask]``), scaled by the header's
        slope/intercept. The only full-size allocation is ``Y`` itself.

    Raises
    ------
    InputError
        Shape mismatch, more than :data:`MAX_TIMESERIES_BYTES` of in-mask data, an unreadable
        volume, or non-finite values inside the mask.
    """
    shape, slope, inter, volumes = _volumes(img, source=source)
    if shape[:3] != mask.shape:
        raise InputError(
            f"{source}: shape {shape} does not match the mask {mask.shape} (expected a 4D "
            "image on the mask's grid)."
        )
    flat = np.ravel_multi_index(np.nonzero(mask), mask.shape, order="F")  # mask's C order
    needed = shape[3] * flat.size * 4
    if needed > MAX_TIMESERIES_BYTES:
        raise InputError(
            f"{source}: {shape[3]:,} scans x {flat.size:,} in-mask voxels need "
            f"{needed / 2**30:.1f} GiB; at most {MAX_TIMESERIES_BYTES >> 30} GiB are held "
            "(use a tighter mask or a coarser grid)."
        )
    data = np.empty((shape[3], flat.size), dtype=np.float32)
    if volume_fn is None:
        for t, vol in enumerate(volumes):
            data[t] = vol.take(flat)
        if slope != 1.0:
            data *= np.float32(slope)
        if inter != 0.0:
            data += np.float32(inter)
    else:
        for t, vol in enumerate(volumes):
            scaled = vol.astype(np.float32) * np.float32(slope) + np.float32(inter)
            data[t] = np.asarray(volume_fn(scaled.reshape(shape[:3], order="F")))[mask]
    bad = ~np.isfinite(data).all(axis=0)
    if bad.any():
        raise InputError(
            f"{source}: {int(bad.sum())} in-mask voxels have missing or infinite values; "
            "exclude them with the mask."
        )
    return data


# ---------------------------------------------------------------------------------------------
# automatic mask


def compute_epi_mask(
    mean_img_data: np.ndarray,
    *,
    lower_cutoff: float = 0.2,
    upper_cutoff: float = 0.85,
    opening: int = 2,
) -> np.ndarray:
    """Brain mask of an EPI run from its mean image (Nichols' histogram-gap rule).

    The rule, as in nilearn's ``compute_epi_mask``:

    1. non-finite values are set to 0 and all voxel values are sorted;
    2. between the ``lower_cutoff`` and ``upper_cutoff`` fractions of the sorted values, the
       largest jump between consecutive values is found; the threshold is the midpoint of
       that jump (background voxels are dim and numerous, brain voxels bright: the jump
       separates them);
    3. ``mask = mean >= threshold``;
    4. binary erosion (``opening`` iterations), keep the largest 6-connected component,
       dilation (``2 * opening``), erosion (``opening``): removes thin bridges to the scalp
       and smooths the edge;
    5. enclosed holes (ventricles, dark susceptibility spots) are filled.

    Unlike nilearn, the mean image is not smoothed first (nilearn smooths it by 1 mm FWHM,
    which barely changes typical 2-3 mm EPI) and holes are filled.

    Parameters
    ----------
    mean_img_data : (X, Y, Z) ndarray
        Temporal mean of the run (or of all runs).
    lower_cutoff, upper_cutoff : float
        Fractions of the sorted values searched for the gap, ``0 <= lower < upper <= 1``.
    opening : int
        Erosion iterations of the opening (0 = no opening).

    Returns
    -------
    mask : (X, Y, Z) ndarray of bool

    Raises
    ------
    InputError
        The image is constant or the mask comes out empty.
    """
    data = np.nan_to_num(
        np.asarray(mean_img_data, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0
    )
    if data.ndim != 3:
        raise InputError(f"the mean EPI image must be 3D; got shape {data.shape}.")
    if not 0 <= lower_cutoff < upper_cutoff <= 1:
        raise InputError(
            f"need 0 <= lower_cutoff < upper_cutoff <= 1; got {lower_cutoff}, {upper_cutoff}."
        )
    values = np.sort(data, axis=None)
    lo = int(np.floor(lower_cutoff * values.size))
    hi = min(int(np.floor(upper_cutoff * values.size)), values.size - 1)
    if hi <= lo:
        raise InputError("the mean EPI image has too few voxels to compute a mask.")
    gaps = values[lo + 1 : hi + 1] - values[lo:hi]
    i = int(gaps.argmax()) + lo
    if gaps[i - lo] <= 0:
        raise InputError("the mean EPI image is constant: cannot separate brain from background.")
    threshold = 0.5 * (values[i] + values[i + 1])
    mask = data >= threshold
    if opening:
        mask = ndimage.binary_erosion(mask, iterations=int(opening))
    if not mask.any():
        raise InputError(
            "the automatic EPI mask is empty (eroded away); give an explicit mask image."
        )
    labels, n_labels = ndimage.label(mask)
    if n_labels > 1:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        mask = labels == sizes.argmax()
    if opening:
        mask = ndimage.binary_dilation(mask, iterations=2 * int(opening))
        mask = ndimage.binary_erosion(mask, iterations=int(opening))
    return ndimage.binary_fill_holes(mask)
