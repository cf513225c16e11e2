"""Haemodynamic response models and event regressors for first-level designs.

Every event regressor is built in four steps, all on an oversampled time grid:

1. the events of one condition become a boxcar (height = modulation, one per event) sampled
   on a grid ``oversampling`` times finer than the scans, starting ``min_onset`` seconds
   before the first frame;
2. the boxcar is convolved with each kernel of the chosen model (HRF, its time derivative,
   its dispersion derivative, or FIR delay windows);
3. the convolved series is resampled at the frame times by linear interpolation;
4. for the derivative models, each column is orthogonalised against the ones before it
   (derivative against HRF, dispersion against both).

The HRFs are differences of two gamma densities, normalised to unit sum on the oversampled
grid (Friston et al. 1998 for SPM; Glover 1999):

=========  =====  ==========  ==========  ============  =====
model      delay  undershoot  dispersion  u_dispersion  ratio
=========  =====  ==========  ==========  ============  =====
``spm``    6      16          1.0         1.0           0.167
``glover`` 6      12          0.9         0.9           0.48
=========  =====  ==========  ==========  ============  =====

with ``peak = gamma.pdf(t, delay / dispersion, loc=dt, scale=dispersion)`` and
``undershoot = gamma.pdf(t, undershoot / u_dispersion, loc=dt, scale=u_dispersion)`` on
``t = linspace(0, 32, rint(32 / dt))``, ``dt = t_r / oversampling``. The time derivative is the
finite difference ``(h(t) - h(t - 0.1 s)) / 0.1`` (kernel onset shifted by 0.1 s); the
dispersion derivative is ``(h(dispersion) - h(dispersion + 0.01)) / 0.01`` with the
undershoot dispersion left at 1.0 (for Glover as well, as in nilearn). These choices, the
time grid and the names reproduce nilearn's ``make_first_level_design_matrix``
(nilearn 0.14) to floating-point precision, so designs carry over between the two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import fft, special

from ..config.vocabulary import HRF_MODELS
from ..errors import DesignError, suggest

_SHAPES = {
    "spm": {"undershoot": 16.0, "dispersion": 1.0, "u_dispersion": 1.0, "ratio": 0.167},
    "glover": {"undershoot": 12.0, "dispersion": 0.9, "u_dispersion": 0.9, "ratio": 0.48},
}
_TIME_LENGTH = 32.0
_TIME_STEP = 0.1  # s, time-derivative step
_DISPERSION_STEP = 0.01  # dispersion-derivative step


def normalize_hrf_model(hrf_model: str | None) -> str:
    """Return the canonical spelling of an HRF model name.

    Parameters
    ----------
    hrf_model : str or None
        Any case and spacing of one of :data:`HRF_MODELS`; ``None`` means ``"none"``.

    Returns
    -------
    str
        One of :data:`HRF_MODELS`.

    Raises
    ------
    DesignError
        If the name is unknown.
    """
    if hrf_model is None:
        return "none"
    key = " + ".join(part.strip() for part in str(hrf_model).lower().split("+"))
    if key not in HRF_MODELS:
        raise DesignError(
            f"unknown hrf model {hrf_model!r}; expected one of {', '.join(HRF_MODELS)}."
            + suggest(key, HRF_MODELS)
        )
    return key


def _gamma_pdf(t: np.ndarray, shape: float, *, loc: float, scale: float) -> np.ndarray:
    """Gamma density ``y^(shape-1) exp(-y) / (Gamma(shape) scale)``, ``y = (t - loc) / scale``."""
    y = (t - loc) / scale
    out = np.zeros_like(y)
    pos = y > 0
    out[pos] = np.exp(special.xlogy(shape - 1.0, y[pos]) - y[pos] - special.gammaln(shape)) / scale
    return out


def _convolve_columns(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """First ``len(x)`` samples of the full convolution of each column of ``x`` with ``kernel``."""
    n = x.shape[0]
    size = fft.next_fast_len(n + kernel.size - 1, real=True)
    spectrum = fft.rfft(x, size, axis=0) * fft.rfft(kernel, size)[:, None]
    return fft.irfft(spectrum, size, axis=0)[:n]


def gamma_difference_hrf(
    t_r: float,
    *,
    oversampling: int = 50,
    time_length: float = _TIME_LENGTH,
    onset: float = 0.0,
    delay: float = 6.0,
    undershoot: float = 16.0,
    dispersion: float = 1.0,
    u_dispersion: float = 1.0,
    ratio: float = 0.167,
) -> np.ndarray:
    """Difference of two gamma densities sampled on the oversampled grid, unit sum.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds.
    oversampling : int
        Samples per ``t_r``.
    time_length : float
        Kernel length in seconds.
    onset : float
        Shift of the kernel in seconds (the time axis is ``t - onset``).
    delay, undershoot : float
        Means (s) of the peak and undershoot gamma densities.
    dispersion, u_dispersion : float
        Scales of the two gamma densities.
    ratio : float
        Weight of the undershoot.

    Returns
    -------
    hrf : (rint(time_length * oversampling / t_r),) ndarray
    """
    dt = t_r / oversampling
    t = np.linspace(0.0, time_length, int(np.rint(time_length / dt))) - onset
    peak = _gamma_pdf(t, delay / dispersion, loc=dt, scale=dispersion)
    under = _gamma_pdf(t, undershoot / u_dispersion, loc=dt, scale=u_dispersion)
    hrf = peak - ratio * under
    return hrf / hrf.sum()


def canonical_hrf(
    shape: str, t_r: float, *, oversampling: int = 50, onset: float = 0.0
) -> np.ndarray:
    """The ``"spm"`` or ``"glover"`` HRF on the oversampled grid (see the module table).

    Parameters
    ----------
    shape : {'spm', 'glover'}
    t_r : float
        Repetition time in seconds.
    oversampling : int
    onset : float
        Kernel shift in seconds.

    Returns
    -------
    hrf : (n_samples,) ndarray
    """
    return gamma_difference_hrf(t_r, oversampling=oversampling, onset=onset, **_SHAPES[shape])


def time_derivative(shape: str, t_r: float, *, oversampling: int = 50) -> np.ndarray:
    """Finite-difference time derivative ``(h(t) - h(t - 0.1)) / 0.1`` of an HRF.

    Parameters
    ----------
    shape : {'spm', 'glover'}
    t_r : float
    oversampling : int

    Returns
    -------
    dhrf : (n_samples,) ndarray
    """
    h0 = canonical_hrf(shape, t_r, oversampling=oversampling)
    h1 = canonical_hrf(shape, t_r, oversampling=oversampling, onset=_TIME_STEP)
    return (h0 - h1) / _TIME_STEP


def dispersion_derivative(shape: str, t_r: float, *, oversampling: int = 50) -> np.ndarray:
    """Finite-difference derivative of an HRF with respect to its peak dispersion.

    The undershoot dispersion is kept at 1.0 in both terms (also for ``glover``).

    Parameters
    ----------
    shape : {'spm', 'glover'}
    t_r : float
    oversampling : int

    Returns
    -------
    ddhrf : (n_samples,) ndarray
    """
    params = dict(_SHAPES[shape], u_dispersion=1.0)
    disp = params.pop("dispersion")
    h0 = gamma_difference_hrf(t_r, oversampling=oversampling, dispersion=disp, **params)
    h1 = gamma_difference_hrf(
        t_r, oversampling=oversampling, dispersion=disp + _DISPERSION_STEP, **params
    )
    return (h0 - h1) / _DISPERSION_STEP


def hrf_kernels(
    hrf_model: str, t_r: float, *, oversampling: int = 50, fir_delays: Sequence[int] = (0,)
) -> list[np.ndarray]:
    """Convolution kernels of an HRF model on the oversampled grid.

    Parameters
    ----------
    hrf_model : str
        One of :data:`HRF_MODELS`.
    t_r : float
        Repetition time (smallest frame spacing) in seconds.
    oversampling : int
    fir_delays : sequence of int
        Delays in scans, for ``fir`` only: kernel ``d`` is a one-scan box starting
        ``d`` scans after the event, of height ``1 / oversampling``.

    Returns
    -------
    list of 1D ndarray
        One kernel per regressor of each condition.
    """
    model = normalize_hrf_model(hrf_model)
    if model == "fir":
        return [
            np.concatenate([np.zeros(d * oversampling), np.full(oversampling, 1.0 / oversampling)])
            for d in fir_delays
        ]
    if model == "none":
        kernel = np.zeros(oversampling)
        kernel[0] = 1.0
        return [kernel]
    shape = model.split(" + ")[0]
    kernels = [canonical_hrf(shape, t_r, oversampling=oversampling)]
    if "derivative" in model:
        kernels.append(time_derivative(shape, t_r, oversampling=oversampling))
    if "dispersion" in model:
        kernels.append(dispersion_derivative(shape, t_r, oversampling=oversampling))
    return kernels


def regressor_names(condition: str, hrf_model: str, fir_delays: Sequence[int] = (0,)) -> list[str]:
    """Column names of one condition: ``c``, ``c_derivative``, ``c_dispersion``, ``c_delay_d``.

    Parameters
    ----------
    condition : str
        The ``trial_type`` value.
    hrf_model : str
    fir_delays : sequence of int

    Returns
    -------
    list of str
    """
    model = normalize_hrf_model(hrf_model)
    if model == "fir":
        return [f"{condition}_delay_{int(d)}" for d in fir_delays]
    names = [condition]
    if "derivative" in model:
        names.append(f"{condition}_derivative")
    if "dispersion" in model:
        names.append(f"{condition}_dispersion")
    return names


def oversampled_grid(frame_times: np.ndarray, *, oversampling: int = 50, min_onset: float = -24.0):
    """The fine time grid on which event boxcars are built and convolved.

    It runs from ``frame_times[0] + min_onset`` to ``max * (1 + 1 / (n - 1))`` (one frame
    past the last one when frames start at 0) with ``oversampling`` samples per frame.

    Parameters
    ----------
    frame_times : (n_scans,) ndarray
        Acquisition times in seconds, increasing, ``n_scans >= 2``.
    oversampling : int
    min_onset : float
        Earliest onset considered, relative to the first frame (seconds, <= 0).

    Returns
    -------
    grid : (n_high_res,) ndarray
    """
    n = frame_times.size
    lo, hi = float(frame_times.min()), float(frame_times.max())
    end = hi * (1 + 1.0 / (n - 1))
    n_high = (n - 1) * 1.0 / (hi - lo) * (end - lo - min_onset) * oversampling + 1
    return np.linspace(lo + min_onset, end, int(np.rint(n_high)))


def event_boxcars(
    grid: np.ndarray,
    onsets: np.ndarray,
    durations: np.ndarray,
    amplitudes: np.ndarray,
    codes: np.ndarray,
    n_conditions: int,
) -> np.ndarray:
    """Boxcars of all conditions on the fine grid.

    An event covers grid samples ``[i_on, i_off)`` with ``i_on = searchsorted(grid, onset)``
    and ``i_off = searchsorted(grid, onset + duration)`` (both clipped to the last sample);
    a zero-length event covers one sample.

    Parameters
    ----------
    grid : (n_high_res,) ndarray
    onsets, durations, amplitudes : (n_events,) ndarray
    codes : (n_events,) ndarray of int
        Condition index of each event, ``0 <= code < n_conditions``.
    n_conditions : int

    Returns
    -------
    boxcars : (n_high_res, n_conditions) ndarray
    """
    last = grid.size - 1
    on = np.minimum(np.searchsorted(grid, onsets), last)
    off = np.minimum(np.searchsorted(grid, onsets + durations), last)
    off = np.where((off < last) & (off == on), off + 1, off)
    steps = np.zeros((grid.size, n_conditions))
    np.add.at(steps, (on, codes), amplitudes)
    np.add.at(steps, (off, codes), -amplitudes)
    return np.cumsum(steps, axis=0)


def resample_linear(values: np.ndarray, grid: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Linear interpolation of columns sampled on ``grid`` at ``times`` (inside the grid).

    Parameters
    ----------
    values : (n_grid, k) ndarray
    grid : (n_grid,) ndarray, increasing
    times : (n_times,) ndarray

    Returns
    -------
    (n_times, k) ndarray
    """
    i = np.clip(np.searchsorted(grid, times, side="right") - 1, 0, grid.size - 2)
    w = ((times - grid[i]) / (grid[i + 1] - grid[i]))[:, None]
    return values[i] * (1.0 - w) + values[i + 1] * w


