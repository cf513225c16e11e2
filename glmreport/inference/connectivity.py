"""The voxel neighbourhoods clusters are made of: 6, 18 or 26 neighbours.

One definition for every cluster in the package (:mod:`.clusters`, :mod:`.rft`, the
permutation nulls through :mod:`.tfce`): voxels sharing a face (6), a face or an edge (18), or
any corner (26) are neighbours; the same neighbourhoods as
:func:`scipy.ndimage.generate_binary_structure` of rank 1, 2 and 3.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import InferenceError

__all__ = ["CONNECTIVITIES", "neighbour_offsets", "structure"]

#: Allowed neighbourhood sizes -> rank of :func:`scipy.ndimage.generate_binary_structure`.
CONNECTIVITIES = {6: 1, 18: 2, 26: 3}


def _rank(connectivity: int) -> int:
    try:
        return CONNECTIVITIES[int(connectivity)]
    except (KeyError, TypeError, ValueError):
        raise InferenceError(
            f"connectivity must be one of 6 (faces), 18 (faces and edges) or 26 "
            f"(faces, edges and corners); got {connectivity!r}."
        ) from None


def structure(connectivity: int) -> np.ndarray:
    """The 3x3x3 structuring element of a neighbourhood, for :func:`scipy.ndimage.label`.

    Parameters
    ----------
    connectivity : {6, 18, 26}

    Returns
    -------
    (3, 3, 3) ndarray of bool
        True at the centre and at its ``connectivity`` neighbours.

    Raises
    ------
    InferenceError
        Any other connectivity.
    """
    return ndimage.generate_binary_structure(3, _rank(connectivity))


def neighbour_offsets(connectivity: int) -> np.ndarray:
    """The offsets ``(di, dj, dk)`` of a voxel's neighbours, in C order of the 3x3x3 cube.

    Parameters
    ----------
    connectivity : {6, 18, 26}

    Returns
    -------
    (connectivity, 3) ndarray of int
        The True entries of :func:`structure` other than the centre, minus 1.
    """
    offsets = np.argwhere(structure(connectivity)) - 1
    return offsets[np.any(offsets != 0, axis=1)]
