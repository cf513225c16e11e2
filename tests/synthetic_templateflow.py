"""A small synthetic TemplateFlow tree: the real layout and grids, made-up anatomy and labels.

:func:`build_templateflow_tree` writes the files that glmreport and its tests ask TemplateFlow
for, under the names, grids (shape and 2 mm affine of each template's ``res-02``), data types
and header codes of the real files, so ``templateflow.api.get`` resolves them offline exactly
as it resolves a real ``TEMPLATEFLOW_HOME``::

    tpl-MNI152NLin6Asym/
        template_description.json
        LICENSE
        tpl-MNI152NLin6Asym_res-02_T1w.nii.gz
        tpl-MNI152NLin6Asym_res-02_desc-brain_mask.nii.gz
        tpl-MNI152NLin6Asym_res-02_atlas-HOCPA_desc-th25_dseg.nii.gz
        tpl-MNI152NLin6Asym_atlas-HOCPA_dseg.tsv
    tpl-MNI152NLin2009cAsym/
        template_description.json
        LICENSE
        tpl-MNI152NLin2009cAsym_res-02_T1w.nii.gz
        tpl-MNI152NLin2009cAsym_res-02_desc-brain_mask.nii.gz

Nothing in it comes from a real template or atlas. The "brain" is one ellipsoid, defined in
world coordinates so that both templates' masks cover the same place. The "atlas" (standing in
for Harvard-Oxford cortical, ``atlas-HOCPA``) labels the outer shell of that ellipsoid with
twelve regions, ``Region A`` ... ``Region L``: hemisphere (x < 0, x >= 0) x three y slabs
(cut at y = -20 and y = 20 mm) x two z slabs (cut at z = 4 mm); the core (relative radius
below 0.5) has no label. :func:`region_code` gives the code of any world point, so a test can
state which region a coordinate must fall in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

__all__ = [
    "BRAIN_CENTRE",
    "BRAIN_RADII",
    "HOCPA",
    "HOCPA_TSV",
    "REGION_NAMES",
    "TEMPLATES",
    "build_templateflow_tree",
    "region_code",
    "relative_radius",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Grid:
    """The ``res-02`` grid of a template (as in its ``template_description.json``)."""

    shape: tuple[int, int, int]
    origin: tuple[float, float, float]

    @property
    def affine(self) -> np.ndarray:
        """Voxel -> world (mm): 2 mm voxels, RAS, voxel (0, 0, 0) at ``origin``."""
        affine = np.diag([2.0, 2.0, 2.0, 1.0])
        affine[:3, 3] = self.origin
        return affine


#: The real templates' 2 mm grids.
TEMPLATES = {
    "MNI152NLin6Asym": Grid(shape=(91, 109, 91), origin=(-90.0, -126.0, -72.0)),
    "MNI152NLin2009cAsym": Grid(shape=(97, 115, 97), origin=(-96.5, -132.5, -78.5)),
}
#: Centre and semi-axes (mm) of the ellipsoid "brain", about the size of a real one.
BRAIN_CENTRE = (0.0, -17.0, 4.0)
BRAIN_RADII = (70.0, 89.0, 74.0)
#: Relative radius below which the atlas has no label (the "white matter").
CORE = 0.5
#: Relative radius of the outer edge of the "scalp" in the T1w images.
SCALP = 1.12
#: Label names of the synthetic atlas; code ``i + 1`` is ``REGION_NAMES[i]``.
REGION_NAMES = tuple(f"Region {letter}" for letter in "ABCDEFGHIJKL")
_Y_CUTS = (-20.0, 20.0)
_Z_CUT = 4.0

HOCPA = "tpl-MNI152NLin6Asym/tpl-MNI152NLin6Asym_res-02_atlas-HOCPA_desc-th25_dseg.nii.gz"
HOCPA_TSV = "tpl-MNI152NLin6Asym/tpl-MNI152NLin6Asym_atlas-HOCPA_dseg.tsv"

_LICENSE = (
    "Synthetic test data written by glmreport's test suite (tests/synthetic_templateflow.py).\n"
    "It contains no real template or atlas data. No rights reserved (CC0-1.0).\n"
)


def relative_radius(xyz: np.ndarray) -> np.ndarray:
    """Ellipsoidal radius of world points: below 1 inside the brain, 1 on its surface."""
    xyz = np.asarray(xyz, dtype=float)
    scaled = (xyz - np.asarray(BRAIN_CENTRE)) / np.asarray(BRAIN_RADII)
    return np.sqrt((scaled**2).sum(axis=-1))


def region_code(xyz: np.ndarray) -> np.ndarray:
    """Atlas code (0 = no label, 1-12 = ``REGION_NAMES``) of world points ``(..., 3)``."""
    xyz = np.asarray(xyz, dtype=float)
    r = relative_radius(xyz)
    hemi = (xyz[..., 0] >= 0).astype(int)
    y_slab = np.searchsorted(np.asarray(_Y_CUTS), xyz[..., 1], side="right")
    z_slab = (xyz[..., 2] >= _Z_CUT).astype(int)
    code = 1 + 6 * hemi + 2 * y_slab + z_slab
    return np.where((r >= CORE) & (r < 1.0), code, 0).astype(np.int16)


def _world(grid: Grid) -> np.ndarray:
    ijk = np.indices(grid.shape).reshape(3, -1).T
    return nib.affines.apply_affine(grid.affine, ijk).reshape(*grid.shape, 3)


def _save(data: np.ndarray, grid: Grid, path: Path, descrip: str) -> None:
    image = nib.Nifti1Image(data, grid.affine)
    image.header.set_sform(grid.affine, code=4)  # 4 = MNI152, as in TemplateFlow's files
    image.header.set_qform(grid.affine, code=4)
    image.header.set_xyzt_units(xyz="mm")
    image.header["descrip"] = descrip.encode()
    image.to_filename(path)


def _description(template: str, grid: Grid) -> dict[str, object]:
    return {
        "Authors": ["glmreport test suite"],
        "BIDSVersion": "1.1.0",
        "Identifier": template,
        "License": "See LICENSE file",
        "Name": f"Synthetic stand-in for {template} (glmreport tests; no real data)",
        "Species": "Homo sapiens",
        "TemplateFlowVersion": "1.0.0",
        "res": {
            "02": {
                "origin": list(grid.origin),
                "shape": list(grid.shape),
                "zooms": [2.0, 2.0, 2.0],
            }
        },
    }


def _write_template(root: Path, template: str, *, float_t1w: bool) -> Path:
    grid = TEMPLATES[template]
    folder = root / f"tpl-{template}"
    folder.mkdir(parents=True)
    (folder / "template_description.json").write_text(
        json.dumps(_description(template, grid), indent=2) + "\n", encoding="utf-8"
    )
    (folder / "LICENSE").write_text(_LICENSE, encoding="utf-8")
    r = relative_radius(_world(grid))
    brain = r < 1.0
    t1w = np.select([r < CORE, brain, r < SCALP], [80.0, 50.0, 30.0], 0.0)
    prefix = folder / f"tpl-{template}_res-02"
    if float_t1w:
        _save(t1w.astype(np.float32), grid, Path(f"{prefix}_T1w.nii.gz"), "synthetic T1w")
    else:
        t1w_int = (t1w * 100).astype(np.int16)
        _save(t1w_int, grid, Path(f"{prefix}_T1w.nii.gz"), "synthetic T1w")
    mask = brain.astype(np.uint8)
    _save(mask, grid, Path(f"{prefix}_desc-brain_mask.nii.gz"), "synthetic brain mask")
    return folder


def build_templateflow_tree(root: Path) -> Path:
    """Write the synthetic tree into ``root`` (created; must not exist yet).

    Parameters
    ----------
    root : Path
        Folder to use as ``TEMPLATEFLOW_HOME``.

    Returns
    -------
    Path
        ``root``.
    """
    root = Path(root)
    root.mkdir(parents=True)
    _write_template(root, "MNI152NLin2009cAsym", float_t1w=True)
    folder = _write_template(root, "MNI152NLin6Asym", float_t1w=False)
    grid = TEMPLATES["MNI152NLin6Asym"]
    dseg = region_code(_world(grid))
    _save(dseg, grid, root / HOCPA, "synthetic 12-region atlas")
    rows = "".join(f"{code}\t{name}\n" for code, name in enumerate(REGION_NAMES, start=1))
    (folder / Path(HOCPA_TSV).name).write_text("index\tname\n" + rows, encoding="utf-8")
    return root
