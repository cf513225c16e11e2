"""Peak labels and cluster composition from loaded atlases.

* Peak label: the atlas at the peak's world coordinates (``peak_x/y/z``). Deterministic: the
  region of the nearest atlas voxel. Probabilistic: every label whose probability,
  trilinearly interpolated at the peak, is at least ``prob_threshold`` percent, with that
  percentage, most probable first: ``"Precentral Gyrus (62%); Postcentral Gyrus (21%)"``.
* Cluster composition: percentage of the cluster's voxels in each region, largest first,
  ``top_n`` named regions plus ``no label`` and a remainder:
  ``"42% Precentral Gyrus; 30% Postcentral Gyrus; 28% no label"``. For a probabilistic atlas
  each voxel counts for its most probable label when that probability reaches
  ``prob_threshold`` percent, else for ``no label``.
* Cells are never empty: ``no label`` where the atlas has no region, ``atlas unavailable`` in
  every row of an atlas that could not be fetched (its reason is in the notes), ``composition
  unavailable`` for a cluster whose voxels are not in ``cluster_labels`` (also noted).
"""

from __future__ import annotations

from collections.abc import Sequence

import nibabel as nib
import numpy as np
import pandas as pd

from ..errors import AtlasError
from .atlas import LoadedAtlas, atlas_notes
from .sampling import resample_atlas, sample_atlas

__all__ = [
    "NO_LABEL",
    "NO_VOXELS",
    "UNAVAILABLE",
    "DEFAULT_PROB_THRESHOLD",
    "DEFAULT_TOP_N",
    "peak_labels",
    "cluster_compositions",
    "check_overlap",
    "label_tables",
]

#: Cell text where the atlas has no region.
NO_LABEL = "no label"
#: Cell text of every row for an atlas that could not be fetched.
UNAVAILABLE = "atlas unavailable"
#: Cell text of a cluster whose voxels are not in ``cluster_labels``.
NO_VOXELS = "composition unavailable"
#: Minimum probability (percent) for a label of a probabilistic atlas to be reported.
DEFAULT_PROB_THRESHOLD = 5.0
#: Named regions listed per cluster.
DEFAULT_TOP_N = 5

_COORDS = ("peak_x", "peak_y", "peak_z")


def _percent(value: float) -> str:
    if 0.0 < value < 0.5:
        return "<1%"
    return f"{int(np.floor(value + 0.5))}%"


def _name(atlas: LoadedAtlas, code: int) -> str:
    if code == 0:
        return NO_LABEL
    return atlas.names.get(int(code), f"label {int(code)}")


def peak_labels(
    atlas: LoadedAtlas,
    xyz: np.ndarray,
    *,
    prob_threshold: float = DEFAULT_PROB_THRESHOLD,
) -> list[str]:
    """Label of each peak.

    Parameters
    ----------
    atlas : LoadedAtlas
        An ``ok`` atlas.
    xyz : (n, 3) ndarray
        Peak world coordinates (mm).
    prob_threshold : float
        Probabilistic atlases: minimum probability in percent.

    Returns
    -------
    list of str
        One cell per peak (``no label`` where none).
    """
    xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
    if len(xyz) == 0:
        return []
    values = sample_atlas(atlas, xyz)
    if atlas.kind == "deterministic":
        return [_name(atlas, int(code)) for code in values]
    cells = []
    for probs in values * 100.0:
        keep = np.flatnonzero(probs >= prob_threshold - 1e-9)
        keep = keep[np.argsort(-probs[keep], kind="stable")]
        cells.append(
            "; ".join(f"{_name(atlas, j + 1)} ({_percent(probs[j])})" for j in keep) or NO_LABEL
        )
    return cells


def _voxel_codes(
    atlas: LoadedAtlas, mask: np.ndarray, affine: np.ndarray, prob_threshold: float
) -> np.ndarray:
    resampled = resample_atlas(atlas, mask=mask, affine=affine)
    if resampled.max_prob is None:
        return resampled.codes
    return np.where(resampled.max_prob * 100.0 >= prob_threshold - 1e-6, resampled.codes, 0)


