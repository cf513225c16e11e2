"""Run-config v1: YAML in, frozen :class:`~glmreport.config.specs.RunConfig` out.

This is the only module that sees raw dicts. Every entry is checked once, here; an error
names the YAML path of the bad entry (``contrasts[2].t``), what was expected and what was
given, and suggests the nearest key for a misspelling. Relative paths are resolved against
the config file's folder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import AtlasError, ConfigError, DesignError, suggest
from .atlas_registry import registry_spec
from .corrections import parse_corrections
from .fields import (
    _at,
    _bool,
    _check_keys,
    _given,
    _int,
    _list,
    _mapping,
    _number,
    _short,
    _str,
    _str_list,
)
from .formula import parse_formula
from .specs import (
    AtlasSpec,
    ClusterOptions,
    ContrastSpec,
    DesignSpec,
    InputsSpec,
    MapSpec,
    ModelConfig,
    ReportOptions,
    RunConfig,
    RunSpec,
)
from .vocabulary import (
    ATLAS_SOURCES,
    DESIGN_KINDS,
    FORMATS,
    HRF_MODELS,
    LEVELS,
    MAP_STATS,
    NOISE_MODELS,
)

DESIGNS = DESIGN_KINDS

# Bounds on every size a config sets (each refused with a message naming the entry).
#: Largest config file read (bytes); checked before parsing.
MAX_CONFIG_BYTES = 1 << 20
#: Most YAML nodes once aliases are expanded (an "alias bomb" is refused before it is built).
MAX_YAML_NODES = 1_000_000
#: Deepest nesting of YAML lists and mappings.
MAX_YAML_DEPTH = 50
#: Largest smoothing kernel (FWHM, mm): far beyond any analysis (typical 4-12 mm); the cost of
#: smoothing grows with the kernel width.
MAX_SMOOTHING_FWHM_MM = 50.0
#: Most contrasts, first-level runs, maps and atlases in one config (corrections: see
#: :data:`.corrections.MAX_CORRECTIONS`).
MAX_CONTRASTS = 200
MAX_RUNS = 100
MAX_MAPS = 200
MAX_ATLASES = 16
#: Most FIR delays and the largest delay (scans); most sub-peaks per cluster; highest
#: polynomial drift order.
MAX_FIR_DELAYS = 64
MAX_FIR_DELAY = 100
MAX_SUBPEAKS = 100
MAX_DRIFT_ORDER = 20
#: Longest name (contrasts, runs, maps, atlases) and contrast expression, in characters.
MAX_NAME_CHARS = 100
MAX_EXPRESSION_CHARS = 10_000


# ---------------------------------------------------------------------------------------------
# readers of this module (the generic ones are in .fields)


def _name(value: Any, path: str) -> str:
    text = _str(value, path)
    if len(text) > MAX_NAME_CHARS:
        raise ConfigError(
            f"a name has at most {MAX_NAME_CHARS} characters, got {len(text):,} "
            f"('{_short(text, 40)}')",
            path=path,
        )
    return text


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
        size = path.stat().st_size
        if path.is_file() and size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"config file {path} has {size:,} bytes; at most {MAX_CONFIG_BYTES:,} are read "
                "(a run-config is a few kilobytes; put long input lists in an inputs table)"
            )
        with path.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {_short(str(exc), 200)}") from None
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
    raw = load_yaml(text)
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
    corrections = parse_corrections(raw.get("corrections"), two_sided, names, model.level)
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


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats and a nesting bound.

    Floats without a dot (``1e-3``, ``1E+2``), numbers in YAML 1.2, are numbers rather than
    text; documents nested deeper than :data:`MAX_YAML_DEPTH` are refused while composing.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise ConfigError(
                    f"the YAML is nested more than {MAX_YAML_DEPTH} levels deep; a run-config "
                    "needs a few"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse YAML safely within the config bounds.

    The text must be at most :data:`MAX_CONFIG_BYTES` long, and the document at most
    :data:`MAX_YAML_NODES` nodes once its aliases are expanded; both are checked before any
    value is built, so an alias bomb fails at once.

    Raises
    ------
    ConfigError
        Too long, not valid YAML (with line and column), too many nodes, or nested too deeply.
    """
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"the config has {len(text):,} characters; at most {MAX_CONFIG_BYTES:,} are read"
        )
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _count_nodes(node)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"the file is not valid YAML{where}: {_short(problem, 200)}") from None
    except ConfigError:
        raise
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        problem = "an integer of more than 4300 digits" if "digits" in str(exc) else str(exc)
        raise ConfigError(
            f"the YAML holds a value that cannot be read: {_short(problem, 200)}"
        ) from None
    finally:
        loader.dispose()


