"""The view model of a report's study section (built by :mod:`.study`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectGrid:
    """One contrast's subject glass brains."""

    contrast: str
    peak: str
    figures: tuple[tuple[str, Any], ...]  # (subject, FigureItem or None)


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyView:
    """The study section.

    Attributes
    ----------
    facts : tuple of (str, str)
    headers : tuple of str
        Headers of the effect columns (one per contrast).
    rows : tuple of tuple of str
        One per subject: id, runs, scans, mean FD, max FD, mask voxels, effects.
    failed : tuple of (str, str)
        Subjects left out and why.
    grids : tuple of SubjectGrid
    methods : str
    notes : tuple of str
    figure_files : tuple of (str, tuple of (str, str))
        Per subject: its QC figure files (what, path relative to the results folder).
    """

    facts: tuple[tuple[str, str], ...]
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    failed: tuple[tuple[str, str], ...]
    grids: tuple[SubjectGrid, ...]
    methods: str
    notes: tuple[str, ...]
    figure_files: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