def cluster_compositions(
    atlas: LoadedAtlas,
    cluster_labels: np.ndarray,
    cluster_ids: Sequence[int],
    *,
    mask: np.ndarray,
    affine: np.ndarray,
    top_n: int = DEFAULT_TOP_N,
    prob_threshold: float = DEFAULT_PROB_THRESHOLD,
) -> list[str]:
    """Composition of each cluster by atlas region.

    Parameters
    ----------
    atlas : LoadedAtlas
        An ``ok`` atlas.
    cluster_labels : (v,) ndarray of int
        0 = no cluster, k = cluster with ``cluster_id`` k.
    cluster_ids : sequence of int
        The clusters to describe, in table order.
    mask : (X, Y, Z) ndarray of bool
    affine : (4, 4) ndarray
    top_n : int
        Named regions listed; the rest are summed as ``other (m labels)``.
    prob_threshold : float
        Probabilistic atlases: minimum probability (percent) for a voxel to count for its
        most probable label.

    Returns
    -------
    list of str
        e.g. ``"42% Precentral Gyrus; 30% Postcentral Gyrus; 28% no label"``;
        ``composition unavailable`` for a cluster with no voxel in ``cluster_labels``.
    """
    cluster_labels = np.asarray(cluster_labels)
    codes = _voxel_codes(atlas, mask, affine, prob_threshold)
    cells = []
    for cluster_id in cluster_ids:
        members = cluster_labels == int(cluster_id)
        n = int(members.sum())
        if n == 0:
            cells.append(NO_VOXELS)
            continue
        values, counts = np.unique(codes[members], return_counts=True)
        named = sorted(
            ((int(c), _name(atlas, int(v))) for v, c in zip(values, counts, strict=True) if v),
            key=lambda item: (-item[0], item[1]),
        )
        shown = named[: max(int(top_n), 0)]
        rest = named[len(shown) :]
        unlabelled = int(counts[values == 0].sum())
        if unlabelled:
            shown.append((unlabelled, NO_LABEL))
        shown.sort(key=lambda item: -item[0])
        parts = [f"{_percent(100.0 * c / n)} {name}" for c, name in shown]
        if rest:
            parts.append(
                f"{_percent(100.0 * sum(c for c, _ in rest) / n)} other "
                f"({len(rest)} label{'s' if len(rest) != 1 else ''})"
            )
        cells.append("; ".join(parts))
    return cells


def check_overlap(atlas: LoadedAtlas, *, mask: np.ndarray, affine: np.ndarray) -> None:
    """Raise if no atlas region falls inside the analysis mask after resampling.

    Raises
    ------
    AtlasError
        With the world bounding boxes of the atlas and of the mask.
    """
    resampled = resample_atlas(atlas, mask=mask, affine=affine)
    if np.any(resampled.codes > 0):
        return
    atlas_box = _box(atlas.affine, np.ones(atlas.data.shape[:3], dtype=bool))
    data_box = _box(affine, mask)
    where = f"{atlas.spec.where}: " if atlas.spec.where else ""
    raise AtlasError(
        f"{where}atlas '{atlas.name}' does not overlap the data: no labelled atlas voxel lies "
        f"inside the analysis mask after resampling (atlas spans {atlas_box} mm, mask spans "
        f"{data_box} mm). Check that the atlas and the data are in the same space and that "
        "both images have correct affines."
    )


def _box(affine: np.ndarray, mask: np.ndarray) -> str:
    ijk = np.argwhere(mask)
    if len(ijk) == 0:
        return "nothing"
    corners = nib.affines.apply_affine(affine, np.array([ijk.min(axis=0), ijk.max(axis=0)]))
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    return ", ".join(f"{axis} {a:.0f}..{b:.0f}" for axis, a, b in zip("xyz", lo, hi, strict=True))


