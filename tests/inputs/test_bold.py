"""BOLD runs read one volume at a time."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from glmreport.errors import InputError
from glmreport.inputs.bold import run_mean_image, run_timeseries


def test_run_loading_scaled_int16(tmp_path):
    rng = np.random.default_rng(4)
    shape, n = (6, 5, 4), 12
    data = rng.normal(1000, 50, (*shape, n)).astype(np.float32)
    img = nib.Nifti1Image(np.round(data).astype(np.int16), np.eye(4))
    img.header.set_slope_inter(0.5, 10.0)
    path = tmp_path / "bold.nii.gz"
    nib.save(img, path)
    loaded = nib.load(path)
    expected = np.asarray(loaded.dataobj, dtype=np.float64)
    np.testing.assert_allclose(run_mean_image(loaded), expected.mean(-1), rtol=1e-12)
    mask = np.zeros(shape, bool)
    mask[1:4, 2:, 1:3] = True
    y = run_timeseries(loaded, mask)
    assert y.dtype == np.float32 and y.shape == (n, mask.sum())
    np.testing.assert_allclose(y, expected[mask].T, rtol=1e-6)
    with pytest.raises(InputError, match="does not match the mask"):
        run_timeseries(loaded, np.ones((2, 2, 2), bool))
    # a per-volume transform (e.g. smoothing) sees scaled 3D volumes
    doubled = run_timeseries(loaded, mask, volume_fn=lambda vol: 2 * vol)
    np.testing.assert_allclose(doubled, 2 * y, rtol=1e-6)
    # uncompressed and in-memory images give the same values
    plain = tmp_path / "bold.nii"
    nib.save(img, plain)
    np.testing.assert_array_equal(run_timeseries(nib.load(plain), mask), y)
    in_memory = nib.Nifti1Image(expected.astype(np.float32), np.eye(4))
    np.testing.assert_allclose(run_timeseries(in_memory, mask), y, rtol=1e-6)
    np.testing.assert_allclose(run_mean_image(in_memory), expected.mean(-1), rtol=1e-6)


def test_truncated_bold_is_an_input_error(tmp_path):
    path = tmp_path / "bold.nii.gz"
    data = np.random.default_rng(0).normal(100, 1, (5, 5, 4, 20)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    img = nib.load(path)
    with pytest.raises(InputError, match=r"bold.nii.gz: volume \d+ of 20 cannot be read"):
        run_mean_image(img, source=str(path))
    with pytest.raises(InputError, match="truncated or corrupt"):
        run_timeseries(img, np.ones((5, 5, 4), bool), source=str(path))


def test_gzip_read_by_isal_or_zlib_gives_the_same_data(tmp_path, monkeypatch):
    """The optional isal decompression gives the bytes of nibabel's zlib reader; a corrupt
    stream is an InputError either way."""
    from glmreport.inputs import bold

    pytest.importorskip("isal")
    path = tmp_path / "bold.nii.gz"
    data = np.random.default_rng(2).normal(100, 1, (6, 5, 4, 15)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    mask = np.ones((6, 5, 4), bool)
    with_isal = run_timeseries(nib.load(path), mask)
    mean_isal = run_mean_image(nib.load(path))
    monkeypatch.setattr(bold, "igzip", None)
    np.testing.assert_array_equal(run_timeseries(nib.load(path), mask), with_isal)
    np.testing.assert_array_equal(run_mean_image(nib.load(path)), mean_isal)
    monkeypatch.undo()
    raw = bytearray(path.read_bytes())
    raw[200:260] = bytes(60)  # zeros inside the deflate stream
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="truncated or corrupt"):
        run_timeseries(nib.load(path), mask, source=str(path))


def test_header_with_too_many_scans_is_refused_before_reading(tmp_path):
    from glmreport.inputs.images import load_image

    header = nib.Nifti2Header()  # NIfTI-1 dimensions stop at 32 767
    header.set_data_shape((4, 4, 4, 200_000))
    header.set_data_dtype(np.float32)
    header.set_data_offset(544)
    (tmp_path / "bold.nii").write_bytes(header.binaryblock + b"\0" * 1000)
    with pytest.raises(InputError, match=r"bold.nii: .*\(4, 4, 4, 200000\).* and 100,000 volumes"):
        load_image(tmp_path / "bold.nii", allow_4d=True)


@pytest.mark.parametrize("stack_bytes", [None, 4 * 7 * 6 * 5 * 3])
def test_smoothing_stacks_equals_one_volume_at_a_time(tmp_path, monkeypatch, stack_bytes):
    from glmreport.inputs import bold, smoothing

    rng = np.random.default_rng(8)
    data = np.round(rng.normal(0, 900, (7, 6, 5, 11))).astype(np.int16)
    img = nib.Nifti1Image(data, np.diag([2.0, 3.0, 2.5, 1.0]))
    img.header.set_slope_inter(0.37, 12.5)
    nib.save(img, tmp_path / "bold.nii.gz")
    loaded = nib.load(tmp_path / "bold.nii.gz")
    mask = rng.random((7, 6, 5)) > 0.3
    affine = loaded.affine
    one = run_timeseries(loaded, mask, volume_fn=lambda v: smoothing.smooth(v, affine, 6.0))
    if stack_bytes:  # stacks of 3 volumes (the last one of 2), each split over threads
        monkeypatch.setattr(bold, "STACK_BYTES", stack_bytes)
        monkeypatch.setattr(smoothing, "THREADED_SIZE", 10)
    seen = []

    def stack_fn(vols):
        seen.append(vols.shape)
        return smoothing.smooth(vols, affine, 6.0)

    stacked = run_timeseries(loaded, mask, stack_fn=stack_fn)
    np.testing.assert_array_equal(stacked, one)  # the same numbers, bit for bit
    assert seen == ([(11, 7, 6, 5)] if stack_bytes is None else [(3, 7, 6, 5)] * 3 + [(2, 7, 6, 5)])
    assert not np.array_equal(one, run_timeseries(loaded, mask))  # smoothing did something
    with pytest.raises(ValueError, match="not both"):
        run_timeseries(loaded, mask, volume_fn=abs, stack_fn=abs)


def test_a_set_cancel_event_stops_reading(tmp_path):
    """Reading stops with ReadCancelled once its event is set; unset, it reads as without."""
    import threading

    from glmreport.inputs.bold import ReadCancelled

    path = tmp_path / "bold.nii.gz"
    data = np.random.default_rng(4).normal(100, 1, (6, 5, 4, 10)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    mask = np.ones((6, 5, 4), bool)
    event = threading.Event()
    np.testing.assert_array_equal(
        run_timeseries(nib.load(path), mask, cancel=event), run_timeseries(nib.load(path), mask)
    )
    event.set()
    with pytest.raises(ReadCancelled):
        run_timeseries(nib.load(path), mask, cancel=event)
