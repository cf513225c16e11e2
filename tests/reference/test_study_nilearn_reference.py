"""The nilearn study pipeline finds the synthetic study's planted effects.

This guards the dataset the study-level comparison relies on: with the default
``write_study`` (8 subjects x 2 runs) and the default nilearn pipeline (glover, cosine 0.01 Hz,
AR(1), 5 mm smoothing, six motion parameters with expansions), face > house peaks within one
voxel of ``FACE_BLOB_CENTER_MM`` with z > 5, house > face at the house blob with z < -4.5, and
the subjects' effects at the face peak are in percent signal change near ``FACE_AMPLITUDE``
(smoothing lowers the peak).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nibabel.affines import apply_affine

pytest.importorskip("nilearn")
from fixtures.study_nilearn import nilearn_group_z  # noqa: E402

from glmreport.datasets.study import FACE_AMPLITUDE, FACE_BLOB_CENTER_MM, HOUSE_BLOB, write_study


@pytest.mark.slow
def test_nilearn_pipeline_detects_the_planted_effects(tmp_path: Path):
    result = nilearn_group_z(write_study(tmp_path / "bids"))
    z = np.asarray(result.z.dataobj, dtype=float)
    mask = np.asarray(result.mask.dataobj) > 0
    assert 2000 < mask.sum() < 2600  # intersection of 16 run masks, smaller than any one
    assert all(
        mask.sum() < (np.asarray(s["mask"].dataobj) > 0).sum() for s in result.subjects.values()
    )
    peak = apply_affine(result.z.affine, np.unravel_index(np.argmax(z), z.shape))
    assert z.max() > 5.0
    assert np.abs(peak - FACE_BLOB_CENTER_MM).max() <= 4.0  # one voxel
    trough = apply_affine(result.z.affine, np.unravel_index(np.argmin(z), z.shape))
    assert z.min() < -4.5 and np.abs(trough - HOUSE_BLOB.center).max() <= 4.0
    centre = tuple(
        np.round(apply_affine(np.linalg.inv(result.z.affine), FACE_BLOB_CENTER_MM)).astype(int)
    )
    effects = [float(np.asarray(s["effect"].dataobj)[centre]) for s in result.subjects.values()]
    assert len(effects) == 8
    assert 0.6 * FACE_AMPLITUDE < np.mean(effects) < 1.05 * FACE_AMPLITUDE
    assert (np.abs(z[~mask]) == 0).all()
