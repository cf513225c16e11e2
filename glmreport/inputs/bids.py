"""Find a study's runs in a BIDS dataset and its fMRIPrep derivatives (no pybids).

:func:`discover_study` lists, for one task and template space, every subject's preprocessed
runs and, for each run, the files a first-level model needs:

- ``bold``: ``sub-X[_ses-Y]_task-T[_acq-..][_run-N][_echo-..]_space-S[_res-R]_desc-preproc_bold
  .nii[.gz]`` under ``<derivatives>/sub-X[/ses-Y]/func``; the entities other than the
  derivative ones (space, res, den, desc, ...) form the run's identity, so ``acq``, ``rec``,
  ``echo``, ``dir`` etc. keep runs apart;
- ``mask``: the run's ``desc-brain_mask`` in the same space and resolution (or None);
- ``confounds``: the run's ``desc-confounds_timeseries.tsv`` (fMRIPrep >= 20.2) or
  ``desc-confounds_regressors.tsv`` (older releases), or None;
- ``events``: the raw ``_events.tsv`` that applies to the run by the BIDS inheritance
  principle (a run-level file, else a subject/session-level one, else a top-level
  ``task-T_events.tsv``); missing events are an error naming the run;
- ``t_r``: ``RepetitionTime`` of the raw ``_bold.json`` sidecars merged by inheritance (the
  deepest file wins), else of the derivative's sidecar, else the NIfTI header's ``pixdim[4]``
  (in the unit of ``xyzt_units``; unknown units are read as seconds). When a sidecar gives it
  and the header disagrees by more than ``TR_TOLERANCE`` (1 ms), a note says so and the
  sidecar's value is used; neither gives it: an error naming the run;
- ``slice_time_ref``: the derivative sidecar's ``StartTime`` (fMRIPrep's slice-timing
  reference, seconds) divided by the TR, as nilearn's ``first_level_from_bids`` does; None
  when absent.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import suggest
from .bids_names import BidsName, Lister, list_bids_files, listed, natural_key, relative
from .bids_runs import (
    DERIVATIVE_ENTITIES,
    NIFTI_EXTENSIONS,
    AmbiguousFilesError,
    MissingEventsError,
    NoRunsError,
    RepetitionTimeError,
    StudyInputError,
    StudyRun,
    UnknownSubjectError,
    describe_run,
)

__all__ = [
    "AmbiguousFilesError",
    "MissingEventsError",
    "NoRunsError",
    "RepetitionTimeError",
    "Study",
    "StudyInputError",
    "StudyRun",
    "StudySubject",
    "UnknownSubjectError",
    "discover_study",
]

_LABEL = re.compile(r"[a-zA-Z0-9]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class StudySubject:
    """A subject's runs, sorted by session, run and the other entities."""

    id: str
    runs: tuple[StudyRun, ...]

    @property
    def n_scans(self) -> int:
        """Scans over all runs."""
        return sum(r.n_scans for r in self.runs)


@dataclass(frozen=True, slots=True, kw_only=True)
class Study:
    """The subjects and runs of a study, as found on disk.

    Attributes
    ----------
    subjects : tuple of StudySubject
        Sorted by label (numbers numerically).
    bids_root, derivatives_root : Path
    task, space : str
    notes : tuple of str
        Study-level remarks (exclusions, skipped files).
    """

    subjects: tuple[StudySubject, ...]
    bids_root: Path
    derivatives_root: Path
    task: str
    space: str
    notes: tuple[str, ...] = ()

    @property
    def runs(self) -> tuple[StudyRun, ...]:
        """Every run, subject by subject."""
        return tuple(r for s in self.subjects for r in s.runs)

    @property
    def subject_ids(self) -> tuple[str, ...]:
        """The subjects' labels."""
        return tuple(s.id for s in self.subjects)


# ---------------------------------------------------------------------------------------------
# small helpers


def normalise_label(value: object, *, prefix: str, what: str) -> str:
    """A BIDS label from ``"01"`` or ``"sub-01"`` (letters and digits only)."""
    text = str(value)
    if text.startswith(f"{prefix}-"):
        text = text[len(prefix) + 1 :]
    if not _LABEL.fullmatch(text):
        raise StudyInputError(
            f"{what} {text[:40]!r} is not a BIDS label; expected letters and digits, "
            f"optionally prefixed with '{prefix}-'"
        )
    return text


def _folder(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise StudyInputError(f"{what} not found or not a folder: {str(path)[-160:]}")
    return path.resolve()


def _subfolders(folder: Path, prefix: str) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if e.name.startswith(prefix) and e.is_dir())
    except OSError:
        return []


