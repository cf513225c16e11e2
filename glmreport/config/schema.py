"""The JSON Schema (draft 2020-12) of the run-config, for editors and other tools.

:func:`config_schema` builds it from what the config reader itself uses: the names of
:mod:`.vocabulary` (levels, design kinds, HRF and noise models, methods, map statistics, atlas
sources, formats) as enums, the registry's atlas names, the bounds of the section readers
(most contrasts, longest name ...), the defaults of the frozen specs (:mod:`.specs`), and the
allowed keys of each section. The forms the YAML allows beyond the dataclasses (``design:
one-sample`` or ``design: {two-sample: {...}}``, a contrast as ``t``, ``F`` or ``weights``, an
atlas as a registry name or a mapping) are ``oneOf`` alternatives. Every key carries a
``description`` taken from the README.

The schema describes the shape of a config; the reader checks more (a contrast's columns, a
correction's method against the model level, files that must exist), so a config that
validates can still be refused by ``glmreport validate`` with a message naming the entry.
``glmreport schema config`` prints it.
"""

from __future__ import annotations

from .atlases import MAX_ATLASES
from .contrasts import MAX_CONTRASTS
from .corrections import MAX_CORRECTIONS
from .load import TOP_KEYS
from .model import (
    FIRST_KEYS,
    MAPS_KEYS,
    MAX_DRIFT_ORDER,
    MAX_FIR_DELAY,
    MAX_FIR_DELAYS,
    MAX_MAPS,
    MAX_RUNS,
    MAX_SMOOTHING_FWHM_MM,
    SECOND_KEYS,
)
from .schema_entries import (
    atlas_schema,
    clusters_schema,
    contrast_schema,
    correction_schema,
    map_schema,
    report_schema,
    run_schema,
)
from .schema_study import compute_schema, study_schema
from .schema_types import JSON, from_spec, obj, only, path_, strings, text
from .specs import ModelConfig, RunConfig
from .vocabulary import DESIGN_KINDS, HRF_MODELS, LEVELS, METHODS, NOISE_MODELS

#: Draft of the schema.
DIALECT = "https://json-schema.org/draft/2020-12/schema"


# ---------------------------------------------------------------------------------------------
# descriptions (README, "The run-config")

TOP = {
    "title": "Title of the analysis, shown at the top of the report.",
    "output": "Results folder (relative to the config file); --out overrides it. Default: "
    "results/ beside the config.",
    "model": "What is analysed: the level (second, first, maps or study), its inputs, design "
    "or runs, the mask, the smoothing and the template space.",
    "contrasts": "t and F contrasts over the design's column names, and conjunctions of t "
    "contrasts (none for level: maps).",
    "corrections": "How maps are thresholded, one entry per result: uncorrected, fdr, "
    "bonferroni, permutation, ari or rft. Default: uncorrected at p < 0.001.",
    "two_sided": "Default for every correction (an entry may override it): use |z| with "
    "p = 2 sf(|z|) and report negative clusters separately.",
    "clusters": "How clusters and peaks are tabulated.",
    "atlases": "Atlases whose regions label the peaks and clusters: registry names, "
    "TemplateFlow queries, files or FSL atlases.",
    "report": "Which report formats to write.",
    "compute": "Where a study's subjects are fitted: a Dask scheduler or local worker "
    "processes (level: study only; --scheduler and --jobs override it).",
}
MODEL = {
    "level": "second (group analysis of maps), first (single-subject BOLD runs) or maps "
    "(existing statistical maps, report only).",
    "inputs": "Second-level inputs: a TSV/CSV table with a path column, an inline list of "
    "paths or rows, or {glob: pattern} (BIDS entities of the file names become columns).",
    "design": "Second-level design: one-sample, or one of {two-sample: ...}, {paired: ...}, "
    "{anova: ...}, {formula: ...}, {matrix: design.tsv}.",
    "covariates": "Table columns appended to the design as covariates.",
    "center_covariates": "Whether covariates are mean-centred.",
    "smoothing_fwhm": "Isotropic Gaussian smoothing, FWHM in mm (0 = none; typical 4-12).",
    "mask": "auto, or a NIfTI mask (non-zero voxels, resampled nearest-neighbour onto the "
    "data grid). auto: voxels finite and non-zero in every input (first level: an EPI mask "
    "of the runs' mean image).",
    "space": "Template space of the data (e.g. MNI152NLin2009cAsym), checked against the "
    "atlases' spaces; null when unknown.",
    "t_r": "Repetition time in seconds.",
    "slice_time_ref": "Time of the reference slice within a scan, as a fraction of t_r (0-1).",
    "runs": "The BOLD runs of one subject, each with its events (and confounds) or a "
    "precomputed design.",
    "hrf": "Haemodynamic response model (none = unconvolved boxcar).",
    "fir_delays": "Delays (scans) of an FIR model (hrf: fir).",
    "drift": "Slow drifts: {model: cosine, high_pass: Hz}, {model: polynomial, order: n} or none.",
    "noise_model": "ar1 (voxel-wise AR(1) prewhitening) or ols.",
    "per_run_outputs": "Also write each run's contrasts besides the fixed-effects combination.",
    "maps": "Existing statistical maps read as contrasts (level: maps).",
    "nonsphericity": "Within-subject ANOVA (anova with a subject column, 3 or more cells): "
    "estimate the error covariance between the cells by ReML pooled over voxels and fit the "
    "whitened model (SPM's non-sphericity correction).",
    "participants": "A BIDS participants.tsv: its columns (age, sex, group ...) join the inputs "
    "through their sub entity, so covariates need not be copied into the inputs table.",
}