def label_tables(
    clusters: pd.DataFrame,
    peaks: pd.DataFrame,
    cluster_labels: np.ndarray,
    *,
    mask: np.ndarray,
    affine: np.ndarray,
    atlases: Sequence[LoadedAtlas],
    top_n: int = DEFAULT_TOP_N,
    prob_threshold: float = DEFAULT_PROB_THRESHOLD,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Add one column per atlas to the clusters and peaks tables.

    Parameters
    ----------
    clusters : DataFrame
        Clusters table (``CLUSTER_COLUMNS`` first; ``cluster_id`` ints).
    peaks : DataFrame
        Peaks table with world coordinates ``peak_x``, ``peak_y``, ``peak_z`` (mm).
    cluster_labels : (v,) ndarray of int
        0 = no cluster, k = the cluster whose ``cluster_id`` is k.
    mask : (X, Y, Z) ndarray of bool
        Analysis mask of the statistic maps.
    affine : (4, 4) ndarray
        Voxel -> world of the statistic maps.
    atlases : sequence of LoadedAtlas
        From :func:`~glmreport.labels.atlas.load_atlases`, in column order.
    top_n : int
        Named regions listed per cluster.
    prob_threshold : float
        Probabilistic atlases: minimum probability in percent (default 5).

    Returns
    -------
    clusters : DataFrame
        Copy with a column per atlas (named ``atlas.name``): composition strings.
    peaks : DataFrame
        Copy with a column per atlas: peak labels.
    notes : list of str
        Unavailable atlases (with how to fetch them), space mismatches, how probabilistic
        atlases were read. For the table notes and the report.

    Raises
    ------
    AtlasError
        An atlas has no labelled voxel inside the mask, or an atlas name clashes with an
        existing column.
    """
    mask = np.asarray(mask, dtype=bool)
    cluster_labels = np.asarray(cluster_labels)
    if cluster_labels.shape != (int(mask.sum()),):
        raise ValueError(
            f"cluster_labels has shape {cluster_labels.shape}; expected ({int(mask.sum())},) "
            "= one value per in-mask voxel"
        )
    clusters = clusters.copy()
    peaks = peaks.copy()
    xyz = peaks.loc[:, list(_COORDS)].to_numpy(dtype=float) if len(peaks) else np.empty((0, 3))
    cluster_ids = [int(k) for k in clusters["cluster_id"]] if len(clusters) else []
    notes: list[str] = []
    for atlas in atlases:
        _check_column_name(atlas, clusters, peaks)
        if not atlas.ok:
            peak_cells = [UNAVAILABLE] * len(peaks)
            cluster_cells = [UNAVAILABLE] * len(clusters)
        else:
            check_overlap(atlas, mask=mask, affine=affine)
            peak_cells = peak_labels(atlas, xyz, prob_threshold=prob_threshold)
            cluster_cells = cluster_compositions(
                atlas,
                cluster_labels,
                cluster_ids,
                mask=mask,
                affine=affine,
                top_n=top_n,
                prob_threshold=prob_threshold,
            )
            if atlas.kind == "probabilistic":
                notes.append(_probabilistic_note(atlas, prob_threshold))
        peaks[atlas.name] = pd.Series(peak_cells, index=peaks.index, dtype=object)
        clusters[atlas.name] = pd.Series(cluster_cells, index=clusters.index, dtype=object)
    if cluster_ids and any(atlas.ok for atlas in atlases):
        absent = [k for k in cluster_ids if not np.any(cluster_labels == k)]
        if absent:
            notes.append(
                f"Cluster composition is unavailable for cluster(s) {', '.join(map(str, absent))}:"
                " their voxels were not passed to the labelling step."
            )
    notes = atlas_notes(atlases) + [n for n in notes if n not in atlas_notes(atlases)]
    return clusters, peaks, notes


def _check_column_name(atlas: LoadedAtlas, clusters: pd.DataFrame, peaks: pd.DataFrame) -> None:
    """Refuse an atlas whose name is already a column of the tables."""
    for table, label in ((clusters, "clusters"), (peaks, "peaks")):
        if atlas.name in table.columns:
            where = f"{atlas.spec.where}: " if atlas.spec.where else ""
            raise AtlasError(
                f"{where}atlas name '{atlas.name}' clashes with the {label} table column "
                f"of the same name; give the atlas another 'name'."
            )


def _probabilistic_note(atlas: LoadedAtlas, prob_threshold: float) -> str:
    """How a probabilistic atlas's labels were read (a table note)."""
    return (
        f"Atlas '{atlas.name}' is probabilistic: peaks list every label with a "
        f"probability of at least {prob_threshold:g}% at the peak; cluster "
        "composition counts each voxel for its most probable label when that "
        f"probability is at least {prob_threshold:g}%."
    )
