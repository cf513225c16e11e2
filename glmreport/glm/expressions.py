"""Contrast expressions over design column names, parsed without ``eval``.

An expression is a sum of numbers times column names with ``+ - * / ( )``; column names
are matched whole, longest first, and backticks mark a name explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ContrastError, UnknownColumnError, suggest

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
        if expression[i].isspace():
            i += 1
            continue
        token, i = _token_at(expression, i, columns, by_length, prefix)
        tokens.append(token)
    return tokens


def _token_at(
    expression: str, i: int, columns: list[str], by_length: list[int], prefix: str
) -> tuple[tuple[str, Any, int], int]:
    """The token starting at ``i`` (a column, a number or an operator) and where it ends."""
    ch = expression[i]
    if ch == "`":
        end = expression.find("`", i + 1)
        if end < 0:
            raise ContrastError(f"{prefix}unclosed backtick in '{expression}'.")
        name = expression[i + 1 : end]
        if name not in columns:
            raise _unknown(name, expression, columns, prefix, suggest(name, columns))
        return ("col", columns.index(name), i), end + 1
    matched = _column_at(expression, i, columns, by_length)
    if matched is not None:
        return ("col", matched, i), i + len(columns[matched])
    number = _NUMBER.match(expression, i)
    if number:
        return ("num", float(number.group()), i), number.end()
    if ch in "+-*/()":
        return ("op", ch, i), i + 1
    word = _WORD.match(expression, i)
    if word:
        name = word.group()
        hint = suggest(name, columns)
        if not hint and any(not c.isidentifier() for c in columns):
            hint = " Write names with spaces or symbols in backticks, e.g. `my column`."
        raise _unknown(name, expression, columns, prefix, hint)
    raise ContrastError(
        f"{prefix}unexpected character '{ch}' at position {i + 1} of '{expression}'."
    )


def _column_at(expression: str, i: int, columns: list[str], by_length: list[int]) -> int | None:
    """The longest column name written at ``i`` (not cut inside a longer word), or None."""
    n = len(expression)
    for k in by_length:
        name = columns[k]
        if name and expression.startswith(name, i):
            after = i + len(name)
            if after < n and name[-1] in _IDENT_CHARS and expression[after] in _IDENT_CHARS:
                continue
            return k
    return None


def _unknown(
    name: str, expression: str, columns: list[str], prefix: str, hint: str
) -> UnknownColumnError:
    return UnknownColumnError(
        f"{prefix}unknown column '{name}' in '{expression}'; design columns: {columns}." + hint,
        column=name,
    )


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
