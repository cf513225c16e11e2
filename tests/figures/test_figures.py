"""Figures: PNG sizes, colours of positive/negative values, display-only resampling."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glmreport.figures import brain as figures

DPI = 80
FIGURES_PY = sorted(Path(figures.__file__).parent.glob("*.py"))  # the whole package


@pytest.fixture(scope="module")
def background() -> figures.Background:
    return figures.load_background()


def _rgb(png: figures.Png) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png.data)).convert("RGB")).astype(int)


def _count_color(rgb: np.ndarray, color: str | tuple, tol: int = 40) -> int:
    target = np.array(Image.new("RGB", (1, 1), color).getpixel((0, 0)))
    return int((np.abs(rgb - target).max(axis=-1) <= tol).sum())


def _blob_volume(background: figures.Background, centres, amplitudes, radius_mm=8.0):
    """Spheres of constant value at world coordinates, on the background grid."""
    ijk = np.indices(background.shape).reshape(3, -1).T
    xyz = background.to_world(ijk)
    vol = np.zeros(len(ijk), dtype=np.float32)
    for centre, amplitude in zip(centres, amplitudes, strict=True):
        vol[np.linalg.norm(xyz - np.asarray(centre), axis=1) <= radius_mm] = amplitude
    return vol.reshape(background.shape)


def test_background_is_ras_isotropic_and_cropped(background):
    linear = background.affine[:3, :3]
    assert np.allclose(linear, np.eye(3) * 2.0)
    # Cropped to the brain (template grid is 97 x 115 x 97) but keeps all of it.
    assert all(s < full for s, full in zip(background.shape, (97, 115, 97), strict=True))
    assert background.brain.sum() == 237_473  # every voxel of the bundled mask
    assert background.gray.dtype == np.uint8 and background.gray.max() == 255
    assert all(len(lines) >= 1 for lines in background.outlines)
    # World <-> index round trip at a voxel centre.
    ijk = np.array([10, 20, 30])
    assert np.array_equal(background.to_index(background.to_world(ijk)), ijk)


def test_resample_shift_and_flip_preserve_world_positions(background):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((20, 24, 22)).astype(np.float32)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-20.0, -30.0, -10.0]
    # Whole-voxel shift: the copy path.
    target = affine.copy()
    target[:3, 3] += [4.0, -2.0, 0.0]
    out = figures.resample(data, affine, target, (20, 24, 22))
    assert np.array_equal(out[:18, 1:, :], data[2:, :23, :])
    assert np.all(out[18:] == 0)
    # Left-right flipped storage (LAS) of the same image resamples back exactly.
    flipped = data[::-1]
    las = affine.copy()
    las[0, 0] = -2.0
    las[0, 3] = affine[0, 3] + 2.0 * 19
    back = figures.resample(flipped, las, affine, data.shape, order=0)
    assert np.allclose(back, data)


def test_to_display_coarse_grid_lands_on_same_world_point(background):
    # A 4 mm map with one hot voxel at (-38, -22, 56) mm.
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = [-96.5, -132.5, -78.5]
    data = np.zeros((49, 58, 49), np.float32)
    ijk = np.rint(np.linalg.solve(affine[:3, :3], np.array([-38.0, -22.0, 56.0]) - affine[:3, 3]))
    data[tuple(ijk.astype(int))] = 5.0
    shown = figures.to_display(data, affine, background)
    hot = background.to_world(np.argwhere(shown == 5.0))
    assert len(hot) >= 1
    centre = hot.mean(axis=0)
    expected = affine[:3, :3] @ ijk + affine[:3, 3]
    assert np.all(np.abs(centre - expected) <= 2.0), centre


def test_colorize_ramps_and_blanks(background):
    scale = figures.ColorScale(threshold=3.0, vmax=7.0, two_sided=True)
    rgb, shown = figures.colorize(np.array([0.0, 3.0, 7.0, -3.0, -7.0, np.nan]), scale)
    assert shown.tolist() == [False, True, True, True, True, False]
    assert tuple(rgb[1]) == tuple(figures._POS_LUT[0])  # threshold: start of the red ramp
    assert tuple(rgb[2]) == tuple(figures._POS_LUT[-1])  # vmax: end of the ramp
    assert tuple(rgb[3]) == tuple(figures._NEG_LUT[0])
    assert tuple(rgb[4]) == tuple(figures._NEG_LUT[-1])


def test_glass_brain_draws_positive_and_negative_colours(background):
    vol = _blob_volume(background, [(-38, -22, 56), (2, -84, 6)], [6.0, -6.0])
    scale = figures.ColorScale(threshold=3.1, vmax=6.0, two_sided=True)
    png = figures.plot_glass_brain(vol, background, scale=scale, width_in=7.0, dpi=DPI)
    assert png.width == 7 * DPI
    assert 1.2 * DPI < png.height < 3.5 * DPI
    rgb = _rgb(png)
    top_pos, top_neg = figures.POSITIVE_COLORS[-1], figures.NEGATIVE_COLORS[-1]
    # Both blobs visible in the three projections (plus the colour bar's ends).
    assert _count_color(rgb, top_pos, 25) > 100
    assert _count_color(rgb, top_neg, 25) > 100

    only_pos = np.clip(vol, 0, None)
    one_sided = figures.ColorScale(threshold=3.1, vmax=6.0, two_sided=False)
    rgb = _rgb(figures.plot_glass_brain(only_pos, background, scale=one_sided, dpi=DPI))
    assert _count_color(rgb, top_pos, 25) > 100
    for blue in figures.NEGATIVE_COLORS:
        assert _count_color(rgb, blue, 12) == 0


def test_figures_draw_what_they_are_given_and_threshold_nothing(background):
    # Values below the stated threshold are still drawn (at the bottom of the ramp): the
    # figure only shows a map that was thresholded upstream.
    vol = _blob_volume(background, [(-38, -22, 56)], [2.0])
    scale = figures.ColorScale(threshold=5.0, vmax=8.0, two_sided=False)
    brain_part = slice(0, 7 * DPI - int(0.8 * DPI))  # leave out the colour bar
    rgb = _rgb(figures.plot_glass_brain(vol, background, scale=scale, dpi=DPI))
    assert _count_color(rgb[:, brain_part], figures.POSITIVE_COLORS[0], 20) > 50
    empty = np.zeros(background.shape, np.float32)
    rgb = _rgb(figures.plot_glass_brain(empty, background, scale=scale, dpi=DPI))
    assert _count_color(rgb[:, brain_part], figures.POSITIVE_COLORS[0], 20) == 0


def test_figures_modules_import_no_statistics():
    statistics = ("scipy.stats", "glmreport.glm", "glmreport.inference", "..glm", "..inference")
    for path in FIGURES_PY:
        tree = ast.parse(path.read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add(("." * node.level) + (node.module or ""))
        assert not any(name.startswith(statistics) for name in imported), path.name
        assert "matplotlib.pyplot" not in imported  # no global figure registry to leak figures
        assert not any(name.startswith("nilearn") for name in imported)
        source = path.read_text()
        for forbidden in ("ndtri", ".sf(", "isf(", "fdr", "bonferroni"):
            assert forbidden not in source, f"{path.name}: {forbidden}"


def test_slices_thumbnails_and_ortho_sizes(background):
    vol = _blob_volume(background, [(-38, -22, 56), (40, -20, 54)], [6.0, 4.0])
    scale = figures.ColorScale(threshold=3.1, vmax=6.0, two_sided=False)
    cuts = figures.slice_cuts([56.0, 54.0, -10.0, 60.0], background, max_cuts=5)
    # Peaks in table order; 54 and 60 are within 6 mm of 56, which came first.
    assert cuts == [-10.0, 56.0]
    row = figures.plot_slices(
        vol, background, scale=scale, cuts=cuts, axis="z", width_in=6.0, dpi=DPI
    )
    # Two cuts: panels capped in height, so the figure is narrower than asked.
    assert row.width < 6 * DPI and row.height < 2.2 * DPI
    thumbs = figures.plot_cluster_thumbnails(
        vol,
        background,
        scale=scale,
        peaks_mm=[(-38, -22, 56), (40, -20, 54), (0, 0, 0)],
        labels=["#1 (+)", "#2 (+)", "#3 (+)"],
        dpi=DPI,
    )
    assert thumbs.width == 7 * DPI
    assert thumbs.height > 2 * DPI  # two rows of clusters
    ortho = figures.plot_ortho(vol, background, scale=scale, point_mm=(-38, -22, 56), dpi=DPI)
    assert ortho.width <= 7 * DPI
    assert _count_color(_rgb(ortho), figures.POSITIVE_COLORS[-1], 30) > 20
    # Without peaks, cuts are spread through the brain.
    spread = figures.slice_cuts([], background, max_cuts=4)
    assert len(spread) == 4 and spread == sorted(spread)


def test_matrices_histograms_and_null(background):
    columns = ["intercept", "age", "a rather long column name that gets shortened"]
    layout = figures.matrix_layout(columns)
    design = np.column_stack([np.ones(16), np.linspace(-1, 1, 16), np.tile([1.0, -1.0], 8)])
    png_design = figures.plot_design_matrix(design, columns, layout=layout, dpi=DPI)
    png_contrast = figures.plot_contrast_matrix(
        [[0, 1, 0], [0, 0, 1]], columns, layout=layout, dpi=DPI
    )
    # Same horizontal geometry: the contrast's columns line up with the design's.
    assert png_design.width == png_contrast.width == round(layout.width_in * DPI)
    values = np.random.default_rng(0).standard_normal(5000)
    hist = figures.plot_histogram(
        values, thresholds=[figures.ThresholdLine(value=3.1, label="FDR", two_sided=True)], dpi=DPI
    )
    assert hist.width == 7 * DPI
    null = figures.plot_null_distribution(
        np.random.default_rng(1).gumbel(size=500),
        observed=6.0,
        critical=4.2,
        xlabel="maximum |t|",
        dpi=DPI,
    )
    assert null.width == 5 * DPI
    # Empty inputs still give an image.
    assert figures.plot_histogram(np.array([np.nan]), dpi=DPI).width == 7 * DPI


def test_png_has_no_metadata_or_addresses(background):
    png = figures.plot_design_matrix(np.eye(3), ["a", "b", "c"], dpi=DPI)
    assert png.data.startswith(b"\x89PNG")
    assert b"http" not in png.data
    assert b"tEXt" not in png.data and b"iTXt" not in png.data and b"zTXt" not in png.data
    assert png.data_uri.startswith("data:image/png;base64,")


def test_wide_designs_keep_their_width_and_thin_their_labels():
    narrow = figures.matrix_layout(["intercept", "age"])
    assert narrow.label_step == 1
    columns = [f"cond_{i:02d}" for i in range(20)] + [f"sub-{i:03d}" for i in range(80)]
    wide = figures.matrix_layout(columns)
    assert wide.width_in == pytest.approx(7.0)  # 100 columns still fit the text width
    assert wide.label_step >= 2  # every other name (or fewer) stays legible
    rng = np.random.default_rng(0)
    design = np.zeros((300, 100))
    design[np.arange(300), rng.integers(0, 20, 300)] = 1.0
    design[np.arange(300), 20 + np.arange(300) % 80] = 1.0
    png = figures.plot_design_matrix(design, columns, layout=wide, row_label="image", dpi=DPI)
    assert png.width == round(7.0 * DPI)
    assert png.height < 5.0 * DPI  # 300 rows do not make a tall figure
    contrast = figures.plot_contrast_matrix(np.eye(2, 100), columns, layout=wide, dpi=DPI)
    assert contrast.width == png.width


def test_colorbar_marks_and_display_floor(background):
    vol = _blob_volume(background, [(-38, -22, 56)], [900.0])
    marked = figures.ColorScale(threshold=300.0, vmax=1000.0, two_sided=False, label="TFCE")
    plain = figures.ColorScale(
        threshold=300.0,
        vmax=1000.0,
        two_sided=False,
        label="TFCE",
        marks=(600.0,),
        mark_threshold=False,
    )
    a = _rgb(figures.plot_glass_brain(vol, background, scale=marked, dpi=DPI))
    b = _rgb(figures.plot_glass_brain(vol, background, scale=plain, dpi=DPI))
    assert a.shape == b.shape and not np.array_equal(a, b)
    assert figures._tick(13797.7) == "13798" and figures._tick(-3.291) == "\u22123.29"
    assert figures._label_number(10268.09) == "10268" and figures._label_number(9.034) == "9.03"
