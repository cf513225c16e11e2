"""The heights at which TFCE sums cluster extents, and each voxel's level among them."""

from __future__ import annotations

import numpy as np

from ...errors import InferenceError

__all__ = ["MAX_STEPS", "MIN_STEPS", "signed_levels", "tfce_heights"]

#: Bounds on the number of TFCE height steps (as nilearn).
MIN_STEPS = 10
MAX_STEPS = 1000


def tfce_heights(
    stat: np.ndarray, *, dh: float | str = "auto", two_sided: bool = True
) -> np.ndarray:
    """The heights at which TFCE sums cluster extents.

    Parameters
    ----------
    stat : (v,) ndarray
        Statistic map.
    dh : 'auto' or float
        Step between heights; ``'auto'`` gives 100 steps from 0 to the maximum.
    two_sided : bool
        Whether the maximum is taken over ``|stat|``.

    Returns
    -------
    (n_steps,) ndarray of float64
        ``linspace(0, max, n_steps + 1)[1:]``; empty when the maximum is not positive.

    Raises
    ------
    InferenceError
        ``dh`` neither ``'auto'`` nor a positive number.
    """
    stat = np.asarray(stat)
    bad_dh = InferenceError(f"TFCE dh must be 'auto' or a positive number; got {dh!r}.")
    if isinstance(dh, str):
        if dh != "auto":
            raise bad_dh
    elif not float(dh) > 0:
        raise bad_dh
    if stat.size == 0:
        return np.zeros(0)
    with np.errstate(invalid="ignore"):
        max_score = float(np.nanmax(np.abs(stat)) if two_sided else np.nanmax(stat))
    if not np.isfinite(max_score) or max_score <= 0:
        return np.zeros(0)
    if isinstance(dh, str):
        n_steps = 100
    else:
        n_steps = int(np.clip(round(max_score / float(dh)), MIN_STEPS, MAX_STEPS))
    return np.linspace(0.0, max_score, n_steps + 1)[1:]


def signed_levels(stat: np.ndarray, heights: np.ndarray, two_sided: bool) -> np.ndarray:
    """Signed number of heights at or below each voxel's value (0: never supra-threshold).

    Parameters
    ----------
    stat : (v,) ndarray
    heights : (n,) ndarray
        Increasing, evenly spaced (:func:`tfce_heights`), ``n >= 1``.
    two_sided : bool
        Negative values get negative levels (of ``-stat``); otherwise level 0.

    Returns
    -------
    (v,) ndarray of int16
        ``#{k : h_k <= |stat|}``, exactly (comparisons with the heights themselves).
    """
    stat = np.asarray(stat)
    mag = np.abs(stat) if two_sided else np.maximum(stat, 0)
    if np.isnan(mag).any():
        np.nan_to_num(mag, copy=False, nan=0.0)  # NaN: below every height
    n = heights.size
    # first guess from the even spacing (off by at most one; in float32 for float32 maps,
    # whose scale is then a normal float32), then exact comparisons with the heights
    # themselves
    scale = n / heights[-1]
    if mag.dtype == np.float32 and heights[-1] > 1e-30 and scale < 1e30:
        guess = mag * np.float32(scale)
    else:
        guess = mag * scale
    np.minimum(guess, n, out=guess)
    lev = guess.astype(np.int32)
    padded = np.concatenate([[-np.inf], heights, [np.inf]])
    if mag.dtype == np.float32:
        # for a float32 value x, x >= h exactly when x >= the smallest float32 >= h
        up32 = padded.astype(np.float32)
        below = up32 < padded
        up32[below] = np.nextafter(up32[below], np.float32(np.inf))
        padded = up32
    # both bounds of each voxel's guessed interval in one gather (pairs of floats viewed as
    # one complex number)
    pairs = np.stack([padded[:-1], padded[1:]], axis=1)
    pairs = pairs.view(np.complex64 if padded.dtype == np.float32 else np.complex128)[:, 0]
    bounds = np.take(pairs, lev.astype(np.intp)).view(padded.dtype).reshape(-1, 2)
    step = (mag >= bounds[:, 1]).view(np.int8)
    step -= (mag < bounds[:, 0]).view(np.int8)
    out = lev.astype(np.int16)
    out += step
    if two_sided:
        # negate where stat < 0: x ^ -1 - (-1) == -x, x ^ 0 - 0 == x (no masked writes)
        flip = (stat < 0).view(np.int8).astype(np.int16)
        np.negative(flip, out=flip)
        out ^= flip
        out -= flip
    return out
