"""The offline slice viewer: its packed data (Python) and its drawing and readout (Chromium).

The browser tests render the viewer's partial, CSS and script into one standalone HTML file,
open it from file:// in headless Chromium through Selenium (system ``chromium`` and
``chromium-driver``), click voxels and compare the readout with the z map, the atlas and the
colours of the report's figures. They are skipped, with the reason, where Selenium or the
driver is missing.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import jinja2
import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from glmreport.errors import InputError
from glmreport.figures.brain import NEGATIVE_CMAP, NEGATIVE_COLORS, POSITIVE_CMAP, POSITIVE_COLORS
from glmreport.report.viewer import (
    MARGIN,
    Z_CLIP,
    Z_MISSING,
    ViewerAtlas,
    ViewerMap,
    decode_array,
    quantize_z,
    viewer_base,
    viewer_layer,
    viewer_payload,
)
from glmreport.resources import template_image, templates_dir

#: Stated budget: base (background + one atlas) and two contrasts with three corrections each
#: on the 2 mm MNI grid (97 x 115 x 97), as embedded JSON. Measured: 0.95 MB.
BUDGET_BYTES = 1_100_000
THRESHOLD = 3.1
VMAX = 8.0
REGIONS = {
    1: "Left posterior inferior",
    2: "Right posterior inferior",
    3: "Left anterior inferior",
    4: "Right anterior inferior",
    5: "Left posterior superior",
    6: "Right posterior superior",
    7: "Left anterior superior",
    8: "Right anterior superior",
}
# Edge values planted in the z map: ties of the second decimal, the clip, negative zero.
EDGES = (0.125, -0.125, 0.375, 2.675, -2.675, 0.005, -0.0, 327.67, -327.67, 327.68, -1000.0, 1e6)


# --------------------------------------------------------------------------------------------
# Data: the real 2 mm MNI grid, smooth random fields, an octant atlas
# --------------------------------------------------------------------------------------------


class Grid:
    """The bundled MNI152NLin2009cAsym 2 mm template and its mask (97 x 115 x 97)."""

    def __init__(self) -> None:
        t1 = nib.load(template_image("T1w"))
        mask = nib.load(template_image("mask"))
        self.t1 = np.asarray(t1.dataobj, dtype=np.float32)
        self.brain = np.asarray(mask.dataobj) > 0
        self.affine = t1.affine.copy()
        self.shape = self.t1.shape

    def world(self, ijk) -> np.ndarray:
        return nib.affines.apply_affine(self.affine, np.asarray(ijk, float))


def smooth_z(grid: Grid, seed: int, *, fwhm_mm: float = 9.0) -> np.ndarray:
    """A unit-variance Gaussian random field in the brain with one positive and one negative
    blob, NaN outside the brain (as a z map outside its analysis mask)."""
    rng = np.random.default_rng(seed)
    sigma = fwhm_mm / 2.3548 / 2.0
    field = ndimage.gaussian_filter(rng.standard_normal(grid.shape), sigma)
    field /= field[grid.brain].std()
    ijk = np.indices(grid.shape).transpose(1, 2, 3, 0)
    for centre, height in (((30, 60, 50), 7.0), ((66, 40, 40), -6.0)):
        d2 = ((ijk - np.array(centre)) ** 2).sum(axis=-1)
        field += height * np.exp(-d2 / (2 * 3.0**2))
    z = field.astype(np.float32)
    z[~grid.brain] = np.nan
    return z


def octants(grid: Grid) -> np.ndarray:
    """Codes 1-8 of the brain's octants around the world origin, 0 outside the brain."""
    ijk = np.indices(grid.shape).reshape(3, -1).T
    xyz = grid.world(ijk).reshape(grid.shape + (3,))
    codes = 1 + (xyz[..., 0] > 0) + 2 * (xyz[..., 1] > 0) + 4 * (xyz[..., 2] > 0)
    return np.where(grid.brain, codes, 0).astype(np.int16)


