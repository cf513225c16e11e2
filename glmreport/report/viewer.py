"""Data of the report's offline slice viewer: volumes packed into compact JSON.

The viewer (``templates/viewer.js``) draws three orthogonal slices of a contrast's z map over
the anatomical background and reads coordinates, z values and atlas labels at the crosshair.
Everything it needs travels inside the HTML file as JSON: no network, no external library.

One display grid
    Every volume given here must already lie on ONE voxel grid: the background's, described
    by ``affine``, axis-aligned RAS (a diagonal affine with positive voxel sizes), such as the
    figures' display grid. Resample values (nearest neighbour, so that the readout shows the
    map's own numbers) and labels onto it first; nothing here interpolates.

Payload (format ``glmreport-viewer/1``)
    A *base* (``viewer_base``: grid, background, atlases; the same for every contrast of a
    report) and one *layer* per contrast (``viewer_layer``: z map, threshold, maps of the
    corrections' survivors). ``viewer_payload`` merges both into one self-contained dict; a
    report with several contrasts embeds the base once and gives each layer ``"base": <id of
    the base's script element>`` instead.

    Arrays are dicts ``{"dtype", "filter", "data", ...}``: C-order voxels (x slowest, z fastest)
    of the cropped grid, ``filter`` ``"delta3"`` (successive differences along x, y and z,
    modulo 2**bits: the decoder takes running sums along the three axes) or ``"none"``,
    compressed with zlib (``DecompressionStream('deflate')``) and base64-encoded. ``dtype`` is
    ``uint8``, ``uint16`` (little-endian), ``int16`` (little-endian) or ``bits`` (``numpy.packbits``
    order: the first voxel is the most significant bit of the first byte).

    z values are ``int16`` with ``scale`` 0.01: the stored integer is ``round(z * 100)`` (half
    to even, as Python's ``round(z, 2)``) clipped to ±32767, so the readout shows exactly
    ``round(z, 2)`` for |z| <= 327.67; ``missing`` (-32768) marks voxels without a value (NaN,
    outside the analysis mask).
"""

from __future__ import annotations

import base64
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError

