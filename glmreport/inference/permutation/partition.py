"""The design partition of permutation inference (Winkler et al. 2014, appendix A).

The design ``X`` (n x p) and the contrast ``C`` (q x p) are partitioned as in Beckmann et al.
(2001) and Winkler et al. (2014, NeuroImage 92:381-397): the *effect of interest* spans
``A' = (C pinv(X))'`` (r = rank(C) columns, orthonormal basis ``Q_x``) and the *nuisance* is the
rest of the design's column space, ``span(X) minus span(Q_x)`` (orthonormal basis ``Q_z``).
``[Q_x, Q_z]`` is an orthonormal basis of ``span(X)``, so the reduced model ``Y = Z g + e`` is the
full model under the null hypothesis ``C beta = 0``.

Scheme: when the constant vector lies in ``span(X)`` but not in the nuisance space ``span(Z)``
-- the tested effect involves the intercept (one-sample test, a group mean, one-sample with
covariates) -- rows are not exchangeable, and the errors' symmetry is used instead: **sign
flipping** of the reduced-model residuals (``P`` = diag(+-1)). Otherwise rows are exchangeable
under the null and ``P`` permutes them (**Freedman-Lane permutation**, 1983). Without nuisance
(``Q_z`` empty) both reduce to resampling ``Y`` itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ...config.vocabulary import StatType
from ...errors import ContrastError, DesignError

__all__ = ["RANK_RTOL", "PermutationModel", "Scheme", "partition_design"]

Scheme = Literal["sign-flip", "freedman-lane"]

#: Relative tolerance of the rank decisions of :func:`partition_design`.
RANK_RTOL = 1e-10


@dataclass(frozen=True, slots=True, kw_only=True)
class PermutationModel:
    """A design partitioned into effect of interest and nuisance for one contrast.

    Attributes
    ----------
    effect_basis : (n, r) ndarray
        Orthonormal basis ``Q_x`` of the tested effect; for a t contrast (r = 1) it points in
        the direction of a positive effect.
    nuisance_basis : (n, s) ndarray
        Orthonormal basis ``Q_z`` of the nuisance (the rest of ``span(X)``); ``s`` may be 0.
    stat_type : {'t', 'F'}
    df_num : int
        ``r``, numerator degrees of freedom.
    dof : float
        Residual degrees of freedom ``n - rank(X)``.
    scheme : {'sign-flip', 'freedman-lane'}
    row_labels : (n,) ndarray of int
        Identical design rows share a label (used to count distinct permutations).
    """

    effect_basis: np.ndarray
    nuisance_basis: np.ndarray
    stat_type: StatType
    df_num: int
    dof: float
    scheme: Scheme
    row_labels: np.ndarray

    @property
    def n(self) -> int:
        """Number of rows (inputs)."""
        return int(self.effect_basis.shape[0])

    @property
    def basis(self) -> np.ndarray:
        """(n, r + s) ``[Q_x, Q_z]``, orthonormal basis of the design's column space."""
        return np.hstack([self.effect_basis, self.nuisance_basis])


def _orth(a: np.ndarray, scale: float) -> np.ndarray:
    """Orthonormal basis of the column space of ``a`` (columns of relative size > RANK_RTOL)."""
    if a.size == 0:
        return np.zeros((a.shape[0], 0))
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    keep = s > RANK_RTOL * max(scale, 1e-300)
    return u[:, keep]


def partition_design(
    design_matrix: np.ndarray, weights: np.ndarray, *, stat_type: StatType | None = None
) -> PermutationModel:
    """Partition a design into the tested effect and nuisance, and choose the scheme.

    Parameters
    ----------
    design_matrix : (n, p) ndarray
    weights : (q, p) ndarray
        Contrast weights (one row for t).
    stat_type : {'t', 'F'} or None
        Default: 't' for one row, 'F' otherwise.

    Returns
    -------
    PermutationModel

    Raises
    ------
    ContrastError
        Wrong width or a contrast that tests nothing.
    DesignError
        No residual degrees of freedom.
    """
    x = np.atleast_2d(np.asarray(design_matrix, dtype=np.float64))
    c = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    n, p = x.shape
    if c.shape[1] != p:
        raise ContrastError(
            f"contrast has {c.shape[1]} weights but the design has {p} columns; weights are "
            "never padded."
        )
    if stat_type is None:
        stat_type = "t" if c.shape[0] == 1 else "F"
    if stat_type == "t" and c.shape[0] != 1:
        raise ContrastError(f"a t contrast is a single row; got {c.shape[0]}.")
    scale = float(np.linalg.norm(x, 2)) if x.size else 0.0
    q_model = _orth(x, scale)
    dof = n - q_model.shape[1]
    if dof <= 0:
        raise DesignError(
            f"{n} inputs and design rank {q_model.shape[1]}: no residual degrees of freedom "
            "for permutation inference."
        )
    a = (c @ np.linalg.pinv(x)).T  # (n, q): the effect directions, inside span(X)
    # keep only the part inside span(X) (exact for estimable contrasts)
    a = q_model @ (q_model.T @ a)
    if stat_type == "t":
        norm = float(np.linalg.norm(a))
        if norm <= RANK_RTOL * max(float(np.linalg.norm(c)) / max(scale, 1e-300), 1e-300):
            raise ContrastError("the contrast tests nothing on this design (all-zero effect).")
        q_x = a / norm
    else:
        q_x = _orth(a, float(np.linalg.norm(a, 2)) if a.size else 0.0)
        if q_x.shape[1] == 0:
            raise ContrastError("the contrast tests nothing on this design (all-zero effect).")
    rest = q_model - q_x @ (q_x.T @ q_model)
    q_z = _orth(rest, 1.0)
    ones = np.ones(n) / math.sqrt(n)
    in_model = np.linalg.norm(ones - q_model @ (q_model.T @ ones)) < 1e-8
    in_nuisance = np.linalg.norm(ones - q_z @ (q_z.T @ ones)) < 1e-8
    scheme: Scheme = "sign-flip" if in_model and not in_nuisance else "freedman-lane"
    _, labels = np.unique(np.round(x, 10), axis=0, return_inverse=True)
    return PermutationModel(
        effect_basis=q_x,
        nuisance_basis=q_z,
        stat_type=stat_type,
        df_num=int(q_x.shape[1]),
        dof=float(dof),
        scheme=scheme,
        row_labels=np.asarray(labels, dtype=np.int64).ravel(),
    )