def parcels(grid: Grid, n: int, seed: int) -> np.ndarray:
    """A realistic atlas for the size budget: n compact parcels (nearest of n seeds)."""
    rng = np.random.default_rng(seed)
    inside = np.argwhere(grid.brain)
    seeds = inside[rng.choice(len(inside), n, replace=False)]
    codes = np.zeros(grid.shape, np.int16)
    for start in range(0, len(inside), 50_000):
        chunk = inside[start : start + 50_000]
        d2 = ((chunk[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=-1)
        codes[tuple(chunk.T)] = d2.argmin(axis=1) + 1
    return codes


def correction_maps(z: np.ndarray) -> list[ViewerMap]:
    """Three corrections' survivors: two voxel thresholds and a cluster-extent-like one."""
    absz = np.nan_to_num(np.abs(z))
    big, _ = ndimage.label(absz > 3.1)
    sizes = np.bincount(big.ravel())
    sizes[0] = 0
    return [
        ViewerMap(name="FWE (voxel), p < 0.05", survivors=absz > 4.8, threshold=4.8),
        ViewerMap(name="FDR, q < 0.05", survivors=absz > 3.9, threshold=3.9),
        ViewerMap(name="cluster FWE, p < 0.05", survivors=sizes[big] >= 40, threshold=3.1),
    ]


@pytest.fixture(scope="module")
def grid() -> Grid:
    return Grid()


@pytest.fixture(scope="module")
def z_map(grid: Grid) -> np.ndarray:
    return smooth_z(grid, 1)


@pytest.fixture(scope="module")
def z_edges(z_map: np.ndarray, grid: Grid) -> np.ndarray:
    """The z map with the edge values planted in the brain."""
    z = z_map.copy()
    inside = np.argwhere(grid.brain)
    for k, value in enumerate(EDGES):
        z[tuple(inside[1000 + 37 * k])] = np.float32(value)
    return z


@pytest.fixture(scope="module")
def atlas(grid: Grid) -> ViewerAtlas:
    return ViewerAtlas(name="Octants", codes=octants(grid), names=REGIONS)


@pytest.fixture(scope="module")
def payload(grid: Grid, z_edges: np.ndarray, atlas: ViewerAtlas) -> dict:
    return viewer_payload(
        background=grid.t1,
        affine=grid.affine,
        brain=grid.brain,
        z=z_edges,
        title="faces > houses",
        threshold=THRESHOLD,
        maps=correction_maps(z_edges),
        atlases=[atlas],
    )


def crop_of(payload: dict) -> tuple[slice, ...]:
    origin, step = payload["crop"]["origin"], payload["crop"]["step"]
    return tuple(
        slice(o, o + (n - 1) * step + 1, step)
        for o, n in zip(origin, payload["shape"], strict=True)
    )


# --------------------------------------------------------------------------------------------
# Python: packing and round trips
# --------------------------------------------------------------------------------------------


def test_z_decodes_to_round_z_2_within_the_clip(payload: dict, z_edges: np.ndarray) -> None:
    shape = payload["shape"]
    stored = decode_array(payload["z"], shape)
    assert stored.dtype == np.int16
    assert payload["z"]["scale"] == 0.01 and payload["z"]["missing"] == Z_MISSING
    z = z_edges[crop_of(payload)]
    finite = np.isfinite(z)
    assert np.array_equal(stored == Z_MISSING, ~finite)
    inside = finite & (np.abs(z) <= Z_CLIP)
    expected = np.array([round(float(v), 2) for v in z[inside]])
    decoded = stored[inside].astype(np.float64) / 100
    assert np.array_equal(decoded, expected)
    assert inside.sum() > 200_000
    # Beyond the clip: the largest stored hundredth, with the value's sign.
    beyond = finite & (np.abs(z) > Z_CLIP)
    assert beyond.sum() == 3
    assert np.array_equal(stored[beyond], np.sign(z[beyond]).astype(np.int16) * 32767)


def test_quantize_z_rounds_half_to_even_like_round() -> None:
    values = np.array([0.125, -0.125, 0.375, 2.675, 0.005, -0.005, 1.005, np.nan], np.float32)
    q = quantize_z(values)
    expected = [round(float(v), 2) for v in values[:-1]]
    assert list(q[:-1] / 100) == expected
    assert list(q[:3]) == [12, -12, 38]  # exact ties go to even, as round(0.125, 2) == 0.12
    assert q[-1] == Z_MISSING


def test_survivor_masks_decode_exactly(payload: dict, z_edges: np.ndarray) -> None:
    maps = payload["maps"]
    assert [m["kind"] for m in maps] == ["z", "survivors", "survivors", "survivors"]
    assert maps[0] == {"name": "unthresholded z", "kind": "z", "threshold": THRESHOLD}
    assert [m["threshold"] for m in maps[1:]] == [4.8, 3.9, 3.1]
    for entry, item in zip(maps[1:], correction_maps(z_edges), strict=True):
        decoded = decode_array(entry["mask"], payload["shape"])
        assert entry["mask"]["dtype"] == "bits"
        assert entry["name"] == item.name
        assert np.array_equal(decoded, item.survivors[crop_of(payload)])
        assert decoded.sum() == item.survivors.sum() > 0  # nothing outside the crop


def test_crop_and_affine_keep_world_coordinates(payload: dict, grid: Grid) -> None:
    origin = np.array(payload["crop"]["origin"])
    inside = np.argwhere(grid.brain)
    assert list(origin) == list(np.maximum(inside.min(axis=0) - MARGIN, 0))
    stop = origin + np.array(payload["shape"])
    assert list(stop) == list(np.minimum(inside.max(axis=0) + MARGIN + 1, grid.shape))
    assert payload["crop"]["shape"] == list(grid.shape) and payload["crop"]["step"] == 1
    cropped = np.array(payload["affine"])
    for ijk in ([0, 0, 0], [10, 20, 30], list(np.array(payload["shape"]) - 1)):
        assert np.allclose(
            nib.affines.apply_affine(cropped, ijk), grid.world(origin + np.array(ijk))
        )
    assert np.prod(payload["shape"]) < 0.6 * np.prod(grid.shape)


def test_background_is_windowed_gray_white_outside_the_brain(payload: dict, grid: Grid) -> None:
    gray = decode_array(payload["background"], payload["shape"])
    t1, brain = grid.t1[crop_of(payload)], grid.brain[crop_of(payload)]
    top = np.percentile(grid.t1[grid.brain], 99.5)
    expected = np.clip(t1 / top * 255, 0, 255).astype(np.uint8)
    expected[~brain & (expected < 8)] = 255
    assert np.array_equal(gray, expected)
    # A uint8 background is taken as already windowed.
    base = viewer_base(background=expected, affine=grid.affine[:], brain=np.ones_like(brain))
    assert np.array_equal(decode_array(base["background"], base["shape"]), expected)


def test_atlas_codes_and_names(payload: dict, atlas: ViewerAtlas) -> None:
    (entry,) = payload["atlases"]
    assert entry["name"] == "Octants" and entry["dtype"] == "uint8"
    assert entry["names"] == {str(k): v for k, v in REGIONS.items()}
    decoded = decode_array(entry, payload["shape"])
    assert np.array_equal(decoded, atlas.codes[crop_of(payload)])
    # Only the codes present are named; codes above 255 are stored as uint16.
    codes = atlas.codes.astype(np.int32) * 100
    big = viewer_base(
        background=np.ones(codes.shape, np.float32),
        affine=np.eye(4),
        atlases=[ViewerAtlas(name="x", codes=codes, names={100: "a", 300: "c", 9999: "gone"})],
    )["atlases"][0]
    assert big["dtype"] == "uint16" and big["names"] == {"100": "a", "300": "c"}
    assert np.array_equal(decode_array(big, codes.shape), codes)


def test_large_grids_are_subsampled_by_a_whole_step(grid: Grid, z_map: np.ndarray) -> None:
    base = viewer_base(background=grid.t1, affine=grid.affine, brain=grid.brain, max_voxels=80_000)
    assert base["crop"]["step"] == 2 and np.prod(base["shape"]) <= 80_000
    layer = viewer_layer(base, z=z_map, title="c", threshold=2.0)
    box = crop_of(base)
    assert np.array_equal(decode_array(layer["z"], base["shape"]), quantize_z(z_map[box]))
    origin = np.array(base["crop"]["origin"])
    assert np.allclose(
        nib.affines.apply_affine(np.array(base["affine"]), [3, 4, 5]),
        grid.world(origin + 2 * np.array([3, 4, 5])),
    )


def test_payload_is_strict_json(payload: dict) -> None:
    text = json.dumps(payload, allow_nan=False)
    assert json.loads(text) == payload
    assert payload["format"] == "glmreport-viewer/1"
    assert payload["title"] == "faces > houses"
    assert payload["vmax"] == 327.7  # the largest |z|, clipped, rounded up to 0.1


def test_vmax_is_the_largest_z_rounded_up_unless_given(grid: Grid, z_map: np.ndarray) -> None:
    base = viewer_base(background=grid.t1, affine=grid.affine, brain=grid.brain)
    top = float(np.nanmax(np.abs(z_map)))
    assert viewer_layer(base, z=z_map, title="c", threshold=3.1)["vmax"] == math.ceil(top * 10) / 10
    assert viewer_layer(base, z=z_map, title="c", threshold=3.1, vmax=5.0)["vmax"] == 5.0
    assert viewer_layer(base, z=z_map, title="c", threshold=9.0, vmax=5.0)["vmax"] == 9.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"affine": np.array([[0, 2, 0, 0], [2, 0, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1.0]])}, "axis"),
        ({"affine": np.diag([-2.0, 2, 2, 1])}, "axis-aligned"),
        ({"z": np.zeros((4, 4, 4), np.float32)}, "z map has shape"),
        ({"threshold": -1.0}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"background": np.zeros((5, 5), np.float32)}, "3D volume"),
    ],
)
def test_bad_inputs_are_input_errors(change: dict, message: str) -> None:
    args = {
        "background": np.ones((6, 7, 8), np.float32),
        "affine": np.diag([2.0, 2, 2, 1]),
        "z": np.zeros((6, 7, 8), np.float32),
        "title": "c",
        "threshold": 3.1,
    }
    with pytest.raises(InputError, match=message):
        viewer_payload(**(args | change))