# ---------------------------------------------------------------------------------------------
# sections


def config_schema() -> JSON:
    """The JSON Schema (draft 2020-12) of a run-config.

    Returns
    -------
    dict
        A JSON-serialisable schema; ``$defs`` holds the sections.
    """
    properties: JSON = {
        "title": text(TOP["title"], default="glmreport analysis"),
        "output": {"type": ["string", "null"], "description": TOP["output"]},
        "model": {"$ref": "#/$defs/model", "description": TOP["model"]},
        "contrasts": {
            "type": ["array", "null"],
            "maxItems": MAX_CONTRASTS,
            "items": {"$ref": "#/$defs/contrast"},
            "description": TOP["contrasts"],
        },
        "corrections": {
            "type": "array",
            "maxItems": MAX_CORRECTIONS,
            "items": {"$ref": "#/$defs/correction"},
            "description": TOP["corrections"],
        },
        "two_sided": from_spec(RunConfig, "two_sided", TOP["two_sided"]),
        "clusters": {"$ref": "#/$defs/clusters", "description": TOP["clusters"]},
        "atlases": {
            "description": TOP["atlases"],
            "oneOf": [
                {"$ref": "#/$defs/atlas"},
                {"type": "array", "maxItems": MAX_ATLASES, "items": {"$ref": "#/$defs/atlas"}},
            ],
        },
        "report": {"$ref": "#/$defs/report", "description": TOP["report"]},
        "compute": {"$ref": "#/$defs/compute", "description": TOP["compute"]},
    }
    properties = only(properties, TOP_KEYS)
    levels = {
        "second": _second_level,
        "first": _first_level,
        "maps": _maps_level,
        "study": study_schema,
    }
    return {
        "$schema": DIALECT,
        "title": "glmreport run-config",
        "description": "A glmreport analysis: model, contrasts, corrections, clusters, "
        "atlases and report. Write it in YAML; relative paths are taken from its folder.",
        "type": "object",
        "properties": properties,
        "required": ["model"],
        "additionalProperties": False,
        "allOf": [_contrasts_by_level()],
        "$defs": {
            "model": {"oneOf": [levels[level]() for level in LEVELS]},
            "inputs": _inputs(),
            "design": _design(),
            "run": run_schema(),
            "drift": _drift(),
            "map": map_schema(),
            "contrast": contrast_schema(),
            "correction": {"oneOf": [correction_schema(method) for method in METHODS]},
            "clusters": clusters_schema(),
            "atlas": atlas_schema(),
            "report": report_schema(),
            "compute": compute_schema(),
        },
    }


def _contrasts_by_level() -> JSON:
    """Level maps takes no contrasts; the other levels need at least one."""
    level = {"properties": {"level": {"const": "maps"}}, "required": ["level"]}
    return {
        "if": {"properties": {"model": level}, "required": ["model"]},
        "then": {"properties": {"contrasts": {"maxItems": 0}}},
        "else": {
            "required": ["contrasts"],
            "properties": {"contrasts": {"type": "array", "minItems": 1}},
        },
    }


def _common_model() -> JSON:
    return {
        "smoothing_fwhm": {
            **from_spec(ModelConfig, "smoothing_fwhm", MODEL["smoothing_fwhm"]),
            "minimum": 0,
            "maximum": MAX_SMOOTHING_FWHM_MM,
        },
        "mask": {"type": "string", "minLength": 1, "default": "auto", "description": MODEL["mask"]},
        "space": from_spec(ModelConfig, "space", MODEL["space"]),
    }


def _level(name: str, *, required: bool) -> JSON:
    out: JSON = {"const": name, "description": MODEL["level"]}
    if not required:  # the default level
        out["default"] = name
    return out


def _second_level() -> JSON:
    properties = {
        "level": _level("second", required=False),
        "inputs": {"$ref": "#/$defs/inputs", "description": MODEL["inputs"]},
        "design": {"$ref": "#/$defs/design", "description": MODEL["design"]},
        "covariates": strings(MODEL["covariates"]),
        "center_covariates": {
            "type": "boolean",
            "default": True,
            "description": MODEL["center_covariates"],
        },
        "nonsphericity": from_spec(ModelConfig, "nonsphericity", MODEL["nonsphericity"]),
        "participants": {"type": "string", "description": MODEL["participants"]},
        **_common_model(),
    }
    return obj(only(properties, SECOND_KEYS), required=("inputs",), title="second level")


