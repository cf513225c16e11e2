"""The frozen spec of a ``model.level: study`` section (read by :mod:`.study`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SIGNAL_SCALINGS = ("percent", "none")
ON_ERROR = ("raise", "skip")


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyFirstLevel:
    """The first-level model every run of the study gets.

    Attributes
    ----------
    hrf : str
    drift_model : {'cosine', 'polynomial'} or None
    high_pass : float
        Cosine cut-off (Hz).
    drift_order : int
    noise_model : {'ar1', 'ols'}
    smoothing_fwhm : float
        mm, 0 for none.
    confounds : tuple of str
        Column names or shell-style patterns of fMRIPrep's confounds table.
    scrub_fd : float or None
        One spike regressor per scan whose framewise displacement exceeds this (mm).
    signal_scaling : {'percent', 'none'}
        ``percent``: each voxel of each run as ``100 * (y / mean(y) - 1)``.
    """

    hrf: str = "glover"
    drift_model: str | None = "cosine"
    high_pass: float = 0.01
    drift_order: int = 1
    noise_model: str = "ar1"
    smoothing_fwhm: float = 0.0
    confounds: tuple[str, ...] = ()
    scrub_fd: float | None = None
    signal_scaling: Literal["percent", "none"] = "percent"


@dataclass(frozen=True, slots=True, kw_only=True)
class StudySpec:
    """A validated ``model.level: study`` section.

    Attributes
    ----------
    bids, derivatives : Path
        Raw BIDS root and fMRIPrep's folder (default ``<bids>/derivatives/fmriprep``).
    participants : Path
        ``participants.tsv`` (default ``<bids>/participants.tsv``).
    task, space : str
    res : str or None
    desc : str
        Of the preprocessed BOLD files (``preproc``).
    subjects : tuple of str or None
        Default: every subject with data.
    exclude, sessions
        Subjects left out; sessions kept (None: all).
    first_level : StudyFirstLevel
    group : DesignSpec
        The second-level design; its covariates are participants' columns.
    group_contrasts : tuple of ContrastSpec
        Empty: the group mean (the ``intercept`` column).
    on_error : {'raise', 'skip'}
        ``skip``: a subject whose fit fails is left out of the group and named in the report.
    scheduler, jobs : str or int or None
        The top-level ``compute`` section: a Dask scheduler address, local worker processes.
    """

    group: Any  # a specs.DesignSpec (specs imports this module)
    bids: Path
    derivatives: Path
    participants: Path
    task: str
    space: str
    res: str | None = None
    desc: str = "preproc"
    subjects: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    sessions: tuple[str, ...] | None = None
    first_level: StudyFirstLevel = StudyFirstLevel()
    group_contrasts: tuple[Any, ...] = ()  # specs.ContrastSpec
    on_error: Literal["raise", "skip"] = "raise"
    scheduler: str | None = None
    jobs: int | None = None
