"""Tables of the report: clusters and peaks tables read from the results folder, and the
inputs table of the provenance.

Values stay unformatted (the templates format them by column kind, see
``templates/labels.yaml``); random field theory tables take SPM's column layout, ARI tables
are split into one block per cluster-forming threshold, and a ``survives`` cell becomes the
badges of the corrections it names.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..outputs.summary import InputRecord
from .filters import fmt_num, fmt_stat, is_missing, labels
from .model import Badge, Cell, Column, RowBlock, Table


def num(value: Any) -> float | None:
    """A finite number, or None (booleans and text are not numbers)."""
    if isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def whole(value: Any) -> int | None:
    """A number rounded to an integer, or None."""
    v = num(value)
    return None if v is None else int(round(v))


def plain(value: Any) -> Cell:
    """A table cell as a plain Python value (None for missing values)."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        v = float(value)
        return None if not math.isfinite(v) else v
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def column_kind(name: str, series: pd.Series) -> str:
    """Format of a column that ``templates/labels.yaml`` does not name."""
    lower = name.lower()
    if pd.api.types.is_numeric_dtype(series):
        if lower in ("p", "q") or lower.startswith(("p_", "q_")) or lower.endswith("_p"):
            return "p"
        if pd.api.types.is_integer_dtype(series):
            return "int"
        return "num"
    return "text"


#: Unit of contrast estimates when the inputs were not scaled to percent signal change.
INPUT_UNITS = "inputs' units"


#: ``signal_scaling`` values of a first-level model in percent signal change.
PERCENT_SCALINGS = frozenset({"psc", "percent", "percent_signal_change", "mean"})


def effect_unit(summary: Any) -> str:
    """Unit of the contrast estimates: percent signal change when the first-level data were
    scaled to it (a first-level run, a study's subject folders and its group level), the
    inputs' own units otherwise (second level: the units of the input images)."""
    study = getattr(summary, "study", None)
    if study is not None:
        scaling = dict(study.first_level).get("signal_scaling")
    else:
        scaling = getattr(getattr(summary.model, "first", None), "signal_scaling", None)
    text = str(scaling or "").lower()
    percent = text in PERCENT_SCALINGS or text.startswith("percent")
    return "% signal change" if percent else INPUT_UNITS


def column(
    name: str,
    series: pd.Series | None,
    *,
    stat_type: str,
    group: str = "",
    unit: str = INPUT_UNITS,
) -> Column:
    """A labelled column (header and kind from ``templates/labels.yaml`` when it names it)."""
    known = labels()["columns"].get(name) or {}
    header = str(known.get("header") or str(name).replace("_", " "))
    header = header.format(stat=stat_type, unit=unit)
    if not known and str(name).startswith("ari_tdp_"):
        # one bound per ARI entry when several apply: ari_tdp_<desc>
        known = labels()["columns"]["ari_tdp"]
        header = f"{known['header']} ({str(name)[len('ari_tdp_') :]})"
    kind = known.get("kind") or (column_kind(name, series) if series is not None else "text")
    return Column(key=str(name), header=header, kind=kind, group=group)


def hidden_column(name: str) -> bool:
    """Whether ``labels.yaml`` keeps a column in the TSV file only."""
    return bool((labels()["columns"].get(name) or {}).get("hide"))


def rft_columns(
    frame: pd.DataFrame, part: str, *, stat_type: str, field: str, unit: str = INPUT_UNITS
) -> list[Column]:
    """SPM's column order and groups for a random field theory table."""
    spec = labels()["rft_table"]
    headers = spec["headers"]
    synthetic = ("set_p", "set_c") if part == "clusters" else ()
    columns: list[Column] = []
    used: set[str] = set()
    for group in spec[part]:
        for key in group["columns"]:
            if key not in frame.columns and key not in synthetic:
                continue
            info = headers.get(key) or {}
            base = column(key, frame.get(key), stat_type=stat_type, group=group["group"])
            header = str(info.get("header") or base.header).format(
                field=field, stat=stat_type, unit=unit
            )
            columns.append(
                Column(key=key, header=header, kind=info.get("kind") or base.kind, group=base.group)
            )
            used.add(key)
    for name in frame.columns:
        if name not in used and name not in spec["drop"] and not hidden_column(name):
            columns.append(column(name, frame[name], stat_type=stat_type, unit=unit))
    return columns


