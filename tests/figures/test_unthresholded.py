"""The unthresholded map, faint, with the survivors outlined."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from glmreport.figures.display import Background
from glmreport.figures.mosaic import ColorScale, colorize
from glmreport.figures.unthresholded import (
    MAX_ALPHA,
    plot_unthresholded,
    survivor_outlines,
    tint,
)


def test_outline_of_a_square_runs_half_a_voxel_outside_its_centres() -> None:
    mask = np.zeros((12, 10), bool)
    mask[3:7, 2:8] = True  # rows 3..6, columns 2..7
    (line,) = survivor_outlines(mask)
    cols, rows = line[:, 0], line[:, 1]
    # The 0.5 level between an inside centre (1) and an outside one (0) lies half-way.
    assert cols.min() == 1.5 and cols.max() == 7.5
    assert rows.min() == 2.5 and rows.max() == 6.5
    assert np.allclose(line[0], line[-1])  # closed
    assert survivor_outlines(np.zeros((4, 4), bool)) == ()
    two = np.zeros((9, 9), bool)
    two[1, 1] = two[6:8, 6:8] = True
    assert len(survivor_outlines(two)) == 2


def test_tint_opacity_grows_with_abs_z_and_caps() -> None:
    gray = np.full((1, 6), 100, np.uint8)
    brain = np.ones((1, 6), bool)
    values = np.array([[0.0, 1.5, 3.0, 6.0, -3.0, np.nan]], np.float32)
    scale = ColorScale(threshold=0.0, vmax=6.0, two_sided=True)
    out = tint(gray, brain, values, scale, full_at=3.0).astype(float)
    color, _ = colorize(np.nan_to_num(values), scale)
    for k, alpha in enumerate([0.0, MAX_ALPHA / 2, MAX_ALPHA, MAX_ALPHA, MAX_ALPHA, 0.0]):
        expected = 100 * (1 - alpha) + color[0, k].astype(float) * alpha
        assert np.abs(out[0, k] - expected).max() <= 0.5, k
    assert (out[0, 0] == 100).all() and (out[0, 5] == 100).all()  # no value: anatomy only
    assert out[0, 3, 0] > out[0, 3, 2] and out[0, 4, 2] > out[0, 4, 0]  # red +, blue -


def test_figure_shows_outlines_over_the_faint_map(background: Background) -> None:
    z = np.zeros(background.shape, np.float32)
    centre = np.array(background.shape) // 2
    box = tuple(slice(c - 4, c + 5) for c in centre)
    z[box] = 5.0
    survivors = z > 4
    z_mm = float(background.to_world(centre)[2])
    images = []
    for masks in ([survivors], []):
        png = plot_unthresholded(
            z, background, survivors=masks, cuts=[z_mm], vmax=6.0, full_at=3.0, dpi=100
        )
        images.append(np.asarray(Image.open(io.BytesIO(png.data)).convert("RGB")).astype(int))
    outlined, plain = images
    assert outlined.shape == plain.shape
    # The outline adds near-black pixels; the faint tint is there with or without it.
    dark = [(image.max(axis=2) < 60).sum() for image in images]
    assert dark[0] > dark[1] + 20
    assert ((plain[..., 0] - plain[..., 2]) > 60).sum() > 20
