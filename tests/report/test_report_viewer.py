"""The slice viewer inside a real report: a two-contrast run of the demo data, opened in
headless Chromium through Selenium (system ``chromium`` and ``chromium-driver``).

A click on a slice must show the z map's value at that voxel (read from the results folder
with nibabel) and its world coordinate, formatted as the report's tables format them; the
report stays within its size budget and keeps the viewer out of print.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from glmreport.config.load import load_config
from glmreport.datasets.demo import write_demo
from glmreport.datasets.demo_atlas import CONFIG_ENTRY, IMAGE, NAME, sector_names
from glmreport.pipeline.run import run
from glmreport.report.filters import fmt_coord, fmt_stat

#: A two-contrast report (figures and viewers of both contrasts) stays below this.
MAX_REPORT_BYTES = 6_000_000
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TWO_CONTRASTS = """\
title: Viewer test
output: results
model:
  level: second
  inputs: inputs.tsv
  design: one-sample
  covariates: [age]
  smoothing_fwhm: 6
  mask: auto
contrasts:
  - {name: button press, t: intercept}
  - {name: age, t: age}
corrections:
  - {method: uncorrected, alpha: 0.001, cluster_extent: 10}
  - {method: fdr, alpha: 0.05}
two_sided: true
report: {formats: [html]}
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The results folder of a real two-contrast run (about 15 s: fit, write, report)."""
    folder = tmp_path_factory.mktemp("viewer_run")
    config = write_demo(folder, n_subjects=8, seed=3)
    config.write_text(TWO_CONTRASTS + CONFIG_ENTRY, encoding="utf-8")
    return run(load_config(config))


def test_report_embeds_one_viewer_per_contrast_within_budget(report: Path) -> None:
    html = (report / "report.html").read_text(encoding="utf-8")
    size = (report / "report.html").stat().st_size
    print(f"two-contrast report: {size} bytes")
    assert size <= MAX_REPORT_BYTES
    assert html.count("data-viewer ") + html.count("data-viewer>") == 2
    assert html.count("data-viewer-base>") == 1
    # and, for print, one figure per contrast of its unthresholded map with survivors outlined
    assert html.count('alt="Unthresholded z map of button press with the survivors outlined"') == 1
    assert html.count('alt="Unthresholded z map of age with the survivors outlined"') == 1
    payloads = re.findall(
        r'<script type="application/json" data-viewer-payload>(.*?)</script>', html
    )
    titles = [json.loads(p.replace("\\u003c", "<"))["title"] for p in payloads]
    assert titles == ["button press", "age"]


@pytest.fixture(scope="module")
def driver(report: Path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromedriver = CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver")
    chromium = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not (chromedriver and chromium):
        pytest.skip(
            "chromium or chromedriver not found (Debian: apt-get install chromium chromium-driver)"
        )
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1200"):
        options.add_argument(argument)
    options.add_argument("--force-device-scale-factor=1")
    options.binary_location = chromium
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        browser.get((report / "report.html").as_uri())
        WebDriverWait(browser, 20).until(
            lambda b: (
                b.execute_script(
                    "return document.querySelectorAll('[data-viewer-state=ready]').length"
                )
                == 2
            )
        )
        yield browser
    finally:
        browser.quit()


def _payload(browser, viewer) -> dict:
    text = browser.execute_script(
        "return arguments[0].querySelector('script[data-viewer-payload]').textContent", viewer
    )
    layer = json.loads(text)
    base = json.loads(
        browser.execute_script(
            "return document.getElementById(arguments[0]).textContent", layer["base"]
        )
    )
    return base | layer


def _click(browser, viewer, view: str, ijk, shape) -> None:
    """Click the centre of voxel ``ijk`` (cropped viewer grid) in one view."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    h, v = {"sagittal": (1, 2), "coronal": (0, 2), "axial": (0, 1)}[view]
    canvas = viewer.find_element("css selector", f"canvas[data-viewer-view={view}]")
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", canvas
    )
    box = browser.execute_script("return arguments[0].getBoundingClientRect().toJSON()", canvas)
    x = box["left"] + (ijk[h] + 0.5) / shape[h] * box["width"]
    y = box["top"] + (shape[v] - 1 - ijk[v] + 0.5) / shape[v] * box["height"]
    actions = ActionBuilder(browser)
    actions.pointer_action.move_to_location(int(round(x)), int(round(y)))
    actions.pointer_action.click()
    actions.perform()


@pytest.mark.parametrize("which", [0, 1])
def test_click_reads_the_z_map_and_its_coordinate(driver, report: Path, which: int) -> None:
    from selenium.webdriver.common.by import By

    viewer = driver.find_elements(By.CSS_SELECTOR, "[data-viewer]")[which]
    payload = _payload(driver, viewer)
    name = ("buttonPress", "age")[which]
    (z_file,) = (report / "maps").glob(f"*contrast-{name}_stat-z_statmap.nii.gz")
    image = nib.load(z_file)
    z = np.asarray(image.dataobj, dtype=np.float32)
    mask = np.asarray(nib.load(report / "mask.nii.gz").dataobj) > 0
    sectors = np.asarray(nib.load(report.parent / IMAGE).dataobj)  # the demo's atlas
    # The viewer's grid is the figures' display grid; the demo's maps lie on the same
    # template grid, so each viewer voxel is one voxel of the map.
    to_map = np.linalg.inv(image.affine) @ np.array(payload["affine"])
    shape = payload["shape"]
    rng = np.random.default_rng(which)
    strongest = np.unravel_index(np.argmax(np.where(mask, np.abs(z), -1)), z.shape)
    candidates = [np.array(strongest)] + [
        np.argwhere(mask)[rng.integers(mask.sum())] for _ in range(2)
    ]
    for voxel in candidates:
        ijk = np.rint(np.linalg.solve(to_map[:3, :3], voxel - to_map[:3, 3])).astype(int)
        assert np.allclose(to_map[:3, :3] @ ijk + to_map[:3, 3], voxel)
        for view, first in (("axial", "coronal"), ("sagittal", "axial")):
            _click(driver, viewer, first, ijk, shape)
            _click(driver, viewer, view, ijk, shape)
            text = viewer.find_element("css selector", "[data-viewer-readout]").text
            xyz = nib.affines.apply_affine(image.affine, voxel)
            assert "(x, y, z) = (" + ", ".join(fmt_coord(v) for v in xyz) + ") mm" in text
            assert f"z = {fmt_stat(z[tuple(voxel)])}" in text
            label = sector_names().get(int(sectors[tuple(voxel)]), "\u2014")
            assert f"{NAME}: {label}" in text


def test_viewer_is_left_out_of_print(driver, report: Path) -> None:
    from selenium.webdriver.common.by import By

    viewer = driver.find_elements(By.CSS_SELECTOR, "[data-viewer]")[0]
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        display = driver.execute_script("return getComputedStyle(arguments[0]).display", viewer)
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert display == "none"
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'start', behavior: 'instant'})", viewer
    )
    driver.save_screenshot(str(report.parent / "viewer.png"))
    print(f"screenshot: {report.parent / 'viewer.png'}")
