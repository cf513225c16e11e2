"""Writing the results folder: atomic staging and JSON."""

from __future__ import annotations

import gzip
import json

import nibabel as nib
import numpy as np
import pytest

from glmreport.errors import OutputError
from glmreport.outputs.derivative import dataset_description
from glmreport.outputs.write import gzip_bytes, staged_output, write_json, write_nifti


def test_staged_output_is_atomic(tmp_path):
    out = tmp_path / "results"
    with pytest.raises(RuntimeError):
        with staged_output(out, overwrite=False) as stage:
            (stage / "summary.json").write_text("{}")
            raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    with staged_output(out, overwrite=False) as stage:
        (stage / "summary.json").write_text("{}")
    assert (out / "summary.json").exists()
    # not marked as written by glmreport: never replaced
    with pytest.raises(OutputError, match="no dataset_description.json naming glmreport"):
        with staged_output(out, overwrite=True):
            pass
    write_json(out / "dataset_description.json", dataset_description("t"))
    with pytest.raises(OutputError, match="already exists; pass --overwrite"):
        with staged_output(out, overwrite=False):
            pass
    with staged_output(out, overwrite=True) as stage:
        (stage / "new.txt").write_text("x")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no lock, stage or copy


def test_json_non_finite_to_null(tmp_path):
    write_json(tmp_path / "a.json", {"x": float("inf"), "y": np.float32(1.5), "z": np.arange(2)})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": None, "y": 1.5, "z": [0, 1]}


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int32])
def test_nifti_gz_holds_the_bytes_nibabel_writes(tmp_path, dtype):
    """A ``.nii.gz`` is one gzip member whose content is, byte for byte, the ``.nii`` that
    nibabel writes for the same image (only the deflate strategy differs)."""
    rng = np.random.default_rng(0)
    data = np.zeros((9, 8, 7), dtype=np.float32)
    data[2:7, 2:6, 1:6] = rng.normal(size=(5, 4, 5)) * 40
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-9, -8, -7]
    write_nifti(tmp_path / "a.nii.gz", data, affine, dtype=dtype)
    write_nifti(tmp_path / "a.nii", data, affine, dtype=dtype)
    packed = (tmp_path / "a.nii.gz").read_bytes()
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == (tmp_path / "a.nii").read_bytes()
    img = nib.load(tmp_path / "a.nii.gz")
    assert img.get_data_dtype() == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(img.dataobj), data.astype(dtype))
    np.testing.assert_array_equal(img.affine, affine)
    assert int(img.header["sform_code"]) == 1 and int(img.header["qform_code"]) == 1
    assert gzip_bytes(b"") and gzip.decompress(gzip_bytes(b"abc" * 1000)) == b"abc" * 1000


def _nibabel_bytes(data, affine, dtype) -> bytes:
    """What ``nibabel.save`` writes for the image, as ``write_nifti`` used to build it."""
    data = np.asarray(data)
    if dtype is None:
        dtype = np.uint8 if data.dtype == bool else np.float32
    img = nib.Nifti1Image(data.astype(dtype), affine)
    img.header.set_sform(affine, 1)
    img.header.set_qform(affine, 1)
    img.header.set_xyzt_units(xyz="mm")
    return img.to_bytes()


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_nifti_files_are_the_bytes_nibabel_saves(tmp_path):
    """The header made once per grid, type and affine and the data laid after it: every file
    equals, byte for byte, nibabel's own ``save`` of the same image (3D and 4D, float32, uint8,
    int16 and float64 data, booleans, NaN and infinities, oblique affines, C- and
    Fortran-ordered and non-contiguous input, headers reused from the cache)."""
    rng = np.random.default_rng(11)
    oblique = np.array(
        [[1.9, 0.2, 0.0, -80.0], [-0.1, 2.1, 0.3, -110.0], [0, -0.2, 2.5, -70], [0, 0, 0, 1]]
    )
    for affine in (np.diag([2.0, 2.0, 2.0, 1.0]), oblique, oblique):  # the third: cached
        for shape in ((9, 8, 7), (5, 6, 4, 3)):
            values = rng.normal(size=shape) * 30
            values.flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
            cases = [
                (values.astype(np.float32), None),
                (values, None),  # float64 written as float32
                (values > 0, None),  # booleans as uint8
                (np.asfortranarray(values), np.float64),
                (values[..., ::-1], np.int16),  # a strided view
                (np.round(np.abs(np.nan_to_num(values))), np.uint8),
            ]
            for data, dtype in cases:
                for name in ("a.nii", "a.nii.gz"):
                    write_nifti(tmp_path / name, data, affine, dtype=dtype)
                expected = _nibabel_bytes(data, affine, dtype)
                assert (tmp_path / "a.nii").read_bytes() == expected
                assert gzip.decompress((tmp_path / "a.nii.gz").read_bytes()) == expected


