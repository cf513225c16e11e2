"""Run-config v1: YAML in, frozen :class:`RunConfig` out.

This is the only module that sees raw dicts. Every entry is checked once, here; an error
names the YAML path of the bad entry (``contrasts[2].t``), what was expected and what was
given, and suggests the nearest key for a misspelling. Relative paths are resolved against
the config file's folder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .correction_labels import assign_descs, check_label, check_repeats
from .errors import AtlasError, ConfigError, suggest
from .labels.atlases import AtlasSpec, registry_spec
from .stats.contrasts import ContrastSpec
from .stats.design import DESIGN_KINDS, DesignSpec
from .stats.hrf import HRF_MODELS
from .stats.inference import METHODS as INFERENCE_METHODS
from .stats.results import CorrectionSpec

LEVELS = ("second", "first", "maps")
DESIGNS = DESIGN_KINDS
METHODS = tuple(INFERENCE_METHODS)
FORMATS = ("html", "pdf")
MAP_STATS = ("t", "z", "F")


@dataclass(frozen=True, slots=True, kw_only=True)
class InputsSpec:
    """Where the second-level inputs come from.

    Attributes
    ----------
    kind : {'table', 'list', 'glob'}
    table : Path or None
        TSV/CSV file with a ``path`` column (``kind == 'table'``).
    rows : tuple of dict
        Inline rows, each with ``path`` (``kind == 'list'``).
    pattern : str or None
        Glob pattern relative to ``base_dir`` (``kind == 'glob'``).
    base_dir : Path
        Folder that relative paths are resolved against.
    """

    kind: str
    table: Path | None = None
    rows: tuple[dict[str, Any], ...] = ()
    pattern: str | None = None
    base_dir: Path = Path(".")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpec:
    """One first-level run."""

    name: str
    bold: Path
    events: Path | None = None
    confounds: Path | None = None
    confound_columns: tuple[str, ...] | None = None
    design: Path | None = None
    design_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MapSpec:
    """One existing statistical map for ``model.level: maps``."""

    name: str
    path: Path
    stat: str
    dof: float | None = None
    df_num: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelConfig:
    """The ``model`` section.

    Attributes
    ----------
    level : {'second', 'first', 'maps'}
    inputs : InputsSpec or None
        Second level only.
    design : DesignSpec or None
        Second level only.
    design_matrix : Path or None
        The TSV of an explicit ``{matrix: ...}`` design.
    smoothing_fwhm : float
        Isotropic Gaussian FWHM in mm (0 = none).
    mask : 'auto' or Path
    space : str or None
        Template space the data are in (used to check atlases), e.g. ``MNI152NLin2009cAsym``.
    t_r, slice_time_ref, runs, hrf, fir_delays, drift_model, high_pass, drift_order, noise_model
        First level only.
    maps : tuple of MapSpec
        ``level: maps`` only.
    """

    level: str
    inputs: InputsSpec | None = None
    design: DesignSpec | None = None
    design_matrix: Path | None = None
    smoothing_fwhm: float = 0.0
    mask: str | Path = "auto"
    space: str | None = "MNI152NLin2009cAsym"
    t_r: float | None = None
    slice_time_ref: float = 0.0
    runs: tuple[RunSpec, ...] = ()
    hrf: str = "glover"
    fir_delays: tuple[int, ...] = (0,)
    drift_model: str | None = "cosine"
    high_pass: float = 0.01
    drift_order: int = 1
    noise_model: str = "ar1"
    per_run_outputs: bool = False
    maps: tuple[MapSpec, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterOptions:
    """How clusters and peaks are tabulated."""

    connectivity: int = 26
    min_distance_mm: float = 8.0
    max_subpeaks: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportOptions:
    """Which report formats to write."""

    formats: tuple[str, ...] = ("html",)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """A validated run-config.

    Attributes
    ----------
    source : Path or None
        The YAML file it was read from.
    text : str
        The YAML verbatim (for provenance).
    """

    title: str
    output: Path | None
    model: ModelConfig
    contrasts: tuple[ContrastSpec, ...]
    corrections: tuple[CorrectionSpec, ...]
    two_sided: bool = False
    clusters: ClusterOptions = field(default_factory=ClusterOptions)
    atlases: tuple[AtlasSpec, ...] = ()
    report: ReportOptions = field(default_factory=ReportOptions)
    source: Path | None = None
    text: str = ""


# ---------------------------------------------------------------------------------------------
# small typed readers: each takes the raw value and its YAML path


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _given(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{_type_name(value)} ({text})"


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"expected a mapping of keys to values, got {_given(value)}", path=path)
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"keys must be strings, got {_given(key)}", path=path)
    return value


def _check_keys(
    value: Mapping[str, Any],
    path: str,
    allowed: tuple[str, ...] | list[str],
    required: tuple[str, ...] = (),
) -> None:
    for key in value:
        if key not in allowed:
            where = f"{path}.{key}" if path else key
            raise ConfigError(
                f"unknown key '{key}'; expected one of: {', '.join(allowed)}."
                + suggest(key, allowed),
                path=where,
            )
    for key in required:
        if key not in value:
            raise ConfigError(f"missing required key '{key}'", path=path or None)


def _str(value: Any, path: str, *, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"expected a non-empty string, got {_given(value)}", path=path)
    if choices is not None and value not in choices:
        raise ConfigError(
            f"expected one of {', '.join(choices)}, got '{value}'." + suggest(value, choices),
            path=path,
        )
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"expected true or false, got {_given(value)}", path=path)
    return value


def _number(
    value: Any,
    path: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"expected a number, got {_given(value)}", path=path)
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        raise ConfigError(f"expected a number {bound}, got {value:g}", path=path)
    if high is not None and (value > high or (high_open and value == high)):
        bound = f"< {high:g}" if high_open else f"<= {high:g}"
        raise ConfigError(f"expected a number {bound}, got {value:g}", path=path)
    return value


def _int(value: Any, path: str, *, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"expected an integer, got {_given(value)}", path=path)
    if low is not None and value < low:
        raise ConfigError(f"expected an integer >= {low}, got {value}", path=path)
    return int(value)


def _alpha(value: Any, path: str) -> float:
    return _number(value, path, low=0.0, high=1.0, low_open=True, high_open=True)


def _list(value: Any, path: str, *, allow_scalar: bool = False) -> list[Any]:
    if isinstance(value, list):
        return value
    if allow_scalar and value is not None and not isinstance(value, Mapping):
        return [value]
    raise ConfigError(f"expected a list, got {_given(value)}", path=path)


def _str_list(value: Any, path: str) -> tuple[str, ...]:
    items = _list(value, path, allow_scalar=True)
    return tuple(_str(v, f"{path}[{i}]") for i, v in enumerate(items))


def _path(value: Any, path: str, base: Path) -> Path:
    text = _str(value, path)
    p = Path(text).expanduser()
    return p if p.is_absolute() else (base / p)


# ---------------------------------------------------------------------------------------------
# sections

TOP_KEYS = (
    "title",
    "output",
    "model",
    "contrasts",
    "corrections",
    "two_sided",
    "clusters",
    "atlases",
    "report",
)


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run-config.

    Parameters
    ----------
    path : str or Path
        The YAML file. Relative paths inside it are resolved against its folder.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        For any malformed entry, naming its YAML path.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    return parse_config(text, base_dir=path.resolve().parent, source=path.resolve())


def parse_config(text: str, *, base_dir: Path, source: Path | None = None) -> RunConfig:
    """Validate a run-config given as YAML text.

    Parameters
    ----------
    text : str
        YAML document.
    base_dir : Path
        Folder that relative paths are resolved against.
    source : Path, optional
        The file the text came from (for provenance).
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"the file is not valid YAML{where}: {problem}") from None
    if raw is None:
        raise ConfigError("the config is empty; it needs at least 'model' and 'contrasts'")
    raw = _mapping(raw, "(top level)")
    _check_keys(raw, "", TOP_KEYS, required=("model",))

    title = _str(raw["title"], "title") if "title" in raw else "glmreport analysis"
    output = _path(raw["output"], "output", base_dir) if raw.get("output") is not None else None
    two_sided = _bool(raw["two_sided"], "two_sided") if "two_sided" in raw else False
    model = _model(raw["model"], base_dir)

    if model.level == "maps":
        if raw.get("contrasts"):
            raise ConfigError(
                "model.level 'maps' takes no contrasts: each entry of model.maps is already a "
                "statistical map",
                path="contrasts",
            )
        contrasts: tuple[ContrastSpec, ...] = ()
    else:
        if "contrasts" not in raw:
            raise ConfigError("missing required key 'contrasts' (a list of t or F contrasts)")
        contrasts = _contrasts(raw["contrasts"])

    names = [c.name for c in contrasts] + [m.name for m in model.maps]
    corrections = _corrections(raw.get("corrections"), two_sided, names, model.level)
    clusters = _clusters(raw.get("clusters"))
    atlases = _atlases(raw.get("atlases"), base_dir)
    report = _report(raw.get("report"))
    return RunConfig(
        title=title,
        output=output,
        model=model,
        contrasts=contrasts,
        corrections=corrections,
        two_sided=two_sided,
        clusters=clusters,
        atlases=atlases,
        report=report,
        source=source,
        text=text,
    )


