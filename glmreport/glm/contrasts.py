"""Contrast specifications -> exact-width weights -> t and F statistic maps.

A contrast is written against the design's named columns:

- a t contrast is one linear expression, e.g. ``"left - right"``, ``"0.5*a + 0.5*b - c"``,
  ``"(a + b)/2 - c"``, ``"-age"``; a ``{column: weight}`` mapping; or one full-width vector;
- an F contrast is a list of expressions (one per row), a list of mappings, or a full-width
  matrix.

Column names are matched whole, longest first, so names containing spaces, dashes or brackets
(``sub-01``, ``group[T.b]``) can be written as they are; backticks (`` `vertical vs horizontal` ``)
mark a name explicitly. Weights are never padded: a vector of the wrong width is an error.

Statistics: ``effect = c @ betas``, ``variance = c Σ c' σ²`` with ``Σ = pinv(X'X)`` of the
voxel's group; t = effect / sqrt(variance) with one-sided p (H1: effect > 0);
F = (cβ)' (cΣc'σ²)⁻¹ (cβ) / r with ``r = rank(c)`` numerator degrees of freedom and upper-tail p.
z is the standard normal deviate with the same tail probability, computed from log tail
probabilities so that it stays finite and accurate far into the tails (|z| > 38, where p itself
underflows double precision). Voxels whose residual variance is zero (data fitted exactly,
e.g. constant voxels) get stat 0, p 1 and z 0: never significant in either tail; an F of
exactly 0 also gets z 0 rather than -inf.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..config.specs import ContrastSpec
from ..config.vocabulary import StatType
from ..errors import ContrastError, UnknownColumnError, suggest
from .expressions import parse_expression
from .pvalues import _f_p_z, _t_p_z
from .results import ContrastEstimate, ContrastResult, GLMFit

#: Relative tolerance of the estimability check ``c @ pinv(X) @ X == c``.
ESTIMABLE_RTOL = 1e-8


# --------------------------------------------------------------------------------------------
# weights


def contrast_weights(spec: ContrastSpec, columns: Sequence[str]) -> np.ndarray:
    """Turn a contrast definition into weights aligned with the design columns.

    Parameters
    ----------
    spec : ContrastSpec
    columns : sequence of str
        Design column names (p of them).

    Returns
    -------
    (q, p) ndarray of float64
        q == 1 for a t contrast.

    Raises
    ------
    ContrastError
        Malformed expression, unknown column, wrong width, all-zero row, or a t contrast with
        several rows.
    """
    columns = [str(c) for c in columns]
    prefix = _prefix(spec.name, spec.where)
    if spec.stat_type not in ("t", "F"):
        raise ContrastError(f"{prefix}stat_type must be 't' or 'F'; got {spec.stat_type!r}.")
    rows = _definition_rows(spec.definition, columns, prefix)
    weights = np.array(rows, dtype=np.float64).reshape(len(rows), len(columns))
    if not np.all(np.isfinite(weights)):
        raise ContrastError(f"{prefix}weights must be finite numbers.")
    for i, row in enumerate(weights):
        if not np.any(row):
            which = f"row {i + 1} is" if len(weights) > 1 else "weights are"
            raise ContrastError(f"{prefix}{which} all zero; a contrast must test something.")
    if spec.stat_type == "t" and len(weights) != 1:
        raise ContrastError(
            f"{prefix}a t contrast is a single row; got {len(weights)} rows. Write it as an F "
            "contrast to test several rows jointly."
        )
    return weights


def _prefix(name: str, where: str) -> str:
    return f"{where}: contrast '{name}': " if where else f"contrast '{name}': "


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _definition_rows(definition: Any, columns: list[str], prefix: str) -> list[np.ndarray]:
    if isinstance(definition, np.ndarray):
        definition = definition.tolist()
    if isinstance(definition, str):
        return [parse_expression(definition, columns, prefix=prefix)]
    if isinstance(definition, Mapping):
        return [_mapping_row(definition, columns, prefix)]
    if isinstance(definition, Sequence) and not isinstance(definition, str | bytes):
        items = list(definition)
        if not items:
            raise ContrastError(f"{prefix}the definition is empty.")
        if all(isinstance(i, str) for i in items):
            return [parse_expression(i, columns, prefix=prefix) for i in items]
        if all(isinstance(i, Mapping) for i in items):
            return [_mapping_row(i, columns, prefix) for i in items]
        if all(_is_number(i) for i in items):
            return [_vector_row(items, columns, prefix)]
        if all(isinstance(i, Sequence | np.ndarray) and not isinstance(i, str) for i in items):
            return [_vector_row(list(i), columns, prefix, row=k + 1) for k, i in enumerate(items)]
    raise ContrastError(
        f"{prefix}cannot read the definition {definition!r}: expected an expression string, "
        "a list of expressions, a {column: weight} mapping, a list of numbers (one per design "
        "column) or a list of such lists."
    )


def _vector_row(
    values: list[Any], columns: list[str], prefix: str, row: int | None = None
) -> np.ndarray:
    if not all(_is_number(v) for v in values):
        raise ContrastError(f"{prefix}weights must be numbers; got {values!r}.")
    if len(values) != len(columns):
        where = f"row {row} has" if row is not None else "has"
        raise ContrastError(
            f"{prefix}{where} {len(values)} weight(s) but the design has {len(columns)} "
            f"column(s) {columns}. Weights are never padded: give one weight per column, or "
            "write the contrast as an expression over column names."
        )
    return np.asarray(values, dtype=np.float64)


def _mapping_row(mapping: Mapping[Any, Any], columns: list[str], prefix: str) -> np.ndarray:
    row = np.zeros(len(columns))
    for key, value in mapping.items():
        key = str(key)
        if key not in columns:
            raise UnknownColumnError(
                f"{prefix}unknown column '{key}'; design columns: {columns}."
                + suggest(key, columns),
                column=key,
            )
        if not _is_number(value):
            raise ContrastError(f"{prefix}weight of '{key}' must be a number; got {value!r}.")
        row[columns.index(key)] += float(value)
    return row


# --------------------------------------------------------------------------------------------
# estimability


def check_estimable(
    weights: np.ndarray, design_matrix: np.ndarray, *, name: str = "", where: str = ""
) -> None:
    """Refuse a contrast that is not in the row space of the design.

    A row ``c`` is estimable iff ``c @ pinv(X) @ X == c`` (relative tolerance
    ``ESTIMABLE_RTOL``).

    Parameters
    ----------
    weights : (q, p) ndarray
    design_matrix : (n, p) ndarray
    name, where : str
        Contrast name and YAML path for the error message.

    Raises
    ------
    ContrastError
    """
    c = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    x = np.asarray(design_matrix, dtype=np.float64)
    if c.shape[1] != x.shape[1]:
        raise ContrastError(
            f"{_prefix(name, where)}{c.shape[1]} weights for a design of {x.shape[1]} columns."
        )
    projected = c @ np.linalg.pinv(x) @ x
    err = np.linalg.norm(projected - c, axis=1)
    bad = np.flatnonzero(err > ESTIMABLE_RTOL * np.maximum(np.linalg.norm(c, axis=1), 1e-300))
    if bad.size:
        rows = ", ".join(str(int(b) + 1) for b in bad)
        raise ContrastError(
            f"{_prefix(name, where)}not estimable on this design: row(s) {rows} are not a "
            "combination of the design's rows (e.g. subject columns and cell means are "
            "confounded, so a contrast on one cell mean alone, or on a subject column, has "
            "no unique value). Test differences between cells or conditions instead."
        )


# --------------------------------------------------------------------------------------------
# statistics


def compute_contrast(
    fit: GLMFit, weights: np.ndarray, *, name: str, label: str, stat_type: StatType
) -> ContrastResult:
    """Evaluate a t or F contrast at every voxel.

    Parameters
    ----------
    fit : GLMFit
        ``betas`` (p, v), ``sigma2`` (v,), ``cov_unscaled`` (g, p, p), ``groups`` (v,) or None.
    weights : (q, p) ndarray
        Exactly the design's width; q == 1 for t.
    name, label : str
        Contrast name and file-name label (see :func:`make_label`).
    stat_type : {'t', 'F'}

    Returns
    -------
    ContrastResult
        ``effect`` (q, v) = c β; ``variance`` (q, q, v) = c Σ c' σ²; ``stat`` (v,);
        ``p`` (v,) one-sided upper tail for t, upper tail for F; ``z`` (v,);
        ``df_num`` = 1 for t, rank(c) for F (q unless rows are linearly dependent).
        Voxels with ``sigma2 == 0`` get stat 0, p 1, z 0 (and z is 0 where F == 0).

    Raises
    ------
    ContrastError
        Wrong width, several rows for t, or a contrast that is not estimable.
    """
    c, effect, variance, ccov = _effect_and_variance(fit, weights, name, stat_type)
    sigma2 = np.asarray(fit.sigma2, dtype=np.float64)
    groups = None if fit.groups is None else np.asarray(fit.groups, dtype=np.intp)
    if stat_type == "t":
        df_num = 1
        stat, ok = _t_statistic(effect, variance, sigma2)
        p_val, z = _t_p_z(stat, fit.dof)
    else:
        df_num = int(np.linalg.matrix_rank(c))
        stat, ok = _f_statistic(effect, ccov, groups, sigma2, df_num)
        p_val, z = _f_p_z(stat, df_num, fit.dof)
        z[stat == 0] = 0.0  # F = 0 exactly: lower-tail z would be -inf
    p_val[~ok] = 1.0
    z[~ok] = 0.0
    return ContrastResult(
        name=name,
        label=label,
        stat_type=stat_type,
        weights=c,
        columns=tuple(fit.design.columns),
        effect=effect,
        variance=variance,
        stat=stat,
        p=p_val,
        z=z,
        dof=float(fit.dof),
        df_num=df_num,
    )


def estimate_contrast(
    fit: GLMFit, weights: np.ndarray, *, name: str, label: str, stat_type: StatType
) -> ContrastEstimate:
    """Effect and covariance of a contrast at every voxel, without its statistics.

    The ``effect`` and ``variance`` of :func:`compute_contrast` (the same numbers), for a run
    whose contrast is only combined with other runs' (fixed effects): its own t or F, p and z
    maps are not computed.

    Parameters
    ----------
    fit, weights, name, label, stat_type
        As :func:`compute_contrast`.

    Returns
    -------
    ContrastEstimate

    Raises
    ------
    ContrastError
        As :func:`compute_contrast`.
    """
    c, effect, variance, _ = _effect_and_variance(fit, weights, name, stat_type)
    return ContrastEstimate(
        name=name,
        label=label,
        stat_type=stat_type,
        weights=c,
        columns=tuple(fit.design.columns),
        effect=effect,
        variance=variance,
        dof=float(fit.dof),
    )


def _effect_and_variance(
    fit: GLMFit, weights: np.ndarray, name: str, stat_type: StatType
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Checked weights c (q, p), ``c β`` (q, v), ``c Σ c' σ²`` (q, q, v), ``c Σ c'`` (g, q, q)."""
    columns = tuple(fit.design.columns)
    c = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    p = fit.betas.shape[0]
    if c.ndim != 2 or c.shape[1] != p:
        raise ContrastError(
            f"{_prefix(name, '')}{c.shape[-1]} weight(s) but the design has {p} column(s) "
            f"{list(columns)}; weights are never padded."
        )
    if stat_type not in ("t", "F"):
        raise ContrastError(f"{_prefix(name, '')}stat_type must be 't' or 'F'.")
    if stat_type == "t" and c.shape[0] != 1:
        raise ContrastError(f"{_prefix(name, '')}a t contrast is a single row; got {c.shape[0]}.")
    check_estimable(c, fit.design.matrix, name=name)

    sigma2 = np.asarray(fit.sigma2, dtype=np.float64)
    effect = c @ fit.betas  # (q, v)
    cov = np.asarray(fit.cov_unscaled, dtype=np.float64)
    if cov.ndim == 2:
        cov = cov[np.newaxis]
    ccov = np.einsum("ij,gjk,lk->gil", c, cov, c)  # (g, q, q)
    ccov = 0.5 * (ccov + np.swapaxes(ccov, 1, 2))
    if fit.groups is None:
        variance = ccov[0][:, :, np.newaxis] * sigma2
    else:
        variance = np.moveaxis(ccov[np.asarray(fit.groups, dtype=np.intp)], 0, -1) * sigma2
    return c, effect, variance, ccov


