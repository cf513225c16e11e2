"""The report's slice viewers: the shared base (display grid, anatomy, atlases) and one layer
per contrast (its z map and its corrections' survivors), ready to embed as JSON.

Every volume is put on the figures' display grid (:func:`glmreport.figures.to_display`,
nearest neighbour: the readout shows the map's own values); voxels outside the analysis mask
carry no value. The packing is :mod:`.viewer`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import figures
from .context import Context, Volume
from .viewer import ViewerAtlas, ViewerMap, viewer_base, viewer_layer

#: Id of the page element holding the shared base.
BASE_ID = "viewer-base"


def display_mask(ctx: Context) -> np.ndarray | None:
    """The analysis mask on the display grid (None without a mask)."""
    if ctx.mask is None or ctx.mask_affine is None:
        return None
    return figures.to_display(ctx.mask.astype(np.float32), ctx.mask_affine, ctx.background) > 0


def display_z(volume: Volume, ctx: Context, mask: np.ndarray | None) -> np.ndarray:
    """A z map on the display grid, NaN outside the analysis mask (or outside its own grid)."""
    data, affine = volume
    shown = figures.resample(
        np.nan_to_num(data, nan=0.0), affine, ctx.background.affine, ctx.background.shape
    )
    inside = (
        mask
        if mask is not None
        else figures.to_display(np.isfinite(data) & (data != 0), affine, ctx.background) > 0
    )
    return np.where(inside, shown, np.nan).astype(np.float32)


def base_payload(
    ctx: Context, atlases: Sequence[ViewerAtlas] = (), *, space: str = "MNI"
) -> dict[str, Any]:
    """The base shared by every viewer of the report."""
    background = ctx.background
    return viewer_base(
        background=background.gray,
        affine=background.affine,
        brain=background.brain,
        atlases=atlases,
        space=space,
    )


def contrast_payload(
    base: dict[str, Any],
    *,
    title: str,
    z: np.ndarray,
    corrections: Sequence[tuple[str, Volume | None, float | None]],
    vmax: float,
    ctx: Context,
) -> dict[str, Any]:
    """One contrast's layer: its z map and each correction's survivors (title, map, z threshold).

    The initial threshold of the unthresholded map is the most lenient correction's z
    threshold (3.09, p < 0.001 one-sided, without one).
    """
    maps = []
    for name, volume, threshold in corrections:
        if volume is None:
            continue
        survivors = figures.to_display(
            np.nan_to_num(volume[0]) != 0, volume[1], ctx.background
        ).astype(bool)
        maps.append(ViewerMap(name=name, survivors=survivors, threshold=threshold))
    thresholds = [t for _, _, t in corrections if t is not None]
    return viewer_layer(
        base,
        z=z,
        title=title,
        threshold=min(thresholds) if thresholds else 3.09,
        maps=maps,
        vmax=vmax,
        base_id=BASE_ID,
    )