def test_size_budget_of_two_contrasts_on_the_mni_grid(grid: Grid) -> None:
    """Base (background + a 100-parcel atlas) + 2 contrasts x 3 corrections, as embedded JSON."""
    base = viewer_base(
        background=grid.t1,
        affine=grid.affine,
        brain=grid.brain,
        atlases=[ViewerAtlas(name="Parcels", codes=parcels(grid, 100, 0), names={})],
    )
    layers = []
    for seed in (11, 12):
        z = smooth_z(grid, seed)
        layers.append(
            viewer_layer(
                base, z=z, title="c", threshold=3.1, maps=correction_maps(z), base_id="viewer-base"
            )
        )
    sizes = {
        "background": len(base["background"]["data"]),
        "atlas": len(base["atlases"][0]["data"]),
        "z": [len(layer["z"]["data"]) for layer in layers],
        "masks": [sum(len(m["mask"]["data"]) for m in layer["maps"][1:]) for layer in layers],
    }
    total = len(json.dumps(base)) + sum(len(json.dumps(layer)) for layer in layers)
    print(f"viewer payload sizes (base64 characters): {sizes}; total JSON {total} bytes")
    assert total <= BUDGET_BYTES
    assert max(sizes["z"]) < 330_000 and max(sizes["masks"]) < 20_000


