"""One definition of voxel neighbourhoods: faces (6), edges (18), corners (26)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from glmreport.errors import InferenceError
from glmreport.inference.connectivity import CONNECTIVITIES, neighbour_offsets, structure


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_structure_and_offsets(connectivity):
    s = structure(connectivity)
    assert s.shape == (3, 3, 3) and s[1, 1, 1]
    assert int(s.sum()) == connectivity + 1
    np.testing.assert_array_equal(
        s, ndimage.generate_binary_structure(3, CONNECTIVITIES[connectivity])
    )
    offsets = neighbour_offsets(connectivity)
    assert offsets.shape == (connectivity, 3)
    # squared distances: 1 for faces, 2 for edges, 3 for corners
    d2 = (offsets**2).sum(axis=1)
    assert d2.max() == {6: 1, 18: 2, 26: 3}[connectivity]
    # symmetric: every offset's opposite is there too
    assert {tuple(o) for o in offsets} == {tuple(-o) for o in offsets}


@pytest.mark.parametrize("bad", [4, 27, "26x", None])
def test_other_connectivities_are_refused(bad):
    with pytest.raises(InferenceError, match="6 \\(faces\\), 18 .* or 26"):
        structure(bad)
