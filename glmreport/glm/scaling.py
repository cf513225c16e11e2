"""Signal scaling of a run before its first-level fit: percent signal change.

``percent_signal_change(Y)`` turns each voxel's time series into percent of its own mean,
``100 * (y / mean_t(y) - 1)``, so that effects are in percent signal change and comparable
between voxels, runs and subjects whatever the scanner's arbitrary units. This is nilearn's
``FirstLevelModel(signal_scaling=0)`` (``nilearn.glm.first_level.mean_scaling``), including
its guard: a mean below 1 is replaced by 1 (a voxel of the background, where the baseline is
0 or tiny, is then only centred, never divided by almost zero). A run is scaled after its
spatial smoothing, as nilearn does.
"""

from __future__ import annotations

import numpy as np

#: Means below this are replaced by it before dividing (nilearn's ``np.maximum(mean, 1)``).
MIN_MEAN = 1.0


def percent_signal_change(data: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Scale every column (voxel) of ``data`` to percent of its mean over time.

    Parameters
    ----------
    data : (n_scans, n_voxels) ndarray
        One run's time series.
    out : ndarray, optional
        Where to write the result (may be ``data`` itself, to save memory).

    Returns
    -------
    (n_scans, n_voxels) ndarray of float
        ``100 * (data / max(mean, 1) - 1)``: each column has mean 0 where its mean was >= 1.
    """
    data = np.asarray(data)
    if data.ndim != 2:
        raise ValueError(f"expected (n_scans, n_voxels) data, got shape {data.shape}")
    mean = np.maximum(data.mean(axis=0), MIN_MEAN)
    if out is None:
        out = np.empty(data.shape, dtype=np.result_type(data.dtype, np.float32))
    np.divide(data, mean, out=out)
    out -= 1.0
    out *= 100.0
    return out
