"""Contrast expressions over column names: parsed, never evaluated."""

from __future__ import annotations

import numpy as np
import pytest

from glmreport.errors import ContrastError, UnknownColumnError
from glmreport.glm.expressions import parse_expression

COLUMNS = ["left", "right", "sub-01", "group[T.b]", "age", "my column"]


@pytest.mark.parametrize(
    ("expression", "weights"),
    [
        ("left - right", [1, -1, 0, 0, 0, 0]),
        ("0.5*left + 0.5*right - age", [0.5, 0.5, 0, 0, -1, 0]),
        ("(left + right)/2 - age", [0.5, 0.5, 0, 0, -1, 0]),
        ("-age", [0, 0, 0, 0, -1, 0]),
        ("sub-01 - group[T.b]", [0, 0, 1, -1, 0, 0]),
        ("`my column` * 2", [0, 0, 0, 0, 0, 2]),
        ("2 * (left - 3 * (right - left))", [8, -6, 0, 0, 0, 0]),
        ("left + left", [2, 0, 0, 0, 0, 0]),
    ],
)
def test_linear_expressions(expression, weights):
    np.testing.assert_allclose(parse_expression(expression, COLUMNS), weights)


@pytest.mark.parametrize(
    ("expression", "match"),
    [
        ("left - 1", "constant term"),
        ("left * right", "product of two columns"),
        ("left / right", "division by a column"),
        ("left / 0", "division by zero"),
        ("(left - right", "missing '\\)'"),
        ("left $ right", "unexpected character"),
        ("", "empty"),
        ("`left", "unclosed backtick"),
    ],
)
def test_malformed_expressions(expression, match):
    with pytest.raises(ContrastError, match=match) as info:
        parse_expression(expression, COLUMNS)
    assert not isinstance(info.value, UnknownColumnError)


@pytest.mark.parametrize(
    ("expression", "column"),
    [("lefft - right", "lefft"), ("`nope` + age", "nope"), ("left - unknown", "unknown")],
)
def test_unknown_columns_raise_unknown_column_error(expression, column):
    with pytest.raises(UnknownColumnError) as info:
        parse_expression(expression, COLUMNS, prefix="contrasts[0]: ")
    assert info.value.column == column
    assert str(info.value).startswith("contrasts[0]: unknown column")
    assert isinstance(info.value, ContrastError) and isinstance(info.value, ValueError)


def test_unknown_column_error_survives_pickling():
    import pickle

    error = UnknownColumnError("unknown column 'x'", column="x")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is UnknownColumnError and again.column == "x"
    assert str(again) == "unknown column 'x'"
