"""View model of the summary's survival matrix: clusters of one correction x every correction."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossRow:
    """One cluster of the summary's clusters x corrections matrix."""

    cluster_id: str
    sign: str
    xyz: tuple[float | None, float | None, float | None]
    peak_z: float | None
    size: int | None
    label: str
    marks: tuple[bool, ...]
    tdp: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CrossTable:
    """Which corrections each cluster survives, for the clusters of one correction.

    Attributes
    ----------
    base_title, base_anchor : str
        The correction whose clusters are listed (the one with the most surviving voxels).
    corrections : tuple of (short, title, anchor)
        Columns, in the contrast's order.
    rows : tuple of CrossRow
    n_total : int
        Clusters of the base correction (``rows`` may be the first ones).
    source : str
        The base correction's clusters table.
    label_header : str
        Atlas whose label is shown (``""`` for none).
    tdp_header : str
        Header of the ARI bound column (``""`` when none is shown); with several ARI entries
        the first one's bound, named by its label.
    """

    base_title: str
    base_anchor: str
    corrections: tuple[tuple[str, str, str], ...]
    rows: tuple[CrossRow, ...]
    n_total: int
    source: str
    label_header: str
    tdp_header: str