def badges_of(value: Any, badges: Mapping[str, Badge]) -> tuple[Badge, ...]:
    """A ``survives`` cell (comma-separated descs, ``-`` for none) as badges."""
    if is_missing(value) or not isinstance(value, str):
        return ()
    out = []
    for desc in (d.strip() for d in value.split(",")):
        if desc and desc != "-":
            out.append(badges.get(desc) or Badge(short=desc, title=desc, desc=desc))
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class TableSpec:
    """How a correction's clusters and peaks tables are shown.

    Attributes
    ----------
    stat_type : str
        ``t`` or ``F``.
    stat_label : str
        ``t(15)`` or ``F(2, 13)``.
    method : str
    two_sided : bool
    extras : mapping
        The correction's extras (RFT field and set level, ARI thresholds).
    badges : mapping of str to Badge
        The contrast's corrections by ``desc``.
    unit : str
        Unit of the contrast estimates (``effect``, ``mean_effect`` headers).
    """

    stat_type: str
    stat_label: str = ""
    method: str = ""
    two_sided: bool = False
    extras: Mapping[str, Any] = field(default_factory=dict)
    badges: Mapping[str, Badge] = field(default_factory=dict)
    unit: str = INPUT_UNITS


def table(
    frame: pd.DataFrame | None,
    source: str,
    spec: TableSpec,
    *,
    max_rows: int,
    part: str = "clusters",
    notes: Sequence[str] = (),
    raw: bytes | None = None,
    drop: Sequence[str] = (),
) -> Table | None:
    """A clusters or peaks table: labelled columns, capped rows, blocks, badges.

    Random field theory tables take SPM's column layout (set, cluster and peak level);
    ARI tables, which hold one block of clusters per threshold, are split at ``threshold_z``.
    ``raw`` (the TSV file's bytes) becomes the table's download link; ``drop`` names columns
    shown only in the file (e.g. those of an atlas that was unavailable).
    """
    if frame is None:
        return None
    columns = [c for c in _columns(frame, spec, part) if c.key not in drop]
    block_key = "threshold_z" if spec.method == "ari" and "threshold_z" in frame.columns else None
    if block_key:
        columns = [c for c in columns if c.key != block_key]
    shown = frame.head(max_rows)
    rows = _rows(shown, frame, columns, spec)
    blocks = _blocks(shown[block_key], rows, spec, part) if block_key and len(shown) else ()
    return Table(
        columns=tuple(columns),
        rows=tuple(rows),
        source=source,
        n_total=len(frame),
        blocks=tuple(blocks),
        notes=tuple(notes),
        download=tsv_uri(raw) if raw is not None else "",
    )


def tsv_uri(raw: bytes) -> str:
    """A TSV file as a ``data:`` URI, so that a table downloads from the HTML file alone."""
    return "data:text/tab-separated-values;charset=utf-8;base64," + base64.b64encode(raw).decode(
        "ascii"
    )


def _columns(frame: pd.DataFrame, spec: TableSpec, part: str) -> list[Column]:
    if spec.method == "rft" and len(frame.columns):
        field_name = str(spec.extras.get("field") or spec.stat_type.upper())
        return rft_columns(frame, part, stat_type=spec.stat_type, field=field_name, unit=spec.unit)
    return [
        column(name, frame[name], stat_type=spec.stat_type, unit=spec.unit)
        for name in frame.columns
        if not hidden_column(name)
    ]