def _func_folders(derivatives: Path) -> list[Path]:
    """``sub-*/func`` and ``sub-*/ses-*/func`` folders of a derivatives tree."""
    out = []
    for sub in _subfolders(derivatives, "sub-"):
        out += [f for f in [sub / "func"] if f.is_dir()]
        out += [s / "func" for s in _subfolders(sub, "ses-") if (s / "func").is_dir()]
    return out


def _folder_entities(folder: Path, root: Path) -> dict[str, str]:
    """``{'sub': '01', 'ses': '1'}`` from ``<root>/sub-01/ses-1/func``."""
    out = {}
    for part in folder.relative_to(root).parts:
        key, _, value = part.partition("-")
        if key in ("sub", "ses") and value:
            out[key] = value
    return out


# ---------------------------------------------------------------------------------------------
# preprocessed runs


def _is_nifti_bold(parsed: BidsName) -> bool:
    return parsed.suffix == "bold" and parsed.extension in NIFTI_EXTENSIONS


def _find_preproc(
    derivatives: Path,
    folders: list[Path],
    lister: Lister,
    *,
    wanted: dict[str, str | None],
    notes: list[str],
) -> list[tuple[BidsName, Path]]:
    """The preprocessed BOLD files matching ``wanted`` (task, space, desc, res), one per run."""
    found: dict[tuple, list[tuple[BidsName, Path]]] = {}
    for folder in folders:
        expected = _folder_entities(folder, derivatives)
        for parsed, path in lister(folder):
            ent = parsed.as_dict()
            if not _is_nifti_bold(parsed) or any(
                v is not None and ent.get(k) != v for k, v in wanted.items()
            ):
                continue
            if any(ent.get(k) != v for k, v in expected.items()):
                notes.append(
                    f"{relative(path, derivatives)}: its sub/ses do not match its folder; skipped"
                )
                continue
            if not parsed.ordered:
                notes.append(f"{relative(path, derivatives)}: entities not in the BIDS order")
            found.setdefault(parsed.without(*DERIVATIVE_ENTITIES), []).append((parsed, path))
    for identity, files in found.items():
        if len(files) > 1:
            label = "_".join(f"{k}-{v}" for k, v in identity)
            raise AmbiguousFilesError(
                f"{label}: {len(files)} preprocessed BOLD files match "
                f"({listed((p.name for _, p in files), 4, 100)}); choose one with model.res "
                "(or desc), or remove the extra files"
            )
    return [files[0] for files in found.values()]


def _no_runs(derivatives: Path, folders: list[Path], lister: Lister, wanted: dict) -> NoRunsError:
    """An error saying what was sought and which tasks, spaces, ... the folder does have."""
    seen: dict[str, set[str]] = {k: set() for k in wanted}
    for folder in folders:
        for parsed, _ in lister(folder):
            if _is_nifti_bold(parsed):
                for key in seen:
                    if parsed.get(key):
                        seen[key].add(str(parsed.get(key)))
    pattern = "_".join(f"{k}-{v}" for k, v in wanted.items() if v is not None)
    message = (
        f"no preprocessed BOLD *_{pattern}_bold.nii[.gz] in {str(derivatives)[-120:]} "
        f"({len(folders)} sub-*/func folders searched)"
    )
    if not folders:
        message += "; expected fMRIPrep's layout sub-<label>/[ses-<label>/]func/"
    for key, value in wanted.items():
        if value is not None and seen[key] and value not in seen[key]:
            message += f"; {key} labels found: {listed(sorted(seen[key]))}." + suggest(
                value, seen[key]
            )
    return NoRunsError(message)


# ---------------------------------------------------------------------------------------------
# the study


def _select_subjects(
    available: list[str],
    subjects: Sequence[str] | None,
    exclude: Sequence[str],
    *,
    where: str,
    notes: list[str],
) -> list[str]:
    """The requested (default: all available) subjects minus the excluded ones."""
    if subjects is None:
        chosen = list(available)
    else:
        chosen = list(
            dict.fromkeys(normalise_label(s, prefix="sub", what="subject") for s in subjects)
        )
        absent = [s for s in chosen if s not in available]
        if absent:
            raise UnknownSubjectError(
                f"subjects {listed('sub-' + s for s in absent)} have no preprocessed run in "
                f"{where}; available: {listed('sub-' + s for s in available)} "
                f"({len(available)})."
                + suggest(f"sub-{absent[0]}", [f"sub-{a}" for a in available])
            )
    dropped = [normalise_label(s, prefix="sub", what="excluded subject") for s in exclude]
    unknown = [s for s in dropped if s not in available]
    if unknown:
        notes.append(f"excluded subjects not in the dataset: {listed('sub-' + s for s in unknown)}")
    excluded = [s for s in chosen if s in dropped]
    if excluded:
        notes.append(f"excluded: {listed(['sub-' + s for s in excluded], 50)}")
    chosen = [s for s in chosen if s not in dropped]
    if not chosen:
        raise StudyInputError(f"no subject left in {where} after excluding {listed(dropped)}")
    return sorted(chosen, key=natural_key)