def orthogonalize(x: np.ndarray) -> np.ndarray:
    """Orthogonalise each column against all the columns before it (no normalisation).

    Parameters
    ----------
    x : (n, k) ndarray

    Returns
    -------
    (n, k) ndarray
        A new array; column ``j`` minus its least-squares projection on columns ``< j``.
    """
    out = np.array(x, dtype=np.float64, copy=True)
    for j in range(1, out.shape[1]):
        previous = out[:, :j]
        coef = np.linalg.lstsq(previous, out[:, j], rcond=None)[0]
        out[:, j] -= previous @ coef
    return out


def compute_event_regressors(
    frame_times: np.ndarray,
    onsets: np.ndarray,
    durations: np.ndarray,
    amplitudes: np.ndarray,
    codes: np.ndarray,
    n_conditions: int,
    *,
    hrf_model: str,
    fir_delays: Sequence[int] = (0,),
    oversampling: int = 50,
    min_onset: float = -24.0,
) -> np.ndarray:
    """Convolved event regressors of every condition, sampled at the frame times.

    Parameters
    ----------
    frame_times : (n_scans,) ndarray
    onsets, durations, amplitudes : (n_events,) ndarray
    codes : (n_events,) ndarray of int
        Condition index of each event.
    n_conditions : int
    hrf_model : str
        One of :data:`HRF_MODELS`.
    fir_delays : sequence of int
    oversampling : int
    min_onset : float

    Returns
    -------
    regressors : (n_scans, n_conditions * n_kernels) ndarray
        Grouped by condition (all kernels of condition 0, then condition 1, ...).
    """
    model = normalize_hrf_model(hrf_model)
    t_r = float(np.min(np.diff(frame_times)))
    grid = oversampled_grid(frame_times, oversampling=oversampling, min_onset=min_onset)
    box = event_boxcars(grid, onsets, durations, amplitudes, codes, n_conditions)
    kernels = hrf_kernels(model, t_r, oversampling=oversampling, fir_delays=fir_delays)
    blocks = []
    for kernel in kernels:
        conv = _convolve_columns(box, kernel)
        if model == "fir" and oversampling > 1:
            # the FIR window averages the ``oversampling`` samples ending at each grid point
            conv, times = conv[oversampling - 1 :], grid[: 1 - oversampling]
        else:
            times = grid
        blocks.append(resample_linear(conv, times, frame_times))
    # (n_kernels, n_scans, n_conditions) -> (n_scans, n_conditions, n_kernels)
    regs = np.stack(blocks, axis=-1)
    if model != "fir" and len(kernels) > 1:
        for c in range(n_conditions):
            regs[:, c, :] = orthogonalize(regs[:, c, :])
    return regs.reshape(frame_times.size, n_conditions * len(kernels))