# --------------------------------------------------------------------------------------------
# Browser: the standalone page in headless Chromium
# --------------------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none';
  script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>Viewer test</title>
<style>
{% include "report.css" %}
{% include "viewer.css" %}
</style>
</head>
<body>
{% from "partials/viewer.html.j2" import viewer, viewer_base %}
<nav class="toc"><p class="toc-title">Viewer test</p></nav>
<main>
<section class="contrast" id="c1"><div class="contrast-head"><h2>faces &gt; houses</h2></div>
{{ viewer(single, label="faces > houses") }}
</section>
{{ viewer_base(base, "viewer-base") }}
{% for layer in layers %}
<section class="contrast" id="c{{ loop.index + 1 }}"><h2>{{ layer.title }}</h2>
{{ viewer(layer, label=layer.title) }}
</section>
{% endfor %}
</main>
<script>
{% include "viewer.js" %}
</script>
</body>
</html>
"""


def render_page(**context) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.from_string(PAGE).render(**context)


def fmt_coord(value: float) -> str:
    """As the report's tables: whole mm when whole, else one decimal, true minus sign."""
    v = round(float(value), 1) + 0.0
    text = f"{v:.0f}" if v == int(v) else f"{v:.1f}"
    return text.replace("-", "\u2212")


def fmt_z(value: float) -> str:
    return f"{round(float(value), 2) + 0.0:.2f}".replace("-", "\u2212")