@pytest.mark.parametrize("deflater", ["isal", "zlib"])
def test_gzip_bytes_by_isal_or_zlib_read_back_the_same(monkeypatch, deflater):
    """Either deflater writes one gzip member with modification time 0 and no name."""
    from glmreport.outputs import write

    if deflater == "isal":
        pytest.importorskip("isal")
    else:
        monkeypatch.setattr(write, "_isal_zlib", None)
    rng = np.random.default_rng(3)
    volume = np.zeros((40, 30, 20), np.float32)
    volume[5:30, 5:25, 3:17] = rng.standard_normal((25, 20, 14))
    raw = volume.tobytes()
    packed = gzip_bytes(raw)
    assert gzip.decompress(packed) == raw
    assert packed[:4] == b"\x1f\x8b\x08\x00" and packed[4:8] == bytes(4)  # no flags, mtime 0
    assert len(packed) < 0.7 * len(raw)
    expected_os = {"isal": 255, "zlib": 3}[deflater]  # which deflater wrote it
    assert packed[9] == expected_os


def test_float_tables_are_written_as_pandas_writes_them(tmp_path):
    """The fast path for all-float64 tables gives pandas' to_csv text byte for byte."""
    import pandas as pd

    from glmreport.outputs.write import _float_tsv, write_tsv

    rng = np.random.default_rng(5)
    values = rng.standard_normal((40, 6)) * 10.0 ** rng.integers(-20, 20, (40, 6))
    values[0] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-320]
    values[1] = [1.0, 123456.5, 1234567.0, 0.1 + 0.2, -1e-5, 2.0**60]
    frame = pd.DataFrame(values, columns=["face", "house", "trans_x", "a b", "ü", "constant"])
    expected = frame.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.6g")
    assert _float_tsv(frame) == expected
    write_tsv(tmp_path / "design.tsv", frame)
    assert (tmp_path / "design.tsv").read_bytes() == expected.encode("utf-8")
    no_nan = frame.fillna(7.25)  # formatted a row at a time
    assert _float_tsv(no_nan) == no_nan.to_csv(
        sep="\t", index=False, na_rep="n/a", float_format="%.6g"
    )
    assert (
        _float_tsv(no_nan.iloc[:0])
        == "\t".join(frame.columns) + "\n"
        == no_nan.iloc[:0].to_csv(sep="\t", index=False, float_format="%.6g")
    )
    # anything else goes through pandas: other dtypes, names the csv writer quotes
    mixed = frame.assign(name="x")
    quoted = frame.rename(columns={"face": 'fa"ce'})
    odd_labels = [
        frame.rename(columns={"face": ""}),
        frame.set_axis([0.1234567, *frame.columns[1:]], axis=1),
        frame.set_axis(pd.MultiIndex.from_product([["a"], list(frame.columns)]), axis=1),
    ]
    for other in (mixed, quoted, frame.astype({"face": np.float32}), pd.DataFrame(), *odd_labels):
        assert _float_tsv(other) is None
    write_tsv(tmp_path / "quoted.tsv", quoted)
    assert (tmp_path / "quoted.tsv").read_text() == quoted.to_csv(
        sep="\t", index=False, na_rep="n/a", float_format="%.6g"
    )
