"""Wilkinson formulas of second-level designs: parsed, never evaluated.

A formula comes from a config that anyone may have written, so no part of it is run as Python.
:func:`parse_formula` reads it with formulaic's parser (which tokenises and expands terms without
evaluating anything) and accepts only this grammar:

- terms joined by ``+``, removed by ``-``, crossed by ``:`` (interaction) and ``*``
  (``a*b`` = ``a + b + a:b``), grouped by parentheses; an optional leading ``~``;
- ``1`` (intercept, the default), ``0`` or ``-1`` (no intercept);
- a column of the inputs table, as a bare name or in backticks for names with spaces or
  symbols (```reaction time```);
- ``C(col)``: the column as a categorical factor (treatment coding, levels sorted);
- ``center(col)``: the column minus its mean; ``scale(col)``: centred and divided by its
  standard deviation (ddof 1); ``log(col)``: natural logarithm (every value must be > 0).
  Inside a call the column is a plain identifier.

Every factor's text is checked with :mod:`ast` (parsed, not evaluated): a name, or one allowed
call whose only argument is a name. Anything else (attribute access, subscripts, other calls,
literals, lambdas, names with double underscores) is refused naming the term.
:func:`glmreport.glm.formula.model_frame` then computes the allowed transforms itself and hands
formulaic column look-ups only, so the model matrix (columns and names) is what formulaic gives
for the original formula.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any

from ..errors import DesignError, suggest

TRANSFORMS: tuple[str, ...] = ("C", "center", "scale", "log")
MAX_FORMULA_CHARS = 1000
MAX_TERMS = 128
MAX_COLUMNS = 2000
ALLOWED = (
    "columns of the inputs table (backticks for odd names), 1 / 0 / -1 for the intercept, "
    "+ - : * and parentheses, C(col), center(col), scale(col), log(col)"
)
_OPERATORS = ("+", "-", ":", "*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m|[\u29da\u29db]")


@dataclass(frozen=True, slots=True, kw_only=True)
class Factor:
    """One factor of a term.

    Attributes
    ----------
    expr : str
        The factor's text as formulaic names it (``age``, ``C(group)``, ``center(age)``).
    column : str
        The inputs-table column it reads.
    transform : str or None
        One of :data:`TRANSFORMS`, or None for the column itself.
    """

    expr: str
    column: str
    transform: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedFormula:
    """A checked formula: its terms in formulaic's order.

    Attributes
    ----------
    text : str
        The formula as given.
    intercept : bool
    terms : tuple of tuple of Factor
        The non-intercept terms, each a tuple of factors (one factor for a main effect).
    """

    text: str
    intercept: bool
    terms: tuple[tuple[Factor, ...], ...]

    @property
    def factors(self) -> tuple[Factor, ...]:
        """Distinct factors, in order of first use."""
        seen: dict[str, Factor] = {}
        for term in self.terms:
            for f in term:
                seen.setdefault(f.expr, f)
        return tuple(seen.values())

    @property
    def columns(self) -> tuple[str, ...]:
        """Distinct table columns the formula reads."""
        return tuple(dict.fromkeys(f.column for f in self.factors))

    def lookup_formula(self) -> str:
        """The same terms as column look-ups only (``1 + `C(g)` + `age`:`C(g)```)."""
        parts = ["1" if self.intercept else "0"]
        parts += [":".join(f"`{f.expr}`" for f in term) for term in self.terms]
        return " + ".join(parts)


def short(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters (with ``...``) for messages."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_formula(formula: str) -> ParsedFormula:
    """Parse and check a design formula without evaluating any of it.

    Parameters
    ----------
    formula : str
        Right-hand side of a Wilkinson formula (a leading ``~`` is allowed).

    Returns
    -------
    ParsedFormula

    Raises
    ------
    DesignError
        A syntax error, an operator or factor outside the grammar (named, with what is
        allowed), or more than :data:`MAX_TERMS` terms.
    """
    from formulaic.parser import DefaultFormulaParser

    text = str(formula)
    if len(text) > MAX_FORMULA_CHARS:
        raise DesignError(
            f"the formula has {len(text)} characters; at most {MAX_FORMULA_CHARS} are allowed."
        )
    rhs = text.strip().removeprefix("~").strip()
    if "~" in rhs:
        raise DesignError(
            f"formula '{short(text)}': give only the right-hand side (e.g. '1 + group + age'); "
            "the images are the response."
        )
    parser = DefaultFormulaParser()
    try:
        tree = parser.get_ast(rhs)
        _check_tree(tree, text)
        structured = parser.get_terms(rhs)
    except DesignError:
        raise
    except Exception as exc:  # formulaic raises several syntax error types
        raise DesignError(
            f"formula '{short(text)}' cannot be parsed: {_first_line(exc)}."
        ) from None
    if getattr(structured, "_has_structure", False):
        raise DesignError(f"formula '{short(text)}': multi-part formulas ('|') are not allowed.")
    intercept = False
    terms: list[tuple[Factor, ...]] = []
    for term in structured:
        factors = tuple(term.factors)
        if len(factors) == 1 and factors[0].eval_method.value == "literal":
            if factors[0].expr != "1":
                raise _not_allowed(factors[0].expr, text, "a number")
            intercept = True
            continue
        terms.append(tuple(_factor(f, text) for f in factors))
    return ParsedFormula(text=text, intercept=intercept, terms=tuple(terms))


def _first_line(exc: Exception) -> str:
    message = _ANSI.sub("", str(exc)).strip()
    line = message.splitlines()[0].rstrip(". ") if message else type(exc).__name__
    return short(line, 200)


def _not_allowed(term: str, formula: str, what: str, *, kind: str = "term") -> DesignError:
    return DesignError(
        f"formula '{short(formula)}': {kind} '{short(term)}' is not allowed ({what}); "
        f"a formula may use {ALLOWED}."
    )


def _check_tree(node: Any, formula: str) -> int:
    """Check operators and leaves of formulaic's syntax tree; return an upper bound on terms."""
    from formulaic.parser.types import Token

    if isinstance(node, Token):
        if node.kind is Token.Kind.VALUE and node.token not in ("0", "1"):
            raise _not_allowed(node.token, formula, "a literal value")
        if node.kind not in (Token.Kind.NAME, Token.Kind.PYTHON, Token.Kind.VALUE):
            raise _not_allowed(node.token, formula, f"a {node.kind.value} token")
        return 1
    symbol = getattr(getattr(node, "operator", None), "symbol", None)
    if symbol not in _OPERATORS:
        raise _not_allowed(str(symbol), formula, "not one of + - : *", kind="operator")
    counts = [_check_tree(arg, formula) for arg in node.args]
    if symbol == "+":
        total = sum(counts)
    elif symbol == "-":
        total = counts[0]
    elif symbol == ":":
        total = math.prod(counts)
    else:
        total = sum(counts) + math.prod(counts)
    if total > MAX_TERMS:
        raise DesignError(
            f"formula '{short(formula)}' expands to more than {MAX_TERMS} terms; write fewer "
            "interactions."
        )
    return total


def _factor(factor: Any, formula: str) -> Factor:
    expr = str(factor.expr)
    if factor.eval_method.value == "lookup":
        return Factor(expr=expr, column=_column_name(expr, formula))
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise _not_allowed(
            expr, formula, "not a name or an allowed call of a plain column name"
        ) from None
    if isinstance(node, ast.Name):
        return Factor(expr=expr, column=_column_name(node.id, formula))
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise _not_allowed(expr, formula, f"a Python {type(node).__name__.lower()} expression")
    name = node.func.id
    if name not in TRANSFORMS:
        raise _not_allowed(
            expr, formula, f"unknown function '{short(name, 30)}'" + suggest(name, TRANSFORMS)
        )
    args = node.args
    if node.keywords or len(args) != 1 or not isinstance(args[0], ast.Name):
        raise _not_allowed(expr, formula, f"{name}() takes exactly one column name")
    return Factor(expr=expr, column=_column_name(args[0].id, formula), transform=name)


def _column_name(name: str, formula: str) -> str:
    if not name.strip():
        raise _not_allowed(name, formula, "an empty name")
    if any(part.startswith("__") or part.endswith("__") for part in name.split(".")):
        raise _not_allowed(name, formula, "names with leading or trailing double underscores")
    return name