SECOND_KEYS = (
    "level",
    "inputs",
    "design",
    "covariates",
    "center_covariates",
    "smoothing_fwhm",
    "mask",
    "space",
)
FIRST_KEYS = (
    "level",
    "t_r",
    "slice_time_ref",
    "runs",
    "hrf",
    "fir_delays",
    "drift",
    "noise_model",
    "smoothing_fwhm",
    "mask",
    "space",
    "per_run_outputs",
)
MAPS_KEYS = ("level", "maps", "mask", "space")


def _model(value: Any, base: Path) -> ModelConfig:
    raw = _mapping(value, "model")
    level = _str(raw.get("level", "second"), "model.level", choices=LEVELS)
    common: dict[str, Any] = {}
    if "mask" in raw:
        mask = raw["mask"]
        common["mask"] = "auto" if mask == "auto" else _path(mask, "model.mask", base)
    if "space" in raw:
        common["space"] = None if raw["space"] is None else _str(raw["space"], "model.space")
    if "smoothing_fwhm" in raw:
        common["smoothing_fwhm"] = _number(raw["smoothing_fwhm"], "model.smoothing_fwhm", low=0)

    if level == "second":
        _check_keys(raw, "model", SECOND_KEYS, required=("inputs",))
        covariates = _str_list(raw["covariates"], "model.covariates") if "covariates" in raw else ()
        center = (
            _bool(raw["center_covariates"], "model.center_covariates")
            if "center_covariates" in raw
            else True
        )
        design = _design(raw.get("design", "one-sample"), base, covariates, center)
        matrix = None
        if isinstance(design, tuple):
            design, matrix = design
        return ModelConfig(
            level=level,
            inputs=_inputs(raw["inputs"], base),
            design=design,
            design_matrix=matrix,
            **common,
        )
    if level == "first":
        _check_keys(raw, "model", FIRST_KEYS, required=("runs",))
        if "t_r" not in raw:
            raise ConfigError(
                "missing required key 't_r' (repetition time in seconds) for a first-level model",
                path="model",
            )
        t_r = _number(raw["t_r"], "model.t_r", low=0, low_open=True)
        runs = tuple(
            _run(r, f"model.runs[{i}]", base, i)
            for i, r in enumerate(_list(raw["runs"], "model.runs"))
        )
        if not runs:
            raise ConfigError("expected at least one run", path="model.runs")
        hrf = _str(raw.get("hrf", "glover"), "model.hrf", choices=HRF_MODELS)
        delays = tuple(
            _int(d, f"model.fir_delays[{i}]", low=0)
            for i, d in enumerate(_list(raw.get("fir_delays", [0]), "model.fir_delays"))
        )
        drift_model, high_pass, order = _drift(raw.get("drift", {"model": "cosine"}))
        noise = _str(raw.get("noise_model", "ar1"), "model.noise_model", choices=("ar1", "ols"))
        per_run = (
            _bool(raw["per_run_outputs"], "model.per_run_outputs")
            if "per_run_outputs" in raw
            else False
        )
        return ModelConfig(
            level=level,
            t_r=t_r,
            slice_time_ref=_number(
                raw.get("slice_time_ref", 0.0), "model.slice_time_ref", low=0, high=1
            ),
            runs=runs,
            hrf=hrf,
            fir_delays=delays,
            drift_model=drift_model,
            high_pass=high_pass,
            drift_order=order,
            noise_model=noise,
            per_run_outputs=per_run,
            **common,
        )
    _check_keys(raw, "model", MAPS_KEYS, required=("maps",))
    maps = tuple(
        _map(m, f"model.maps[{i}]", base) for i, m in enumerate(_list(raw["maps"], "model.maps"))
    )
    if not maps:
        raise ConfigError("expected at least one map", path="model.maps")
    _unique([m.name for m in maps], "model.maps")
    return ModelConfig(level=level, maps=maps, **common)