def _count_nodes(root: yaml.Node) -> int:
    """Number of nodes of the document with aliases expanded, refusing more than the bound."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes and not done:
            continue
        children = _children(node)
        if not done:
            if key in active:
                raise ConfigError("the YAML refers to itself through an alias (a cycle)")
            active.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        active.discard(key)
        sizes[key] = 1 + sum(sizes[id(child)] for child in children)
        if sizes[key] > MAX_YAML_NODES:
            raise ConfigError(
                f"the YAML expands to more than {MAX_YAML_NODES:,} values (anchors and "
                "aliases repeated within each other); a run-config needs far fewer"
            )
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


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
        common["smoothing_fwhm"] = _smoothing(raw["smoothing_fwhm"])

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
            for i, r in enumerate(_list(raw["runs"], "model.runs", most=MAX_RUNS))
        )
        if not runs:
            raise ConfigError("expected at least one run", path="model.runs")
        hrf = _str(raw.get("hrf", "glover"), "model.hrf", choices=HRF_MODELS)
        delays = tuple(
            _int(d, f"model.fir_delays[{i}]", low=0, high=MAX_FIR_DELAY)
            for i, d in enumerate(
                _list(raw.get("fir_delays", [0]), "model.fir_delays", most=MAX_FIR_DELAYS)
            )
        )
        drift_model, high_pass, order = _drift(raw.get("drift", {"model": "cosine"}))
        noise = _str(raw.get("noise_model", "ar1"), "model.noise_model", choices=NOISE_MODELS)
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
        _map(m, f"model.maps[{i}]", base)
        for i, m in enumerate(_list(raw["maps"], "model.maps", most=MAX_MAPS))
    )
    if not maps:
        raise ConfigError("expected at least one map", path="model.maps")
    _unique([m.name for m in maps], "model.maps")
    return ModelConfig(level=level, maps=maps, **common)


def _smoothing(value: Any) -> float:
    fwhm = _number(value, "model.smoothing_fwhm", low=0)
    if fwhm > MAX_SMOOTHING_FWHM_MM:
        raise ConfigError(
            f"expected a FWHM of at most {MAX_SMOOTHING_FWHM_MM:g} mm (typical: 4-12 mm; the "
            f"cost of smoothing grows with the kernel), got {fwhm:g}",
            path="model.smoothing_fwhm",
        )
    return fwhm


def _unique(names: list[str], path: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(
                f"duplicate name '{_short(name)}'; names must be unique", path=f"{path}[{i}]"
            )
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
                        f"expected a string or number, got {_given(v)}", path=_at(where, key)
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
                f"a design given as a word must be 'one-sample'; got '{_short(value)}'. Other "
                "designs take options, e.g. {two-sample: {group: <column>}}."
                + suggest(value[:100], DESIGNS),
                path=path,
            )
        return DesignSpec(kind="one-sample", **extra)
    raw = _mapping(value, path)
    if len(raw) != 1:
        raise ConfigError(
            f"expected exactly one design kind (one of {', '.join(DESIGNS)}), got "
            f"{_short(', '.join(raw)) or 'none'}",
            path=path,
        )
    kind, opts = next(iter(raw.items()))
    if kind not in DESIGNS:
        raise ConfigError(
            f"unknown design '{_short(kind)}'; expected one of {', '.join(DESIGNS)}."
            + suggest(kind[:100], DESIGNS),
            path=path,
        )
    where = f"{path}.{kind}"
    if kind == "one-sample":
        if opts not in (None, {}):
            raise ConfigError("one-sample takes no options", path=where)
        return DesignSpec(kind=kind, **extra)
    if kind == "formula":
        formula = _str(opts, where)
        try:
            parse_formula(formula)
        except DesignError as exc:
            raise ConfigError(str(exc), path=where) from None
        return DesignSpec(kind=kind, formula=formula, **extra)
    if kind == "matrix":
        # the file is read by the pipeline (inputs.tables.read_table) and attached to the spec there
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
        name=_name(raw["name"], f"{path}.name") if "name" in raw else f"run-{index + 1}",
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
    return (
        "polynomial",
        0.01,
        _int(raw.get("order", 1), f"{path}.order", low=0, high=MAX_DRIFT_ORDER),
    )


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
        name=_name(raw["name"], f"{path}.name"),
        path=_path(raw["path"], f"{path}.path", base),
        stat=stat,
        dof=None if dof is None else _number(dof, f"{path}.dof", low=0, low_open=True),
        df_num=_int(raw.get("df_num", 1), f"{path}.df_num", low=1),
    )


CONTRAST_KEYS = ("name", "t", "F", "weights")


def _contrasts(value: Any) -> tuple[ContrastSpec, ...]:
    items = _list(value, "contrasts", most=MAX_CONTRASTS)
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
        name = _name(raw["name"], f"{where}.name")
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
        if len(value) > MAX_EXPRESSION_CHARS:
            raise ConfigError(
                f"an expression has at most {MAX_EXPRESSION_CHARS:,} characters, got "
                f"{len(value):,}",
                path=path,
            )
        return
    if isinstance(value, Mapping):
        for key, w in value.items():
            _number(w, _at(path, str(key)))
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                _check_definition(item, f"{path}[{i}]")
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
        max_subpeaks=_int(
            raw.get("max_subpeaks", 3), "clusters.max_subpeaks", low=0, high=MAX_SUBPEAKS
        ),
    )


def _atlases(value: Any, base: Path) -> tuple[AtlasSpec, ...]:
    if value is None:
        return ()
    items = _list(value, "atlases", allow_scalar=True, most=MAX_ATLASES)
    out = [_atlas(item, f"atlases[{i}]", base) for i, item in enumerate(items)]
    _unique([a.name for a in out], "atlases")
    return tuple(out)


def _atlas(value: Any, where: str, base: Path) -> AtlasSpec:
    if isinstance(value, str):
        try:
            return registry_spec(value, where=where)
        except AtlasError as exc:
            raise ConfigError(
                _short(str(exc).removeprefix(f"{where}: "), 400), path=where
            ) from None
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
            _name(raw["name"], f"{where}.name")
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
        name = _name(raw["name"], f"{where}.name") if "name" in raw else file.name.split(".")[0]
        space = _str(raw["space"], f"{where}.space") if raw.get("space") is not None else None
        return AtlasSpec(
            name=name, source="file", file=file, labels=labels, kind=kind, space=space, where=where
        )
    _check_keys(raw, where, ("fsl", "name", "kind"))
    key = _str(raw["fsl"], f"{where}.fsl")
    name = _name(raw["name"], f"{where}.name") if "name" in raw else key
    return AtlasSpec(name=name, source="fsl", fsl=key, kind=kind, where=where)


def _report(value: Any) -> ReportOptions:
    if value is None:
        return ReportOptions()
    raw = _mapping(value, "report")
    _check_keys(raw, "report", ("formats",))
    formats = _list(raw.get("formats", ["html"]), "report.formats", allow_scalar=True)
    out = tuple(_str(f, f"report.formats[{i}]", choices=FORMATS) for i, f in enumerate(formats))
    return ReportOptions(formats=tuple(dict.fromkeys(out)))
