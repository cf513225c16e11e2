"""The resamples of permutation inference: counting, enumerating and drawing them.

The identity is always resample 0 and counts as one of ``n_perm``. When the number of distinct
resamples is at most ``n_perm`` they are all enumerated once (*exact* test): ``2**n`` sign
flips, or for permutations the distinct rearrangements of the design's rows within
exchangeability blocks, ``prod_b n_b! / prod_l c_bl!`` where ``c_bl`` counts identical design
rows ``l`` in block ``b`` (exchanging identical rows gives the same statistic). Otherwise
``n_perm - 1`` resamples are drawn at random from ``numpy.random.default_rng(seed)``, all up
front, so the result depends on the seed only -- not on the number of workers nor on the batch
in which a resample is evaluated.

Exchangeability blocks: permutations only exchange rows of the same block (e.g. blocks =
subject in a repeated-measures ANOVA: the condition labels are permuted within each subject).
Sign flipping assumes independent, symmetric errors and flips each row independently: flips are
free within and across blocks, so blocks only restrict permutations.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ...config.vocabulary import MAX_RESAMPLES
from ...errors import InferenceError
from .partition import Scheme

__all__ = [
    "MAX_RESAMPLES",
    "MAX_RESAMPLE_ENTRIES",
    "check_resample_table",
    "count_resamples",
    "make_resamples",
]

#: Most entries of the table of resamples (``n_perm`` x inputs) held at once: 2^28 (1 GiB as
#: int32 permutation indices).
MAX_RESAMPLE_ENTRIES = 1 << 28


def check_resample_table(n_perm: int, n: int) -> None:
    """Refuse a resample table (``n_perm`` x ``n`` inputs) above :data:`MAX_RESAMPLE_ENTRIES`.

    Raises
    ------
    InferenceError
        With the largest ``n_perm`` these inputs allow.
    """
    if n_perm * n > MAX_RESAMPLE_ENTRIES:
        raise InferenceError(
            f"permutation with n_perm {n_perm:,} and {n:,} inputs needs a table of "
            f"{n_perm * n:,} resample entries; at most {MAX_RESAMPLE_ENTRIES:,} are held "
            f"(use n_perm <= {MAX_RESAMPLE_ENTRIES // max(n, 1):,})."
        )


def _block_codes(blocks: np.ndarray | None, n: int) -> np.ndarray:
    if blocks is None:
        return np.zeros(n, dtype=np.int64)
    blocks = np.asarray(blocks)
    if blocks.shape != (n,):
        raise InferenceError(
            f"blocks must have one entry per input ({n}); got shape {blocks.shape}."
        )
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
        raise InferenceError(f"n_perm must be between 1 and {MAX_RESAMPLES:,}; got {n_perm}.")
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
