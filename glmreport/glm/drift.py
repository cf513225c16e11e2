"""Drift regressors of a first-level design (cosine, polynomial or the constant only).

- ``cosine``: DCT-II basis ``sqrt(2 / n) * cos(pi / n * (i + 0.5) * k)`` for
  ``k = 1 .. floor(2 * n * high_pass * dt)`` (capped at ``n - 1``), ``dt`` the mean frame
  spacing: every period longer than ``1 / high_pass`` seconds is modelled;
- ``polynomial``: ``(t / t_max) ** k`` for ``k = 0 .. order``, each orthogonalised (without
  normalisation) against the lower orders;
- ``None``: the constant only.
"""

from __future__ import annotations

import numpy as np

from ..errors import DesignError, suggest


def cosine_drift(frame_times: np.ndarray, high_pass: float) -> np.ndarray:
    """DCT-II drift basis followed by a constant column.

    Parameters
    ----------
    frame_times : (n,) ndarray
    high_pass : float
        Cut-off frequency in Hz.

    Returns
    -------
    (n, k + 1) ndarray
        ``k = min(n - 1, floor(2 * n * high_pass * dt))`` cosines, then ones.
    """
    n = frame_times.size
    dt = (frame_times[-1] - frame_times[0]) / (n - 1)
    if high_pass * dt >= 0.5:
        raise DesignError(
            f"high_pass {high_pass} Hz is at or above the Nyquist frequency {0.5 / dt:.4g} Hz: "
            "the drift would model every frequency. Use a lower high_pass (e.g. 0.01)."
        )
    order = min(n - 1, int(np.floor(2 * n * high_pass * dt)))
    k = np.arange(1, order + 1)
    basis = np.sqrt(2.0 / n) * np.cos(np.pi / n * (np.arange(n)[:, None] + 0.5) * k)
    return np.hstack([basis, np.ones((n, 1))])


def polynomial_drift(frame_times: np.ndarray, order: int) -> np.ndarray:
    """Orthogonalised polynomial drifts of orders 1..order followed by a constant column.

    Parameters
    ----------
    frame_times : (n,) ndarray
    order : int

    Returns
    -------
    (n, order + 1) ndarray
    """
    powers = (frame_times / float(frame_times.max()))[:, None] ** np.arange(order + 1)
    # Gram-Schmidt without normalisation, as a QR: column k minus its projection on 0..k-1
    q, r = np.linalg.qr(powers)
    ortho = q * np.diag(r)
    return np.hstack([ortho[:, 1:], ortho[:, :1]])


def make_drift(
    frame_times: np.ndarray, drift_model: str | None, *, high_pass: float = 0.01, order: int = 1
) -> tuple[np.ndarray, list[str]]:
    """Drift regressors and the constant, named ``drift_1 .. drift_k, constant``.

    Parameters
    ----------
    frame_times : (n,) ndarray
    drift_model : {'cosine', 'polynomial', None}
    high_pass : float
        Hz, cosine only.
    order : int
        Polynomial only.

    Returns
    -------
    drift : (n, k + 1) ndarray
    names : list of str
    """
    model = drift_model.lower() if isinstance(drift_model, str) else drift_model
    if model == "none":
        model = None
    if model == "cosine":
        drift = cosine_drift(frame_times, high_pass)
    elif model == "polynomial":
        if int(order) < 0:
            raise DesignError(f"polynomial drift order must be >= 0; got {order}.")
        drift = polynomial_drift(frame_times, int(order))
    elif model is None:
        drift = np.ones((frame_times.size, 1))
    else:
        raise DesignError(
            f"unknown drift model {drift_model!r}; expected cosine, polynomial or none."
            + suggest(str(drift_model), ["cosine", "polynomial", "none"])
        )
    names = [f"drift_{k}" for k in range(1, drift.shape[1])] + ["constant"]
    return drift, names
