"""What a correction may need beyond the contrast: the :class:`InferenceContext`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..glm.results import GLMFit


@dataclass(frozen=True, slots=True, kw_only=True)
class InferenceContext:
    """Everything a correction may need beyond the contrast itself.

    Attributes
    ----------
    mask : (X, Y, Z) ndarray of bool
        Analysis mask; in-mask arrays are ``volume[mask]`` in C order.
    affine : (4, 4) ndarray
        Voxel-to-world (mm) affine of the mask grid.
    data : (n_images, v) ndarray or None
        The data the GLM was fitted to (after smoothing), for resampling methods and
        smoothness estimation. ``None`` for map-only runs (``model.level: maps``).
    fit : GLMFit or None
        The fitted model (``None`` for map-only runs).
    table : DataFrame or None
        The inputs table, one row per image (exchangeability blocks are its columns).
    connectivity : {6, 18, 26}
    peak_min_distance_mm : float
        Minimum distance between a cluster's reported peaks.
    max_subpeaks : int
        Maximum number of sub-peaks reported per cluster (besides the main peak).
    progress : bool
        Whether long loops may show a progress bar (on stderr).
    regions : mapping of str to (v,) ndarray of bool
        The small volumes of the entries with ``svc``, by the entry's ``desc``: the in-mask
        voxels of the region (made by :mod:`glmreport.inputs.regions`).
    null_runner : callable or None
        Where permutation nulls are computed: a function of the resampling loop's inputs
        (:class:`~glmreport.inference.permutation.loop.NullWork`) returning their null maxima,
        e.g. chunks of resamples on a Dask cluster; None computes them in this process. The
        results are identical either way.
    """

    mask: np.ndarray
    affine: np.ndarray
    data: np.ndarray | None = None
    fit: GLMFit | None = None
    table: pd.DataFrame | None = None
    connectivity: int = 26
    peak_min_distance_mm: float = 8.0
    max_subpeaks: int = 3
    progress: bool = False
    regions: Mapping[str, np.ndarray] = field(default_factory=dict)
    null_runner: Callable[[Any], Any] | None = None
