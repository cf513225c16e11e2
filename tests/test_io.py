"""Input reading and atomic output folders."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
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


def test_na_cells_are_missing_and_numbers_in_any_notation(tmp_path):
    (tmp_path / "t.tsv").write_text(
        "path\tsubject\tage\tscore\tsite\tempty\n"
        "a.nii.gz\t01\t30\t1e-3\tx\tn/a\n"
        "b.nii.gz\tn/a\tn/a\t1E+2\t\tn/a\n"
        "c.nii.gz\t03\t41\t.5\ty\t\n"
    )
    table = io.read_inputs_table(InputsSpec(kind="table", table=tmp_path / "t.tsv"))
    assert table["subject"].tolist()[::2] == ["01", "03"]  # identifiers stay text
    assert pd.isna(table["subject"][1]) and pd.isna(table["site"][1])
    np.testing.assert_array_equal(table["age"], [30.0, np.nan, 41.0])  # n/a: still numeric
    assert table["score"].tolist() == [0.001, 100.0, 0.5]
    assert table["empty"].isna().all()


def test_inline_inputs_na_and_missing_path(tmp_path):
    rows = ({"path": "a.nii", "age": "n/a"}, {"path": "b.nii", "age": 1e3})
    table = io.read_inputs_table(InputsSpec(kind="list", rows=rows, base_dir=tmp_path))
    assert np.isnan(table["age"][0]) and table["age"][1] == 1000.0
    (tmp_path / "t.tsv").write_text("path\tage\na.nii\t1\nn/a\t2\n")
    with pytest.raises(InputError, match=r"t.tsv: row 2 has no path"):
        io.read_inputs_table(InputsSpec(kind="table", table=tmp_path / "t.tsv"))


def test_duplicate_inputs_by_path_link_or_content(tmp_path):
    a = _img(tmp_path / "a.nii.gz", np.ones((4, 4, 4)))
    b = _img(tmp_path / "b.nii.gz", np.zeros((4, 4, 4)))
    digests = io.file_digests([a, b])
    assert digests == [io.sha256(a), io.sha256(b)]
    (tmp_path / "link.nii.gz").symlink_to(a)
    with pytest.raises(InputError, match=r"input 1 \(.*a.nii.gz\) and input 3 \(.*link.nii.gz\) "):
        io.file_digests([a, b, tmp_path / "link.nii.gz"])
    (tmp_path / "copy.nii.gz").write_bytes(b.read_bytes())
    with pytest.raises(InputError, match=r"input 2 .* and input 3 .* have identical content"):
        io.file_digests([a, b, tmp_path / "copy.nii.gz"], what="input")


def test_truncated_and_oversized_images(tmp_path):
    good = _img(tmp_path / "a.nii.gz", np.ones((20, 20, 20)))
    cut = _img(tmp_path / "cut.nii.gz", np.random.default_rng(0).normal(size=(20, 20, 20)))
    raw = cut.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match=r"cut.nii.gz: the image data cannot be read"):
        io.load_images([good, cut])
    short = _img(tmp_path / "short.nii", np.ones((4, 4, 4)))
    short.write_bytes(short.read_bytes()[:-10])
    with pytest.raises(
        InputError,
        match=r"short.nii: .* 64 voxels of float32 \(608 bytes .* the file has 598 bytes",
    ):
        io.load_image(short)
    header = nib.Nifti1Header()
    header.set_data_shape((1000, 1000, 1000))
    header.set_data_dtype(np.float32)
    header.set_data_offset(352)
    (tmp_path / "big.nii").write_bytes(header.binaryblock + b"\0" * 100)
    with pytest.raises(
        InputError, match=r"shape \(1000, 1000, 1000\) \(1,000,000,000 voxels per volume\)"
    ):
        io.load_image(tmp_path / "big.nii")
