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

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from ..errors import ContrastError, suggest
from .results import ContrastResult, GLMFit, StatType

#: What a contrast definition may be (see the module docstring).
ContrastDefinition = (
    str | list[str] | dict[str, float] | list[dict[str, float]] | list[float] | list[list[float]]
)

#: Relative tolerance of the estimability check ``c @ pinv(X) @ X == c``.
ESTIMABLE_RTOL = 1e-8
#: z values are clipped to this magnitude (reached only by infinite statistics).
Z_CLIP = 1000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ContrastSpec:
    """One contrast as written in the config.

    Attributes
    ----------
    name : str
        Name as written by the user.
    stat_type : {'t', 'F'}
    definition : str, list of str, dict of str -> float, list of float or list of list of float
        Expression(s), ``{column: weight}`` mapping(s), or full-width weights.
    where : str
        YAML path of the entry (e.g. ``contrasts[2]``), used in error messages.
    """

    name: str
    stat_type: StatType
    definition: ContrastDefinition
    where: str = ""


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
            raise ContrastError(
                f"{prefix}unknown column '{key}'; design columns: {columns}."
                + suggest(key, columns)
            )
        if not _is_number(value):
            raise ContrastError(f"{prefix}weight of '{key}' must be a number; got {value!r}.")
        row[columns.index(key)] += float(value)
    return row


# --------------------------------------------------------------------------------------------
# expression parser: sums of numbers times column names, no eval

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\[\]]*")
_IDENT_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def parse_expression(expression: str, columns: Sequence[str], *, prefix: str = "") -> np.ndarray:
    """Parse a linear expression over design column names into one weight row.

    Parameters
    ----------
    expression : str
        E.g. ``"left - right"``, ``"0.5*a + 0.5*b - c"``, ``"(a + b)/2 - c"``,
        ``"`vertical vs horizontal` - rest"``.
    columns : sequence of str
        Design column names.
    prefix : str
        Text put before error messages (which contrast, where).

    Returns
    -------
    (p,) ndarray of float64
    """
    columns = [str(c) for c in columns]
    tokens = _tokenize(expression, columns, prefix)
    parser = _Parser(tokens, expression, columns, prefix)
    vec, const = parser.parse()
    if const != 0.0:
        raise ContrastError(
            f"{prefix}expression '{expression}' has a constant term ({const:g}); a contrast "
            "is a weighted sum of design columns."
        )
    return vec


