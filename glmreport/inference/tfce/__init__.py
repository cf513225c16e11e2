"""Threshold-free cluster enhancement (TFCE) and the voxel neighbourhood it runs on.

TFCE (Smith & Nichols, 2009) gives every voxel the sum, over heights ``h`` up to its own
value, of ``e(h)**E * h**H`` where ``e(h)`` is the size (in voxels) of the cluster of voxels
``>= h`` that contains it. The definition here is nilearn's ``calculate_tfce`` (itself
following ``fslmaths -tfce``), so values are equal to nilearn's on the same map and
connectivity:

- heights ``h_k = k * max / n_steps`` for ``k = 1 .. n_steps``, where ``max`` is the map's
  largest value (largest ``|value|`` two-sided) and ``n_steps`` is 100 for ``dh="auto"``,
  otherwise ``round(max / dh)`` clipped to ``[10, 1000]``;
- a voxel belongs to the supra-threshold set of height ``h_k`` when ``value >= h_k``;
- the contributions are **not** multiplied by ``dh`` (fslmaths' convention);
- two-sided, negative values are enhanced the same way on ``-value`` (same heights) and get
  negative TFCE; one-sided, they get 0.

Modules: :mod:`.graph` (the mask's neighbourhood, connected components of voxel sets),
:mod:`.levels` (heights and each voxel's level), :mod:`.box` (neighbour operations on the
padded bounding box), :mod:`.saddles` (touching basin pairs), :mod:`.kernel` (the clusters of
every height in one sweep, see its docstring) and :mod:`.enhance` (:func:`tfce`,
:func:`tfce_max`).
"""

from .enhance import tfce, tfce_max
from .graph import NeighbourGraph, connected_components, neighbour_graph
from .levels import MAX_STEPS, MIN_STEPS, tfce_heights

__all__ = [
    "MAX_STEPS",
    "MIN_STEPS",
    "NeighbourGraph",
    "connected_components",
    "neighbour_graph",
    "tfce",
    "tfce_heights",
    "tfce_max",
]
