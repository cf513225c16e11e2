"""One preprocessed run of a study: its mask, confounds, events, TR and slice timing.

See :mod:`glmreport.inputs.bids` for the rules; :func:`describe_run` applies them to one
``desc-preproc_bold`` file.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib

from ..errors import InputError
from .bids_names import (
    BidsName,
    Lister,
    Listing,
    applicable_files,
    list_bids_files,
    listed,
    merged_metadata,
    relative,
)

#: Entities that tell apart derivatives of one run rather than runs.
DERIVATIVE_ENTITIES = ("space", "cohort", "res", "den", "desc", "atlas", "seg", "scale", "label")
NIFTI_EXTENSIONS = (".nii.gz", ".nii")
#: Confounds suffixes, newest fMRIPrep naming first.
CONFOUNDS_SUFFIXES = ("timeseries", "regressors")
#: Seconds by which a sidecar's and a header's TR may differ before a note is written.
TR_TOLERANCE = 1e-3
_TIME_UNITS = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6, "unknown": 1.0}


class StudyInputError(InputError):
    """A study's BIDS dataset or derivatives cannot give the runs asked for."""


class NoRunsError(StudyInputError):
    """No preprocessed run matches the task, space and filters."""


class UnknownSubjectError(StudyInputError):
    """A requested subject (or session) has no preprocessed run."""


class MissingEventsError(StudyInputError):
    """No ``_events.tsv`` applies to a run."""


class RepetitionTimeError(StudyInputError):
    """A run's repetition time is missing or invalid."""


class AmbiguousFilesError(StudyInputError):
    """Several files match where one is expected (e.g. two resolutions)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyRun:
    """One preprocessed run and the files that model it.

    Attributes
    ----------
    subject : str
        Label without ``sub-``.
    session, run : str or None
        Labels, None when the names have no ``ses-``/``run-``.
    task : str
    entities : tuple of (str, str)
        The run's identity (``sub``, ``ses``, ``task``, ``acq``, ``run``, ``echo``, ...).
    bold, mask, events, confounds : Path
        ``mask`` and ``confounds`` may be None.
    sidecar : Path or None
        The JSON file the TR came from (None: from the header).
    t_r : float
        Seconds.
    n_scans : int
    slice_time_ref : float or None
        Fraction of the TR (0..1) at which the slice-timing reference was acquired.
    notes : tuple of str
        Remarks for the report (TR disagreement, missing mask or confounds).
    """

    subject: str
    session: str | None
    run: str | None
    task: str
    entities: tuple[tuple[str, str], ...]
    bold: Path
    mask: Path | None
    events: Path
    confounds: Path | None
    sidecar: Path | None
    t_r: float
    n_scans: int
    slice_time_ref: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``sub-01_task-faces_run-1``: the identity as a BIDS name prefix."""
        return "_".join(f"{k}-{v}" for k, v in self.entities)


# ---------------------------------------------------------------------------------------------
# one run


def _header(path: Path, label: str) -> tuple[int, float | None]:
    """Number of scans and the header's TR in seconds (None when not positive)."""
    try:
        img = nib.load(path)
    except Exception as exc:  # nibabel raises many types for non-images
        raise StudyInputError(
            f"{label}: {path.name[:120]} is not a readable NIfTI image ({type(exc).__name__})"
        ) from None
    if len(img.shape) != 4:
        raise StudyInputError(
            f"{label}: {path.name[:120]} has shape {img.shape}; a BOLD run must be 4D"
        )
    zooms = img.header.get_zooms()
    unit = img.header.get_xyzt_units()[1]
    value = float(zooms[3]) * _TIME_UNITS.get(unit, 1.0) if len(zooms) > 3 else math.nan
    return int(img.shape[3]), (value if math.isfinite(value) and value > 0 else None)


@dataclass(frozen=True, slots=True)
class _Sidecars:
    """JSON metadata merged by inheritance, the file each key came from, and their root."""

    values: dict
    sources: dict
    root: Path

    def seconds(self, key: str) -> tuple[float, Path] | None:
        """``(value, file)`` of a time in seconds; None when the key is absent."""
        if key not in self.values:
            return None
        value, where = self.values[key], relative(self.sources[key], self.root)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise RepetitionTimeError(
                f"{where}: {key} must be a number of seconds; got {repr(value)[:40]}"
            )
        if key == "RepetitionTime" and value <= 0:
            raise RepetitionTimeError(f"{where}: RepetitionTime must be > 0 seconds; got {value}")
        return float(value), self.sources[key]


def _sidecars(root: Path, folder: Path, entities: dict[str, str], lister: Lister) -> _Sidecars:
    """The ``*_bold.json`` files applying to a run in one dataset, merged by inheritance."""
    files = applicable_files(
        root, folder, entities, suffix="bold", extension=".json", lister=lister
    )
    values, sources = merged_metadata(files)
    return _Sidecars(values, sources, root)


def _repetition_time(
    raw: _Sidecars, derived: _Sidecars, header_tr: float | None, label: str
) -> tuple[float, Path | None, list[str]]:
    """TR (s) and the file it came from: raw sidecars, else derivative's, else header."""
    notes = []
    from_raw, from_derived = raw.seconds("RepetitionTime"), derived.seconds("RepetitionTime")
    if from_raw and from_derived and abs(from_raw[0] - from_derived[0]) > TR_TOLERANCE:
        notes.append(
            f"{label}: RepetitionTime {from_raw[0]:g} s in {relative(from_raw[1], raw.root)} "
            f"differs from {from_derived[0]:g} s in the derivative's sidecar; the raw one is used"
        )
    given, root = (from_raw, raw.root) if from_raw else (from_derived, derived.root)
    if given is None and header_tr is None:
        raise RepetitionTimeError(
            f"{label}: no RepetitionTime in any *_bold.json that applies to the run and no TR "
            "in the NIfTI header of its preprocessed BOLD; add RepetitionTime (seconds) to "
            "its sidecar"
        )
    if given is None:
        notes.append(
            f"{label}: no RepetitionTime in a sidecar; the header's {header_tr:g} s is used"
        )
        return float(header_tr), None, notes
    if header_tr is not None and abs(header_tr - given[0]) > TR_TOLERANCE:
        notes.append(
            f"{label}: RepetitionTime {given[0]:g} s in {relative(given[1], root)} differs from "
            f"the NIfTI header's {header_tr:g} s; the sidecar's value is used"
        )
    return given[0], given[1], notes


