"""Permutation inference: sign flipping and Freedman-Lane permutation with max-statistic FWE.

Model and schemes
-----------------
The design ``X`` (n x p) and the contrast ``C`` (q x p) are partitioned as in Beckmann et al.
(2001) and Winkler et al. (2014, NeuroImage 92:381-397, appendix A): the *effect of interest*
spans ``A' = (C pinv(X))'`` (r = rank(C) columns, orthonormal basis ``Q_x``) and the
*nuisance* is the rest of the design's column space, ``span(X) minus span(Q_x)`` (orthonormal
basis ``Q_z``). ``[Q_x, Q_z]`` is an orthonormal basis of ``span(X)``, so the reduced model
``Y = Z g + e`` is the full model under the null hypothesis ``C beta = 0``.

Freedman-Lane (1983): fit the reduced model, ``R_z = (I - H_z) Y``; for a permutation (or sign
flip) ``P`` build ``Y* = P R_z + H_z Y`` (permuted reduced-model residuals plus the fitted
nuisance) and refit the full model to ``Y*``. Because ``Q_x`` and the residual-forming matrix
annihilate ``H_z Y``, the refit needs only ``Q' P R_z``: with unit-norm columns ``R = R_z /
||R_z||``, ``u = Q_x' P R`` and ``RSS = 1 - ||Q' P R||^2``, and ``t = u sqrt(dof / RSS)``
(r = 1) or ``F = (||u||^2 / r) / (RSS / dof)``. ``Q' P R = (P' Q)' R``, so a block of ``b``
resamples is one matrix product of the stacked, row-permuted (or row-signed) bases
``(b * k, n)`` with ``R`` (n, voxels) -- a single GEMM per voxel chunk, in float32 (the
observed statistic is computed separately in float64).

Scheme: when the constant vector lies in ``span(X)`` but not in the nuisance space ``span(Z)``
-- the tested effect involves the intercept (one-sample test, a group mean, one-sample with
covariates) -- rows are not exchangeable, and the errors' symmetry is used instead: **sign
flipping** of the reduced-model residuals (``P`` = diag(+-1)). Otherwise rows are exchangeable
under the null and ``P`` permutes them (**Freedman-Lane permutation**). Without nuisance
(``Q_z`` empty) both reduce to resampling ``Y`` itself.

Exchangeability blocks (``blocks``): permutations only exchange rows of the same block
(e.g. blocks = subject in a repeated-measures ANOVA: the condition labels are permuted within
each subject). Sign flipping assumes independent, symmetric errors and flips each row
independently: flips are free within and across blocks, so ``blocks`` only restricts
permutations (it is recorded, with a note, for a sign-flip test).

Resamples: the identity is always resample 0 and counts as one of ``n_perm``. When the
number of distinct resamples is at most ``n_perm`` they are all enumerated once (*exact*
test): ``2**n`` sign flips, or for permutations the distinct rearrangements of the design's
rows within blocks, ``prod_b n_b! / prod_l c_bl!`` where ``c_bl`` counts identical design rows
``l`` in block ``b`` (exchanging identical rows gives the same statistic). Otherwise
``n_perm - 1`` resamples are drawn at random from ``numpy.random.default_rng(seed)``, all up
front, so the result depends on the seed only -- not on the number of workers nor on the batch
in which a resample is evaluated.

Inference
---------
For every resample the null distribution records the maximum over voxels of the statistic
(``|t|`` two-sided), of the cluster size and mass of the supra-threshold clusters (positive
and negative clusters separately, two-sided; mass = sum of ``|stat| - threshold``) and of
``|TFCE|``. The resample 0 entries are the observed maxima (from the float64 statistic). A
score ``s`` has FWE p-value ``#{null >= s} / n_perm`` (>= 1 / n_perm) and survives when
``p < alpha`` (strict), i.e. when ``s`` exceeds the critical value, the ``ceil(alpha *
n_perm)``-th largest null value.

Speed: voxel chunks of a few thousand columns keep the GEMM output in cache; the chunks are
shared by a thread pool with BLAS restricted to one thread inside it (when ``threadpoolctl`` is
installed); cluster labelling and TFCE of each resampled map run in the same pool (numpy and
scipy release the GIL in their array loops). Results are stored by resample index and maxima
are exact, so the nulls are identical for any number of workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ...config.specs import CorrectionSpec
from ...config.vocabulary import MAX_RESAMPLES, StatType
from ...errors import ConfigError, ContrastError, DesignError, suggest
from ...glm.formula import row_name
from ...glm.ols import EXACT_FIT_RTOL
from ...glm.results import ContrastResult
from ..clusters import voxel_index
from ..context import InferenceContext
from ..results import CorrectionResult
from ..tfce import NeighbourGraph, connected_components, neighbour_graph, tfce_max
from ..tfce import tfce as tfce_values

__all__ = [
    "DEFAULT_PARAMS",
    "MAX_RESAMPLES",
    "PermutationModel",
    "PermutationNull",
    "apply_permutation",
    "check_resample_table",
    "cluster_forming_threshold",
    "count_resamples",
    "critical_value",
    "fwe_p_values",
    "make_resamples",
    "partition_design",
    "permutation_null",
]

Scheme = Literal["sign-flip", "freedman-lane"]

#: Parameters of a ``permutation`` correction entry and their defaults.
DEFAULT_PARAMS: dict[str, Any] = {
    "n_perm": 10000,
    "seed": 0,
    "cluster_forming_p": None,
    "tfce": False,
    "blocks": None,
    "tfce_E": 0.5,
    "tfce_H": 2.0,
    "tfce_dh": "auto",
}

#: Most entries of the table of resamples (``n_perm`` x inputs) held at once: 2^28 (1 GiB as
#: int32 permutation indices).
MAX_RESAMPLE_ENTRIES = 1 << 28

#: Relative tolerance of the rank decisions of :func:`partition_design`.
RANK_RTOL = 1e-10
#: Voxels per chunk of the batched products (the float32 GEMM output stays in cache).
VOXEL_CHUNK = 2048
#: Resamples per batch.
BATCH = 256
#: Resamples per batch when whole statistic maps are needed (clusters, TFCE).
MAP_BATCH = 32
#: Smallest residual sum of squares (of unit-norm data) in the float32 null statistics.
_RSS_FLOOR = 1e-6


# --------------------------------------------------------------------------------------------
# design partition


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


# --------------------------------------------------------------------------------------------
# resamples


def _block_codes(blocks: np.ndarray | None, n: int) -> np.ndarray:
    if blocks is None:
        return np.zeros(n, dtype=np.int64)
    blocks = np.asarray(blocks)
    if blocks.shape != (n,):
        raise ValueError(f"blocks must have one entry per input ({n}); got shape {blocks.shape}.")
    _, codes = np.unique(blocks.astype(str), return_inverse=True)
    return codes.ravel().astype(np.int64)


def count_resamples(
    scheme: Scheme,
    n: int,
    *,
    blocks: np.ndarray | None = None,
    row_labels: np.ndarray | None = None,
) -> int:
    """Number of distinct resamples of a design.

    Parameters
    ----------
    scheme : {'sign-flip', 'freedman-lane'}
    n : int
        Number of rows.
    blocks : (n,) array or None
        Exchangeability blocks (permutations only).
    row_labels : (n,) array of int or None
        Identical design rows share a label; ``None`` treats all rows as distinct.

    Returns
    -------
    int
        ``2**n`` for sign flipping; ``prod_b n_b! / prod_l c_bl!`` for permutations.
    """
    if scheme == "sign-flip":
        return 2**n
    codes = _block_codes(blocks, n)
    labels = np.arange(n) if row_labels is None else np.asarray(row_labels)
    total = 1
    for b in np.unique(codes):
        in_block = labels[codes == b]
        count = math.factorial(in_block.size)
        for c in Counter(in_block.tolist()).values():
            count //= math.factorial(c)
        total *= count
    return total


def _arrangements(labels: list[int]) -> list[tuple[int, ...]]:
    """All distinct orderings of a multiset of labels, the given order first."""
    counts = Counter(labels)
    keys = sorted(counts)
    out: list[tuple[int, ...]] = []
    current: list[int] = []

    def rec(remaining: int) -> None:
        if remaining == 0:
            out.append(tuple(current))
            return
        for key in keys:
            if counts[key]:
                counts[key] -= 1
                current.append(key)
                rec(remaining - 1)
                current.pop()
                counts[key] += 1

    rec(len(labels))
    first = tuple(labels)
    out.remove(first)
    return [first, *out]


def _exact_permutations(codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every distinct within-block rearrangement, as ``perm`` rows (identity first)."""
    n = codes.size
    per_block = []
    for b in np.unique(codes):
        rows = np.flatnonzero(codes == b)
        lab = labels[rows].tolist()
        perms = []
        for arrangement in _arrangements(lab):
            # data row rows[j] is paired with the next unused design row of label arrangement[j]
            pools: dict[int, list[int]] = {}
            for r, l in zip(rows.tolist(), lab, strict=True):
                pools.setdefault(l, []).append(r)
            used = {l: 0 for l in pools}
            source = np.empty(rows.size, dtype=np.int64)
            for j, l in enumerate(arrangement):
                source[j] = pools[l][used[l]]
                used[l] += 1
            perms.append(source)
        per_block.append((rows, np.array(perms)))
    sizes = [len(p) for _, p in per_block]
    grids = np.indices(sizes).reshape(len(sizes), -1).T  # identity (all zeros) first
    inverse = np.tile(np.arange(n), (grids.shape[0], 1))
    for col, (rows, perms) in enumerate(per_block):
        inverse[:, rows] = perms[grids[:, col]]
    # ``inverse[j]`` is the design row paired with data row j; perm is its inverse
    return np.argsort(inverse, axis=1).astype(np.int32)


