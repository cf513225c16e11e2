"""NIfTI inputs: loading, size bounds, corrupt files, duplicates."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from glmreport.errors import InputError
from glmreport.inputs.images import file_digests, load_image, load_images, sha256


def _img(path: Path, data: np.ndarray, affine=None) -> Path:
    nib.save(
        nib.Nifti1Image(data.astype(np.float32), np.eye(4) if affine is None else affine), path
    )
    return path


def test_load_images_errors(tmp_path):
    good = _img(tmp_path / "a.nii.gz", np.ones((4, 4, 4)))
    with pytest.raises(InputError, match="input file not found"):
        load_images([good, tmp_path / "missing.nii.gz"])
    (tmp_path / "text.nii.gz").write_text("not an image")
    with pytest.raises(InputError, match="not a readable NIfTI image"):
        load_images([good, tmp_path / "text.nii.gz"])
    other = _img(tmp_path / "b.nii.gz", np.ones((4, 4, 5)))
    with pytest.raises(InputError, match=r"share shape and affine.*b\.nii\.gz \(shape \(4, 4, 5\)"):
        load_images([good, other])
    moved = _img(tmp_path / "c.nii.gz", np.ones((4, 4, 4)), np.diag([2.0, 2, 2, 1]))
    with pytest.raises(InputError, match="affine different"):
        load_images([good, moved])
    four = _img(tmp_path / "d.nii.gz", np.ones((4, 4, 4, 3)))
    with pytest.raises(InputError, match="4D with 3 volumes"):
        load_images([good, four])
    nan = _img(tmp_path / "e.nii.gz", np.full((4, 4, 4), np.nan))
    with pytest.raises(InputError, match="no finite value"):
        load_images([good, nan])


def test_single_volume_4d_accepted(tmp_path):
    one = _img(tmp_path / "one.nii.gz", np.arange(64.0).reshape(4, 4, 4, 1))
    data, affine = load_images([one])
    assert data.shape == (1, 4, 4, 4)
    assert data[0, 3, 3, 3] == 63.0


def test_duplicate_inputs_by_path_link_or_content(tmp_path):
    a = _img(tmp_path / "a.nii.gz", np.ones((4, 4, 4)))
    b = _img(tmp_path / "b.nii.gz", np.zeros((4, 4, 4)))
    digests = file_digests([a, b])
    assert digests == [sha256(a), sha256(b)]
    (tmp_path / "link.nii.gz").symlink_to(a)
    with pytest.raises(InputError, match=r"input 1 \(.*a.nii.gz\) and input 3 \(.*link.nii.gz\) "):
        file_digests([a, b, tmp_path / "link.nii.gz"])
    (tmp_path / "copy.nii.gz").write_bytes(b.read_bytes())
    with pytest.raises(InputError, match=r"input 2 .* and input 3 .* have identical content"):
        file_digests([a, b, tmp_path / "copy.nii.gz"], what="input")


def test_truncated_and_oversized_images(tmp_path):
    good = _img(tmp_path / "a.nii.gz", np.ones((20, 20, 20)))
    cut = _img(tmp_path / "cut.nii.gz", np.random.default_rng(0).normal(size=(20, 20, 20)))
    raw = cut.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match=r"cut.nii.gz: the image data cannot be read"):
        load_images([good, cut])
    short = _img(tmp_path / "short.nii", np.ones((4, 4, 4)))
    short.write_bytes(short.read_bytes()[:-10])
    with pytest.raises(
        InputError,
        match=r"short.nii: .* 64 voxels of float32 \(608 bytes .* the file has 598 bytes",
    ):
        load_image(short)
    header = nib.Nifti1Header()
    header.set_data_shape((1000, 1000, 1000))
    header.set_data_dtype(np.float32)
    header.set_data_offset(352)
    (tmp_path / "big.nii").write_bytes(header.binaryblock + b"\0" * 100)
    with pytest.raises(
        InputError, match=r"shape \(1000, 1000, 1000\) \(1,000,000,000 voxels per volume\)"
    ):
        load_image(tmp_path / "big.nii")
