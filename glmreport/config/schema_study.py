"""The JSON Schema of ``model.level: study`` and of the top-level ``compute`` section."""

from __future__ import annotations

from .model import MAX_SMOOTHING_FWHM_MM
from .schema_types import JSON, obj, only, path_, strings, text
from .study import COMPUTE_KEYS, FIRST_LEVEL_KEYS, GROUP_KEYS, MAX_JOBS, STUDY_KEYS
from .study_spec import ON_ERROR, SIGNAL_SCALINGS
from .vocabulary import HRF_MODELS, NOISE_MODELS


def study_schema() -> JSON:
    """``model`` when ``level: study``."""
    first = {
        "hrf": {"enum": list(HRF_MODELS), "default": "glover", "description": "HRF model."},
        "drift": {"$ref": "#/$defs/drift", "description": "Drift model of every run."},
        "noise_model": {"enum": list(NOISE_MODELS), "default": "ar1", "description": "Noise."},
        "smoothing_fwhm": {
            "type": "number",
            "minimum": 0,
            "maximum": MAX_SMOOTHING_FWHM_MM,
            "default": 0,
            "description": "Gaussian smoothing of every run (FWHM, mm).",
        },
        "confounds": strings(
            "fMRIPrep confound columns, by name or shell-style pattern (a_comp_cor_0[0-4])."
        ),
        "scrub": obj(
            {"fd": {"type": "number", "exclusiveMinimum": 0, "description": "FD threshold, mm."}},
            required=("fd",),
            description="Motion scrubbing: one spike regressor per scan with FD above fd.",
        ),
        "signal_scaling": {
            "enum": list(SIGNAL_SCALINGS),
            "default": "percent",
            "description": "percent: 100 * (y / mean(y) - 1) per voxel and run.",
        },
    }
    group = {
        "design": {"$ref": "#/$defs/design", "description": "The group (second-level) design."},
        "covariates": strings("participants.tsv columns added to the group design."),
        "center_covariates": {"type": "boolean", "default": True, "description": "Centre them."},
        "contrasts": {
            "type": "array",
            "items": {"$ref": "#/$defs/contrast"},
            "description": "Group contrasts; default the group mean (intercept).",
        },
    }
    labels = {
        "oneOf": [
            {"type": ["string", "integer"]},
            {"type": "array", "items": {"type": ["string", "integer"]}},
        ]
    }
    properties = {
        "level": {"const": "study", "description": "A BIDS study: every subject, then the group."},
        "bids": path_("The raw BIDS dataset (events, sidecars, participants.tsv)."),
        "derivatives": path_("fMRIPrep's folder (default <bids>/derivatives/fmriprep)."),
        "participants": path_("participants.tsv (default <bids>/participants.tsv)."),
        "task": text("Task label."),
        "space": text("Template space label of the preprocessed runs."),
        "res": {"type": ["string", "integer"], "description": "Resolution label filter."},
        "desc": text("desc label of the preprocessed BOLD files.", default="preproc"),
        "subjects": {**labels, "description": "Subjects to analyse (default: all)."},
        "exclude": {**labels, "description": "Subjects left out."},
        "sessions": {**labels, "description": "Sessions kept (default: all)."},
        "first_level": obj(only(first, FIRST_LEVEL_KEYS), description="Every run's model."),
        "group": obj(only(group, GROUP_KEYS), description="The group model."),
        "on_error": {
            "enum": list(ON_ERROR),
            "default": "raise",
            "description": "skip: leave a failing subject out of the group (named in the report).",
        },
    }
    return obj(
        only(properties, STUDY_KEYS), required=("level", "bids", "task", "space"), title="study"
    )


def compute_schema() -> JSON:
    """The top-level ``compute`` section (study level only)."""
    properties = {
        "scheduler": text("Address of a running Dask scheduler (tcp://host:8786)."),
        "jobs": {"type": "integer", "minimum": 1, "maximum": MAX_JOBS, "description": "Workers."},
    }
    return obj(only(properties, COMPUTE_KEYS), description="Where the subjects' fits run.")
