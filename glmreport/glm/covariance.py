"""Covariance components of within-subject designs, and the Greenhouse-Geisser epsilon.

The error covariance of a second-level design with a within-subject factor is modelled, as in
SPM's factorial designs (``spm_non_sphericity``), as ``V = sum_k lambda_k Q_k`` with

- unequal variance: ``var(a)``, the diagonal indicator of the rows of level ``a`` (or one
  ``var``, the identity, when the levels share a variance);
- dependence: ``cov(a,b)``, 1 where a row of level ``a`` and a row of level ``b`` belong to the
  same subject (pairs no subject has both of are left out).

Several within-subject factors (a 3 x 3 design) are handled as SPM's factorial design with the
cells as the factor: the cell of each row is its level, and the covariance between all cells is
free. :func:`level_covariance` turns hyperparameters back into the k x k covariance of one
subject's inputs, and :func:`greenhouse_geisser` gives its epsilon (Greenhouse & Geisser 1959,
Psychometrika 24, 95-112) for all contrasts of the levels or for one effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DesignError
from .reml import RANK_RTOL, residual_basis

#: Largest ``n_components * n^2`` built by :func:`variance_components` (2**26 values, 512 MiB).
MAX_COMPONENT_VALUES = 2**26


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """One covariance component ``Q_k`` of ``V = sum_k lambda_k Q_k``.

    Attributes
    ----------
    name : str
        ``"var(a)"`` (variance of level ``a``), ``"var"`` (one variance for every level) or
        ``"cov(a,b)"`` (covariance of levels ``a`` and ``b`` within subject).
    matrix : (n, n) ndarray of float64
        Symmetric, entries 0 or 1.
    kind : {'variance', 'covariance'}
    levels : tuple of str
        The levels concerned: one (``var(a)``), all (``var``) or two (``cov(a,b)``).
    """

    name: str
    matrix: np.ndarray
    kind: str
    levels: tuple[str, ...]


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _labels(values: Any, role: str) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1 or arr.size == 0:
        raise DesignError(f"{role} must be a non-empty 1D sequence; got shape {arr.shape}.")
    return np.array([str(v) for v in arr], dtype=object)


def _check_levels(lev: np.ndarray, sub: np.ndarray) -> list[str]:
    if lev.shape != sub.shape:
        raise DesignError(f"{lev.size} levels but {sub.size} subjects; need one of each per row.")
    names = sorted(set(lev))
    if len(names) < 2:
        raise DesignError("non-sphericity needs a within-subject factor with at least 2 levels.")
    seen: set[tuple[str, str]] = set()
    for pair in zip(sub, lev, strict=True):
        if pair in seen:
            raise DesignError(
                f"subject {_short(pair[0])} has several inputs in level {_short(pair[1])}; the "
                "covariance components need at most one input per subject and level."
            )
        seen.add(pair)
    return names


def variance_components(
    levels: Sequence[Any] | np.ndarray,
    subjects: Sequence[Any] | np.ndarray,
    *,
    unequal_variance: bool = True,
    dependence: bool = True,
) -> tuple[Component, ...]:
    """Covariance components of a design with one within-subject factor.

    Parameters
    ----------
    levels : (n,) sequence
        Level of each input row (compared as strings). With several within-subject factors pass
        the cell (e.g. ``"a_x"``): the cells are the levels.
    subjects : (n,) sequence
        Subject of each input row (compared as strings).
    unequal_variance : bool
        One variance per level (``var(a)``); otherwise one variance ``var`` (the identity).
    dependence : bool
        Add ``cov(a,b)`` for each pair of levels ``a < b`` that some subject has both of.

    Returns
    -------
    tuple of Component
        Variances first (levels sorted as strings), then covariances in pair order. The
        variance components sum to the identity.

    Raises
    ------
    DesignError
        Lengths differ, fewer than two levels, a subject with two inputs in one level, or more
        than ``MAX_COMPONENT_VALUES`` values in all.
    """
    lev, sub = _labels(levels, "levels"), _labels(subjects, "subjects")
    names = _check_levels(lev, sub)
    n, k = lev.size, len(names)
    n_comp = (k if unequal_variance else 1) + (k * (k - 1) // 2 if dependence else 0)
    if n_comp * n * n > MAX_COMPONENT_VALUES:
        raise DesignError(
            f"{n} inputs and {k} levels give {n_comp} covariance components of {n} x {n}; at "
            f"most {MAX_COMPONENT_VALUES} values in all are supported."
        )
    out: list[Component] = []
    if unequal_variance:
        for a in names:
            q = np.diag((lev == a).astype(np.float64))
            out.append(Component(name=f"var({a})", matrix=q, kind="variance", levels=(a,)))
    else:
        out.append(Component(name="var", matrix=np.eye(n), kind="variance", levels=tuple(names)))
    if dependence:
        same = sub[:, None] == sub[None, :]
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                link = same & (lev[:, None] == a) & (lev[None, :] == b)
                if link.any():
                    q = (link | link.T).astype(np.float64)
                    out.append(
                        Component(name=f"cov({a},{b})", matrix=q, kind="covariance", levels=(a, b))
                    )
    return tuple(out)


def level_covariance(
    components: Sequence[Component], lam: np.ndarray
) -> tuple[tuple[str, ...], np.ndarray]:
    """Levels (in component order) and the k x k covariance ``sum_k lambda_k`` over components.

    Parameters
    ----------
    components : sequence of Component
    lam : (K,) ndarray
        Hyperparameters in the order of ``components``.

    Returns
    -------
    levels : tuple of str
    covariance : (k, k) ndarray
    """
    levels: list[str] = []
    for c in components:
        levels += [lv for lv in c.levels if lv not in levels]
    pos = {lv: i for i, lv in enumerate(levels)}
    cov = np.zeros((len(levels), len(levels)))
    for c, value in zip(components, lam, strict=True):
        if c.kind == "variance":
            for lv in c.levels:
                cov[pos[lv], pos[lv]] += value
        else:
            i, j = pos[c.levels[0]], pos[c.levels[1]]
            cov[i, j] += value
            cov[j, i] += value
    return tuple(levels), cov


def greenhouse_geisser(covariance: np.ndarray, contrasts: np.ndarray | None = None) -> float:
    """Greenhouse-Geisser epsilon of a covariance between the levels of a within factor.

    ``epsilon = tr(C'SC)^2 / (r tr((C'SC)^2))``, ``C`` an orthonormal basis (k, r) of the tested
    contrasts (Greenhouse & Geisser 1959): 1 when ``C'SC`` is spherical, at least ``1 / r``.

    Parameters
    ----------
    covariance : (k, k) ndarray
        Symmetric positive semi-definite ``S``.
    contrasts : (k, c) ndarray, optional
        Columns spanning the effect (orthonormalised here); default all ``k - 1`` contrasts of
        the levels (the main effect of a one-factor design).

    Returns
    -------
    float
    """
    s = np.asarray(covariance, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] < 2 or not np.all(np.isfinite(s)):
        raise DesignError(f"the covariance must be a finite (k, k) matrix, k >= 2; got {s.shape}.")
    if contrasts is None:
        c = residual_basis(np.ones((s.shape[0], 1)))
    else:
        given = np.asarray(contrasts, dtype=np.float64)
        if given.ndim != 2 or given.shape[0] != s.shape[0] or not np.all(np.isfinite(given)):
            raise DesignError(f"the contrasts must be a finite ({s.shape[0]}, c) matrix.")
        u, sv, _ = np.linalg.svd(given, full_matrices=False)
        c = u[:, sv > RANK_RTOL * max(float(sv.max(initial=0.0)), 1e-300)]
    if c.shape[1] == 0:
        raise DesignError("the contrasts span nothing: epsilon is undefined.")
    m = c.T @ (0.5 * (s + s.T)) @ c
    denominator = c.shape[1] * float(np.sum(m * m))
    if not denominator > (1e-12 * float(np.abs(s).max())) ** 2:
        raise DesignError("the covariance is zero on the contrasts: epsilon is undefined.")
    return float(np.trace(m) ** 2 / denominator)
