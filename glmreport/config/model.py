"""The ``model`` section: level, inputs, design, runs, drift and maps.

``model.level`` decides which keys are allowed: ``second`` (inputs, design, covariates),
``first`` (t_r, runs, hrf, drift, noise model) or ``maps`` (existing statistical maps); the
mask, space and smoothing are common. Every size a user sets is bounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError, DesignError, suggest
from .fields import (
    _at,
    _bool,
    _check_keys,
    _int,
    _list,
    _mapping,
    _name,
    _number,
    _path,
    _str,
    _str_list,
    _unique,
    given,
    short,
)
from .formula import parse_formula
from .specs import DesignSpec, InputsSpec, MapSpec, ModelConfig, RunSpec
from .study import Readers, parse_study
from .vocabulary import DESIGN_KINDS, HRF_MODELS, LEVELS, MAP_STATS, NOISE_MODELS

DESIGNS = DESIGN_KINDS

#: Largest smoothing kernel (FWHM, mm): far beyond any analysis (typical 4-12 mm); the cost of
#: smoothing grows with the kernel width.
MAX_SMOOTHING_FWHM_MM = 50.0
#: Most first-level runs and maps in one config.
MAX_RUNS = 100
MAX_MAPS = 200
#: Most FIR delays and the largest delay (scans); highest polynomial drift order.
MAX_FIR_DELAYS = 64
MAX_FIR_DELAY = 100
MAX_DRIFT_ORDER = 20

SECOND_KEYS = (
    "level",
    "inputs",
    "design",
    "covariates",
    "center_covariates",
    "smoothing_fwhm",
    "mask",
    "space",
    "nonsphericity",
    "participants",
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
    """The ``model`` section, read according to its ``level``."""
    raw = _mapping(value, "model")
    level = _str(raw.get("level", "second"), "model.level", choices=LEVELS)
    if level == "study":
        study = parse_study(raw, base, Readers(_design, _drift, _smoothing))
        return ModelConfig(level="study", study=study, space=study.space)
    common: dict[str, Any] = {}
    if "mask" in raw:
        mask = raw["mask"]
        common["mask"] = "auto" if mask == "auto" else _path(mask, "model.mask", base)
    if "space" in raw:
        common["space"] = None if raw["space"] is None else _str(raw["space"], "model.space")
    if "smoothing_fwhm" in raw:
        common["smoothing_fwhm"] = _smoothing(raw["smoothing_fwhm"])
    if level == "second":
        return _second_level(raw, base, common)
    if level == "first":
        return _first_level(raw, base, common)
    return _maps_level(raw, base, common)


def _second_level(raw: Any, base: Path, common: dict[str, Any]) -> ModelConfig:
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
    nonsphericity = False
    if "nonsphericity" in raw:
        nonsphericity = _bool(raw["nonsphericity"], "model.nonsphericity")
        if nonsphericity:
            _check_nonsphericity(design)
    return ModelConfig(
        level="second",
        inputs=_inputs(raw["inputs"], base),
        design=design,
        design_matrix=matrix,
        nonsphericity=nonsphericity,
        participants=(
            _path(raw["participants"], "model.participants", base)
            if "participants" in raw
            else None
        ),
        **common,
    )


def _check_nonsphericity(design: DesignSpec) -> None:
    """``nonsphericity: true`` needs a within-subject ANOVA (factors and a subject column)."""
    if design.kind == "anova" and design.subject is not None:
        return
    if design.kind == "paired":
        why = (
            "a paired design tests one within-subject difference, whose errors are always "
            "spherical (epsilon = 1): the correction would change nothing"
        )
    elif design.kind == "anova":
        why = "this anova has no 'subject' column, so it has no within-subject errors to model"
    else:
        why = f"a {design.kind} design has no within-subject factor"
    raise ConfigError(
        f"non-sphericity correction needs a within-subject ANOVA ({{anova: {{factors: [...], "
        f"subject: <column>}}}}) with at least 3 cells; {why}",
        path="model.nonsphericity",
    )


def _first_level(raw: Any, base: Path, common: dict[str, Any]) -> ModelConfig:
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
        level="first",
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


def _maps_level(raw: Any, base: Path, common: dict[str, Any]) -> ModelConfig:
    _check_keys(raw, "model", MAPS_KEYS, required=("maps",))
    maps = tuple(
        _map(m, f"model.maps[{i}]", base)
        for i, m in enumerate(_list(raw["maps"], "model.maps", most=MAX_MAPS))
    )
    if not maps:
        raise ConfigError("expected at least one map", path="model.maps")
    _unique([m.name for m in maps], "model.maps")
    return ModelConfig(level="maps", maps=maps, **common)


def _smoothing(value: Any) -> float:
    """``model.smoothing_fwhm`` in mm, 0 to :data:`MAX_SMOOTHING_FWHM_MM`."""
    fwhm = _number(value, "model.smoothing_fwhm", low=0)
    if fwhm > MAX_SMOOTHING_FWHM_MM:
        raise ConfigError(
            f"expected a FWHM of at most {MAX_SMOOTHING_FWHM_MM:g} mm (typical: 4-12 mm; the "
            f"cost of smoothing grows with the kernel), got {fwhm:g}",
            path="model.smoothing_fwhm",
        )
    return fwhm


def _inputs(value: Any, base: Path) -> InputsSpec:
    """``model.inputs``: a table path, a list of paths or rows, or ``{glob: pattern}``."""
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
                        f"expected a string or number, got {given(v)}", path=_at(where, key)
                    )
            rows.append(row)
        return InputsSpec(kind="list", rows=tuple(rows), base_dir=base)
    raw = _mapping(value, path)
    _check_keys(raw, path, ("glob",), required=("glob",))
    return InputsSpec(kind="glob", pattern=_str(raw["glob"], f"{path}.glob"), base_dir=base)


def _design(
    value: Any, base: Path, covariates: tuple[str, ...], center: bool
) -> DesignSpec | tuple[DesignSpec, Path]:
    """``model.design``: the word ``one-sample`` or ``{kind: options}``.

    A ``matrix`` design comes back with the path of its table (read by the pipeline).
    """
    path = "model.design"
    extra = {"covariates": covariates, "center_covariates": center}
    if isinstance(value, str):
        if value != "one-sample":
            raise ConfigError(
                f"a design given as a word must be 'one-sample'; got '{short(value)}'. Other "
                "designs take options, e.g. {two-sample: {group: <column>}}."
                + suggest(value[:100], DESIGNS),
                path=path,
            )
        return DesignSpec(kind="one-sample", **extra)
    raw = _mapping(value, path)
    if len(raw) != 1:
        raise ConfigError(
            f"expected exactly one design kind (one of {', '.join(DESIGNS)}), got "
            f"{short(', '.join(raw)) or 'none'}",
            path=path,
        )
    kind, opts = next(iter(raw.items()))
    if kind not in DESIGNS:
        raise ConfigError(
            f"unknown design '{short(kind)}'; expected one of {', '.join(DESIGNS)}."
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
    return _design_options(kind, _mapping(opts, where), where, extra)


def _design_options(kind: str, opts: Any, where: str, extra: dict[str, Any]) -> DesignSpec:
    """The options of a two-sample, paired or ANOVA design."""
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
    """The two levels of a group or condition column, in coding order."""
    if value is None:
        return None
    items = _list(value, path)
    if len(items) != 2:
        raise ConfigError(f"expected exactly two levels, got {len(items)}", path=path)
    return tuple(str(v) for v in items)


RUN_KEYS = ("bold", "events", "confounds", "confound_columns", "design", "design_key", "name")


def _run(value: Any, path: str, base: Path, index: int) -> RunSpec:
    """One entry of ``model.runs``: a BOLD file with events (and confounds) or a design."""
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
    """``model.drift``: (model, high-pass cutoff in Hz, polynomial order)."""
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
    """One entry of ``model.maps``: an existing z, t or F map (t and F need ``dof``)."""
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