def _t_statistic(
    effect: np.ndarray, variance: np.ndarray, sigma2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """t (v,) of a one-row contrast and the voxels where it is defined (0 elsewhere)."""
    stat = np.zeros(effect.shape[1])
    var = variance[0, 0]
    ok = (sigma2 > 0) & (var > 0)
    stat[ok] = effect[0, ok] / np.sqrt(var[ok])
    return stat, ok


def _f_statistic(
    effect: np.ndarray,
    ccov: np.ndarray,
    groups: np.ndarray | None,
    sigma2: np.ndarray,
    df_num: int,
) -> tuple[np.ndarray, np.ndarray]:
    """F (v,) ``(cβ)' (cΣc')⁺ (cβ) / (r σ²)`` and the voxels where it is defined (0 elsewhere).

    ``ccov`` (g, q, q) holds ``cΣc'`` of each voxel group (``groups`` (v,), or None: one).
    """
    v = effect.shape[1]
    quad = np.zeros(v)
    group_ids = [0] if groups is None else np.unique(groups)
    for g in group_ids:
        sel = slice(None) if groups is None else groups == g
        inv = np.linalg.pinv(ccov[g], hermitian=True)
        e = effect[:, sel]
        quad[sel] = np.einsum("iv,ij,jv->v", e, inv, e)
    ok = sigma2 > 0
    stat = np.zeros(v)
    stat[ok] = np.maximum(quad[ok], 0.0) / (df_num * sigma2[ok])
    return stat, ok


# --------------------------------------------------------------------------------------------
# labels


def make_label(name: str, taken: set[str]) -> str:
    """File-name-safe camelCase label of a contrast name, unique among ``taken``.

    Parameters
    ----------
    name : str
        E.g. ``"left vs right"``.
    taken : set of str
        Labels already used (compared case-insensitively); not modified.

    Returns
    -------
    str
        ASCII letters and digits only, e.g. ``"leftVsRight"``; ``"leftVsRight2"`` if taken.
    """
    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    words = [w for w in re.split(r"[^A-Za-z0-9]+", ascii_name) if w]
    if not words:
        words = ["contrast"]
    first = words[0]
    if not (first.isupper() and len(first) > 1):  # keep acronyms such as "BOLD"
        first = first[0].lower() + first[1:]
    label = first + "".join(w[0].upper() + w[1:] for w in words[1:])
    used = {t.lower() for t in taken}
    candidate, k = label, 2
    while candidate.lower() in used:
        candidate, k = f"{label}{k}", k + 1
    return candidate