@pytest.fixture(scope="module")
def page(
    tmp_path_factory: pytest.TempPathFactory, grid: Grid, z_map: np.ndarray, atlas: ViewerAtlas
) -> dict:
    """Three viewers: one self-contained on an integer-mm grid, two sharing one base."""
    shifted = grid.affine.copy()
    shifted[:3, 3] += 0.5  # -96 mm, -132 mm, -78 mm: coordinates are whole mm
    single = viewer_payload(
        background=grid.t1,
        affine=shifted,
        brain=grid.brain,
        z=z_map,
        title="faces > houses",
        threshold=THRESHOLD,
        maps=correction_maps(z_map),
        atlases=[atlas],
        vmax=VMAX,
    )
    base = viewer_base(background=grid.t1, affine=grid.affine, brain=grid.brain, atlases=[atlas])
    second = -smooth_z(grid, 2)
    layers = [
        viewer_layer(
            base,
            z=z,
            title=title,
            threshold=2.3,
            maps=correction_maps(z),
            vmax=VMAX,
            base_id="viewer-base",
        )
        for title, z in (("houses > faces", -z_map), ("<b>second</b> & 'quoted'", second))
    ]
    html = render_page(single=single, base=base, layers=layers)
    path = tmp_path_factory.mktemp("viewer") / "viewer.html"
    path.write_text(html, encoding="utf-8")
    return {
        "path": path,
        "html": html,
        "affines": [shifted, grid.affine, grid.affine],
        "z": [z_map, -z_map, second],
        "survivors": [m.survivors for m in correction_maps(z_map)],
        "payloads": [single, base | layers[0], base | layers[1]],
    }


@pytest.fixture(scope="module")
def driver(page: dict):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromedriver = CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver")
    chromium = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not (chromedriver and chromium):
        pytest.skip(
            "chromium or chromedriver not found (Debian: apt-get install chromium chromium-driver)"
        )
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.add_argument("--force-device-scale-factor=1")
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never looks for (or downloads) a driver.
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        browser.get(page["path"].as_uri())
        _wait(browser, "return document.querySelectorAll('[data-viewer-state=ready]').length", 3)
        yield browser
    finally:
        browser.quit()


def _wait(browser, script: str, expected, timeout: float = 10.0):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(lambda b: b.execute_script(script) == expected)


def _viewer(browser, n: int):
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, "[data-viewer]")[n]


def _canvas_point(browser, viewer, view: str, ijk, shape) -> tuple[float, float]:
    """Viewport position of the centre of voxel ``ijk`` (cropped grid) in one view."""
    h, v = {"sagittal": (1, 2), "coronal": (0, 2), "axial": (0, 1)}[view]
    canvas = viewer.find_element("css selector", f"canvas[data-viewer-view={view}]")
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", canvas
    )
    box = browser.execute_script("return arguments[0].getBoundingClientRect().toJSON()", canvas)
    x = box["left"] + (ijk[h] + 0.5) / shape[h] * box["width"]
    y = box["top"] + (shape[v] - 1 - ijk[v] + 0.5) / shape[v] * box["height"]
    return x, y