def _filter_sessions(
    runs: list[tuple[BidsName, Path]], sessions: Sequence[str] | None, *, where: str
) -> list[tuple[BidsName, Path]]:
    if sessions is None:
        return runs
    wanted = [normalise_label(s, prefix="ses", what="session") for s in sessions]
    present = sorted({str(p.get("ses")) for p, _ in runs if p.get("ses")}, key=natural_key)
    absent = [s for s in wanted if s not in present]
    if absent:
        raise UnknownSubjectError(
            f"sessions {listed('ses-' + s for s in absent)} have no preprocessed run in {where}; "
            f"sessions found: {listed('ses-' + s for s in present) or 'none (no ses- entity)'}"
        )
    return [(p, path) for p, path in runs if p.get("ses") in wanted]


def _run_key(run: StudyRun) -> tuple:
    return (natural_key(run.session), natural_key(run.run), run.label)


def discover_study(
    bids_root: str | Path,
    derivatives_root: str | Path | None = None,
    *,
    task: str,
    space: str,
    res: str | None = None,
    desc: str = "preproc",
    subjects: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    sessions: Sequence[str] | None = None,
) -> Study:
    """Find every subject's preprocessed runs of one task in one space.

    Parameters
    ----------
    bids_root : str or Path
        The raw BIDS dataset (events, sidecars, ``participants.tsv``).
    derivatives_root : str or Path or None
        fMRIPrep's output folder; default ``<bids_root>/derivatives/fmriprep``.
    task, space : str
        Labels (``faces``, ``MNI152NLin2009cAsym``).
    res, desc : str or None
        Further filters of the preprocessed BOLD names (``res`` None: any, but one per run).
    subjects : sequence of str or None
        Labels with or without ``sub-``; default: every subject with a matching run.
    exclude : sequence of str
        Subjects left out (a label not in the dataset is noted, not an error).
    sessions : sequence of str or None
        Keep only these sessions; default: all.

    Returns
    -------
    Study

    Raises
    ------
    StudyInputError
        Missing folders, no matching run (:class:`NoRunsError`), requested subjects or
        sessions without runs (:class:`UnknownSubjectError`), a run without events
        (:class:`MissingEventsError`) or TR (:class:`RepetitionTimeError`), two files where
        one is expected (:class:`AmbiguousFilesError`).
    """
    bids = _folder(bids_root, "BIDS dataset folder")
    deriv = _folder(
        bids / "derivatives" / "fmriprep" if derivatives_root is None else derivatives_root,
        "fMRIPrep derivatives folder",
    )
    given = {"task": task, "space": space, "desc": desc, "res": res}
    wanted = {
        key: None if value is None else normalise_label(value, prefix=key, what=key)
        for key, value in given.items()
    }
    lister = functools.lru_cache(maxsize=None)(list_bids_files)
    notes: list[str] = []
    folders = _func_folders(deriv)
    runs = _find_preproc(deriv, folders, lister, wanted=wanted, notes=notes)
    if not runs:
        raise _no_runs(deriv, folders, lister, wanted)
    where = f"{str(deriv)[-120:]} for task-{wanted['task']} space-{wanted['space']}"
    runs = _filter_sessions(runs, sessions, where=where)
    available = sorted({str(p.get("sub")) for p, _ in runs}, key=natural_key)
    chosen = _select_subjects(available, subjects, exclude, where=where, notes=notes)
    by_subject: dict[str, list[StudyRun]] = {s: [] for s in chosen}
    for parsed, path in runs:
        if parsed.get("sub") in by_subject:
            run = describe_run(parsed, path, bids_root=bids, derivatives=deriv, lister=lister)
            by_subject[run.subject].append(run)
    return Study(
        subjects=tuple(
            StudySubject(id=s, runs=tuple(sorted(r, key=_run_key))) for s, r in by_subject.items()
        ),
        bids_root=bids,
        derivatives_root=deriv,
        task=str(wanted["task"]),
        space=str(wanted["space"]),
        notes=tuple(notes),
    )
