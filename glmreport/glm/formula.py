"""The model matrix of a checked design formula on the inputs table.

:func:`model_frame` computes the allowed transforms itself into a table whose columns are
named after the factors, and hands formulaic a formula of backtick-quoted column look-ups only,
so no user text is evaluated (the formula was parsed and checked by
:func:`glmreport.config.formula.parse_formula`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..config.formula import MAX_COLUMNS, Factor, ParsedFormula, _first_line, short
from ..errors import DesignError, suggest


def model_frame(parsed: ParsedFormula, table: pd.DataFrame) -> pd.DataFrame:
    """The model matrix of a checked formula on the inputs table.

    Parameters
    ----------
    parsed : ParsedFormula
    table : DataFrame
        One row per input (a ``path`` column names the rows in messages).

    Returns
    -------
    DataFrame
        Columns named as formulaic names them for the original formula, float64.

    Raises
    ------
    DesignError
        An unknown column (with a suggestion), a missing value in a used column (naming the
        row), a non-numeric column under a numeric transform, ``log`` of a value <= 0, or more
        than :data:`MAX_COLUMNS` columns.
    """
    import formulaic

    values = {f.expr: _factor_values(f, table, parsed.text) for f in parsed.factors}
    _check_width(parsed, values)
    frame = pd.DataFrame(values, index=range(len(table)))
    try:
        matrix = formulaic.model_matrix(
            parsed.lookup_formula(), frame, na_action="raise", context={}
        )
    except Exception as exc:  # formulaic raises many exception types
        raise DesignError(
            f"formula '{short(parsed.text)}' cannot be built on the inputs table: "
            f"{_first_line(exc)}."
        ) from exc
    return pd.DataFrame(np.asarray(matrix, dtype=np.float64), columns=list(matrix.columns))


def row_name(table: pd.DataFrame, row: int) -> str:
    """``row 3 (path/of/input.nii.gz)`` for messages (0-based ``row``)."""
    if "path" in table.columns:
        path = str(table["path"].iloc[row])
        return f"row {row + 1} ({path if len(path) <= 80 else '...' + path[-77:]})"
    return f"row {row + 1}"


def _factor_values(factor: Factor, table: pd.DataFrame, formula: str) -> Any:
    column = factor.column
    if column not in table.columns:
        available = [str(c) for c in table.columns]
        raise DesignError(
            f"formula '{short(formula)}': column '{short(column)}' is not in the inputs table; "
            f"table columns: {available}." + suggest(column, available)
        )
    series = table[column]
    missing = series.isna().to_numpy()
    if missing.any():
        raise DesignError(
            f"formula '{short(formula)}': column '{short(column)}' has a missing value (n/a) "
            f"in {row_name(table, int(np.flatnonzero(missing)[0]))}; fill it or leave the "
            "input out."
        )
    if factor.transform == "C":
        return pd.Categorical(series.to_numpy())
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if factor.transform is None:
        return series.to_numpy() if numeric else series.astype(str).to_numpy()
    if not numeric:
        raise DesignError(
            f"formula '{short(formula)}': {factor.transform}() needs a numeric column; "
            f"'{short(column)}' holds text."
        )
    x = series.to_numpy(dtype=np.float64)
    if factor.transform == "center":
        return x - x.mean()
    if factor.transform == "scale":
        sd = x.std(ddof=1) if x.size > 1 else 0.0
        if not sd > 0:
            raise DesignError(
                f"formula '{short(formula)}': scale({short(column)}) is undefined: the column "
                "has the same value for every input."
            )
        return (x - x.mean()) / sd
    bad = np.flatnonzero(x <= 0)
    if bad.size:
        raise DesignError(
            f"formula '{short(formula)}': log({short(column)}) needs values > 0; "
            f"{row_name(table, int(bad[0]))} has {x[bad[0]]:g}."
        )
    return np.log(x)


def _check_width(parsed: ParsedFormula, values: dict[str, Any]) -> None:
    """Refuse formulas whose model matrix would exceed :data:`MAX_COLUMNS` columns."""
    width = int(parsed.intercept)
    for term in parsed.terms:
        cells = 1
        for f in term:
            v = values[f.expr]
            categorical = isinstance(v, pd.Categorical) or v.dtype == object
            cells *= len(pd.unique(np.asarray(v, dtype=object))) if categorical else 1
        width += cells
        if width > MAX_COLUMNS:
            raise DesignError(
                f"formula '{short(parsed.text)}' would give more than {MAX_COLUMNS} design "
                "columns (categorical factors with many levels, crossed); simplify it."
            )