def _first_level() -> JSON:
    properties = {
        "level": _level("first", required=True),
        "t_r": {"type": "number", "exclusiveMinimum": 0, "description": MODEL["t_r"]},
        "slice_time_ref": {
            **from_spec(ModelConfig, "slice_time_ref", MODEL["slice_time_ref"]),
            "minimum": 0,
            "maximum": 1,
        },
        "runs": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_RUNS,
            "items": {"$ref": "#/$defs/run"},
            "description": MODEL["runs"],
        },
        "hrf": {**from_spec(ModelConfig, "hrf", MODEL["hrf"]), "enum": list(HRF_MODELS)},
        "fir_delays": {
            **from_spec(ModelConfig, "fir_delays", MODEL["fir_delays"]),
            "maxItems": MAX_FIR_DELAYS,
            "items": {"type": "integer", "minimum": 0, "maximum": MAX_FIR_DELAY},
        },
        "drift": {"$ref": "#/$defs/drift", "description": MODEL["drift"]},
        "noise_model": {
            **from_spec(ModelConfig, "noise_model", MODEL["noise_model"]),
            "enum": list(NOISE_MODELS),
        },
        "per_run_outputs": from_spec(ModelConfig, "per_run_outputs", MODEL["per_run_outputs"]),
        **_common_model(),
    }
    return obj(only(properties, FIRST_KEYS), required=("level", "t_r", "runs"), title="first level")


def _maps_level() -> JSON:
    properties = {
        "level": _level("maps", required=True),
        "maps": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_MAPS,
            "items": {"$ref": "#/$defs/map"},
            "description": MODEL["maps"],
        },
        **{k: v for k, v in _common_model().items() if k in MAPS_KEYS},
    }
    return obj(only(properties, MAPS_KEYS), required=("level", "maps"), title="existing maps")


def _inputs() -> JSON:
    row = {
        "type": "object",
        "properties": {"path": path_("An input image.")},
        "required": ["path"],
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    }
    return {
        "oneOf": [
            path_("Inputs table (TSV/CSV) with a path column; paths in it are relative to it."),
            {"type": "array", "minItems": 1, "items": {"oneOf": [path_("An input image."), row]}},
            obj(
                {"glob": text("Glob pattern of the input images (relative to the config).")},
                required=("glob",),
            ),
        ]
    }


#: What each design kind is (README, "Designs").
DESIGNS = {
    "one-sample": "Intercept only (no options).",
    "two-sample": "Unpaired groups: intercept and group (1 for the first level, 0 for the second).",
    "paired": "Two conditions within subjects: the condition and one column per subject.",
    "anova": "Within-subject ANOVA: one cell mean per level combination, then the subjects.",
    "formula": "Wilkinson formula over table columns (parsed, never evaluated).",
    "matrix": "Design matrix (TSV), one row per input.",
}


def _design() -> JSON:
    levels = {
        "type": "array",
        "minItems": 2,
        "maxItems": 2,
        "description": "The two levels in coding order (the first is coded 1).",
    }
    kinds = {
        "one-sample": {"type": ["null", "object"], "maxProperties": 0},
        "two-sample": obj(
            {"group": text("Column holding the group."), "levels": levels},
            required=("group",),
        ),
        "paired": obj(
            {
                "condition": text("Column holding the condition."),
                "subject": text("Column holding the subject."),
                "levels": levels,
            },
            required=("condition", "subject"),
        ),
        "anova": obj(
            {
                "factors": strings("Columns crossed into cell means."),
                "subject": text("Column holding the subject (a nuisance column each)."),
            },
            required=("factors",),
        ),
        "formula": text(DESIGNS["formula"]),
        "matrix": path_(DESIGNS["matrix"]),
    }
    return {
        "oneOf": [
            {"const": "one-sample", "description": DESIGNS["one-sample"]},
            *(
                obj({kind: {"description": DESIGNS[kind], **schema}}, required=(kind,), title=kind)
                for kind, schema in only(kinds, DESIGN_KINDS).items()
            ),
        ]
    }


def _drift() -> JSON:
    model = "The drift model."
    return {
        "default": {"model": "cosine"},
        "oneOf": [
            {"type": "null"},
            {"const": "none"},
            obj(
                {
                    "model": {"const": "cosine", "description": model},
                    "high_pass": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "default": 0.01,
                        "description": "High-pass cutoff in Hz (discrete cosine basis).",
                    },
                },
                title="cosine",
            ),
            obj(
                {
                    "model": {"const": "polynomial", "description": model},
                    "order": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": MAX_DRIFT_ORDER,
                        "default": 1,
                        "description": "Highest polynomial order.",
                    },
                },
                required=("model",),
                title="polynomial",
            ),
            obj(
                {"model": {"const": "none", "description": model}},
                required=("model",),
                title="none",
            ),
        ],
    }
