"""First-level (single-subject, per-run) design matrices.

A first-level design has, in this column order (the order and names of nilearn's
``make_first_level_design_matrix``, so designs are recognisable to its users):

1. event regressors, conditions in sorted ``trial_type`` order, each expanded by the HRF model
   (``c``, ``c_derivative``, ``c_dispersion``; FIR: ``c_delay_<d>``) -- see :mod:`.hrf`;
2. confounds, in the order given, named as in their table;
3. drift regressors ``drift_1 ... drift_k``;
4. ``constant``.

Events and confounds are checked in :mod:`.events`, drift models are in :mod:`.drift`.

Unlike nilearn, a rank-deficient design is not silently regularised: :func:`check_design`
reports it and the fit uses the minimum-norm solution with ``dof = n - rank``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DesignError, InputError, suggest
from .drift import make_drift
from .events import prepare_events, select_confounds
from .hrf import compute_event_regressors, normalize_hrf_model, regressor_names
from .results import DesignMatrix


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
        One of :data:`glmreport.config.vocabulary.HRF_MODELS` (``None`` = ``"none"``).
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
    frame_times, model, delays, oversampling = _checked_arguments(
        frame_times, hrf_model, fir_delays, oversampling
    )
    n = frame_times.size
    blocks: list[np.ndarray] = []
    names: list[str] = []
    n_conditions = 0
    if events is not None:
        ev, _ = prepare_events(events, source=source)
        _check_onsets(ev, frame_times, min_onset=min_onset, run_end=run_end, source=source)
        conditions, codes = np.unique(ev["trial_type"].to_numpy(), return_inverse=True)
        n_conditions = conditions.size
        if n_conditions:
            regressors = partial(
                compute_event_regressors,
                hrf_model=model,
                fir_delays=delays,
                oversampling=oversampling,
                min_onset=min_onset,
            )
            columns = [ev[c].to_numpy() for c in ("onset", "duration", "modulation")]
            blocks.append(regressors(frame_times, *columns, codes, n_conditions))
            for condition in conditions:
                names += regressor_names(str(condition), model, delays)
    confound_names: list[str] = []
    if confounds is not None:
        conf = _confounds_of_run(confounds, n)
        blocks.append(conf.to_numpy())
        confound_names = list(conf.columns)
    drift, drift_names = make_drift(
        frame_times, drift_model, high_pass=high_pass, order=drift_order
    )
    blocks.append(drift)
    names += confound_names + drift_names
    _check_unique(names)
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
            + (f", {len(confound_names)} confound(s)" if confounds is not None else "")
        ),
        nuisance=tuple(confound_names + drift_names),
    )


def _checked_arguments(
    frame_times: np.ndarray, hrf_model: str | None, fir_delays: Sequence[int], oversampling: int
) -> tuple[np.ndarray, str, list[int], int]:
    """Frame times as floats, the normalised HRF model, the FIR delays and the oversampling."""
    frame_times = np.asarray(frame_times, dtype=np.float64)
    if frame_times.ndim != 1 or frame_times.size < 2 or np.any(np.diff(frame_times) <= 0):
        raise DesignError("frame_times must be an increasing 1D array of at least 2 scans.")
    model = normalize_hrf_model(hrf_model)
    delays = [int(d) for d in fir_delays]
    if model == "fir" and (not delays or min(delays) < 0 or len(set(delays)) != len(delays)):
        raise DesignError(f"fir_delays must be distinct non-negative integers; got {delays}.")
    oversampling = int(oversampling)
    if oversampling < 1:
        raise DesignError(f"oversampling must be >= 1; got {oversampling}.")
    return frame_times, model, delays, oversampling


def _check_onsets(
    ev: pd.DataFrame,
    frame_times: np.ndarray,
    *,
    min_onset: float,
    run_end: float | None,
    source: str,
) -> None:
    """Refuse events starting at or after the end of the run, or before ``min_onset``."""
    n = frame_times.size
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


def _confounds_of_run(confounds: pd.DataFrame, n: int) -> pd.DataFrame:
    """The confounds as a checked table of one row per scan (:func:`select_confounds`)."""
    conf = confounds if isinstance(confounds, pd.DataFrame) else pd.DataFrame(confounds)
    if conf.shape[0] != n:
        raise DesignError(
            f"the confounds table has {conf.shape[0]} rows but the run has {n} scans; it "
            "needs exactly one row per scan."
        )
    return select_confounds(conf)


def _check_unique(names: list[str]) -> None:
    duplicated = sorted(c for c, count in Counter(names).items() if count > 1)
    if duplicated:
        raise DesignError(
            f"design column names must be unique; {', '.join(duplicated)} appear more than once "
            "(a confound named like a condition or a drift column?)."
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
    scale = np.maximum(np.abs(x).max(axis=0), 1e-300) if n else np.ones(p)
    ptp = np.ptp(x, axis=0) if n else np.zeros(p)
    constant = ptp <= 1e-12 * scale
    zero = np.abs(x).max(axis=0) == 0 if n else np.ones(p, bool)
    nonzero_const = [j for j in range(p) if constant[j] and not zero[j]]
    keep = next((j for j in nonzero_const if cols[j] in ("constant", "intercept")), None)
    if keep is None and nonzero_const:
        keep = nonzero_const[0]
    out: list[str] = []
    for j in range(p):
        if zero[j]:
            out.append(f"column {cols[j]} is constant (all zeros)")
        elif constant[j] and j != keep:
            out.append(f"column {cols[j]} is constant (a second intercept)")
    identical = _identical_columns(x, cols, scale, constant, zero, keep, out)
    _correlated_columns(x, cols, constant, identical, corr_threshold, out)
    rank = int(np.linalg.matrix_rank(x)) if x.size else 0
    if rank < p:
        out.append(
            f"the design is rank deficient: rank {rank} < {p} columns; some contrasts are not "
            "estimable and the fit uses the minimum-norm solution"
        )
    if n <= rank:
        out.append(f"the design leaves no residual degrees of freedom ({n} scans, rank {rank})")
    return out


def _identical_columns(
    x: np.ndarray,
    cols: list[str],
    scale: np.ndarray,
    constant: np.ndarray,
    zero: np.ndarray,
    keep: int | None,
    out: list[str],
) -> set[int]:
    """Note each column identical to an earlier one in ``out``; return their indices."""
    n, p = x.shape
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
    return identical


def _correlated_columns(
    x: np.ndarray,
    cols: list[str],
    constant: np.ndarray,
    identical: set[int],
    corr_threshold: float,
    out: list[str],
) -> None:
    """Note in ``out`` the pairs of varying columns correlated beyond ``corr_threshold``."""
    varying = np.flatnonzero(~constant)
    if varying.size <= 1 or x.shape[0] <= 2:
        return
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