def _click(browser, viewer, view: str, ijk, shape) -> None:
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    x, y = _canvas_point(browser, viewer, view, ijk, shape)
    actions = ActionBuilder(browser)
    actions.pointer_action.move_to_location(int(round(x)), int(round(y)))
    actions.pointer_action.click()
    actions.perform()


def _click_voxel(browser, viewer, view: str, ijk, shape) -> None:
    """Click voxel ``ijk`` in ``view``, after a click in another view that sets its slice."""
    first = {"axial": "coronal", "sagittal": "axial", "coronal": "axial"}[view]
    _click(browser, viewer, first, ijk, shape)
    _click(browser, viewer, view, ijk, shape)


def _pixel(browser, viewer, view: str, ijk, shape) -> tuple[int, int, int]:
    """Canvas colour at the centre of voxel ``ijk``, read back with getImageData."""
    x, y = _canvas_point(browser, viewer, view, ijk, shape)
    canvas = viewer.find_element("css selector", f"canvas[data-viewer-view={view}]")
    return tuple(
        browser.execute_script(
            "var c = arguments[0], b = c.getBoundingClientRect();"
            "var x = Math.floor((arguments[1] - b.left) * c.width / b.width);"
            "var y = Math.floor((arguments[2] - b.top) * c.height / b.height);"
            "return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));",
            canvas,
            x,
            y,
        )
    )


def _readout(viewer) -> str:
    return viewer.find_element("css selector", "[data-viewer-readout]").text


def _cropped(payload: dict, full_ijk) -> list[int]:
    return [int(a - o) for a, o in zip(full_ijk, payload["crop"]["origin"], strict=True)]


def _lut_color(value: float, low: float, high: float) -> np.ndarray:
    cmap = POSITIVE_CMAP if value >= 0 else NEGATIVE_CMAP
    index = int(np.clip(np.rint((abs(value) - low) / (high - low) * 255), 0, 255))
    return np.round(np.array(cmap(index / 255)[:3]) * 255)


def _select_map(browser, viewer, index: int) -> None:
    from selenium.webdriver.support.ui import Select

    Select(viewer.find_element("css selector", "[data-viewer-map]")).select_by_value(str(index))


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("view", ["axial", "sagittal", "coronal"])
def test_click_reads_coordinates_z_and_label(driver, page: dict, grid: Grid, which, view) -> None:
    payload, z, affine = page["payloads"][which], page["z"][which], page["affines"][which]
    rng = np.random.default_rng(100 + which)
    inside = np.argwhere(grid.brain & np.isfinite(z))
    voxel = inside[rng.integers(len(inside))]
    viewer = _viewer(driver, which)
    _click_voxel(driver, viewer, view, _cropped(payload, voxel), payload["shape"])
    xyz = nib.affines.apply_affine(affine, voxel)
    coords = "(x, y, z) = (" + ", ".join(fmt_coord(v) for v in xyz) + ") mm"
    label = REGIONS[int(octants(grid)[tuple(voxel)])]
    text = _readout(viewer)
    assert coords in text
    assert f"z = {fmt_z(z[tuple(voxel)])}" in text
    assert f"Octants: {label}" in text
    if which == 0:
        assert re.search(r"\(x, y, z\) = \(\S+, \S+, \S+\) mm", text)
        assert ".5" not in text.split("mm")[0]  # whole-mm grid: whole-mm coordinates
    else:
        assert ".5" in text.split("mm")[0]


