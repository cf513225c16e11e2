"""PNG encoding: no metadata, exact white, underlays, data URI."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from glmreport.figures.png import Png, encode


def _figure() -> Figure:
    fig = Figure(figsize=(2.0, 1.0), facecolor="white")
    fig.text(0.5, 0.5, "text", color="black")
    return fig


def test_png_has_no_metadata_or_addresses():
    png = encode(_figure(), 50)
    assert (png.width, png.height, png.dpi) == (100, 50, 50.0)
    assert png.data.startswith(b"\x89PNG")
    assert b"http" not in png.data
    assert b"tEXt" not in png.data and b"iTXt" not in png.data and b"zTXt" not in png.data
    assert png.data_uri.startswith("data:image/png;base64,")
    assert png.width_in == 2.0


def test_underlays_are_blended_under_the_figure_and_white_stays_exact():
    red = np.zeros((10, 20, 3), dtype=np.uint8)
    red[..., 0] = 200
    png = encode(_figure(), 50, [(red, 5, 3)], photo=True)
    image = Image.open(io.BytesIO(png.data))
    assert image.mode == "P"  # quantised to the brain palette
    rgb = np.asarray(image.convert("RGB")).astype(int)
    assert (rgb[0, 0] == 255).all() and (rgb[-1, -1] == 255).all()  # page white exact
    patch = rgb[3:13, 5:25]
    assert (patch[..., 0] > 150).mean() > 0.9 and (patch[..., 1] < 60).mean() > 0.9


def test_png_is_frozen():
    png = Png(data=b"x", width=1, height=1, dpi=1.0)
    with pytest.raises(AttributeError):
        png.width = 2  # type: ignore[misc]


def test_read_png_returns_the_file_as_it_is(tmp_path):
    from glmreport.figures.png import read_png

    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    png = encode(fig, 50)
    (tmp_path / "a.png").write_bytes(png.data)
    again = read_png(tmp_path / "a.png", 50)
    assert again == png
    (tmp_path / "b.png").write_bytes(b"GIF89a" + bytes(20))
    with pytest.raises(Exception):  # noqa: B017 - PIL's error for a file that is no image
        read_png(tmp_path / "b.png", 50)
