"""Formatting of values for display, and the Jinja2 environment that applies it.

The ``fmt_*`` functions are registered as Jinja filters of the one cached environment
(autoescape on, strict undefined). ``labels()`` reads ``templates/labels.yaml``: the short names
of the corrections, the headers and formats of table columns and the labels of method details.
Nothing here computes a statistic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

from ..figures.style import fmt_mm
from ..resources import templates_dir

DASH = "\u2014"
MINUS = "\u2212"
TIMES = " \u00d7 "


def is_missing(value: Any) -> bool:
    """Whether a value shows as a dash: None, NaN, infinite, empty or ``n/a``."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return not math.isfinite(float(value))
    if isinstance(value, str):
        return value.strip().lower() in ("", "n/a", "nan")
    return False


def fmt_p(value: Any) -> str:
    """p-values: 3 decimals, scientific below 0.001, ``—`` when missing."""
    if is_missing(value):
        return DASH
    p = float(value)
    if p <= 0:
        return "0"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.3f}"


def fmt_stat(value: Any, digits: int = 2) -> str:
    """Statistic values (z, t, F) with ``digits`` decimals."""
    if is_missing(value):
        return DASH
    v = round(float(value), digits) + 0.0  # no negative zero
    return f"{v:.{digits}f}".replace("-", "\u2212")


def fmt_int(value: Any) -> str:
    """Integers with thin thousands separators."""
    if is_missing(value):
        return DASH
    return f"{int(round(float(value))):,}".replace(",", "\u2009")


def fmt_coord(value: Any) -> str:
    """World coordinates in mm: whole mm when whole, else one decimal (the one rule of the
    figures and the viewer too, :func:`glmreport.figures.style.fmt_mm`)."""
    if is_missing(value):
        return DASH
    return fmt_mm(float(value))


def fmt_num(value: Any) -> str:
    """Any number: 4 significant digits (whole numbers in full); other values as text."""
    if is_missing(value):
        return DASH
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return fmt_int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if v == int(v) and abs(v) < 1e9:
            return fmt_int(v)
        if 1e4 <= abs(v) < 1e9:
            return fmt_int(v)
        return f"{v:.4g}".replace("-", "\u2212")
    return str(value)


def fmt_percent(value: Any) -> str:
    """Proportions (0-1) as percentages: ``0.7%``, ``25%``, ``100%``."""
    if is_missing(value):
        return DASH
    v = 100.0 * float(value)
    if v == 0 or v >= 10 or abs(v - round(v)) < 0.05:
        return f"{v:.0f}%"
    return f"{v:.1f}%"


def fmt_value(value: Any) -> str:
    """Parameter values: numbers, lists, mappings, booleans, text."""
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {fmt_value(v)}" for k, v in value.items()) or DASH
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v) for v in value) or DASH
    if isinstance(value, str):
        return value if value.strip() else DASH
    return fmt_num(value)


def fmt_dims(value: Any, digits: int = 1) -> str:
    """Sizes along x, y, z: ``8.8 × 8.8 × 8.9``."""
    if isinstance(value, list | tuple):
        if not value:
            return DASH
        return TIMES.join(
            DASH if is_missing(v) else f"{float(v):.{digits}f}".replace("-", MINUS) for v in value
        )
    return fmt_num(value)


def fmt_detail(value: Any, kind: str) -> str:
    """A method detail according to its kind (see ``templates/labels.yaml``)."""
    if kind == "int":
        return fmt_value(value) if isinstance(value, list | tuple) else fmt_int(value)
    if kind == "p":
        return fmt_p(value)
    if kind == "stat":
        return fmt_stat(value)
    if kind == "percent":
        return fmt_percent(value)
    if kind == "yesno":
        return DASH if value is None else ("yes" if value else "no")
    if kind == "dims":
        return fmt_dims(value)
    if kind == "list":
        return fmt_value(list(value) if isinstance(value, list | tuple) else [value])
    if kind == "text":
        return fmt_value(value)
    return fmt_value(value)


def fmt_effect_ci(value: Any) -> str:
    """An estimate and its interval: ``0.523 [0.311, 0.735]``, the same decimals for the
    three (three significant digits of the largest in size)."""
    values = tuple(value) if isinstance(value, list | tuple) else (value,)
    if not values or is_missing(values[0]):
        return DASH
    finite = [abs(float(v)) for v in values if not is_missing(v)]
    top = max(finite)
    decimals = 3 if top == 0 else min(max(0, 2 - math.floor(math.log10(top))), 6)

    def one(v: Any) -> str:
        return DASH if is_missing(v) else f"{round(float(v), decimals) + 0.0:.{decimals}f}"

    text = one(values[0])
    if len(values) == 3:
        text += f" [{one(values[1])}, {one(values[2])}]"
    return text.replace("-", MINUS)


def fmt_cell(value: Any, kind: str) -> str:
    """Format one table cell according to its column's ``kind``."""
    if kind == "effect_ci":
        return fmt_effect_ci(value)
    if kind == "p":
        return fmt_p(value)
    if kind == "stat":
        return fmt_stat(value)
    if kind == "prop":
        return fmt_stat(value, 2)
    if kind == "percent":
        return fmt_percent(value)
    if kind == "int":
        return fmt_int(value)
    if kind == "coord":
        return fmt_coord(value)
    if kind == "num":
        return fmt_num(value)
    if kind == "ref":
        return DASH if is_missing(value) or str(value) in ("0", "0.0") else fmt_value(value)
    if is_missing(value):
        return DASH
    return str(value)


def fmt_seconds(value: Any) -> str:
    """Durations: ``12.3 s`` or ``4 min 05 s``."""
    if is_missing(value):
        return DASH
    s = float(value)
    if s < 60:
        return f"{s:.1f} s"
    minutes, seconds = divmod(int(round(s)), 60)
    return f"{minutes} min {seconds:02d} s"


FILTERS = {
    "fmt_p": fmt_p,
    "fmt_stat": fmt_stat,
    "fmt_int": fmt_int,
    "fmt_coord": fmt_coord,
    "fmt_num": fmt_num,
    "fmt_percent": fmt_percent,
    "fmt_value": fmt_value,
    "fmt_dims": fmt_dims,
    "fmt_detail": fmt_detail,
    "fmt_cell": fmt_cell,
    "fmt_effect_ci": fmt_effect_ci,
    "fmt_seconds": fmt_seconds,
}


@cache
def environment():
    """The one Jinja2 environment (autoescape on, strict undefined, named filters)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


@cache
def labels() -> dict[str, Any]:
    """Names and formats of correction short names, columns and details (labels.yaml)."""
    import yaml

    path = templates_dir() / "labels.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def short_name(method: str, route: str) -> str:
    """Short name of a result by its route (``permMaxT``, ``fdr`` ...), else its method."""
    names = labels()["short_names"]
    return names["by_desc"].get(route) or names["by_method"].get(method) or route or method


def no_scheme(text: Any) -> str:
    """Text with web addresses written without their scheme: the report links to nothing."""
    return re.sub(r"\bhttps?://", "", str(text or ""))