def _unique(names: list[str], path: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(f"duplicate name '{name}'; names must be unique", path=f"{path}[{i}]")
        seen.add(name)


def _inputs(value: Any, base: Path) -> InputsSpec:
    path = "model.inputs"
    if isinstance(value, str):
        return InputsSpec(kind="table", table=_path(value, path, base), base_dir=base)
    if isinstance(value, list):
        if not value:
            raise ConfigError("expected at least one input", path=path)
        rows = []
        for i, row in enumerate(value):
            where = f"{path}[{i}]"
            if isinstance(row, str):
                row = {"path": row}
            row = dict(_mapping(row, where))
            if "path" not in row:
                raise ConfigError("each input needs a 'path'", path=where)
            row["path"] = str(_path(row["path"], f"{where}.path", base))
            for key, v in row.items():
                if not isinstance(v, str | int | float | bool) or v is None:
                    raise ConfigError(
                        f"expected a string or number, got {_given(v)}", path=f"{where}.{key}"
                    )
            rows.append(row)
        return InputsSpec(kind="list", rows=tuple(rows), base_dir=base)
    raw = _mapping(value, path)
    _check_keys(raw, path, ("glob",), required=("glob",))
    return InputsSpec(kind="glob", pattern=_str(raw["glob"], f"{path}.glob"), base_dir=base)


def _design(
    value: Any, base: Path, covariates: tuple[str, ...], center: bool
) -> DesignSpec | tuple[DesignSpec, Path]:
    path = "model.design"
    extra = {"covariates": covariates, "center_covariates": center}
    if isinstance(value, str):
        if value != "one-sample":
            raise ConfigError(
                f"a design given as a word must be 'one-sample'; got '{value}'. Other designs "
                "take options, e.g. {two-sample: {group: <column>}}." + suggest(value, DESIGNS),
                path=path,
            )
        return DesignSpec(kind="one-sample", **extra)
    raw = _mapping(value, path)
    if len(raw) != 1:
        raise ConfigError(
            f"expected exactly one design kind (one of {', '.join(DESIGNS)}), got "
            f"{', '.join(raw) or 'none'}",
            path=path,
        )
    kind, opts = next(iter(raw.items()))
    if kind not in DESIGNS:
        raise ConfigError(
            f"unknown design '{kind}'; expected one of {', '.join(DESIGNS)}."
            + suggest(kind, DESIGNS),
            path=path,
        )
    where = f"{path}.{kind}"
    if kind == "one-sample":
        if opts not in (None, {}):
            raise ConfigError("one-sample takes no options", path=where)
        return DesignSpec(kind=kind, **extra)
    if kind == "formula":
        return DesignSpec(kind=kind, formula=_str(opts, where), **extra)
    if kind == "matrix":
        # the file is read by the pipeline (io.read_table) and attached to the spec there
        return DesignSpec(kind=kind, **extra), _path(opts, where, base)
    opts = _mapping(opts, where)
    if kind == "two-sample":
        _check_keys(opts, where, ("group", "levels"), required=("group",))
        levels = _levels(opts.get("levels"), f"{where}.levels")
        return DesignSpec(
            kind=kind, group=_str(opts["group"], f"{where}.group"), levels=levels, **extra
        )
    if kind == "paired":
        _check_keys(
            opts, where, ("condition", "subject", "levels"), required=("condition", "subject")
        )
        return DesignSpec(
            kind=kind,
            condition=_str(opts["condition"], f"{where}.condition"),
            subject=_str(opts["subject"], f"{where}.subject"),
            levels=_levels(opts.get("levels"), f"{where}.levels"),
            **extra,
        )
    _check_keys(opts, where, ("factors", "subject"), required=("factors",))
    factors = _str_list(opts["factors"], f"{where}.factors")
    if not factors:
        raise ConfigError("expected at least one factor", path=f"{where}.factors")
    subject = _str(opts["subject"], f"{where}.subject") if "subject" in opts else None
    return DesignSpec(kind=kind, factors=factors, subject=subject, **extra)


def _levels(value: Any, path: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = _list(value, path)
    if len(items) != 2:
        raise ConfigError(f"expected exactly two levels, got {len(items)}", path=path)
    return tuple(str(v) for v in items)


RUN_KEYS = ("bold", "events", "confounds", "confound_columns", "design", "design_key", "name")


def _run(value: Any, path: str, base: Path, index: int) -> RunSpec:
    raw = _mapping(value, path)
    _check_keys(raw, path, RUN_KEYS, required=("bold",))
    if "events" in raw and "design" in raw:
        raise ConfigError("give either 'events' or a precomputed 'design', not both", path=path)
    cols = raw.get("confound_columns")
    return RunSpec(
        name=_str(raw["name"], f"{path}.name") if "name" in raw else f"run-{index + 1}",
        bold=_path(raw["bold"], f"{path}.bold", base),
        events=_path(raw["events"], f"{path}.events", base) if "events" in raw else None,
        confounds=_path(raw["confounds"], f"{path}.confounds", base)
        if "confounds" in raw
        else None,
        confound_columns=None if cols is None else _str_list(cols, f"{path}.confound_columns"),
        design=_path(raw["design"], f"{path}.design", base) if "design" in raw else None,
        design_key=_str(raw["design_key"], f"{path}.design_key") if "design_key" in raw else None,
    )


def _drift(value: Any) -> tuple[str | None, float, int]:
    path = "model.drift"
    if value is None or value == "none":
        return None, 0.01, 1
    raw = _mapping(value, path)
    model = _str(
        raw.get("model", "cosine"), f"{path}.model", choices=("cosine", "polynomial", "none")
    )
    if model == "none":
        _check_keys(raw, path, ("model",))
        return None, 0.01, 1
    if model == "cosine":
        _check_keys(raw, path, ("model", "high_pass"))
        hp = _number(raw.get("high_pass", 0.01), f"{path}.high_pass", low=0, low_open=True)
        return "cosine", hp, 1
    _check_keys(raw, path, ("model", "order"))
    return "polynomial", 0.01, _int(raw.get("order", 1), f"{path}.order", low=0)


def _map(value: Any, path: str, base: Path) -> MapSpec:
    raw = _mapping(value, path)
    _check_keys(
        raw, path, ("name", "path", "stat", "dof", "df_num"), required=("name", "path", "stat")
    )
    stat = _str(raw["stat"], f"{path}.stat", choices=MAP_STATS)
    dof = raw.get("dof")
    if stat in ("t", "F") and dof is None:
        raise ConfigError(f"a {stat} map needs 'dof' (error degrees of freedom)", path=path)
    return MapSpec(
        name=_str(raw["name"], f"{path}.name"),
        path=_path(raw["path"], f"{path}.path", base),
        stat=stat,
        dof=None if dof is None else _number(dof, f"{path}.dof", low=0, low_open=True),
        df_num=_int(raw.get("df_num", 1), f"{path}.df_num", low=1),
    )


CONTRAST_KEYS = ("name", "t", "F", "weights")


def _contrasts(value: Any) -> tuple[ContrastSpec, ...]:
    items = _list(value, "contrasts")
    if not items:
        raise ConfigError("expected at least one contrast", path="contrasts")
    out = []
    for i, item in enumerate(items):
        where = f"contrasts[{i}]"
        raw = _mapping(item, where)
        _check_keys(raw, where, CONTRAST_KEYS, required=("name",))
        kinds = [k for k in ("t", "F", "weights") if k in raw]
        if len(kinds) != 1:
            raise ConfigError(
                "give exactly one of 't' (an expression), 'F' (a list of expressions or a "
                f"matrix) or 'weights'; got {', '.join(kinds) or 'none'}",
                path=where,
            )
        kind = kinds[0]
        name = _str(raw["name"], f"{where}.name")
        definition = raw[kind]
        at = f"{where}.{kind}"
        if kind == "t":
            if not isinstance(definition, str | Mapping | list) or isinstance(definition, bool):
                raise ConfigError(
                    "expected an expression over design columns (e.g. 'a - b'), a mapping "
                    f"{{column: weight}} or a vector, got {_given(definition)}",
                    path=at,
                )
            stat_type = "t"
        elif kind == "F":
            if not isinstance(definition, list | Mapping) or not definition:
                raise ConfigError(
                    "expected a list of expressions (one per row) or a matrix, got "
                    f"{_given(definition)}",
                    path=at,
                )
            stat_type = "F"
        else:
            is_matrix = (
                isinstance(definition, list)
                and definition
                and all(isinstance(r, list) for r in definition)
            )
            stat_type = "F" if is_matrix and len(definition) > 1 else "t"
            if isinstance(definition, list) and is_matrix and len(definition) == 1:
                definition = definition[0]
        _check_definition(definition, at)
        out.append(
            ContrastSpec(
                name=name,
                stat_type=stat_type,
                definition=_plain(definition),
                where=at,
            )
        )
    _unique([c.name for c in out], "contrasts")
    return tuple(out)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_definition(value: Any, path: str) -> None:
    if isinstance(value, str):
        return
    if isinstance(value, Mapping):
        for key, w in value.items():
            _number(w, f"{path}.{key}")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                continue
            if isinstance(item, list):
                for j, w in enumerate(item):
                    _number(w, f"{path}[{i}][{j}]")
            elif isinstance(item, Mapping):
                _check_definition(item, f"{path}[{i}]")
            else:
                _number(item, f"{path}[{i}]")
        return
    raise ConfigError(f"expected an expression, mapping or list, got {_given(value)}", path=path)


COMMON_CORRECTION_KEYS = ("method", "alpha", "two_sided", "contrasts", "desc")
METHOD_KEYS: dict[str, tuple[str, ...]] = {
    "uncorrected": ("cluster_extent",),
    "fdr": ("cluster_extent",),
    "bonferroni": ("cluster_extent",),
    "permutation": (
        "n_perm",
        "seed",
        "cluster_forming_p",
        "tfce",
        "blocks",
        "tfce_E",
        "tfce_H",
        "tfce_dh",
    ),
    "ari": ("thresholds",),
    "rft": ("cluster_forming_p", "fwhm_mm"),
}
DEFAULT_ALPHA = {"uncorrected": 0.001}


def _corrections(
    value: Any, two_sided: bool, contrast_names: list[str], level: str
) -> tuple[CorrectionSpec, ...]:
    if value is None:
        return (CorrectionSpec(method="uncorrected", alpha=0.001, two_sided=two_sided),)
    items = _list(value, "corrections")
    out = []
    explicit = []
    for i, item in enumerate(items):
        where = f"corrections[{i}]"
        raw = _mapping(item, where)
        if "method" not in raw:
            raise ConfigError(f"missing 'method' (one of {', '.join(METHODS)})", path=where)
        method = _str(raw["method"], f"{where}.method", choices=METHODS)
        _check_keys(raw, where, COMMON_CORRECTION_KEYS + METHOD_KEYS[method])
        if level == "maps" and method == "permutation":
            raise ConfigError(
                "permutation inference needs the input images; model.level 'maps' supports "
                "uncorrected, fdr, bonferroni, ari and rft (with fwhm_mm)",
                path=f"{where}.method",
            )
        if level == "first" and method in ("permutation", "rft"):
            raise ConfigError(
                f"'{method}' is a group-level (second-level) inference; a first-level model "
                "supports uncorrected, fdr, bonferroni and ari",
                path=f"{where}.method",
            )
        alpha = (
            _alpha(raw["alpha"], f"{where}.alpha")
            if "alpha" in raw
            else DEFAULT_ALPHA.get(method, 0.05)
        )
        sided = _bool(raw["two_sided"], f"{where}.two_sided") if "two_sided" in raw else two_sided
        names = None
        if "contrasts" in raw:
            names = _str_list(raw["contrasts"], f"{where}.contrasts")
            for j, name in enumerate(names):
                if name not in contrast_names:
                    raise ConfigError(
                        f"unknown contrast '{name}'; contrasts are: {', '.join(contrast_names)}."
                        + suggest(name, contrast_names),
                        path=f"{where}.contrasts[{j}]",
                    )
        extent = 0
        if "cluster_extent" in raw:
            extent = _int(raw["cluster_extent"], f"{where}.cluster_extent", low=0)
        params = _method_params(method, raw, where)
        desc = check_label(raw["desc"], f"{where}.desc") if "desc" in raw else ""
        explicit.append(bool(desc))
        out.append(
            CorrectionSpec(
                method=method,
                alpha=alpha,
                two_sided=sided,
                cluster_extent=extent,
                contrasts=names,
                params=params,
                desc=desc,
            )
        )
    check_repeats(out, contrast_names)
    return assign_descs(out, explicit)


def _method_params(method: str, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    if method == "permutation":
        cfp = raw.get("cluster_forming_p")
        return {
            "n_perm": _int(raw.get("n_perm", 10000), f"{where}.n_perm", low=1),
            "seed": _int(raw.get("seed", 0), f"{where}.seed", low=0),
            "cluster_forming_p": None if cfp is None else _alpha(cfp, f"{where}.cluster_forming_p"),
            "tfce": _bool(raw.get("tfce", False), f"{where}.tfce"),
            "blocks": None if raw.get("blocks") is None else _str(raw["blocks"], f"{where}.blocks"),
            "tfce_E": _number(raw.get("tfce_E", 0.5), f"{where}.tfce_E", low=0, low_open=True),
            "tfce_H": _number(raw.get("tfce_H", 2.0), f"{where}.tfce_H", low=0, low_open=True),
            "tfce_dh": "auto"
            if raw.get("tfce_dh", "auto") == "auto"
            else _number(raw["tfce_dh"], f"{where}.tfce_dh", low=0, low_open=True),
        }
    if method == "ari":
        values = _list(
            raw.get("thresholds", [2.5, 3.5, 4.5]), f"{where}.thresholds", allow_scalar=True
        )
        if not values:
            raise ConfigError("expected at least one threshold (z)", path=f"{where}.thresholds")
        thresholds = [
            _number(v, f"{where}.thresholds[{j}]", low=0, low_open=True)
            for j, v in enumerate(values)
        ]
        return {"thresholds": sorted(thresholds)}
    if method == "rft":
        fwhm = raw.get("fwhm_mm")
        if fwhm is not None:
            items = _list(fwhm, f"{where}.fwhm_mm", allow_scalar=True)
            if len(items) not in (1, 3):
                raise ConfigError(
                    "expected one FWHM or three (x, y, z) in mm", path=f"{where}.fwhm_mm"
                )
            fwhm = [_number(v, f"{where}.fwhm_mm", low=0, low_open=True) for v in items] * (
                3 if len(items) == 1 else 1
            )
        return {
            "cluster_forming_p": _alpha(
                raw.get("cluster_forming_p", 0.001), f"{where}.cluster_forming_p"
            ),
            "fwhm_mm": fwhm,
        }
    return {}


def _clusters(value: Any) -> ClusterOptions:
    if value is None:
        return ClusterOptions()
    raw = _mapping(value, "clusters")
    _check_keys(raw, "clusters", ("connectivity", "min_distance_mm", "max_subpeaks"))
    conn = _int(raw.get("connectivity", 26), "clusters.connectivity")
    if conn not in (6, 18, 26):
        raise ConfigError(f"expected 6, 18 or 26, got {conn}", path="clusters.connectivity")
    return ClusterOptions(
        connectivity=conn,
        min_distance_mm=_number(raw.get("min_distance_mm", 8.0), "clusters.min_distance_mm", low=0),
        max_subpeaks=_int(raw.get("max_subpeaks", 3), "clusters.max_subpeaks", low=0),
    )


def _atlases(value: Any, base: Path) -> tuple[AtlasSpec, ...]:
    if value is None:
        return ()
    items = _list(value, "atlases", allow_scalar=True)
    out = [_atlas(item, f"atlases[{i}]", base) for i, item in enumerate(items)]
    _unique([a.name for a in out], "atlases")
    return tuple(out)


ATLAS_SOURCES = ("templateflow", "file", "fsl")


def _atlas(value: Any, where: str, base: Path) -> AtlasSpec:
    if isinstance(value, str):
        try:
            return registry_spec(value, where=where)
        except AtlasError as exc:
            raise ConfigError(str(exc).removeprefix(f"{where}: "), path=where) from None
    raw = _mapping(value, where)
    sources = [k for k in ATLAS_SOURCES if k in raw]
    if len(sources) != 1:
        raise ConfigError(
            "an atlas entry is a registry name (e.g. harvard-oxford-cortical) or a mapping with "
            f"exactly one of {', '.join(ATLAS_SOURCES)}",
            path=where,
        )
    source = sources[0]
    kind = _str(
        raw.get("kind", "auto"), f"{where}.kind", choices=("auto", "deterministic", "probabilistic")
    )
    if source == "templateflow":
        _check_keys(raw, where, ("templateflow", "name", "kind"))
        tf = _mapping(raw["templateflow"], f"{where}.templateflow")
        _check_keys(
            tf,
            f"{where}.templateflow",
            ("template", "atlas", "desc", "resolution"),
            required=("template", "atlas"),
        )
        query = {
            "template": _str(tf["template"], f"{where}.templateflow.template"),
            "atlas": _str(tf["atlas"], f"{where}.templateflow.atlas"),
            "desc": None
            if tf.get("desc") is None
            else _str(str(tf["desc"]), f"{where}.templateflow.desc"),
            "resolution": None
            if tf.get("resolution") is None
            else _int(tf["resolution"], f"{where}.templateflow.resolution", low=1),
        }
        name = (
            _str(raw["name"], f"{where}.name")
            if "name" in raw
            else f"{query['atlas']}" + (f"-{query['desc']}" if query["desc"] else "")
        )
        return AtlasSpec(
            name=name, source="templateflow", templateflow=query, kind=kind, where=where
        )
    if source == "file":
        _check_keys(raw, where, ("file", "labels", "name", "kind", "space"))
        file = _path(raw["file"], f"{where}.file", base)
        labels = _path(raw["labels"], f"{where}.labels", base) if "labels" in raw else None
        name = _str(raw["name"], f"{where}.name") if "name" in raw else file.name.split(".")[0]
        space = _str(raw["space"], f"{where}.space") if raw.get("space") is not None else None
        return AtlasSpec(
            name=name, source="file", file=file, labels=labels, kind=kind, space=space, where=where
        )
    _check_keys(raw, where, ("fsl", "name", "kind"))
    key = _str(raw["fsl"], f"{where}.fsl")
    name = _str(raw["name"], f"{where}.name") if "name" in raw else key
    return AtlasSpec(name=name, source="fsl", fsl=key, kind=kind, where=where)


def _report(value: Any) -> ReportOptions:
    if value is None:
        return ReportOptions()
    raw = _mapping(value, "report")
    _check_keys(raw, "report", ("formats",))
    formats = _list(raw.get("formats", ["html"]), "report.formats", allow_scalar=True)
    out = tuple(_str(f, f"report.formats[{i}]", choices=FORMATS) for i, f in enumerate(formats))
    return ReportOptions(formats=tuple(dict.fromkeys(out)))
