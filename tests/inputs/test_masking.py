"""The analysis mask: one build_mask for every level (auto, EPI and mask-file rules)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from glmreport.errors import InputError
from glmreport.inputs.masking import (
    AUTO_MASK_RULE,
    EPI_MASK_RULE,
    FILE_MASK_RULE,
    FINITE_RULE,
    Masker,
    auto_mask,
    build_mask,
    check_mask,
    compute_epi_mask,
    mask_from_file,
    voxel_sizes,
)


def test_auto_mask_rule():
    vols = np.ones((3, 4, 4, 4), dtype=np.float32)
    vols[0, 0, 0, 0] = 0.0
    vols[1, 1, 1, 1] = np.nan
    vols[2, 2, 2, 2] = np.inf
    mask = auto_mask(vols)
    assert mask.sum() == 64 - 3
    assert not mask[0, 0, 0] and not mask[1, 1, 1] and not mask[2, 2, 2]


def test_masker_round_trip():
    rng = np.random.default_rng(0)
    mask = rng.random((5, 6, 7)) > 0.5
    masker = Masker(mask=mask, affine=np.eye(4))
    vols = rng.standard_normal((3, 5, 6, 7))
    x = masker.transform(vols)
    assert x.shape == (3, mask.sum())
    back = masker.inverse(x)
    assert back.shape == (5, 6, 7, 3)
    np.testing.assert_array_equal(back[mask], vols[:, mask].T)
    assert np.all(back[~mask] == 0)


def test_mask_file_nearest_onto_a_coarser_grid(tmp_path):
    mask = np.zeros((20, 20, 20), dtype=np.uint8)
    mask[4:12, 4:12, 4:12] = 1
    path = tmp_path / "mask.nii.gz"
    nib.save(nib.Nifti1Image(mask, np.diag([1.0, 1.0, 1.0, 1.0])), path)
    out = mask_from_file(path, (10, 10, 10), np.diag([2.0, 2.0, 2.0, 1.0]))
    # coarse voxel k sits at fine index 2k: inside for 2k in [4, 11] -> k in [2, 5]
    expected = np.zeros((10, 10, 10), dtype=bool)
    expected[2:6, 2:6, 2:6] = True
    np.testing.assert_array_equal(out, expected)


def test_voxel_sizes_are_column_norms():
    affine = np.array([[0.0, 2.0, 0, 0], [3.0, 0, 0, 0], [0, 0, -4.0, 0], [0, 0, 0, 1]])
    np.testing.assert_allclose(voxel_sizes(affine), [3.0, 2.0, 4.0])


def _volumes():
    vols = np.ones((3, 6, 6, 6), dtype=np.float32)
    vols[:, 0] = 0.0  # one face outside every image
    vols[1, 5, 5, 5] = np.nan
    return vols


def test_build_mask_auto_for_images(tmp_path):
    mask, info = build_mask("auto", affine=np.eye(4), volumes=_volumes())
    assert info == {"source": "auto", "rule": AUTO_MASK_RULE, "n_voxels": 5 * 36 - 1}
    assert not mask[0].any() and not mask[5, 5, 5]


def test_build_mask_file_for_images_keeps_finite_voxels(tmp_path):
    path = tmp_path / "mask.nii.gz"
    given = np.zeros((6, 6, 6), dtype=np.uint8)
    given[3:, :, :] = 1
    nib.save(nib.Nifti1Image(given, np.eye(4)), path)
    mask, info = build_mask(path, affine=np.eye(4), volumes=_volumes())
    assert info["rule"] == FILE_MASK_RULE + FINITE_RULE and info["source"] == str(path)
    assert info["n_voxels"] == 3 * 36 - 1 and not mask[5, 5, 5] and mask[3, 0, 0]
    nan = np.full((1, 6, 6, 6), np.nan, dtype=np.float32)
    with pytest.raises(InputError, match="does not overlap"):
        build_mask(path, affine=np.eye(4), volumes=nan)


def _run(tmp_path, name, rng, brain):
    data = rng.normal(5.0, 1.0, (*brain.shape, 4))
    data[brain] += 100.0
    path = tmp_path / name
    nib.save(nib.Nifti1Image(data.astype(np.float32), np.diag([3.0, 3.0, 3.0, 1.0])), path)
    return nib.load(path), str(path)


def test_build_mask_for_runs_is_the_epi_mask_of_their_mean(tmp_path):
    rng = np.random.default_rng(1)
    _, brain = _brain_volume(rng)
    runs = [_run(tmp_path, f"run{i}.nii.gz", rng, brain) for i in (1, 2)]
    mask, info = build_mask("auto", affine=runs[0][0].affine, runs=runs)
    assert info["rule"] == EPI_MASK_RULE and info["n_voxels"] == int(mask.sum())
    assert 2 * (mask & brain).sum() / (mask.sum() + brain.sum()) > 0.95
    path = tmp_path / "mask.nii.gz"
    nib.save(nib.Nifti1Image(brain.astype(np.uint8), runs[0][0].affine), path)
    from_file, info = build_mask(path, affine=runs[0][0].affine, runs=runs)
    np.testing.assert_array_equal(from_file, brain)
    assert info["rule"] == FILE_MASK_RULE


def test_build_mask_needs_one_kind_of_input():
    with pytest.raises(ValueError, match="exactly one"):
        build_mask("auto", affine=np.eye(4))


def test_empty_mask_is_an_error():
    with pytest.raises(InputError, match="contains no voxel"):
        check_mask(np.zeros((2, 2, 2), dtype=bool), source="auto")


def _brain_volume(rng, shape=(20, 22, 16)):
    ii, jj, kk = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    centre = np.array(shape) / 2 - 0.5
    r = ((ii - centre[0]) / 8) ** 2 + ((jj - centre[1]) / 9) ** 2 + ((kk - centre[2]) / 6) ** 2
    brain = r <= 1
    vol = rng.normal(5.0, 1.0, shape)  # background noise
    vol[brain] = rng.normal(100.0, 5.0, brain.sum())
    return vol, brain


def test_compute_epi_mask_recovers_brain():
    rng = np.random.default_rng(3)
    vol, brain = _brain_volume(rng)
    vol[10, 11, 8] = 5.0  # dark hole inside the brain
    vol[0, 0, 0] = 120.0  # isolated bright voxel outside
    mask = compute_epi_mask(vol)
    assert mask[10, 11, 8] and not mask[0, 0, 0]
    dice = 2 * (mask & brain).sum() / (mask.sum() + brain.sum())
    assert dice > 0.95
    with pytest.raises(InputError, match="constant"):
        compute_epi_mask(np.ones((10, 10, 10)))
