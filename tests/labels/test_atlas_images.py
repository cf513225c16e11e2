"""Atlas images: reading, integer codes, probability scales and names matched to values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.atlas_files import save_image

from glmreport.config.specs import AtlasSpec
from glmreport.errors import AtlasError
from glmreport.labels.atlas_images import (
    AtlasImageError,
    as_codes,
    deterministic_names,
    load_atlas_image,
    present_codes,
    prob_scale,
    probabilistic_names,
)

SPEC = AtlasSpec(name="a", source="file", where="atlases[0]")
P = Path("a.nii.gz")


def test_images_are_read_with_trailing_unit_dimensions_dropped(tmp_path):
    path = save_image(np.ones((3, 3, 3, 1), dtype=np.int16), np.eye(4), tmp_path / "a.nii.gz")
    data, affine = load_atlas_image(path, SPEC)
    assert data.shape == (3, 3, 3) and np.array_equal(affine, np.eye(4))
    broken = tmp_path / "b.nii.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 cut short")
    with pytest.raises(AtlasImageError, match=r"^atlases\[0\]: .*cannot be read as NIfTI") as info:
        load_atlas_image(broken, SPEC)
    assert info.value.path == broken and isinstance(info.value, AtlasError)
    with pytest.raises(AtlasError, match="does not exist"):
        load_atlas_image(tmp_path / "missing.nii.gz", SPEC)


def test_codes_are_whole_non_negative_numbers():
    assert as_codes(np.array([[[0.0, 2.0]]]), P, SPEC).dtype == np.int64
    with pytest.raises(AtlasError, match="non-integer"):
        as_codes(np.array([[[0.5]]]), P, SPEC)
    with pytest.raises(AtlasError, match="negative"):
        as_codes(np.array([[[-1]]], dtype=np.int16), P, SPEC)


def test_probability_scales():
    assert prob_scale(np.array([0.0, 0.9]), P, SPEC) == 1.0
    assert prob_scale(np.array([0.0, 73.0]), P, SPEC) == 0.01
    with pytest.raises(AtlasError, match="0-1 or percentages"):
        prob_scale(np.array([0.0, 250.0]), P, SPEC)
    with pytest.raises(AtlasError, match="negative or non-finite"):
        prob_scale(np.array([-0.5, 1.0]), P, SPEC)


def test_names_must_cover_the_image():
    codes = np.array([0, 1, 2, 2])
    assert deterministic_names(codes, {0: "bg", 1: "a", 2: "b", 9: "c"}, P, P, SPEC) == {
        1: "a",
        2: "b",
        9: "c",
    }
    with pytest.raises(AtlasError, match="1 value.*no name: 2"):
        deterministic_names(codes, {1: "a"}, P, P, SPEC)
    # probabilistic: volume j is the j-th label; a leading background row is dropped
    assert probabilistic_names(2, {0: "Background", 1: "a", 2: "b"}, P, P, SPEC) == {
        1: "a",
        2: "b",
    }
    with pytest.raises(AtlasError, match="3 volumes"):
        probabilistic_names(3, {1: "a", 2: "b"}, P, P, SPEC)


@pytest.mark.parametrize(
    "codes",
    [
        np.array([[0, 3, 3], [7, 0, 1]], dtype=np.int64),
        np.array([5, 5, 2], dtype=np.uint8),
        np.array([0, 1 << 22, 4], dtype=np.int64),  # large values: sorted instead
        np.array([-1, 2, 2], dtype=np.int32),
        np.zeros((0, 3), dtype=np.int64),
    ],
)
def test_present_codes_are_the_distinct_values(codes):
    got = present_codes(codes)
    np.testing.assert_array_equal(got, np.unique(codes))
    assert got.dtype == codes.dtype