#: Format tag of the payload; the viewer refuses other versions.
FORMAT = "glmreport-viewer/1"
#: z values are stored as round(z / Z_SCALE) in int16.
Z_SCALE = 0.01
#: Stored integer of a voxel without a z value.
Z_MISSING = -32768
#: Largest stored |integer|; |z| above Z_CLIP is shown as ±Z_CLIP.
Z_LIMIT = 32767
Z_CLIP = Z_LIMIT * Z_SCALE
#: Upper bound of voxels embedded per volume; larger grids are subsampled by a whole step.
MAX_VOXELS = 2_500_000
#: Voxels of margin kept around the brain's bounding box.
MARGIN = 2
_MAX_NAME = 160
_MAX_LABELS = 65_535


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewerAtlas:
    """An atlas on the display grid.

    Attributes
    ----------
    name : str
        Shown before the label in the readout, e.g. ``"Harvard-Oxford"``.
    codes : (X, Y, Z) ndarray of int
        Label code of every voxel (0 = no label), on the display grid. For a probabilistic
        atlas, pass the most probable label where it is probable enough.
    names : mapping of int to str
        Code -> region name.
    """

    name: str
    codes: np.ndarray
    names: Mapping[int, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewerMap:
    """The survivors of one correction, shown as a choice of the viewer's map menu.

    Attributes
    ----------
    name : str
        Menu entry, e.g. ``"FWE (voxel), p < 0.05"``.
    survivors : (X, Y, Z) ndarray of bool
        Voxels that survive the correction, on the display grid.
    threshold : float or None
        The correction's z threshold (|z| for two-sided), the viewer's threshold when the map
        is chosen; ``None`` when the correction has none (TFCE, cluster mass): 0 is used.
    """

    name: str
    survivors: np.ndarray
    threshold: float | None = None


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def viewer_base(
    *,
    background: np.ndarray,
    affine: np.ndarray,
    brain: np.ndarray | None = None,
    atlases: Sequence[ViewerAtlas] = (),
    space: str = "MNI",
    max_voxels: int = MAX_VOXELS,
) -> dict[str, Any]:
    """The part of the viewer's data shared by every contrast: grid, background, atlases.

    Parameters
    ----------
    background : (X, Y, Z) ndarray
        Anatomy on the display grid: uint8 is taken as already windowed for display (as the
        figures' background), other types are scaled so the 99.5th percentile in the brain
        is white.
    affine : (4, 4) ndarray
        Voxel -> world (mm) of the display grid; diagonal with positive voxel sizes.
    brain : (X, Y, Z) ndarray of bool, optional
        Brain mask; the embedded volumes are cropped to its bounding box plus ``MARGIN``
        voxels, and the dark background outside it is drawn white. Default ``background > 0``.
    atlases : sequence of ViewerAtlas
    space : str
        What the coordinates are (``"MNI"`` or ``"world"``).
    max_voxels : int
        Above this many voxels in the crop, every k-th voxel is kept (the smallest whole k
        that fits); the readout then shows the kept voxels' own values.

    Returns
    -------
    dict
        JSON-serialisable: ``format``, ``shape`` (cropped), ``affine`` (of the cropped grid),
        ``space``, ``crop`` (``origin``, ``step``, ``shape`` of the full grid),
        ``background``, ``atlases``.
    """
    background = _volume(background, "background")
    shape = background.shape
    affine = _check_affine(affine)
    if brain is None:
        brain_mask = np.isfinite(background) & (background > 0)
    else:
        brain_mask = _same_grid(brain, shape, "brain mask").astype(bool)
    origin, stop, step = _crop_box(brain_mask, max_voxels)
    crop = _Crop(origin=origin, stop=stop, step=step, shape=shape)
    gray = _window(background, brain_mask)
    gray[~brain_mask & (gray < 8)] = 255  # outside the brain: page white, as the figures
    cropped_affine = affine.copy()
    cropped_affine[:3, :3] = affine[:3, :3] * step
    cropped_affine[:3, 3] = affine[:3, :3] @ np.asarray(origin, float) + affine[:3, 3]
    return {
        "format": FORMAT,
        "shape": list(crop.cropped_shape),
        "affine": [[float(v) for v in row] for row in cropped_affine],
        "space": _text(space),
        "crop": {"origin": list(origin), "step": step, "shape": list(shape)},
        "background": _pack(crop.take(gray), "uint8", delta=True),
        "atlases": [_atlas(a, crop) for a in atlases],
    }


def viewer_layer(
    base: Mapping[str, Any],
    *,
    z: np.ndarray,
    title: str,
    threshold: float,
    maps: Sequence[ViewerMap] = (),
    vmax: float | None = None,
    z_name: str = "unthresholded z",
    base_id: str | None = None,
) -> dict[str, Any]:
    """The viewer's data of one contrast, on the grid of ``base``.

    Parameters
    ----------
    base : dict
        What :func:`viewer_base` returned for the display grid.
    z : (X, Y, Z) ndarray
        The contrast's z map on the (full, uncropped) display grid; NaN where there is no value.
        Taken as float32, as stored in the results folder.
    title : str
        The contrast's name, for the viewer's label.
    threshold : float
        Initial |z| threshold of the unthresholded map (voxels below it are transparent).
    maps : sequence of ViewerMap
        The corrections, each shown as its survivors.
    vmax : float, optional
        |z| at the top of the colour ramps; default the largest |z| rounded up to 0.1, as the
        figures.
    z_name : str
        Menu entry of the unthresholded map.
    base_id : str, optional
        Id of the page element holding ``base`` (``viewer_base`` macro of
        ``templates/partials/viewer.html.j2``); without it, merge ``base`` into the layer
        (``base | layer``, as :func:`viewer_payload` does).

    Returns
    -------
    dict
        JSON-serialisable: ``format``, ``title``, ``z``, ``vmax``, ``maps`` (the first is the
        unthresholded map: ``{"name", "kind": "z", "threshold"}``; then one ``{"name",
        "kind": "survivors", "threshold", "mask"}`` per correction), and ``base`` when
        ``base_id`` is given.
    """
    crop = _Crop.from_base(base)
    values = _same_grid(z, crop.shape, "z map").astype(np.float32)
    shown = crop.take(values)
    entries: list[dict[str, Any]] = [
        {"name": _text(z_name), "kind": "z", "threshold": _threshold(threshold)}
    ]
    for item in maps:
        survivors = _same_grid(item.survivors, crop.shape, f"survivors of {item.name!r:.80}")
        entries.append(
            {
                "name": _text(item.name),
                "kind": "survivors",
                "threshold": None if item.threshold is None else _threshold(item.threshold),
                "mask": _pack(crop.take(survivors.astype(bool)), "bits"),
            }
        )
    layer = {
        "format": FORMAT,
        "title": _text(title),
        "z": _pack(quantize_z(shown), "int16", delta=True)
        | {"scale": Z_SCALE, "missing": Z_MISSING},
        "vmax": _vmax(shown, vmax, threshold),
        "maps": entries,
    }
    if base_id is not None:
        layer["base"] = _text(base_id)
    return layer


def viewer_payload(
    *,
    background: np.ndarray,
    affine: np.ndarray,
    z: np.ndarray,
    title: str,
    threshold: float,
    maps: Sequence[ViewerMap] = (),
    atlases: Sequence[ViewerAtlas] = (),
    brain: np.ndarray | None = None,
    vmax: float | None = None,
    space: str = "MNI",
) -> dict[str, Any]:
    """A self-contained viewer payload: :func:`viewer_base` and :func:`viewer_layer` merged.

    For several contrasts, embed ``viewer_base(...)`` once and one ``viewer_layer(...)`` per
    contrast with ``"base"`` set to the id of the base's script element (see
    ``templates/partials/viewer.html.j2``); each parameter is described there.

    Returns
    -------
    dict
        JSON-serialisable.
    """
    base = viewer_base(
        background=background, affine=affine, brain=brain, atlases=atlases, space=space
    )
    layer = viewer_layer(base, z=z, title=title, threshold=threshold, maps=maps, vmax=vmax)
    return base | layer


def quantize_z(values: np.ndarray) -> np.ndarray:
    """z values -> int16 hundredths, as the viewer stores them.

    Parameters
    ----------
    values : ndarray
        z values; taken as float32.

    Returns
    -------
    ndarray of int16
        ``round(z, 2) * 100`` (half to even, exact for float32 inputs) clipped to ±32767;
        ``Z_MISSING`` where ``values`` is NaN.
    """
    z32 = np.asarray(values, dtype=np.float32)
    # float32 * 100 is exact in float64, so rint rounds the true value half to even,
    # as Python's round(z, 2) does.
    hundredths = np.rint(z32.astype(np.float64) * 100.0)
    hundredths = np.clip(np.nan_to_num(hundredths, nan=0.0), -Z_LIMIT, Z_LIMIT)
    out = hundredths.astype(np.int16)
    out[np.isnan(z32)] = Z_MISSING
    return out


def decode_array(spec: Mapping[str, Any], shape: Sequence[int]) -> np.ndarray:
    """Decode one packed array as the viewer does (for tests and tools).

    Parameters
    ----------
    spec : dict
        ``{"dtype", "filter", "data"}`` as in a payload.
    shape : tuple of 3 int
        The payload's ``shape``.

    Returns
    -------
    ndarray
        uint8, uint16, int16 or bool, of ``shape``.
    """
    raw = zlib.decompress(base64.b64decode(spec["data"]))
    n = int(np.prod(shape))
    if spec["dtype"] == "bits":
        return np.unpackbits(np.frombuffer(raw, np.uint8), count=n).astype(bool).reshape(shape)
    dtype = {"uint8": np.uint8, "uint16": "<u2", "int16": "<i2"}[spec["dtype"]]
    out = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if spec.get("filter") == "delta3":
        for axis in range(3):
            out = np.cumsum(out, axis=axis, dtype=out.dtype)  # wraps modulo 2**bits
    return out


# --------------------------------------------------------------------------------------------
# Grid and crop
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Crop:
    origin: tuple[int, int, int]
    stop: tuple[int, int, int]
    step: int
    shape: tuple[int, int, int]

    @classmethod
    def from_base(cls, base: Mapping[str, Any]) -> _Crop:
        crop = base["crop"]
        origin = tuple(int(v) for v in crop["origin"])
        step = int(crop["step"])
        cropped = [int(v) for v in base["shape"]]
        stop = tuple(o + (n - 1) * step + 1 for o, n in zip(origin, cropped, strict=True))
        return cls(origin=origin, stop=stop, step=step, shape=tuple(int(v) for v in crop["shape"]))

    @property
    def cropped_shape(self) -> tuple[int, ...]:
        return tuple(
            len(range(a, b, self.step)) for a, b in zip(self.origin, self.stop, strict=True)
        )

    def take(self, volume: np.ndarray) -> np.ndarray:
        box = tuple(slice(a, b, self.step) for a, b in zip(self.origin, self.stop, strict=True))
        return np.ascontiguousarray(volume[box])


def _crop_box(
    brain: np.ndarray, max_voxels: int
) -> tuple[tuple[int, int, int], tuple[int, int, int], int]:
    """Bounding box of ``brain`` plus a margin, and the subsampling step that fits."""
    shape = np.array(brain.shape)
    idx = np.argwhere(brain)
    if len(idx):
        low = np.maximum(idx.min(axis=0) - MARGIN, 0)
        high = np.minimum(idx.max(axis=0) + MARGIN + 1, shape)
    else:
        low, high = np.zeros(3, int), shape
    if int(max_voxels) < 1:
        raise InputError(f"viewer: max_voxels must be at least 1, got {max_voxels!r:.40}")
    step = max(1, math.ceil((float(np.prod(high - low)) / int(max_voxels)) ** (1 / 3) - 1e-9))
    while np.prod(-(-(high - low) // step)) > max_voxels:
        step += 1
    return (
        tuple(int(v) for v in low),
        tuple(int(v) for v in high),
        int(step),
    )  # type: ignore[return-value]


def _check_affine(affine: np.ndarray) -> np.ndarray:
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (4, 4) or not np.isfinite(a).all():
        raise InputError(f"viewer: the affine must be a finite 4×4 matrix, got shape {a.shape}")
    linear = a[:3, :3]
    diagonal = np.diag(linear)
    off = linear - np.diag(diagonal)
    if np.any(diagonal <= 0) or np.abs(off).max() > 1e-6 * np.abs(diagonal).max():
        raise InputError(
            "viewer: the display grid must be axis-aligned RAS (a diagonal affine with "
            "positive voxel sizes); resample the volumes onto the figures' display grid first"
        )
    return a


def _volume(data: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(data)
    if array.ndim != 3 or min(array.shape) < 1:
        raise InputError(f"viewer: the {what} must be a 3D volume, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"viewer: the {what} must be numeric, got {array.dtype}")
    return array


def _same_grid(data: np.ndarray, shape: Sequence[int], what: str) -> np.ndarray:
    array = _volume(data, what)
    if tuple(array.shape) != tuple(shape):
        raise InputError(
            f"viewer: the {what} has shape {array.shape}, expected {tuple(shape)} "
            "(the display grid): resample it first"
        )
    return array


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def _window(background: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """Background as uint8 gray levels (a copy)."""
    if background.dtype == np.uint8:
        return background.copy()
    values = np.nan_to_num(background.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    inside = values[brain] if brain.any() else values[values > 0]
    top = float(np.percentile(inside, 99.5)) if inside.size else 1.0
    return np.clip(values / (top if top > 0 else 1.0) * 255.0, 0, 255).astype(np.uint8)


def _threshold(value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"viewer: a threshold must be a number, got {value!r:.40}") from None
    if not math.isfinite(number) or number < 0:
        raise InputError(f"viewer: a threshold must be a finite |z| >= 0, got {number!r:.40}")
    return round(number, 4)


def _vmax(shown: np.ndarray, vmax: float | None, threshold: float) -> float:
    if vmax is None:
        finite = np.abs(shown[np.isfinite(shown)])
        top = float(min(finite.max(), Z_CLIP)) if finite.size else 0.0
        vmax = math.ceil(top * 10) / 10 if top > 0 else 1.0
    return max(_threshold(vmax), _threshold(threshold), 0.1)


def _text(value: object) -> str:
    text = str(value)
    if len(text) > _MAX_NAME:
        text = text[: _MAX_NAME - 1] + "…"
    return text


def _atlas(atlas: ViewerAtlas, crop: _Crop) -> dict[str, Any]:
    name = _text(atlas.name)
    codes = _same_grid(atlas.codes, crop.shape, f"atlas {name!r}")
    if not (np.issubdtype(codes.dtype, np.integer) or codes.dtype == bool):
        raise InputError(f"viewer: atlas {name!r} must hold integer codes, got {codes.dtype}")
    codes = crop.take(codes).astype(np.int64)
    if codes.size and (codes.min() < 0 or codes.max() > _MAX_LABELS):
        raise InputError(f"viewer: atlas {name!r} codes must lie in 0..{_MAX_LABELS}")
    present = {int(c) for c in np.unique(codes)} - {0}
    names = {}
    for code, label in atlas.names.items():
        if int(code) in present:
            names[str(int(code))] = _text(label)
    dtype = "uint8" if codes.size == 0 or codes.max() < 256 else "uint16"
    return {"name": name, "names": names} | _pack(codes, dtype)


# --------------------------------------------------------------------------------------------
# Packing
# --------------------------------------------------------------------------------------------


def _pack(volume: np.ndarray, dtype: str, *, delta: bool = False) -> dict[str, Any]:
    """C-order voxels -> {"dtype", "filter", "data": base64(zlib(bytes))}."""
    if dtype == "bits":
        raw = np.packbits(volume.astype(bool).ravel()).tobytes()
        return {"dtype": "bits", "filter": "none", "data": _deflate(raw)}
    numpy_type = {"uint8": np.uint8, "uint16": "<u2", "int16": "<i2"}[dtype]
    values = volume.astype(numpy_type)
    if delta:
        bits = 8 * values.dtype.itemsize
        work = values.astype(np.int64)
        for axis in range(3):
            work = np.diff(work, axis=axis, prepend=0)
        unsigned = (work % (1 << bits)).astype(np.uint8 if bits == 8 else "<u2")
        values = unsigned.view(numpy_type)
    return {
        "dtype": dtype,
        "filter": "delta3" if delta else "none",
        "data": _deflate(values.tobytes()),
    }


def _deflate(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")