def test_arrow_keys_step_the_crosshair(driver, page: dict, grid: Grid) -> None:
    from selenium.webdriver.common.keys import Keys

    payload = page["payloads"][0]
    voxel = np.array([48, 60, 40])
    viewer = _viewer(driver, 0)
    _click_voxel(driver, viewer, "axial", _cropped(payload, voxel), payload["shape"])
    canvas = viewer.find_element("css selector", "canvas[data-viewer-view=axial]")
    canvas.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_UP, Keys.PAGE_DOWN)
    moved = voxel + np.array([2, 1, -1])
    xyz = nib.affines.apply_affine(page["affines"][0], moved)
    assert "(x, y, z) = (" + ", ".join(fmt_coord(v) for v in xyz) + ") mm" in _readout(viewer)
    assert f"z = {fmt_z(page['z'][0][tuple(moved)])}" in _readout(viewer)


def test_drag_moves_the_crosshair(driver, page: dict) -> None:
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    payload, z, affine = page["payloads"][2], page["z"][2], page["affines"][2]
    start, end = np.array([40, 50, 45]), np.array([52, 66, 45])
    viewer = _viewer(driver, 2)
    _click_voxel(driver, viewer, "axial", _cropped(payload, start), payload["shape"])
    actions = ActionBuilder(driver)
    for voxel in (start, (start + end) // 2, end):
        x, y = _canvas_point(driver, viewer, "axial", _cropped(payload, voxel), payload["shape"])
        actions.pointer_action.move_to_location(int(round(x)), int(round(y)))
        if voxel is start:
            actions.pointer_action.pointer_down()
    actions.pointer_action.pointer_up()
    actions.perform()
    xyz = nib.affines.apply_affine(affine, end)
    text = _readout(viewer)
    assert "(x, y, z) = (" + ", ".join(fmt_coord(v) for v in xyz) + ") mm" in text
    assert f"z = {fmt_z(z[tuple(end)])}" in text


def test_maps_threshold_and_colours(driver, page: dict) -> None:
    """Above threshold: the figures' colour; a correction map shows only its survivors."""
    payload, z = page["payloads"][0], page["z"][0]
    fwe = page["survivors"][0]
    absz = np.nan_to_num(np.abs(z))
    shown_not_fwe = np.argwhere((absz > 3.5) & (absz < 4.5) & ~fwe & (z > 0))[0]
    fwe_voxel = np.argwhere(fwe & (z > 0))[0]
    viewer = _viewer(driver, 0)
    shape = payload["shape"]
    assert payload["vmax"] == VMAX
    gray = decode_array(payload["background"], shape)

    for voxel in (shown_not_fwe, fwe_voxel):
        ijk = _cropped(payload, voxel)
        _click_voxel(driver, viewer, "axial", ijk, shape)
        colour = np.array(_pixel(driver, viewer, "axial", ijk, shape))
        expected = _lut_color(round(float(z[tuple(voxel)]), 2), THRESHOLD, VMAX)
        assert np.abs(colour - expected).max() <= 2, (colour, expected)

    _select_map(driver, viewer, 1)  # FWE survivors: the first voxel turns gray
    ijk = _cropped(payload, shown_not_fwe)
    _click_voxel(driver, viewer, "axial", ijk, shape)
    colour = np.array(_pixel(driver, viewer, "axial", ijk, shape))
    assert colour[0] == colour[1] == colour[2]
    assert abs(int(colour[0]) - int(gray[tuple(ijk)])) <= 40  # smoothed anatomy
    assert "does not survive" in _readout(viewer)
    number = viewer.find_element("css selector", "input[type=number][data-viewer-threshold]")
    assert number.get_attribute("value") == "4.80"
    ijk = _cropped(payload, fwe_voxel)
    _click_voxel(driver, viewer, "axial", ijk, shape)
    colour = np.array(_pixel(driver, viewer, "axial", ijk, shape))
    expected = _lut_color(round(float(z[tuple(fwe_voxel)]), 2), 4.8, VMAX)
    assert np.abs(colour - expected).max() <= 2
    assert "survives" in _readout(viewer) and "does not" not in _readout(viewer)

    # Raising the threshold above the voxel's z hides it.
    number.clear()
    number.send_keys(f"{absz[tuple(fwe_voxel)] + 0.5:.2f}")
    colour = np.array(_pixel(driver, viewer, "axial", ijk, shape))
    assert colour[0] == colour[1] == colour[2]

    # Back to the unthresholded map: its own threshold comes back.
    _select_map(driver, viewer, 0)
    assert number.get_attribute("value") == f"{THRESHOLD:.2f}"


def test_go_to_peak(driver, page: dict) -> None:
    z, affine = page["z"][1], page["affines"][1]
    viewer = _viewer(driver, 1)
    _select_map(driver, viewer, 1)
    viewer.find_element("css selector", "[data-viewer-peak]").click()
    fwe = page["survivors"][0]  # the same survivors for -z_map as for z_map
    hundredths = np.abs(quantize_z(z).astype(np.int32))
    peak = np.unravel_index(np.argmax(np.where(fwe & np.isfinite(z), hundredths, -1)), z.shape)
    xyz = nib.affines.apply_affine(affine, peak)
    text = _readout(viewer)
    assert "(x, y, z) = (" + ", ".join(fmt_coord(v) for v in xyz) + ") mm" in text
    assert f"z = {fmt_z(z[peak])}" in text
    assert np.abs(np.array(peak) - (30, 60, 50)).max() <= 4  # the top of the planted blob


def test_names_are_escaped_and_page_is_offline(driver, page: dict) -> None:
    html = page["html"]
    assert "http://" not in html and "https://" not in html
    assert "<b>second</b>" not in html  # the title is escaped in attributes and JSON
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    options = _viewer(driver, 2).find_elements("css selector", "[data-viewer-map] option")
    assert [o.text for o in options][0] == "unthresholded z"
    assert options[1].text == "FWE (voxel), p < 0.05 (survivors)"


def test_print_hides_the_viewer_and_no_js_shows_a_note(driver, page: dict) -> None:
    viewer = _viewer(driver, 0)
    assert driver.execute_script("return getComputedStyle(arguments[0]).display", viewer) == "block"
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        display = driver.execute_script("return getComputedStyle(arguments[0]).display", viewer)
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert display == "none"
    # Without JavaScript: the note is shown, the controls are hidden.
    html = page["html"]
    assert re.search(r'<p class="viewer-note" data-viewer-note>[^<]*JavaScript', html)
    assert re.search(r'<div class="viewer-ui" data-viewer-ui hidden>', html)
    assert not viewer.find_element("css selector", "[data-viewer-note]").is_displayed()


def test_screenshot_and_no_console_errors(driver, page: dict) -> None:
    viewer = _viewer(driver, 0)
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'start', behavior: 'instant'})", viewer
    )
    driver.execute_script("window.scrollBy({top: -60, behavior: 'instant'})")
    driver.save_screenshot("/tmp/viewer_shot.png")
    entries = driver.get_log("browser")
    # The only warning allowed is Chromium's hint about this test's own getImageData readbacks.
    problems = [
        e
        for e in entries
        if e["level"] == "SEVERE"
        or (e["level"] == "WARNING" and "willReadFrequently" not in e["message"])
    ]
    assert not problems, problems


def test_pdf_leaves_the_viewer_out(page: dict) -> None:
    """WeasyPrint (the report's PDF engine) prints the page without the viewers."""
    import io

    import pypdf
    import weasyprint

    pdf = weasyprint.HTML(string=page["html"]).write_pdf()
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "houses > faces" in text
    assert "Slice viewer" not in text and "SLICE VIEWER" not in text and "Threshold" not in text


def test_colour_ramps_match_the_figures() -> None:
    script = (templates_dir() / "viewer.js").read_text(encoding="utf-8")
    for colors in (POSITIVE_COLORS, NEGATIVE_COLORS):
        assert "[" + ", ".join(f'"{c}"' for c in colors) + "]" in script
    for forbidden in ("eval(", "new Function", "onclick", "innerHTML", "http"):
        assert forbidden not in script
