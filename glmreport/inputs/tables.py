"""Reading tables (TSV/CSV) and the second-level inputs table.

Tables follow BIDS: ``n/a`` and empty cells are missing values. pandas and NumPy are imported
when a table is read, not with this module.
"""

from __future__ import annotations

import glob as globmod
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .entities import bids_entities

if TYPE_CHECKING:
    import pandas as pd

#: Cells read as missing values (BIDS writes ``n/a``).
MISSING_CELLS = ("n/a", "")


def read_table(path: Path, *, what: str = "table") -> pd.DataFrame:
    """Read a TSV or CSV file (chosen by extension; ``.tsv``/``.txt`` are tab separated).

    Parameters
    ----------
    path : Path
    what : str
        What the file is, for error messages (e.g. ``"inputs table"``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    import pandas as pd

    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        table = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, na_values=list(MISSING_CELLS)
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read {what} {path}: {exc}") from None
    if table.shape[1] == 1 and sep == "\t" and "," in table.columns[0]:
        raise InputError(
            f"{what} {path} looks comma-separated but has a tab-separated extension; "
            "name it .csv or separate columns with tabs"
        )
    return _numeric_columns(table)


_IDENTIFIER = re.compile(r"^[+-]?0\d")


def _numeric_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Turn columns whose every non-missing cell parses as a number into floats.

    Missing cells (``n/a``, empty) stay missing (NaN) and do not decide the type; columns with
    any other text stay text. Codes with leading zeros (``01``, ``007``) are identifiers and
    stay text. Numbers may be written ``1e-3``, ``1E+2``, ``.5``.
    """
    import numpy as np
    import pandas as pd

    out = table.copy()
    for col in out.columns:
        if col == "path":
            continue
        cells = out[col].to_numpy(dtype=object)
        present = ~pd.isna(cells)
        if not present.any():
            continue
        text = [str(v) for v in cells[present]]
        if any(_IDENTIFIER.match(t) for t in text):
            continue
        converted = np.asarray(
            pd.to_numeric(np.array(text, dtype=object), errors="coerce"), dtype=float
        )
        if not np.isnan(converted).any():
            values = np.full(len(out), np.nan)
            values[present] = converted
            out[col] = values
    return out


def read_inputs_table(spec: Any) -> pd.DataFrame:
    """Build the inputs table (one row per image, absolute ``path`` column first).

    Parameters
    ----------
    spec : glmreport.config.specs.InputsSpec
    """
    import pandas as pd

    if spec.kind == "table":
        table = read_table(spec.table, what="inputs table")
        if "path" not in table.columns:
            raise InputError(
                f"inputs table {spec.table} has no 'path' column; its columns are: "
                f"{', '.join(map(str, table.columns))}"
            )
        _check_paths(table, f"inputs table {spec.table}")
        base = Path(spec.table).parent
        table["path"] = [str(p if Path(p).is_absolute() else base / p) for p in table["path"]]
    elif spec.kind == "list":
        rows = [
            {k: (None if str(v) in MISSING_CELLS else str(v)) for k, v in r.items()}
            for r in spec.rows
        ]
        table = _numeric_columns(pd.DataFrame(rows))
        _check_paths(table, "model.inputs")
    else:
        pattern = (
            spec.pattern if Path(spec.pattern).is_absolute() else str(spec.base_dir / spec.pattern)
        )
        paths = sorted(globmod.glob(pattern, recursive=True))
        if not paths:
            raise InputError(f"model.inputs.glob: no file matches {pattern}")
        # BIDS entities are labels: they stay text (missing where a file lacks one)
        table = pd.DataFrame([{"path": p, **bids_entities(p)} for p in paths])
    if table.empty:
        raise InputError("the inputs table has no rows")
    cols = ["path"] + [c for c in table.columns if c != "path"]
    return table[cols].reset_index(drop=True)


def _check_paths(table: pd.DataFrame, where: str) -> None:
    import numpy as np

    missing = np.flatnonzero(table["path"].isna().to_numpy()) if "path" in table else []
    if len(missing):
        raise InputError(f"{where}: row {int(missing[0]) + 1} has no path (n/a or empty)")
