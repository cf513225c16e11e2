"""Input reading and atomic output folders."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from glmreport import io, safety
from glmreport.config import InputsSpec
from glmreport.errors import InputError, OutputError


def _img(path: Path, data: np.ndarray, affine=None) -> Path:
    nib.save(
        nib.Nifti1Image(data.astype(np.float32), np.eye(4) if affine is None else affine), path
    )
    return path


def test_inputs_table_tsv_relative_paths_and_types(tmp_path):
    (tmp_path / "t.tsv").write_text("path\tsubject\tage\na.nii.gz\t01\t30\nb.nii.gz\t02\t41\n")
    table = io.read_inputs_table(InputsSpec(kind="table", table=tmp_path / "t.tsv"))
    assert table["path"].tolist() == [str(tmp_path / "a.nii.gz"), str(tmp_path / "b.nii.gz")]
    assert table["subject"].tolist() == ["01", "02"]  # identifiers stay text
    assert table["age"].tolist() == [30.0, 41.0]


def test_inputs_table_without_path_column(tmp_path):
    (tmp_path / "t.csv").write_text("file,age\na.nii,3\n")
    with pytest.raises(InputError, match="no 'path' column; its columns are: file, age"):
        io.read_inputs_table(InputsSpec(kind="table", table=tmp_path / "t.csv"))


def test_inputs_glob_bids_entities(tmp_path):
    for sub in ("01", "02"):
        for cond in ("faces", "houses"):
            d = tmp_path / f"sub-{sub}"
            d.mkdir(exist_ok=True)
            (d / f"sub-{sub}_task-x_desc-{cond}_effect.nii.gz").write_bytes(b"")
    table = io.read_inputs_table(
        InputsSpec(kind="glob", pattern="sub-*/*_desc-*_effect.nii.gz", base_dir=tmp_path)
    )
    assert len(table) == 4
    assert table["sub"].tolist() == ["01", "01", "02", "02"]
    assert table["desc"].tolist() == ["faces", "houses", "faces", "houses"]
    assert table["task"].unique().tolist() == ["x"]


def test_glob_without_match(tmp_path):
    with pytest.raises(InputError, match="no file matches"):
        io.read_inputs_table(InputsSpec(kind="glob", pattern="*.nii", base_dir=tmp_path))


def test_load_images_errors(tmp_path):
    good = _img(tmp_path / "a.nii.gz", np.ones((4, 4, 4)))
    with pytest.raises(InputError, match="input file not found"):
        io.load_images([good, tmp_path / "missing.nii.gz"])
    (tmp_path / "text.nii.gz").write_text("not an image")
    with pytest.raises(InputError, match="not a readable NIfTI image"):
        io.load_images([good, tmp_path / "text.nii.gz"])
    other = _img(tmp_path / "b.nii.gz", np.ones((4, 4, 5)))
    with pytest.raises(InputError, match=r"share shape and affine.*b\.nii\.gz \(shape \(4, 4, 5\)"):
        io.load_images([good, other])
    moved = _img(tmp_path / "c.nii.gz", np.ones((4, 4, 4)), np.diag([2.0, 2, 2, 1]))
    with pytest.raises(InputError, match="affine different"):
        io.load_images([good, moved])
    four = _img(tmp_path / "d.nii.gz", np.ones((4, 4, 4, 3)))
    with pytest.raises(InputError, match="4D with 3 volumes"):
        io.load_images([good, four])
    nan = _img(tmp_path / "e.nii.gz", np.full((4, 4, 4), np.nan))
    with pytest.raises(InputError, match="no finite value"):
        io.load_images([good, nan])


def test_single_volume_4d_accepted(tmp_path):
    one = _img(tmp_path / "one.nii.gz", np.arange(64.0).reshape(4, 4, 4, 1))
    data, affine = io.load_images([one])
    assert data.shape == (1, 4, 4, 4)
    assert data[0, 3, 3, 3] == 63.0


def test_staged_output_is_atomic(tmp_path):
    out = tmp_path / "results"
    with pytest.raises(RuntimeError):
        with io.staged_output(out, overwrite=False) as stage:
            (stage / "summary.json").write_text("{}")
            raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    with io.staged_output(out, overwrite=False) as stage:
        (stage / "summary.json").write_text("{}")
    assert (out / "summary.json").exists()
    # not marked as written by glmreport: never replaced
    with pytest.raises(OutputError, match="no dataset_description.json naming glmreport"):
        with io.staged_output(out, overwrite=True):
            pass
    io.write_json(out / "dataset_description.json", safety.dataset_description("t"))
    with pytest.raises(OutputError, match="already exists; pass --overwrite"):
        with io.staged_output(out, overwrite=False):
            pass
    with io.staged_output(out, overwrite=True) as stage:
        (stage / "new.txt").write_text("x")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no lock, stage or copy


def test_json_non_finite_to_null(tmp_path):
    io.write_json(tmp_path / "a.json", {"x": float("inf"), "y": np.float32(1.5), "z": np.arange(2)})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": None, "y": 1.5, "z": [0, 1]}
