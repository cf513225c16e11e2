"""The report's readers: paths resolved inside the folder, damaged files as input errors."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from glmreport import figures
from glmreport.errors import InputError
from glmreport.report.context import Context, load_volume, read_null, read_tsv, slug


def _context(folder: Path, mask: np.ndarray | None = None) -> Context:
    return Context(
        results_dir=folder,
        dpi=50,
        background=figures.load_background(),
        mask=mask,
        mask_affine=None if mask is None else np.eye(4),
        layout=None,
    )


def test_paths_stay_inside(tmp_path: Path):
    ctx = _context(tmp_path)
    assert ctx.path("maps/a.nii.gz", "maps.z") == (tmp_path / "maps/a.nii.gz").resolve()
    assert ctx.path(None, "x") is None and ctx.path("", "x") is None
    with pytest.raises(InputError, match="maps.z: '../a' has a '..' component"):
        ctx.path("../a", "maps.z")


def test_in_mask(tmp_path: Path):
    data = np.arange(8, dtype=float).reshape(2, 2, 2)
    mask = data > 5
    assert list(_context(tmp_path, mask).in_mask(data, np.eye(4))) == [6.0, 7.0]
    assert len(_context(tmp_path).in_mask(data, np.eye(4))) == 7  # non-zero voxels
    assert len(_context(tmp_path, mask).in_mask(data, 2 * np.eye(4))) == 7  # another grid


def test_readers(tmp_path: Path):
    path = tmp_path / "v.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((2, 2, 2, 1), np.float32), np.eye(4)), path)
    data, affine = load_volume(path)
    assert data.shape == (2, 2, 2) and affine.shape == (4, 4)
    assert load_volume(tmp_path / "missing.nii.gz") is None and read_tsv(None) is None
    (tmp_path / "bad.nii.gz").write_bytes(b"not an image")
    with pytest.raises(InputError, match="bad.nii.gz is not a readable NIfTI image"):
        load_volume(tmp_path / "bad.nii.gz")
    (tmp_path / "empty.tsv").write_text("")
    assert read_tsv(tmp_path / "empty.tsv").empty
    (tmp_path / "t.tsv").write_text("cluster_id\tx\n01\t2\n")
    assert read_tsv(tmp_path / "t.tsv")["cluster_id"].tolist() == ["01"]  # ids stay text
    np.savez(tmp_path / "a.npz", null=np.arange(3))
    assert read_null(tmp_path / "a.npz").tolist() == [0, 1, 2]
    np.savez(tmp_path / "b.npz", other=np.arange(3))
    assert read_null(tmp_path / "b.npz") is None
    (tmp_path / "c.npz").write_bytes(b"junk")
    with pytest.raises(InputError, match="c.npz is not a readable .npz file"):
        read_null(tmp_path / "c.npz")
    assert slug("<b> c/d") == "b-c-d" and slug("!!!") == "x"
