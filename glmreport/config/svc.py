"""The ``svc`` key of an ``rft`` or ``permutation`` entry: a small volume.

``svc: {mask: roi.nii.gz}`` (non-zero voxels of an image) or
``svc: {sphere: {center_mm: [x, y, z], radius_mm: r}}`` (voxel centres within ``r`` mm of the
centre, world coordinates), read into a :class:`SvcSpec` (re-exported by :mod:`.specs`). The
region itself is made on the data grid by :mod:`glmreport.inputs.regions`; an empty region or
one outside the analysis mask is refused there, naming the entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .fields import _check_keys, _list, _mapping, _number, _path

#: Largest sphere radius (mm): a region, not a brain.
MAX_SVC_RADIUS_MM = 200.0
#: Largest |coordinate| of a sphere centre (mm).
MAX_SVC_COORD_MM = 1000.0
#: The end of the route (and label) of a small-volume result (an entry with ``svc``).
SVC_SUFFIX = "SVC"


@dataclass(frozen=True, slots=True, kw_only=True)
class SvcSpec:
    """A small volume of an ``rft`` or ``permutation`` entry (``svc``).

    Exactly one of ``mask`` and (``center_mm``, ``radius_mm``) is set.

    Attributes
    ----------
    mask : Path or None
        A NIfTI image whose non-zero voxels are the region (resampled nearest-neighbour onto
        the data grid when its grid differs).
    center_mm : tuple of 3 float or None
        Centre of a sphere, world coordinates in mm.
    radius_mm : float or None
        Radius of the sphere in mm (> 0): the voxels whose centres lie within it.
    where : str
        YAML path of the ``svc`` key (e.g. ``corrections[1].svc``), for messages (not
        compared: two entries with the same region are the same).
    """

    mask: Path | None = None
    center_mm: tuple[float, float, float] | None = None
    radius_mm: float | None = None
    where: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        sphere = self.center_mm is not None and self.radius_mm is not None
        if (self.mask is not None) == sphere or (self.center_mm is None) != (
            self.radius_mm is None
        ):
            raise TypeError("an SvcSpec is either a mask or a sphere (center_mm and radius_mm)")

    def to_dict(self) -> dict[str, Any]:
        """As recorded in ``summary.json``: ``{"mask": path}`` or ``{"sphere": {...}}``."""
        if self.mask is not None:
            return {"mask": str(self.mask)}
        return {
            "sphere": {
                "center_mm": [float(v) for v in self.center_mm or ()],
                "radius_mm": float(self.radius_mm or 0.0),
            }
        }

    def describe(self) -> str:
        """The region in words, e.g. ``sphere of radius 10 mm at (0, -52, 26) mm``."""
        if self.mask is not None:
            return f"mask {self.mask.name}"
        centre = ", ".join(f"{v:g}" for v in self.center_mm or ())
        return f"sphere of radius {self.radius_mm:g} mm at ({centre}) mm"


def with_svc(params: dict[str, Any], svc: SvcSpec | None) -> dict[str, Any]:
    """An entry's recorded parameters with its ``svc`` (as :meth:`SvcSpec.to_dict`) when set."""
    return params if svc is None else {**params, "svc": svc.to_dict()}


def parse_svc(value: Any, where: str, base: Path) -> SvcSpec:
    """``svc``: a mask image or a sphere.

    Parameters
    ----------
    value : Any
        The raw value of the key.
    where : str
        Its YAML path, e.g. ``corrections[1].svc``.
    base : Path
        The config's folder (relative mask paths).

    Returns
    -------
    SvcSpec

    Raises
    ------
    ConfigError
        Not exactly one of ``mask`` and ``sphere``, or a bad centre or radius.
    """
    raw = _mapping(value, where)
    _check_keys(raw, where, ("mask", "sphere"))
    if len(raw) != 1:
        raise ConfigError(
            "expected exactly one of 'mask' (a NIfTI image) or 'sphere' "
            "({center_mm: [x, y, z], radius_mm: r})",
            path=where,
        )
    if "mask" in raw:
        return SvcSpec(mask=_path(raw["mask"], f"{where}.mask", base), where=where)
    at = f"{where}.sphere"
    sphere = _mapping(raw["sphere"], at)
    _check_keys(sphere, at, ("center_mm", "radius_mm"), required=("center_mm", "radius_mm"))
    items = _list(sphere["center_mm"], f"{at}.center_mm")
    if len(items) != 3:
        raise ConfigError(
            f"expected three coordinates [x, y, z] in mm, got {len(items)}", path=f"{at}.center_mm"
        )
    bound = MAX_SVC_COORD_MM
    centre = tuple(
        _number(v, f"{at}.center_mm[{i}]", low=-bound, high=bound) for i, v in enumerate(items)
    )
    radius = _number(
        sphere["radius_mm"], f"{at}.radius_mm", low=0, low_open=True, high=MAX_SVC_RADIUS_MM
    )
    return SvcSpec(center_mm=centre, radius_mm=radius, where=where)  # type: ignore[arg-type]
