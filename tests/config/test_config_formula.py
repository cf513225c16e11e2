"""Design formulas: parsed into terms, never evaluated."""

from __future__ import annotations

import pytest

from glmreport.config.formula import MAX_FORMULA_CHARS, parse_formula
from glmreport.errors import DesignError


def test_terms_columns_and_lookup_formula():
    parsed = parse_formula("~ 1 + C(group) * center(age) + `reaction time`")
    assert parsed.intercept is True
    assert parsed.columns == ("group", "age", "reaction time")
    assert [f.transform for f in parsed.factors] == ["C", "center", None]
    assert parsed.lookup_formula() == (
        "1 + `C(group)` + `center(age)` + `C(group)`:`center(age)` + `reaction time`"
    )
    assert parse_formula("0 + a").intercept is False


@pytest.mark.parametrize(
    "formula, fragment",
    [
        ("np.log(age)", "np.log"),
        ("I(age ** 2)", "I("),
        ("age[0]", "age[0]"),
        ("a ~ b", "right-hand side"),
        ("a + (", "cannot be parsed"),
        ("2 + a", "term '2' is not allowed"),
    ],
)
def test_anything_else_is_refused_naming_the_term(formula, fragment):
    with pytest.raises(DesignError) as info:
        parse_formula(formula)
    assert fragment in str(info.value)


def test_length_is_bounded():
    with pytest.raises(DesignError, match=f"at most {MAX_FORMULA_CHARS}"):
        parse_formula("a + " * MAX_FORMULA_CHARS)
