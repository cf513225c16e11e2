"""Second-level design matrices: presets, Wilkinson formulas and user-supplied matrices.

:func:`build_design` turns the inputs table (one row per input image: a ``path`` column
plus variable columns) and a :class:`DesignSpec` into a
:class:`~glmreport.glm.results.DesignMatrix` whose named columns are what contrasts refer to.

Column names
------------
- ``one-sample``: ``intercept``.
- ``two-sample`` (``group``): ``intercept`` and ``<group>``, an indicator equal to 1 for the
  first level and 0 for the second, so the contrast ``<group>`` tests first level > second.
  Levels are ``levels`` if given, otherwise the sorted unique values (compared as strings).
- ``paired`` (``condition``, ``subject``): ``<condition>``, an indicator equal to 1 for the first
  level and 0 for the second, then one column per subject named ``<subject>-<value>``
  (column ``sub`` with value ``01`` gives ``sub-01``). The subject columns are nuisance.
- ``anova`` (``factors``, optional ``subject``): one cell-mean column per combination of factor
  levels, named by joining the level values with ``_`` in factor order, the first factor varying
  slowest; levels of each factor are sorted as strings. With ``subject`` one column per subject
  (``<subject>-<value>``, nuisance) follows. That design is rank-deficient (cell means and
  subject means share the grand mean); it is fitted with the pseudo-inverse and only contrasts
  in its row space (differences between cells) are estimable.
- ``formula``: the columns of ``formulaic.model_matrix(formula, table)`` as formulaic names them,
  e.g. ``Intercept``, ``group[T.b]``, ``age``; the formula is parsed, never evaluated, and
  limited to the grammar of :mod:`glmreport.config.formula` (columns, ``C()``, ``center()``,
  ``scale()``, ``log()``, ``+ - : *``).
- ``matrix``: the columns of the supplied table, as given.
- ``covariates``: appended after the columns above, each named after its table column and
  mean-centred unless ``center_covariates`` is false.

Values of grouping columns are compared as strings (``str(value)``). A missing value (BIDS
``n/a``) in any column the design uses is an error naming the column and the row.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..config.formula import parse_formula, short
from ..config.specs import DesignSpec
from ..config.vocabulary import DESIGN_KINDS
from ..errors import DesignError, suggest
from .formula import model_frame, row_name
from .results import DesignMatrix


def build_design(table: pd.DataFrame, spec: DesignSpec) -> DesignMatrix:
    """Build the design matrix of a second-level model.

    Parameters
    ----------
    table : DataFrame
        One row per input image, in input order (a ``path`` column plus variable columns).
    spec : DesignSpec

    Returns
    -------
    DesignMatrix
        ``matrix`` : (n_inputs, n_columns) float64; column names as in the module docstring.

    Raises
    ------
    DesignError
        Unknown or unusable table column, wrong number of levels, unbalanced pairs,
        formula error, matrix of the wrong shape or type, duplicate column names.
    """
    builders = {
        "one-sample": _one_sample,
        "two-sample": _two_sample,
        "paired": _paired,
        "anova": _anova,
        "formula": _formula,
        "matrix": _matrix,
    }
    if spec.kind not in builders:
        raise DesignError(
            f"unknown design kind '{spec.kind}'; expected one of {', '.join(DESIGN_KINDS)}."
            + suggest(spec.kind, DESIGN_KINDS)
        )
    if len(table) == 0:
        raise DesignError("the inputs table is empty: a design needs at least one input.")
    blocks, nuisance, description = builders[spec.kind](table, spec)
    if spec.covariates:
        blocks.append(_covariates(table, spec))
    frame = pd.concat(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    columns = tuple(str(c) for c in frame.columns)
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise DesignError(
            f"duplicate design column name(s) {duplicates}: rename the table column(s) or "
            "drop the covariate that repeats a design column."
        )
    matrix = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
    return DesignMatrix(
        matrix=matrix,
        columns=columns,
        description=description,
        row_labels=_row_labels(table),
        nuisance=tuple(nuisance),
    )


# --------------------------------------------------------------------------------------------
# presets


def _one_sample(table: pd.DataFrame, spec: DesignSpec) -> tuple[list[pd.DataFrame], list, str]:
    frame = pd.DataFrame({"intercept": np.ones(len(table))})
    return [frame], [], "one-sample t-test"


def _two_sample(table: pd.DataFrame, spec: DesignSpec) -> tuple[list[pd.DataFrame], list, str]:
    group = _require(spec.group, "group", "two-sample")
    values = _string_column(table, group, role="group")
    levels = _two_levels(values, spec.levels, column=group, role="group")
    frame = pd.DataFrame(
        {"intercept": np.ones(len(table)), group: (values == levels[0]).astype(np.float64)}
    )
    return [frame], [], f"two-sample t-test ({group}: {levels[0]} vs {levels[1]})"


def _paired(table: pd.DataFrame, spec: DesignSpec) -> tuple[list[pd.DataFrame], list, str]:
    condition = _require(spec.condition, "condition", "paired")
    subject = _require(spec.subject, "subject", "paired")
    cond = _string_column(table, condition, role="condition")
    subj = _string_column(table, subject, role="subject")
    levels = _two_levels(cond, spec.levels, column=condition, role="condition")
    subjects = sorted(set(subj))
    for s in subjects:
        rows = cond[subj == s]
        counts = [int(np.sum(rows == level)) for level in levels]
        if counts != [1, 1]:
            raise DesignError(
                f"paired design: subject '{s}' (column '{subject}') has {counts[0]} input(s) "
                f"for '{levels[0]}' and {counts[1]} for '{levels[1]}'; every subject needs "
                f"exactly one input per level of '{condition}'."
            )
    data = {condition: (cond == levels[0]).astype(np.float64)}
    subject_columns = _subject_columns(subj, subject, subjects)
    data.update(subject_columns)
    description = f"paired t-test ({condition}: {levels[0]} vs {levels[1]})"
    return [pd.DataFrame(data)], list(subject_columns), description


def _anova(table: pd.DataFrame, spec: DesignSpec) -> tuple[list[pd.DataFrame], list, str]:
    if not spec.factors:
        raise DesignError("anova design: 'factors' must list at least one table column.")
    values = [_string_column(table, f, role="factor") for f in spec.factors]
    levels = [sorted(set(v)) for v in values]
    data: dict[str, np.ndarray] = {}
    for combination in itertools.product(*levels):
        name = "_".join(combination)
        indicator = np.ones(len(table), dtype=bool)
        for v, level in zip(values, combination, strict=True):
            indicator &= v == level
        if not indicator.any():
            cell = ", ".join(f"{f}={c}" for f, c in zip(spec.factors, combination, strict=True))
            raise DesignError(
                f"anova design: cell {name} ({cell}) has no inputs; every combination of "
                f"the levels of {list(spec.factors)} needs at least one input."
            )
        data[name] = indicator.astype(np.float64)
    nuisance: list[str] = []
    if spec.subject is not None:
        subj = _string_column(table, spec.subject, role="subject")
        subject_columns = _subject_columns(subj, spec.subject, sorted(set(subj)))
        data.update(subject_columns)
        nuisance = list(subject_columns)
    shape = " x ".join(str(len(lv)) for lv in levels)
    kind = "within-subject" if spec.subject is not None else "between-subject"
    description = f"{shape} {kind} ANOVA ({', '.join(spec.factors)})"
    if len(data) != len(set(data)):  # pragma: no cover - dict keys are unique by construction
        raise DesignError("anova design: duplicate column names.")
    return [pd.DataFrame(data)], nuisance, description


def _formula(table: pd.DataFrame, spec: DesignSpec) -> tuple[list[pd.DataFrame], list, str]:
    formula = _require(spec.formula, "formula", "formula")
    frame = model_frame(parse_formula(formula), table)
    if len(frame) != len(table):  # pragma: no cover - na_action="raise" keeps every row
        raise DesignError(
            f"formula '{short(formula)}' gave {len(frame)} rows for {len(table)} inputs."
        )
    return [frame], [], f"formula: {formula}"


def _matrix(table: pd.DataFrame, spec: DesignSpec) -> tuple[list[pd.DataFrame], list, str]:
    if spec.matrix is None:
        raise DesignError("matrix design: no design matrix was given.")
    given = spec.matrix
    if len(given) != len(table):
        raise DesignError(
            f"the design matrix has {len(given)} rows but there are {len(table)} inputs; "
            "it needs exactly one row per input, in input order."
        )
    if given.shape[1] == 0:
        raise DesignError("the design matrix has no columns.")
    for column in given.columns:
        series = given[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            raise DesignError(
                f"design matrix column '{column}' is not numeric (dtype {series.dtype})."
            )
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DesignError(
                f"design matrix column '{column}' has a missing or infinite value (row {bad + 1})."
            )
    frame = pd.DataFrame(given.to_numpy(dtype=np.float64), columns=[str(c) for c in given.columns])
    return [frame], [], "user-supplied design matrix"


def _covariates(table: pd.DataFrame, spec: DesignSpec) -> pd.DataFrame:
    data: dict[str, np.ndarray] = {}
    for name in spec.covariates:
        _check_column(table, name, role="covariate")
        series = table[name]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            numeric = _numeric_columns(table)
            raise DesignError(
                f"covariate '{name}' is not numeric (dtype {series.dtype}); numeric table "
                f"columns: {numeric}." + suggest(name, numeric)
            )
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            what = "a missing value (n/a)" if np.isnan(values[bad]) else "an infinite value"
            raise DesignError(
                f"covariate '{name}' has {what} in {row_name(table, bad)}; fill it or leave "
                "the input out."
            )
        if np.ptp(values) == 0:
            raise DesignError(
                f"covariate '{name}' has the same value ({values[0]:g}) for every input; "
                "it carries no information."
            )
        data[str(name)] = values - values.mean() if spec.center_covariates else values
    return pd.DataFrame(data)


# --------------------------------------------------------------------------------------------
# helpers


def _require(value: str | None, key: str, kind: str) -> str:
    if not value:
        raise DesignError(f"{kind} design: '{key}' (a table column) is required.")
    return value


def _available(table: pd.DataFrame) -> list[str]:
    return [str(c) for c in table.columns]


def _numeric_columns(table: pd.DataFrame) -> list[str]:
    return [
        str(c)
        for c in table.columns
        if pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
    ]


def _check_column(table: pd.DataFrame, column: str, *, role: str) -> None:
    if column not in table.columns:
        available = _available(table)
        raise DesignError(
            f"{role} column '{column}' is not in the inputs table; available columns: "
            f"{available}." + suggest(column, available)
        )


def _string_column(table: pd.DataFrame, column: str, *, role: str) -> np.ndarray:
    """Return a table column as an array of strings, refusing missing values."""
    _check_column(table, column, role=role)
    series = table[column]
    missing = series.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DesignError(
            f"{role} column '{column}' has a missing value (n/a) in {row_name(table, row)}; "
            "fill it or leave the input out."
        )
    return np.array([str(v) for v in series], dtype=object)


def _two_levels(
    values: np.ndarray, levels: Sequence[str] | None, *, column: str, role: str
) -> tuple[str, str]:
    found = sorted(set(values))
    if levels is None:
        if len(found) != 2:
            raise DesignError(
                f"{role} column '{column}' must have exactly 2 levels; found {len(found)}: {found}."
            )
        return found[0], found[1]
    wanted = [str(v) for v in levels]
    if len(wanted) != 2 or wanted[0] == wanted[1]:
        raise DesignError(
            f"'levels' for {role} column '{column}' must name 2 distinct values; got {wanted}."
        )
    extra = [v for v in found if v not in wanted]
    if extra:
        raise DesignError(
            f"{role} column '{column}' has value(s) {extra} outside levels {wanted}; "
            f"levels found: {found}." + suggest(extra[0], wanted)
        )
    absent = [v for v in wanted if v not in found]
    if absent:
        raise DesignError(
            f"level(s) {absent} of {role} column '{column}' have no inputs; levels found: "
            f"{found}." + suggest(absent[0], found)
        )
    return wanted[0], wanted[1]


def _subject_columns(
    subj: np.ndarray, subject: str, subjects: Sequence[str]
) -> dict[str, np.ndarray]:
    return {f"{subject}-{s}": (subj == s).astype(np.float64) for s in subjects}


def _row_labels(table: pd.DataFrame) -> tuple[str, ...]:
    if "path" in table.columns:
        return tuple(Path(str(p)).name for p in table["path"])
    return tuple(str(i) for i in table.index)