def _tokenize(expression: str, columns: list[str], prefix: str) -> list[tuple[str, Any, int]]:
    by_length = sorted(range(len(columns)), key=lambda k: -len(columns[k]))
    tokens: list[tuple[str, Any, int]] = []
    i, n = 0, len(expression)
    while i < n:
        ch = expression[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "`":
            end = expression.find("`", i + 1)
            if end < 0:
                raise ContrastError(f"{prefix}unclosed backtick in '{expression}'.")
            name = expression[i + 1 : end]
            if name not in columns:
                raise ContrastError(
                    f"{prefix}unknown column '{name}' in '{expression}'; design columns: "
                    f"{columns}." + suggest(name, columns)
                )
            tokens.append(("col", columns.index(name), i))
            i = end + 1
            continue
        matched = None
        for k in by_length:
            name = columns[k]
            if name and expression.startswith(name, i):
                after = i + len(name)
                if after < n and name[-1] in _IDENT_CHARS and expression[after] in _IDENT_CHARS:
                    continue
                matched = k
                break
        if matched is not None:
            tokens.append(("col", matched, i))
            i += len(columns[matched])
            continue
        number = _NUMBER.match(expression, i)
        if number:
            tokens.append(("num", float(number.group()), i))
            i = number.end()
            continue
        if ch in "+-*/()":
            tokens.append(("op", ch, i))
            i += 1
            continue
        word = _WORD.match(expression, i)
        if word:
            name = word.group()
            hint = suggest(name, columns)
            if not hint and any(not c.isidentifier() for c in columns):
                hint = " Write names with spaces or symbols in backticks, e.g. `my column`."
            raise ContrastError(
                f"{prefix}unknown column '{name}' in '{expression}'; design columns: "
                f"{columns}." + hint
            )
        raise ContrastError(
            f"{prefix}unexpected character '{ch}' at position {i + 1} of '{expression}'."
        )
    return tokens


class _Parser:
    """Recursive-descent parser of ``+ - * / ( )`` over numbers and columns.

    Values are linear forms ``(vector, constant)``; a product needs a constant factor.
    """

    def __init__(
        self, tokens: list[tuple[str, Any, int]], text: str, columns: list[str], prefix: str
    ):
        self.tokens = tokens
        self.pos = 0
        self.text = text
        self.columns = columns
        self.p = len(columns)
        self.prefix = prefix

    def error(self, message: str) -> ContrastError:
        return ContrastError(f"{self.prefix}cannot parse '{self.text}': {message}.")

    def peek(self) -> tuple[str, Any, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> tuple[np.ndarray, float]:
        if not self.tokens:
            raise self.error("the expression is empty")
        value = self.expr()
        token = self.peek()
        if token is not None:
            raise self.error(f"unexpected '{self._show(token)}' at position {token[2] + 1}")
        return value

    def _show(self, token: tuple[str, Any, int]) -> str:
        kind, value, _ = token
        if kind == "num":
            return f"{value:g}"
        return str(value) if kind == "op" else self.columns[value]

    def expr(self) -> tuple[np.ndarray, float]:
        vec, const = self.term()
        while (token := self.peek()) is not None and token[:2] in (("op", "+"), ("op", "-")):
            self.pos += 1
            v2, c2 = self.term()
            sign = 1.0 if token[1] == "+" else -1.0
            vec, const = vec + sign * v2, const + sign * c2
        return vec, const

    def term(self) -> tuple[np.ndarray, float]:
        vec, const = self.factor()
        while (token := self.peek()) is not None and token[:2] in (("op", "*"), ("op", "/")):
            self.pos += 1
            v2, c2 = self.factor()
            if token[1] == "*":
                if np.any(vec) and np.any(v2):
                    raise self.error("a product of two columns is not a linear contrast")
                if np.any(vec):
                    vec, const = vec * c2, const * c2
                else:
                    vec, const = v2 * const, c2 * const
            else:
                if np.any(v2):
                    raise self.error("division by a column is not a linear contrast")
                if c2 == 0.0:
                    raise self.error("division by zero")
                vec, const = vec / c2, const / c2
        return vec, const

    def factor(self) -> tuple[np.ndarray, float]:
        token = self.peek()
        if token is None:
            raise self.error("the expression ends too early")
        kind, value, where = token
        self.pos += 1
        if kind == "op" and value in "+-":
            vec, const = self.factor()
            return (vec, const) if value == "+" else (-vec, -const)
        if kind == "num":
            return np.zeros(self.p), float(value)
        if kind == "col":
            vec = np.zeros(self.p)
            vec[value] = 1.0
            return vec, 0.0
        if kind == "op" and value == "(":
            inner = self.expr()
            closing = self.peek()
            if closing is None or closing[:2] != ("op", ")"):
                raise self.error(f"missing ')' for '(' at position {where + 1}")
            self.pos += 1
            return inner
        raise self.error(f"unexpected '{value}' at position {where + 1}")


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

    v = fit.betas.shape[1]
    sigma2 = np.asarray(fit.sigma2, dtype=np.float64)
    effect = c @ fit.betas  # (q, v)
    cov = np.asarray(fit.cov_unscaled, dtype=np.float64)
    if cov.ndim == 2:
        cov = cov[np.newaxis]
    ccov = np.einsum("ij,gjk,lk->gil", c, cov, c)  # (g, q, q)
    ccov = 0.5 * (ccov + np.swapaxes(ccov, 1, 2))
    groups = fit.groups
    if groups is None:
        variance = ccov[0][:, :, np.newaxis] * sigma2
    else:
        groups = np.asarray(groups, dtype=np.intp)
        variance = np.moveaxis(ccov[groups], 0, -1) * sigma2

    valid = sigma2 > 0
    stat = np.zeros(v)
    if stat_type == "t":
        df_num = 1
        var = variance[0, 0]
        ok = valid & (var > 0)
        stat[ok] = effect[0, ok] / np.sqrt(var[ok])
        p_val, z = _t_p_z(stat, fit.dof)
    else:
        df_num = int(np.linalg.matrix_rank(c))
        quad = np.zeros(v)
        group_ids = [0] if groups is None else np.unique(groups)
        for g in group_ids:
            sel = slice(None) if groups is None else groups == g
            inv = np.linalg.pinv(ccov[g], hermitian=True)
            e = effect[:, sel]
            quad[sel] = np.einsum("iv,ij,jv->v", e, inv, e)
        ok = valid
        stat[ok] = np.maximum(quad[ok], 0.0) / (df_num * sigma2[ok])
        p_val, z = _f_p_z(stat, df_num, fit.dof)
        z[stat == 0] = 0.0  # F = 0 exactly: lower-tail z would be -inf
    p_val[~ok] = 1.0
    z[~ok] = 0.0
    return ContrastResult(
        name=name,
        label=label,
        stat_type=stat_type,
        weights=c,
        columns=columns,
        effect=effect,
        variance=variance,
        stat=stat,
        p=p_val,
        z=z,
        dof=float(fit.dof),
        df_num=df_num,
    )


def z_from_logp(logp: np.ndarray, *, log1mp: np.ndarray | None = None) -> np.ndarray:
    """Standard normal deviate whose upper-tail probability is ``exp(logp)``.

    Parameters
    ----------
    logp : (...) ndarray
        Natural log of the upper-tail p-value.
    log1mp : (...) ndarray, optional
        Natural log of ``1 - p`` (the lower tail), computed independently; used where
        ``p > 0.5`` so that very negative z keep full precision.

    Returns
    -------
    (...) ndarray
        ``-ndtri_exp(logp)``: finite for ``logp`` down to about -1e300 (|z| far beyond 38).
    """
    logp = np.asarray(logp, dtype=np.float64)
    z = -special.ndtri_exp(logp)
    if log1mp is not None:
        log1mp = np.broadcast_to(np.asarray(log1mp, dtype=np.float64), logp.shape)
        lower = logp > math.log(0.5)
        z = np.where(lower, special.ndtri_exp(log1mp), z)
    return z


def _log_betainc(a: Any, b: Any, x: np.ndarray) -> np.ndarray:
    """log of the regularized incomplete beta function I_x(a, b), accurate when it underflows."""
    x = np.asarray(x, dtype=np.float64)
    a = np.broadcast_to(np.asarray(a, dtype=np.float64), x.shape)
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), x.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        value = special.betainc(a, b, x)
        out = np.log(value)
        tiny = (value < 1e-280) & (x > 0)
        if np.any(tiny):
            at, bt, xt = a[tiny], b[tiny], x[tiny]
            # I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * 2F1(a + b, 1; a + 1; x)
            out[tiny] = (
                at * np.log(xt)
                + bt * np.log1p(-xt)
                - np.log(at)
                - special.betaln(at, bt)
                + np.log(special.hyp2f1(at + bt, 1.0, at + 1.0, xt))
            )
    return out


def _t_p_z(t: np.ndarray, dof: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper-tail p and z of Student t values."""
    p = special.stdtr(dof, -t)
    with np.errstate(over="ignore"):
        x = dof / (dof + t * t)
    # log P(T > |t|) = log(0.5 I_x(dof/2, 1/2))
    log_tail = math.log(0.5) + _log_betainc(0.5 * dof, 0.5, x)
    z = np.where(t >= 0, -special.ndtri_exp(log_tail), special.ndtri_exp(log_tail))
    return p, np.clip(z, -Z_CLIP, Z_CLIP)


def _f_p_z(f: np.ndarray, df_num: int, dof: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper-tail p and z of F values."""
    p = special.fdtrc(df_num, dof, f)
    d1f = df_num * f
    with np.errstate(invalid="ignore", divide="ignore"):
        x_upper = dof / (dof + d1f)
        x_lower = d1f / (d1f + dof)
    log_upper = _log_betainc(0.5 * dof, 0.5 * df_num, x_upper)
    log_lower = _log_betainc(0.5 * df_num, 0.5 * dof, x_lower)
    z = np.where(p <= 0.5, -special.ndtri_exp(log_upper), special.ndtri_exp(log_lower))
    return p, np.clip(z, -Z_CLIP, Z_CLIP)


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