def _slice_time_ref(derived: _Sidecars, t_r: float, label: str) -> tuple[float | None, list[str]]:
    """``StartTime / TR`` from the derivative's sidecar (None when absent or out of range)."""
    start = derived.seconds("StartTime")
    if start is None:
        return None, []
    if 0 <= start[0] < t_r:
        return start[0] / t_r, []
    return None, [f"{label}: StartTime {start[0]:g} s is not within [0, TR); ignored"]


def _companion(
    listing: Listing,
    parsed: BidsName,
    *,
    desc: str,
    suffixes: Sequence[str],
    extensions: Sequence[str],
    drop: Sequence[str],
) -> list[Path]:
    """Files of ``listing`` with ``desc``, a suffix and extension among those given, whose
    other entities equal ``parsed``'s without ``drop``; sorted by the order of ``suffixes``."""
    target = dict(parsed.without(*drop))
    hits = [
        (suffixes.index(p.suffix), extensions.index(p.extension), path)
        for p, path in listing
        if p.get("desc") == desc
        and p.suffix in suffixes
        and p.extension in extensions
        and dict(p.without("desc")) == target
    ]
    return [path for *_, path in sorted(hits)]


def _mask_and_confounds(
    parsed: BidsName, path: Path, lister: Lister, label: str
) -> tuple[Path | None, Path | None, list[str]]:
    """The run's brain mask (same space and resolution) and confounds table, or None."""
    listing = lister(path.parent)
    notes = []
    masks = _companion(
        listing,
        parsed,
        desc="brain",
        suffixes=("mask",),
        extensions=NIFTI_EXTENSIONS,
        drop=("desc",),
    )
    if len(masks) > 1:
        raise AmbiguousFilesError(
            f"{label}: several brain masks match ({listed((m.name for m in masks), 3, 100)})"
        )
    if not masks:
        notes.append(f"{label}: no desc-brain_mask in this space; the mask will be computed")
    confounds = _companion(
        listing,
        parsed,
        desc="confounds",
        suffixes=CONFOUNDS_SUFFIXES,
        extensions=(".tsv",),
        drop=DERIVATIVE_ENTITIES,
    )
    if not confounds:
        notes.append(f"{label}: no desc-confounds_timeseries.tsv")
    elif len(confounds) > 1:
        notes.append(f"{label}: both confounds names present; {confounds[0].name[:120]} is used")
    return (masks[0] if masks else None), (confounds[0] if confounds else None), notes


def _events(
    bids_root: Path,
    raw_folder: Path,
    entities: dict[str, str],
    label: str,
    lister: Lister,
) -> Path:
    """The deepest ``*_events.tsv`` applying to the run (inheritance principle)."""
    files = applicable_files(
        bids_root, raw_folder, entities, suffix="events", extension=".tsv", lister=lister
    )
    if not files:
        raise MissingEventsError(
            f"{label}: no events file applies to this run; expected "
            f"{relative(raw_folder / f'{label}_events.tsv', bids_root)} (or an inherited "
            f"*_events.tsv higher up) in the BIDS dataset {str(bids_root)[-120:]}"
        )
    return files[-1]


def describe_run(
    parsed: BidsName,
    path: Path,
    *,
    bids_root: Path,
    derivatives: Path,
    lister: Lister | None = None,
) -> StudyRun:
    """Gather one preprocessed run's files, TR and notes (see the module docstring).

    Parameters
    ----------
    parsed : BidsName
        The preprocessed BOLD file's name.
    path : Path
        The preprocessed BOLD file, inside ``derivatives``.
    bids_root, derivatives : Path
        Absolute roots.
    lister : callable or None
        A cached :func:`~glmreport.inputs.bids_names.list_bids_files`.
    """
    lister = lister or functools.lru_cache(maxsize=None)(list_bids_files)
    identity = parsed.without(*DERIVATIVE_ENTITIES)
    entities = dict(identity)
    label = "_".join(f"{k}-{v}" for k, v in identity)
    raw_folder = bids_root / path.parent.relative_to(derivatives)
    events = _events(bids_root, raw_folder, entities, label, lister)
    n_scans, header_tr = _header(path, label)
    raw = _sidecars(bids_root, raw_folder, entities, lister)
    derived = _sidecars(derivatives, path.parent, parsed.as_dict(), lister)
    t_r, sidecar, notes = _repetition_time(raw, derived, header_tr, label)
    ref, more = _slice_time_ref(derived, t_r, label)
    notes += more
    mask, confounds, more = _mask_and_confounds(parsed, path, lister, label)
    return StudyRun(
        subject=entities["sub"],
        session=entities.get("ses"),
        run=entities.get("run"),
        task=entities["task"],
        entities=identity,
        bold=path,
        mask=mask,
        events=events,
        confounds=confounds,
        sidecar=sidecar,
        t_r=t_r,
        n_scans=n_scans,
        slice_time_ref=ref,
        notes=tuple(notes + more),
    )
