"""The demo's atlas: a coarse geometric partition of the bundled template's brain mask.

The demo runs offline, so it cannot count on a TemplateFlow atlas being in the local cache;
and the atlases of the registry carry licences of their own. It labels its tables with
*sectors* instead: 18 boxes of the MNI152NLin2009cAsym brain, cut by the sign of x (left,
right), by y (anterior y >= 10 mm, central -30 <= y < 10 mm, posterior y < -30 mm) and by z
(superior z >= 30 mm, middle 0 <= z < 30 mm, inferior z < 0 mm). They are coordinates in
words, not anatomical regions, and say so in their names. Made from the bundled mask alone,
they are under the template's licence (``atlases/LICENSE-MNI152NLin2009cAsym.txt``).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.affines import apply_affine

from ..outputs.write import write_nifti
from ..resources import template_image

#: Files written into the demo folder (relative to its config).
IMAGE = "data/atlas-demosectors_dseg.nii.gz"
LABELS = "data/atlas-demosectors_dseg.tsv"
#: Column name of the atlas in the tables.
NAME = "demo sectors"

_SIDES = ("Left", "Right")
_Y_BANDS = (("posterior", -np.inf, -30.0), ("central", -30.0, 10.0), ("anterior", 10.0, np.inf))
_Z_BANDS = (("inferior", -np.inf, 0.0), ("middle", 0.0, 30.0), ("superior", 30.0, np.inf))


def sector_names() -> dict[int, str]:
    """Code -> name of every sector, e.g. ``3: "Left posterior superior sector"``."""
    names = {}
    for s, side in enumerate(_SIDES):
        for y, (y_name, _, _) in enumerate(_Y_BANDS):
            for z, (z_name, _, _) in enumerate(_Z_BANDS):
                names[1 + z + 3 * y + 9 * s] = f"{side} {y_name} {z_name} sector"
    return names


def sector_codes(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """The sector code of every voxel of ``mask`` (0 outside it), from its world coordinates."""
    ijk = np.indices(mask.shape).reshape(3, -1).T
    x, y, z = apply_affine(affine, ijk).T
    side = (x > 0).astype(int)
    y_band = np.digitize(y, [-30.0, 10.0])
    z_band = np.digitize(z, [0.0, 30.0])
    codes = (1 + z_band + 3 * y_band + 9 * side).reshape(mask.shape)
    return np.where(mask, codes, 0).astype(np.uint8)


def write_demo_atlas(folder: Path) -> None:
    """Write the sectors image and its label table (``index``, ``name``) into ``folder``."""
    img = nib.load(template_image("mask"))
    mask = np.asarray(img.dataobj) > 0
    codes = sector_codes(mask, img.affine)
    (folder / IMAGE).parent.mkdir(parents=True, exist_ok=True)
    write_nifti(folder / IMAGE, codes, img.affine, dtype=np.uint8)
    rows = "".join(f"{code}\t{name}\n" for code, name in sector_names().items())
    (folder / LABELS).write_text("index\tname\n" + rows, encoding="utf-8")


#: The demo config's atlas entry (appended to its YAML).
CONFIG_ENTRY = f"""\
# The demo's atlas: 18 geometric sectors of the bundled template's brain (left/right x
# posterior/central/anterior x inferior/middle/superior), coordinates in words rather than
# anatomical regions, under the template's licence; glmreport.datasets.demo_atlas makes it.
atlases:
  - {{file: {IMAGE}, labels: {LABELS}, name: {NAME}, space: MNI152NLin2009cAsym}}
"""
