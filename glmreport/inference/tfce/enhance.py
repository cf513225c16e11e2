"""Threshold-free cluster enhancement of a map, and its largest value."""

from __future__ import annotations

import numpy as np

from ...errors import InferenceError
from .graph import NeighbourGraph
from .kernel import tfce_table

__all__ = ["tfce", "tfce_max"]


def tfce(
    stat: np.ndarray,
    graph: NeighbourGraph,
    *,
    E: float = 0.5,
    H: float = 2.0,
    dh: float | str = "auto",
    two_sided: bool = True,
) -> np.ndarray:
    """Threshold-free cluster enhancement of a statistic map.

    Parameters
    ----------
    stat : (v,) ndarray
        In-mask statistic map (t, z or F).
    graph : NeighbourGraph
        Neighbourhood of the mask (:func:`neighbour_graph`), defining connectivity.
    E, H : float
        Extent and height exponents.
    dh : 'auto' or float
        Height step (``'auto'``: 100 steps up to the map's maximum).
    two_sided : bool
        If True, negative values get negative TFCE computed on ``-stat``; otherwise only
        positive values are enhanced and the others get 0.

    Returns
    -------
    (v,) ndarray of float64
        TFCE values, equal to nilearn's ``calculate_tfce`` for the same connectivity.
    """
    stat = np.asarray(stat)
    if stat.shape != (graph.n_voxels,):
        raise InferenceError(
            f"TFCE statistic map must have shape ({graph.n_voxels},); got {stat.shape}."
        )
    slev, basin, table, _ = tfce_table(stat, graph, E=E, H=H, dh=dh, two_sided=two_sided)
    out = np.zeros(graph.n_voxels)
    fg = basin >= 0
    out[fg] = table[np.abs(slev[fg]).astype(np.int64), basin[fg]]
    if two_sided:
        np.negative(out, out=out, where=slev < 0)
    return out


def tfce_max(
    stat: np.ndarray,
    graph: NeighbourGraph,
    *,
    E: float = 0.5,
    H: float = 2.0,
    dh: float | str = "auto",
    two_sided: bool = True,
) -> float:
    """Largest ``|TFCE|`` of a map (the statistic of a TFCE max-statistic null).

    Parameters are those of :func:`tfce`.

    Returns
    -------
    float
        ``max(abs(tfce(stat, ...)))``, without filling the voxel map (the maximum is at a
        basin's top).
    """
    stat = np.asarray(stat)
    if stat.shape != (graph.n_voxels,):
        raise InferenceError(
            f"TFCE statistic map must have shape ({graph.n_voxels},); got {stat.shape}."
        )
    _, _, table, top = tfce_table(stat, graph, E=E, H=H, dh=dh, two_sided=two_sided)
    if top.size == 0:
        return 0.0
    return float(table[top, np.arange(top.size)].max())