def _rows(
    shown: pd.DataFrame, frame: pd.DataFrame, columns: Sequence[Column], spec: TableSpec
) -> list[tuple[Cell, ...]]:
    # RFT set-level numbers come from the footer, on the first row only
    set_level = {"set_p": spec.extras.get("set_level_p"), "set_c": spec.extras.get("set_level_c")}
    rows = []
    for i, (_, record) in enumerate(shown.iterrows()):
        row: list[Cell] = []
        for col in columns:
            if col.key in set_level and col.key not in frame.columns:
                row.append(plain(set_level[col.key]) if i == 0 else None)
            elif col.kind == "badges":
                row.append(badges_of(record[col.key], spec.badges))
            elif col.kind == "effect_ci":
                row.append(effect_ci_cell(record, col.key))
            else:
                row.append(plain(record[col.key]))
        rows.append(tuple(row))
    return rows


def effect_ci_cell(record: pd.Series, key: str) -> Cell:
    """An estimate and its interval (``effect_ci_low``, ``effect_ci_high``) as one cell."""
    bounds = tuple(plain(record.get(f"{key}_ci_{end}")) for end in ("low", "high"))
    return (plain(record[key]), *bounds)


def _blocks(
    keys_column: pd.Series, rows: Sequence[tuple[Cell, ...]], spec: TableSpec, part: str
) -> list[RowBlock]:
    """Consecutive rows of one ARI threshold under one heading."""
    levels = ari_stat_levels(spec.extras)
    keys = [num(v) for v in keys_column]
    blocks, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            title = level_title(
                keys[start], spec.two_sided, spec.stat_label or spec.stat_type, levels, part
            )
            blocks.append(RowBlock(title=title, rows=tuple(rows[start:i])))
            start = i
    return blocks


def ari_stat_levels(extras: Mapping[str, Any]) -> list[tuple[float, float | None]]:
    """ARI's cluster-forming thresholds: (z, the same in the contrast's units or None)."""
    zs = extras.get("thresholds") or []
    stats = extras.get("thresholds_stat") or []
    out = []
    for i, z in enumerate(zs if isinstance(zs, list) else []):
        stat = stats[i] if isinstance(stats, list) and i < len(stats) else None
        if num(z) is not None:
            out.append((float(z), num(stat)))
    return out


def level_title(
    z: float | None,
    two_sided: bool,
    stat_label: str,
    levels: Sequence[tuple[float, float | None]],
    part: str,
) -> str:
    """Heading of one ARI block: ``Clusters at z > 3.09 (F(2, 13) > 12.31)``."""
    what = "Clusters" if part == "clusters" else "Peaks of the clusters"
    if z is None:
        return f"{what} (threshold not recorded)"
    side = "|z|" if two_sided else "z"
    title = f"{what} at {side} > {fmt_num(round(z, 4))}"
    stat = next((s for lz, s in levels if abs(lz - z) < 1e-6), None)
    if stat is not None:
        s_side = f"|{stat_label}|" if two_sided else stat_label
        title += f" ({s_side} > {fmt_stat(stat)})"
    return title


def inputs_table(inputs: Sequence[InputRecord]) -> Table | None:
    """The provenance's inputs: path (marked when outside the config's folder), SHA-256,
    then the other columns."""
    if not inputs:
        return None
    records = []
    for record in inputs:
        path = record.path
        if record.outside_config_folder:
            path = f"{path} (outside the config's folder)"
        records.append({"path": path, "sha256": record.sha256, **record.values})
    frame = pd.DataFrame(records)
    kinds = {"path": "path", "sha256": "hash"}
    columns = tuple(
        Column(key=str(c), header=str(c), kind=kinds.get(c) or column_kind(c, frame[c]))
        for c in frame.columns
    )
    rows = tuple(
        tuple(plain(v) for v in record) for record in frame.itertuples(index=False, name=None)
    )
    raw = frame.to_csv(sep="\t", index=False, na_rep="n/a").encode("utf-8")
    return Table(
        columns=columns, rows=rows, source="summary.json", n_total=len(frame), download=tsv_uri(raw)
    )