def make_resamples(
    scheme: Scheme,
    n: int,
    n_perm: int,
    *,
    seed: int = 0,
    blocks: np.ndarray | None = None,
    row_labels: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """Generate all resamples up front, the identity first.

    Parameters
    ----------
    scheme : {'sign-flip', 'freedman-lane'}
    n : int
        Number of rows.
    n_perm : int
        Number of resamples wanted, the identity included (at most :data:`MAX_RESAMPLES`).
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    blocks : (n,) array or None
        Exchangeability blocks; permutations stay within blocks (ignored for sign flips).
    row_labels : (n,) array of int or None
        Identical design rows share a label (exact enumeration lists distinct rearrangements).

    Returns
    -------
    resamples : (m, n) ndarray
        Sign flips: int8 +-1 per row. Permutations: int32 ``perm`` such that the resampled
        residuals are ``R[perm]`` (row ``i`` of the resampled data is row ``perm[i]``).
    exact : bool
        True when every distinct resample is listed once (then ``m`` is their number, which
        may be smaller than ``n_perm``); otherwise ``m == n_perm``.

    Notes
    -----
    The distinct resamples are counted with arithmetic first (:func:`count_resamples`:
    ``2**n`` or a product of multinomial coefficients); they are enumerated only when there are
    at most ``n_perm`` of them (and so at most :data:`MAX_RESAMPLES`), so no more than
    ``n_perm`` resamples are ever listed.
    """
    n_perm = int(n_perm)
    if not 1 <= n_perm <= MAX_RESAMPLES:
        raise ValueError(f"n_perm must be between 1 and {MAX_RESAMPLES:,}; got {n_perm}.")
    total = count_resamples(scheme, n, blocks=blocks, row_labels=row_labels)
    exact = total <= min(n_perm, MAX_RESAMPLES)
    if scheme == "sign-flip":
        if exact:
            k = np.arange(total, dtype=np.int64)[:, None]
            bits = (k >> np.arange(n, dtype=np.int64)) & 1
            return (1 - 2 * bits).astype(np.int8), True
        rng = np.random.default_rng(seed)
        flips = np.ones((n_perm, n), dtype=np.int8)
        flips[1:] = 1 - 2 * rng.integers(0, 2, size=(n_perm - 1, n), dtype=np.int8)
        return flips, False
    codes = _block_codes(blocks, n)
    if exact:
        labels = np.arange(n) if row_labels is None else np.asarray(row_labels)
        return _exact_permutations(codes, labels), True
    rng = np.random.default_rng(seed)
    perms = np.tile(np.arange(n, dtype=np.int32), (n_perm, 1))
    for b in np.unique(codes):
        rows = np.flatnonzero(codes == b).astype(np.int32)
        if rows.size > 1:
            perms[1:, rows] = rng.permuted(np.tile(rows, (n_perm - 1, 1)), axis=1)
    return perms, False


# --------------------------------------------------------------------------------------------
# null distributions


@dataclass(frozen=True, slots=True, kw_only=True)
class PermutationNull:
    """Observed statistics and their permutation null distributions.

    Attributes
    ----------
    stat : (v,) ndarray of float64
        Observed t or F (0 where the data are fitted exactly).
    stat_type : {'t', 'F'}
    two_sided : bool
    dof : float
    df_num : int
    scheme : {'sign-flip', 'freedman-lane'}
    exact : bool
        Whether all distinct resamples were enumerated.
    n_perm : int
        Number of resamples evaluated, the identity included.
    resamples : (n_perm, n) ndarray
        Sign flips (int8) or permutations (int32), see :func:`make_resamples`.
    max_stat : (n_perm,) ndarray
        Maximum over voxels of the statistic (``|t|`` two-sided) for each resample;
        entry 0 is the observed maximum.
    cluster_threshold : float or None
        Cluster-forming threshold in statistic units (``|t| >`` it two-sided).
    max_size, max_mass : (n_perm,) ndarray or None
        Largest cluster size (voxels) and mass for each resample.
    tfce : (v,) ndarray or None
        Observed TFCE map (negative for negative t two-sided).
    max_tfce : (n_perm,) ndarray or None
        Largest ``|TFCE|`` for each resample.
    """

    stat: np.ndarray
    stat_type: StatType
    two_sided: bool
    dof: float
    df_num: int
    scheme: Scheme
    exact: bool
    n_perm: int
    resamples: np.ndarray
    max_stat: np.ndarray
    cluster_threshold: float | None = None
    max_size: np.ndarray | None = None
    max_mass: np.ndarray | None = None
    tfce: np.ndarray | None = None
    max_tfce: np.ndarray | None = None


def _threadpool_limits() -> Any:
    """Context manager limiting BLAS to one thread (no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return None
    return threadpool_limits(limits=1, user_api="blas")


def _n_workers(n_jobs: int | None) -> int:
    if n_jobs is not None and n_jobs > 0:
        return int(n_jobs)
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return max(os.cpu_count() or 1, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Prepared:
    """Unit-norm reduced-model residuals and the observed statistic."""

    resid: np.ndarray  # (n, v) float32, unit-norm columns (0 for degenerate voxels)
    stat: np.ndarray  # (v,) float64


def _prepare(data: np.ndarray, model: PermutationModel, chunk: int = 65536) -> _Prepared:
    y_all = np.asarray(data)
    n, v = y_all.shape
    q_x = model.effect_basis
    q_z = model.nuisance_basis
    resid = np.empty((n, v), dtype=np.float32)
    stat = np.zeros(v)
    for start in range(0, v, chunk):
        stop = min(start + chunk, v)
        y = np.asarray(y_all[:, start:stop], dtype=np.float64)
        finite = np.all(np.isfinite(y), axis=0)
        y = np.where(finite, y, 0.0)
        r = y - q_z @ (q_z.T @ y) if q_z.shape[1] else y
        u = q_x.T @ r  # (r, c)
        e = r - q_x @ u
        rss = np.einsum("ij,ij->j", e, e)
        total = np.einsum("ij,ij->j", y, y)
        ss = np.einsum("ij,ij->j", r, r)
        ok = finite & (rss > EXACT_FIT_RTOL * total) & (ss > 0)
        sigma2 = np.where(ok, rss, 1.0) / model.dof
        if model.stat_type == "t":
            s = u[0] / np.sqrt(sigma2)
        else:
            s = np.einsum("ij,ij->j", u, u) / model.df_num / sigma2
        stat[start:stop] = np.where(ok, s, 0.0)
        norm = np.sqrt(np.where(ok, ss, 1.0))
        resid[:, start:stop] = np.where(ok, r / norm, 0.0)
    return _Prepared(resid=resid, stat=stat)


def _coefficients(model: PermutationModel, resamples: np.ndarray) -> np.ndarray:
    """Stacked resampled bases, (b * k, n) float32: rows of ``(P' Q)'`` for each resample."""
    basis = model.basis  # (n, k)
    b, n = resamples.shape
    k = basis.shape[1]
    if model.scheme == "sign-flip":
        w = resamples.astype(np.float64)[:, :, None] * basis[None, :, :]
    else:
        inverse = np.argsort(resamples, axis=1)
        w = basis[inverse]  # (b, n, k): design row paired with each data row
    return np.ascontiguousarray(np.swapaxes(w, 1, 2).reshape(b * k, n), dtype=np.float32)


def _stat_from_products(g: np.ndarray, model: PermutationModel, b: int) -> np.ndarray:
    """(b, c) statistic from the products ``g`` (b * k, c) of unit-norm residuals."""
    k = g.shape[0] // b
    g3 = g.reshape(b, k, -1)
    ssq = np.einsum("bkc,bkc->bc", g3, g3)
    rss = np.maximum(1.0 - ssq, _RSS_FLOOR, dtype=np.float32)
    scale = np.float32(model.dof)
    if model.stat_type == "t":
        return g3[:, 0, :] * np.sqrt(scale / rss)
    r = model.df_num
    num = ssq if k == r else np.einsum("bkc,bkc->bc", g3[:, :r], g3[:, :r])
    return num * (scale / np.float32(r)) / rss


def _monotone_max(values: np.ndarray, model: PermutationModel, two_sided: bool) -> np.ndarray:
    """Statistic maxima from the maxima of ``u`` (t) or ``||u||^2`` (F), no nuisance."""
    x = np.asarray(values, dtype=np.float64)
    dof = model.dof
    if model.stat_type == "t":
        x = np.clip(x, -1.0, 1.0)
        rss = np.maximum(1.0 - x * x, _RSS_FLOOR)
        return x * np.sqrt(dof / rss)
    x = np.clip(x, 0.0, 1.0)
    return x / model.df_num * dof / np.maximum(1.0 - x, _RSS_FLOOR)


def _chunk_maxima(
    resid: np.ndarray,
    model: PermutationModel,
    coef: np.ndarray,
    b: int,
    two_sided: bool,
    chunks: list[tuple[int, int]],
) -> np.ndarray:
    """Maximum statistic (or its monotone proxy) over the given voxel chunks, per resample."""
    k = model.basis.shape[1]
    monotone = k == model.df_num
    best = np.full(b, -np.inf, dtype=np.float32)
    for start, stop in chunks:
        g = coef @ resid[:, start:stop]
        if monotone and model.stat_type == "t":
            hi = g.max(axis=1)
            if two_sided:
                hi = np.maximum(hi, -g.min(axis=1))
        elif monotone:
            g3 = g.reshape(b, k, -1)
            hi = np.einsum("bkc,bkc->bc", g3, g3).max(axis=1)
        else:
            s = _stat_from_products(g, model, b)
            hi = (np.abs(s) if two_sided and model.stat_type == "t" else s).max(axis=1)
        np.maximum(best, hi, out=best)
    return best


def cluster_forming_threshold(
    p: float, stat_type: StatType, dof: float, df_num: int = 1, *, two_sided: bool = False
) -> float:
    """Statistic threshold of an uncorrected cluster-forming ``p``.

    Parameters
    ----------
    p : float
        Cluster-forming p-value (split between both tails for a two-sided t test).
    stat_type : {'t', 'F'}
    dof : float
    df_num : int
    two_sided : bool

    Returns
    -------
    float
        ``t.isf(p / 2, dof)`` two-sided, ``t.isf(p, dof)`` one-sided,
        ``f.isf(p, df_num, dof)`` for F (nilearn's convention for t).
    """
    if not 0.0 < float(p) < 1.0:
        raise ValueError(f"cluster_forming_p must be in (0, 1); got {p}.")
    if stat_type == "t":
        return float(stats.t.isf(p / 2 if two_sided else p, dof))
    return float(stats.f.isf(p, df_num, dof))


def _cluster_measures(
    stat: np.ndarray, threshold: float, graph: NeighbourGraph, two_sided: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Supra-threshold clusters of one map.

    Returns
    -------
    voxels : (s,) int64 in-mask indices; labels : (s,) component of each;
    sizes : (n,) float64; masses : (n,) float64.
    """
    score = np.abs(stat) if two_sided else stat
    voxels = np.flatnonzero(score > threshold)
    if voxels.size == 0:
        empty = np.zeros(0)
        return voxels, voxels, empty, empty
    vals = stat[voxels]
    labels, n = connected_components(voxels, graph, sign=vals if two_sided else None)
    sizes = np.bincount(labels, minlength=n).astype(np.float64)
    excess = (np.abs(vals) if two_sided else vals).astype(np.float64) - threshold
    masses = np.bincount(labels, weights=excess, minlength=n)
    return voxels, labels, sizes, masses


def _map_task(
    stat_map: np.ndarray,
    graph: NeighbourGraph,
    threshold: float | None,
    tfce_kw: dict[str, Any] | None,
    two_sided: bool,
) -> tuple[float, float, float]:
    size = mass = tf = 0.0
    if threshold is not None:
        _, _, sizes, masses = _cluster_measures(stat_map, threshold, graph, two_sided)
        if sizes.size:
            size = float(sizes.max())
            mass = float(masses.max())
    if tfce_kw is not None:
        tf = tfce_max(stat_map, graph, two_sided=two_sided, **tfce_kw)
    return size, mass, tf


def _progress(total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return contextlib.nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="perm", leave=False, file=sys.stderr)


def permutation_null(
    data: np.ndarray,
    design_matrix: np.ndarray,
    weights: np.ndarray,
    *,
    n_perm: int = 10000,
    seed: int = 0,
    two_sided: bool = False,
    stat_type: StatType | None = None,
    blocks: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    cluster_threshold: float | None = None,
    tfce: bool = False,
    connectivity: int = 26,
    tfce_E: float = 0.5,
    tfce_H: float = 2.0,
    tfce_dh: float | str = "auto",
    n_jobs: int | None = None,
    progress: bool = False,
) -> PermutationNull:
    """Observed statistic and max-statistic null distributions by sign flipping/permutation.

    Parameters
    ----------
    data : (n, v) ndarray
        One row per input image, one column per in-mask voxel.
    design_matrix : (n, p) ndarray
    weights : (q, p) ndarray
        Contrast (one row for t).
    n_perm : int
        Number of resamples, the identity included (fewer when all distinct resamples are
        enumerated, see :func:`make_resamples`).
    seed : int
        Seed of the random resamples.
    two_sided : bool
        t only: maxima of ``|t|``, clusters of both signs, two-sided TFCE.
    stat_type : {'t', 'F'} or None
        Default: t for one contrast row, F otherwise.
    blocks : (n,) array or None
        Exchangeability blocks (permutations stay within blocks).
    mask : (X, Y, Z) ndarray of bool or None
        Needed for cluster and TFCE nulls (voxels are ``volume[mask]``).
    cluster_threshold : float or None
        Cluster-forming threshold in statistic units (``|stat| >`` it two-sided); None for no
        cluster nulls. See :func:`cluster_forming_threshold`.
    tfce : bool
        Whether to compute the TFCE map and null.
    connectivity : {6, 18, 26}
        Neighbourhood of clusters and TFCE.
    tfce_E, tfce_H, tfce_dh
        TFCE parameters (see :func:`glmreport.inference.tfce.tfce`).
    n_jobs : int or None
        Worker threads (default: all available cores). Results do not depend on it.
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    PermutationNull
    """
    y = np.asarray(data)
    if y.ndim != 2:
        raise ValueError(f"data must be 2D (n_inputs, n_voxels); got shape {y.shape}.")
    x = np.asarray(design_matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise DesignError(
            f"the design has {x.shape[0] if x.ndim == 2 else '?'} rows but there are "
            f"{y.shape[0]} inputs."
        )
    model = partition_design(x, weights, stat_type=stat_type)
    two_sided = bool(two_sided) and model.stat_type == "t"
    need_maps = cluster_threshold is not None or bool(tfce)
    graph = None
    if need_maps:
        if mask is None:
            raise ValueError("mask is needed for cluster or TFCE inference.")
        graph = neighbour_graph(mask, connectivity)
        if graph.n_voxels != y.shape[1]:
            raise ValueError(f"mask has {graph.n_voxels} voxels but data has {y.shape[1]} columns.")
    resamples, exact = make_resamples(
        model.scheme, model.n, n_perm, seed=seed, blocks=blocks, row_labels=model.row_labels
    )
    prepared = _prepare(y, model)
    observed = prepared.stat
    m = resamples.shape[0]
    workers = _n_workers(n_jobs)
    tfce_kw = {"E": tfce_E, "H": tfce_H, "dh": tfce_dh} if tfce else None

    max_stat = np.empty(m)
    max_size = np.zeros(m) if cluster_threshold is not None else None
    max_mass = np.zeros(m) if cluster_threshold is not None else None
    max_tfce = np.zeros(m) if tfce else None
    v = y.shape[1]
    chunks = [(s, min(s + VOXEL_CHUNK, v)) for s in range(0, v, VOXEL_CHUNK)]
    monotone = model.basis.shape[1] == model.df_num

    limiter = _threadpool_limits()
    pool_workers = workers if limiter is not None else 1
    with (
        limiter if limiter is not None else contextlib.nullcontext(),
        ThreadPoolExecutor(max_workers=pool_workers) as pool,
        _progress(m, progress, "permutations") as bar,
    ):
        if not need_maps:
            groups = [chunks[i::pool_workers] for i in range(pool_workers)]
            for start in range(0, m, BATCH):
                stop = min(start + BATCH, m)
                b = stop - start
                coef = _coefficients(model, resamples[start:stop])
                parts = list(
                    pool.map(
                        lambda grp, coef=coef, b=b: _chunk_maxima(
                            prepared.resid, model, coef, b, two_sided, grp
                        ),
                        [g for g in groups if g],
                    )
                )
                best = np.maximum.reduce(parts)
                max_stat[start:stop] = _monotone_max(best, model, two_sided) if monotone else best
                if bar is not None:
                    bar.update(b)
        else:
            maps = np.empty((MAP_BATCH, v), dtype=np.float32)
            chunk_max = np.empty((len(chunks), MAP_BATCH), dtype=np.float32)

            def fill(ci: int, coef: np.ndarray, b: int) -> None:
                s0, s1 = chunks[ci]
                g = coef @ prepared.resid[:, s0:s1]
                s = _stat_from_products(g, model, b)
                maps[:b, s0:s1] = s
                chunk_max[ci, :b] = (np.abs(s) if two_sided else s).max(axis=1)

            for start in range(0, m, MAP_BATCH):
                stop = min(start + MAP_BATCH, m)
                b = stop - start
                coef = _coefficients(model, resamples[start:stop])
                list(pool.map(lambda ci, coef=coef, b=b: fill(ci, coef, b), range(len(chunks))))
                block = maps[:b]
                max_stat[start:stop] = chunk_max[:, :b].max(axis=0)
                task = partial(
                    _map_task,
                    graph=graph,
                    threshold=cluster_threshold,
                    tfce_kw=tfce_kw,
                    two_sided=two_sided,
                )
                results = list(pool.map(task, block))
                for i, (sz, ms, tf) in enumerate(results):
                    if max_size is not None and max_mass is not None:
                        max_size[start + i] = sz
                        max_mass[start + i] = ms
                    if max_tfce is not None:
                        max_tfce[start + i] = tf
                if bar is not None:
                    bar.update(b)

    # resample 0 is the identity: use the float64 observed values
    obs_score = np.abs(observed) if two_sided else observed
    max_stat[0] = float(obs_score.max()) if v else 0.0
    obs_tfce = None
    if need_maps and graph is not None:
        size0, mass0, _ = _map_task(observed, graph, cluster_threshold, None, two_sided)
        if max_size is not None and max_mass is not None:
            max_size[0] = size0
            max_mass[0] = mass0
        if tfce and max_tfce is not None:
            obs_tfce = _tfce_map(observed, graph, tfce_kw or {}, two_sided)
            max_tfce[0] = float(np.abs(obs_tfce).max()) if v else 0.0
    return PermutationNull(
        stat=observed,
        stat_type=model.stat_type,
        two_sided=two_sided,
        dof=model.dof,
        df_num=model.df_num,
        scheme=model.scheme,
        exact=exact,
        n_perm=m,
        resamples=resamples,
        max_stat=max_stat,
        cluster_threshold=None if cluster_threshold is None else float(cluster_threshold),
        max_size=max_size,
        max_mass=max_mass,
        tfce=obs_tfce,
        max_tfce=max_tfce,
    )


def _tfce_map(
    stat: np.ndarray, graph: NeighbourGraph, tfce_kw: dict[str, Any], two_sided: bool
) -> np.ndarray:
    return tfce_values(stat, graph, two_sided=two_sided, **tfce_kw)


# --------------------------------------------------------------------------------------------
# p-values and critical values


def fwe_p_values(scores: np.ndarray, null: np.ndarray) -> np.ndarray:
    """FWE-corrected p-values of scores against a max-statistic null.

    Parameters
    ----------
    scores : (v,) ndarray
        Observed scores (``|t|`` two-sided, cluster sizes, ...).
    null : (n_perm,) ndarray
        Null maxima, the observed maximum included.

    Returns
    -------
    (v,) ndarray
        ``#{null >= score} / n_perm``, at least ``1 / n_perm`` for scores up to the observed
        maximum.
    """
    null = np.sort(np.asarray(null, dtype=np.float64))
    scores = np.asarray(scores, dtype=np.float64)
    count = null.size - np.searchsorted(null, scores, side="left")
    return count / null.size


def _allowed_exceedances(alpha: float, n: int) -> int:
    """Largest count ``c`` of null values >= a score with ``c / n < alpha``."""
    m = float(alpha) * n
    nearest = round(m)
    if abs(m - nearest) < 1e-9 * max(1.0, m):
        return max(int(nearest) - 1, 0)
    return int(math.floor(m))


def critical_value(null: np.ndarray, alpha: float) -> float:
    """Critical value of a max-statistic null at level ``alpha``.

    Parameters
    ----------
    null : (n_perm,) ndarray
    alpha : float

    Returns
    -------
    float
        The ``ceil(alpha * n_perm)``-th largest null value: a score is significant
        (``p < alpha``) exactly when it is larger than this value. When ``n_perm <= 1 /
        alpha`` this is the largest null value, which nothing exceeds.
    """
    desc = -np.sort(-np.asarray(null, dtype=np.float64))
    k = _allowed_exceedances(alpha, desc.size)
    return float(desc[min(k, desc.size - 1)])


# --------------------------------------------------------------------------------------------
# correction entry


def _resolved_params(spec: CorrectionSpec) -> dict[str, Any]:
    params = {**DEFAULT_PARAMS, **dict(spec.params)}
    unknown = sorted(set(params) - set(DEFAULT_PARAMS))
    if unknown:
        raise ConfigError(
            f"unknown permutation parameter '{unknown[0]}'; allowed: {sorted(DEFAULT_PARAMS)}."
            + suggest(unknown[0], DEFAULT_PARAMS)
        )
    if not 1 <= int(params["n_perm"]) <= MAX_RESAMPLES:
        raise ConfigError(
            f"permutation n_perm must be between 1 and {MAX_RESAMPLES:,}; got {params['n_perm']}."
        )
    return params


def check_resample_table(n_perm: int, n: int) -> None:
    """Refuse a resample table (``n_perm`` x ``n`` inputs) above :data:`MAX_RESAMPLE_ENTRIES`."""
    if n_perm * n > MAX_RESAMPLE_ENTRIES:
        raise ConfigError(
            f"permutation with n_perm {n_perm:,} and {n:,} inputs needs a table of "
            f"{n_perm * n:,} resample entries; at most {MAX_RESAMPLE_ENTRIES:,} are held "
            f"(use n_perm <= {MAX_RESAMPLE_ENTRIES // max(n, 1):,})."
        )


def _blocks_from_table(name: str | None, ctx: InferenceContext, n: int) -> np.ndarray | None:
    if name is None:
        return None
    table = ctx.table
    if table is None:
        raise ConfigError(
            f"permutation blocks '{name}' needs the inputs table, which this run does not have."
        )
    if name not in table.columns:
        raise ConfigError(
            f"permutation blocks: no column '{name}' in the inputs table; columns: "
            f"{list(map(str, table.columns))}." + suggest(name, map(str, table.columns))
        )
    values = table[name]
    if len(values) != n:
        raise ConfigError(
            f"permutation blocks '{name}' has {len(values)} rows but there are {n} inputs."
        )
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ConfigError(
            f"permutation blocks column '{name}' has a missing value (n/a) in "
            f"{row_name(table, row)}; every input needs a block."
        )
    return values.to_numpy()


def _voxel_of_coordinates(xyz: np.ndarray, ctx: InferenceContext) -> np.ndarray:
    """In-mask index of the voxels at world coordinates (mm), -1 outside."""
    return voxel_index(xyz, mask=ctx.mask, affine=ctx.affine)


def _peak_column(peaks: pd.DataFrame, values: np.ndarray, ctx: InferenceContext) -> np.ndarray:
    vox = _voxel_of_coordinates(peaks[["peak_x", "peak_y", "peak_z"]].to_numpy(float), ctx)
    return np.where(vox >= 0, values[np.maximum(vox, 0)], np.nan)


def _cluster_components(
    result: CorrectionResult, ctx: InferenceContext, graph: NeighbourGraph, stat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Component label (v,) of the surviving voxels and the component of each table row."""
    voxels = np.flatnonzero(result.surviving)
    labels = np.full(graph.n_voxels, -1, dtype=np.int64)
    if voxels.size:
        lab, _ = connected_components(
            voxels, graph, sign=stat[voxels] if result.two_sided else None
        )
        labels[voxels] = lab
    peak_vox = _voxel_of_coordinates(
        result.clusters[["peak_x", "peak_y", "peak_z"]].to_numpy(float), ctx
    )
    row_comp = np.where(peak_vox >= 0, labels[np.maximum(peak_vox, 0)], -1)
    return labels, row_comp


def _with_columns(result: CorrectionResult, clusters: pd.DataFrame, peaks: pd.DataFrame):
    return dataclasses.replace(result, clusters=clusters, peaks=peaks)


def _voxel_p_tables(
    result: CorrectionResult,
    p_map: np.ndarray,
    ctx: InferenceContext,
    graph: NeighbourGraph,
    stat: np.ndarray,
) -> CorrectionResult:
    """Add ``p_fwe`` (voxel-level) to the peaks table and, per cluster, its smallest value."""
    peaks = result.peaks.copy()
    peaks["p_fwe"] = _peak_column(peaks, p_map, ctx)
    clusters = result.clusters.copy()
    if len(clusters):
        labels, row_comp = _cluster_components(result, ctx, graph, stat)
        inside = labels >= 0
        n_comp = int(labels.max()) + 1 if inside.any() else 0
        best = np.full(n_comp, np.nan)
        if n_comp:
            best = np.full(n_comp, np.inf)
            np.minimum.at(best, labels[inside], p_map[inside])
        clusters["p_fwe"] = np.where(row_comp >= 0, best[np.maximum(row_comp, 0)], np.nan)
    else:
        clusters["p_fwe"] = pd.Series([], dtype="float64")
    return _with_columns(result, clusters, peaks)


def _z_of(stat_value: float, contrast: ContrastResult) -> float:
    from ..scales import stat_to_z

    return float(stat_to_z(stat_value, contrast.stat_type, contrast.dof, contrast.df_num))


def _side(two_sided: bool) -> str:
    return ", two-sided" if two_sided else ""


def apply_permutation(
    contrast: ContrastResult, spec: CorrectionSpec, ctx: InferenceContext
) -> list[CorrectionResult]:
    """Permutation (sign-flip or Freedman-Lane) FWE inference for one contrast.

    Parameters
    ----------
    contrast : ContrastResult
        Supplies ``weights``, ``stat_type``, ``z`` and ``stat`` (for the tables).
    spec : CorrectionSpec
        ``method == "permutation"``; ``params``: ``n_perm`` (10000), ``seed`` (0),
        ``cluster_forming_p`` (None), ``tfce`` (False), ``blocks`` (None: a column of the
        inputs table), ``tfce_E`` (0.5), ``tfce_H`` (2.0), ``tfce_dh`` ('auto').
    ctx : InferenceContext
        ``data``, ``fit.design``, ``mask``, ``affine``, ``connectivity``, ``table``,
        ``progress``.

    Returns
    -------
    list of CorrectionResult
        ``permMaxT`` always; ``permClusterSize`` and ``permClusterMass`` with a
        ``cluster_forming_p``; ``permTFCE`` with ``tfce`` (routes; each result's ``desc`` is
        ``spec.result_desc(route)``, the route itself for a default-labelled entry). Each has
        ``arrays["null"]`` (the max-statistic null, resample 0 = observed) and extras
        ``observed_max``, ``critical_value``, ``null_label``, ``n_perm``, ``exact``, ``scheme``
        and ``min_p_fwe`` (``1 / n_perm``, the smallest attainable p). Clusters tables gain
        ``p_fwe``: the cluster's FWE p for the cluster routes (with ``cluster_size`` or
        ``cluster_mass``), the smallest voxel FWE p inside the cluster for max-T and TFCE;
        peaks tables of max-T and TFCE gain the voxel FWE p at each peak.

    Raises
    ------
    ConfigError
        No data (map-only runs), a non-OLS fit, or a bad ``blocks`` column.
    """
    from ..scales import resolve_two_sided
    from ..thresholds import make_correction

    params = _resolved_params(spec)
    if ctx.data is None or ctx.fit is None:
        raise ConfigError(
            "permutation inference needs the input images and the fitted design; it is not "
            "available for runs on statistic maps (model.level: maps)."
        )
    if ctx.fit.noise_model != "ols":
        raise ConfigError(
            f"permutation inference assumes exchangeable inputs and an OLS fit; this model "
            f"uses noise model '{ctx.fit.noise_model}' (time series are not exchangeable). "
            "Use it on a second-level model."
        )
    two_sided, note = resolve_two_sided(contrast, spec)
    design = ctx.fit.design
    n = int(design.matrix.shape[0])
    check_resample_table(int(params["n_perm"]), n)
    blocks = _blocks_from_table(params["blocks"], ctx, n)
    cfp = params["cluster_forming_p"]
    threshold = (
        None
        if cfp is None
        else cluster_forming_threshold(
            float(cfp), contrast.stat_type, contrast.dof, contrast.df_num, two_sided=two_sided
        )
    )
    null = permutation_null(
        ctx.data,
        design.matrix,
        contrast.weights,
        n_perm=int(params["n_perm"]),
        seed=int(params["seed"]),
        two_sided=two_sided,
        stat_type=contrast.stat_type,
        blocks=blocks,
        mask=ctx.mask,
        cluster_threshold=threshold,
        tfce=bool(params["tfce"]),
        connectivity=int(ctx.connectivity),
        tfce_E=float(params["tfce_E"]),
        tfce_H=float(params["tfce_H"]),
        tfce_dh=params["tfce_dh"],
        progress=bool(ctx.progress),
    )
    graph = neighbour_graph(ctx.mask, int(ctx.connectivity))
    out_params = {**params, **note}
    alpha = float(spec.alpha)
    stat = null.stat
    score = np.abs(stat) if two_sided else stat
    stat_name = "t" if contrast.stat_type == "t" else "F"
    common = {
        "n_perm": int(null.n_perm),
        "exact": bool(null.exact),
        "scheme": null.scheme,
        "min_p_fwe": 1.0 / null.n_perm,
    }
    if blocks is not None:
        common["blocks"] = str(params["blocks"])
        if null.scheme == "sign-flip":
            common["blocks_note"] = "sign flips are free within and across blocks"
    what = "sign flips" if null.scheme == "sign-flip" else "permutations"
    count = f"{null.n_perm:,} {what}{' (all)' if null.exact else ''}"
    a_txt = f"{alpha:g}"
    results: list[CorrectionResult] = []

    # --- voxel-wise max statistic ---------------------------------------------------------
    crit = critical_value(null.max_stat, alpha)
    p_vox = fwe_p_values(score, null.max_stat)
    surviving = score > crit
    label = f"max |{stat_name}|" if two_sided else f"max {stat_name}"
    res = make_correction(
        contrast,
        spec,
        ctx,
        method="permutation",
        desc=spec.result_desc("permMaxT"),
        route="permMaxT",
        title=f"Permutation FWE p < {a_txt}, voxel-wise max-{stat_name} ({count}"
        f"{_side(two_sided)})",
        threshold_z=_z_of(crit, contrast),
        threshold_stat=crit,
        surviving=surviving,
        two_sided=two_sided,
        params=out_params,
        extras={
            "observed_max": float(null.max_stat[0]),
            "critical_value": crit,
            "null_label": label,
            **common,
        },
        maps={"logp_fwe": -np.log10(p_vox)},
        arrays={"null": null.max_stat.copy()},
    )
    results.append(_voxel_p_tables(res, p_vox, ctx, graph, stat))

    # --- cluster size and mass -------------------------------------------------------------
    if threshold is not None and null.max_size is not None and null.max_mass is not None:
        voxels, labels, sizes, masses = _cluster_measures(stat, threshold, graph, two_sided)
        z_thr = _z_of(threshold, contrast)
        for route, kind, values, nulls in (
            ("permClusterSize", "size", sizes, null.max_size),
            ("permClusterMass", "mass", masses, null.max_mass),
        ):
            crit_c = critical_value(nulls, alpha)
            p_clu = fwe_p_values(values, nulls)
            keep = values > crit_c
            surviving = np.zeros(stat.size, dtype=bool)
            surviving[voxels[keep[labels]]] = True
            extent = int(math.floor(crit_c)) + 1 if kind == "size" else 0
            res = make_correction(
                contrast,
                spec,
                ctx,
                method="permutation",
                desc=spec.result_desc(route),
                route=route,
                title=f"Permutation FWE p < {a_txt}, cluster {kind} (cluster-forming p < "
                f"{float(cfp):g}; {count}{_side(two_sided)})",
                threshold_z=z_thr,
                threshold_stat=threshold,
                surviving=surviving,
                two_sided=two_sided,
                cluster_extent=extent,
                params=out_params,
                extras={
                    "observed_max": float(nulls[0]),
                    "critical_value": crit_c,
                    f"critical_cluster_{kind}": crit_c,
                    "null_label": f"max cluster {kind}",
                    "cluster_forming_p": float(cfp),
                    "cluster_forming_threshold": threshold,
                    **common,
                },
                arrays={"null": nulls.copy()},
            )
            clusters = res.clusters.copy()
            if len(clusters):
                comp_of_voxel = np.full(stat.size, -1, dtype=np.int64)
                comp_of_voxel[voxels] = labels
                peak_vox = _voxel_of_coordinates(
                    clusters[["peak_x", "peak_y", "peak_z"]].to_numpy(float), ctx
                )
                comp = np.where(peak_vox >= 0, comp_of_voxel[np.maximum(peak_vox, 0)], -1)
                clusters[f"cluster_{kind}"] = np.where(comp >= 0, values[comp], np.nan)
                clusters["p_fwe"] = np.where(comp >= 0, p_clu[comp], np.nan)
            else:
                clusters[f"cluster_{kind}"] = pd.Series([], dtype="float64")
                clusters["p_fwe"] = pd.Series([], dtype="float64")
            results.append(_with_columns(res, clusters, res.peaks))

    # --- TFCE ----------------------------------------------------------------------------------
    if null.tfce is not None and null.max_tfce is not None:
        crit_t = critical_value(null.max_tfce, alpha)
        tf_score = np.abs(null.tfce) if two_sided else null.tfce
        p_tfce = fwe_p_values(tf_score, null.max_tfce)
        res = make_correction(
            contrast,
            spec,
            ctx,
            method="permutation",
            desc=spec.result_desc("permTFCE"),
            route="permTFCE",
            title=f"Permutation FWE p < {a_txt}, TFCE ({count}{_side(two_sided)})",
            threshold_z=None,
            threshold_stat=None,
            surviving=tf_score > crit_t,
            two_sided=two_sided,
            cluster_extent=0,
            params=out_params,
            extras={
                "observed_max": float(null.max_tfce[0]),
                "critical_value": crit_t,
                "null_label": "max |TFCE|" if two_sided else "max TFCE",
                "tfce_E": float(params["tfce_E"]),
                "tfce_H": float(params["tfce_H"]),
                "tfce_dh": params["tfce_dh"],
                **common,
            },
            maps={"tfce": null.tfce.copy(), "logp_fwe": -np.log10(p_tfce)},
            arrays={"null": null.max_tfce.copy()},
        )
        results.append(_voxel_p_tables(res, p_tfce, ctx, graph, stat))
    return results
