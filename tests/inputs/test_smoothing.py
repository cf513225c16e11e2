"""Gaussian smoothing (checked against nilearn, test-only)."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from glmreport.inputs.smoothing import fwhm_to_sigma, smooth


def test_fwhm_to_sigma_anisotropic():
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    sig = fwhm_to_sigma(8.0, affine)
    np.testing.assert_allclose(sig, 8.0 / np.sqrt(8 * np.log(2)) / np.array([2.0, 3.0, 4.0]))


def test_smoothing_matches_nilearn():
    from nilearn.image import smooth_img  # test-only reference

    rng = np.random.default_rng(3)
    affine = np.diag([2.0, 2.5, 3.0, 1.0])
    data = rng.standard_normal((17, 19, 13)).astype(np.float64)
    data[0, 0, 0] = np.nan
    ref = smooth_img(nib.Nifti1Image(data.copy(), affine), fwhm=6.0).get_fdata()
    ours = smooth(data.copy()[None], affine, 6.0)[0]
    # tolerance: float64 both sides, same separable filter -> round-off only
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_zero_fwhm_is_no_smoothing_and_nan_becomes_zero():
    data = np.arange(27.0).reshape(3, 3, 3)
    assert smooth(data, np.eye(4), 0.0) is data
    spiky = np.zeros((2, 9, 9, 9))
    spiky[:, 4, 4, 4] = 1.0
    spiky[1, 0, 0, 0] = np.nan
    out = smooth(spiky, np.eye(4), 3.0)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[0].sum(), 1.0, atol=1e-6)  # mass kept away from edges
    assert out[0, 4, 4, 4] == out[0].max() < 1.0


def test_a_stack_is_smoothed_on_threads_only_outside_workers(monkeypatch):
    """The same values on the main thread's pool and in one call; a pool's thread (as a worker
    process) filters the stack itself, its peers already keeping the cores busy."""
    from concurrent.futures import ThreadPoolExecutor

    from glmreport.inputs import smoothing

    monkeypatch.setattr(smoothing, "THREADED_SIZE", 1000)
    monkeypatch.setattr(smoothing, "usable_cores", lambda: 3)
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    stack = np.random.default_rng(4).standard_normal((7, 11, 10, 9)).astype(np.float32)
    used = []
    real = smoothing.ThreadPoolExecutor

    def counting(max_workers):
        used.append(max_workers)
        return real(max_workers=max_workers)

    monkeypatch.setattr(smoothing, "ThreadPoolExecutor", counting)
    threaded = smooth(stack.copy(), affine, 5.0)
    assert used == [3]
    with ThreadPoolExecutor(max_workers=1) as pool:
        nested = pool.submit(smooth, stack.copy(), affine, 5.0).result()
    assert used == [3]
    single = np.stack([smooth(v.copy(), affine, 5.0) for v in stack])
    np.testing.assert_array_equal(threaded, single)
    np.testing.assert_array_equal(nested, single)


def test_smoothing_within_a_box_gives_its_voxels_the_whole_volumes_values():
    """Filtering only the box widened by the kernel's radius gives the box's voxels, bit for
    bit, the values of the whole volume's filtering: anisotropic voxels, stacks and single
    volumes, non-finite values inside and outside, boxes at the edges and of one voxel."""
    from glmreport.inputs.smoothing import voxel_box

    rng = np.random.default_rng(8)
    for trial in range(40):
        shape = tuple(int(n) for n in rng.integers(1, 16, size=3))
        affine = np.diag([*rng.uniform(1.0, 4.0, size=3), 1.0])
        fwhm = float(rng.uniform(2.0, 12.0))
        stack = trial % 2 == 0
        data = rng.standard_normal(((3,) if stack else ()) + shape).astype(np.float32)
        data.flat[rng.integers(data.size, size=3)] = [np.nan, np.inf, -np.inf]
        mask = rng.random(shape) < rng.choice([0.01, 0.2, 0.9])
        mask.flat[rng.integers(mask.size)] = True
        box = voxel_box(mask)
        whole = smooth(data.copy(), affine, fwhm)
        part = smooth(data.copy(), affine, fwhm, within=box)
        np.testing.assert_array_equal(part[..., mask], whole[..., mask])
    assert voxel_box(np.zeros((3, 4, 5), bool)) is None
    assert voxel_box(np.pad(np.ones((2, 1, 3), bool), 2)) == (slice(2, 4), slice(2, 3), slice(2, 5))
