"""The demo's atlas: geometric sectors of the bundled brain mask."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd

from glmreport.datasets.demo import template_grid
from glmreport.datasets.demo_atlas import (
    IMAGE,
    LABELS,
    sector_codes,
    sector_names,
    write_demo_atlas,
)


def test_sectors_follow_the_world_coordinates(tmp_path):
    write_demo_atlas(tmp_path)
    mask, affine = template_grid()
    image = nib.load(tmp_path / IMAGE)
    codes = np.asarray(image.dataobj)
    assert np.allclose(image.affine, affine) and codes.dtype == np.uint8
    assert np.array_equal(codes > 0, mask)  # every brain voxel in one sector, none outside
    names = sector_names()
    table = pd.read_csv(tmp_path / LABELS, sep="\t")
    assert dict(zip(table["index"], table["name"], strict=True)) == names
    assert sorted(np.unique(codes[mask])) == sorted(names) and len(names) == 18
    # Voxels checked one by one against the rule in words.
    rng = np.random.default_rng(0)
    inside = np.argwhere(mask)
    for ijk in inside[rng.choice(len(inside), 200, replace=False)]:
        x, y, z = nib.affines.apply_affine(affine, ijk)
        side = "Left" if x < 0 else "Right"
        band_y = "posterior" if y < -30 else ("central" if y < 10 else "anterior")
        band_z = "inferior" if z < 0 else ("middle" if z < 30 else "superior")
        assert names[int(codes[tuple(ijk)])] == f"{side} {band_y} {band_z} sector"
    assert not sector_codes(np.zeros((2, 2, 2), bool), np.eye(4)).any()
