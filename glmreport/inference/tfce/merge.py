"""How the basins of a map join into clusters, level by level (the merge tree).

Two basins belong to one cluster at level ``k`` when a chain of touching basins joins them,
each touching pair at a saddle level ``>= k``. Only a maximum spanning forest of the basin
graph (saddle level as weight) matters for that: :func:`forest_edges` finds it with
:func:`scipy.sparse.csgraph.minimum_spanning_tree` (fewer edges than basins), and
:func:`level_components` replays its edges from the top level down with a union-find,
giving the cluster of every basin at every level.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

__all__ = ["forest_edges", "level_components"]


def forest_edges(
    a: np.ndarray, b: np.ndarray, level: np.ndarray, n_basins: int, n_levels: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A maximum spanning forest of the basin graph, by decreasing saddle level.

    Parameters
    ----------
    a, b : (e,) ndarray of int
        Touching basins (each pair at most once in either order).
    level : (e,) ndarray of int
        Their saddle level, ``1 .. n_levels``.
    n_basins, n_levels : int

    Returns
    -------
    a, b, level : (f,) ndarrays of int64
        The forest's edges (``f < n_basins``), sorted by decreasing level.
    """
    if a.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    # weights >= 1 (0 would mean "no edge"); the smallest weight is the highest saddle
    weight = (n_levels + 1 - np.asarray(level, dtype=np.int64)).astype(np.float64)
    graph = sparse.csr_matrix((weight, (a, b)), shape=(n_basins, n_basins))
    tree = csgraph.minimum_spanning_tree(graph).tocoo()
    t_level = n_levels + 1 - np.rint(tree.data).astype(np.int64)
    order = np.argsort(-t_level, kind="stable")
    return (
        tree.row.astype(np.int64)[order],
        tree.col.astype(np.int64)[order],
        t_level[order],
    )


def level_components(
    a: np.ndarray, b: np.ndarray, level: np.ndarray, n_basins: int, n_levels: int
) -> Iterator[tuple[int, np.ndarray]]:
    """The cluster of every basin at each level, from the top level down.

    Parameters
    ----------
    a, b, level : (f,) ndarrays of int
        Forest edges by decreasing level (:func:`forest_edges`).
    n_basins, n_levels : int

    Yields
    ------
    k : int
        Level, ``n_levels`` down to 1.
    comp : (n_basins,) ndarray of int64
        Cluster of each basin at level ``k``, named by its smallest basin (the array is not
        modified afterwards; a new one is yielded when clusters change).
    """
    parent = list(range(n_basins))

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    comp = np.arange(n_basins, dtype=np.int64)
    # ends[k]: number of edges at level >= k
    ends = np.searchsorted(-np.asarray(level), -np.arange(n_levels + 1), side="right").tolist()
    a_list, b_list = np.asarray(a).tolist(), np.asarray(b).tolist()
    done = 0
    for k in range(n_levels, 0, -1):
        if ends[k] > done:
            moved = []
            for i in range(done, ends[k]):
                ra, rb = find(a_list[i]), find(b_list[i])
                if ra != rb:
                    lo, hi = (ra, rb) if ra < rb else (rb, ra)
                    parent[hi] = lo
                    moved.append(hi)
            done = ends[k]
            if moved:
                remap = np.arange(n_basins, dtype=np.int64)
                remap[moved] = [find(x) for x in moved]
                comp = remap[comp]
        yield k, comp
