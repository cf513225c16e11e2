"""Schemas of the config's list entries and small sections.

Runs, maps, contrasts, corrections (one alternative per method, with that method's own keys),
atlases (a registry name or one source), clusters and report; descriptions from the README.
"""

from __future__ import annotations

from .atlas_registry import registry_keys
from .contrasts import MAX_CONJUNCTION, MAX_EXPRESSION_CHARS
from .correction_labels import MAX_LABEL
from .corrections import COMMON_CORRECTION_KEYS, DEFAULT_ALPHA, MAX_ARI_THRESHOLDS, METHOD_KEYS
from .load import MAX_SUBPEAKS
from .model import RUN_KEYS
from .schema_types import (
    JSON,
    from_spec,
    name_,
    obj,
    only,
    path_,
    probability,
    spec_properties,
    strings,
    text,
)
from .specs import ClusterOptions, MapSpec, ReportOptions
from .svc import MAX_SVC_COORD_MM, MAX_SVC_RADIUS_MM
from .vocabulary import ATLAS_SOURCES, FORMATS, MAP_STATS, MAX_RESAMPLES

RUN = {
    "bold": "4D BOLD image of the run.",
    "events": "BIDS events file (onset, duration, trial_type, optional modulation).",
    "confounds": "Confounds table (TSV).",
    "confound_columns": "Confound columns to use (default: all).",
    "design": "Precomputed design matrix (TSV, or NPZ) instead of events.",
    "design_key": "Array of an NPZ design file.",
    "name": "Name of the run (default run-1, run-2 ...).",
}
MAP = {
    "name": "Name of the map in tables and the report.",
    "path": "The statistical map (NIfTI).",
    "stat": "What the map holds: t, z or F.",
    "dof": "Error degrees of freedom (t and F maps).",
    "df_num": "Numerator degrees of freedom of an F map.",
}
CONTRAST = {
    "name": "Name of the contrast in tables, file names and the report.",
    "t": "A t contrast: an expression over column names ('a - b'), {column: weight}, or a "
    "full-width vector.",
    "F": "An F contrast: a list of expressions (one row each) or a matrix.",
    "weights": "Weights: {column: weight}, or a vector / matrix of exactly the design's width.",
    "conjunction": "A conjunction: the names of two or more t contrasts of this config, tested "
    "jointly by their minimum statistic (conjunction null: not every effect is real).",
}
CORRECTION = {
    "method": "The correction method.",
    "alpha": "Level: voxel p (uncorrected), FDR q, FWE alpha (bonferroni, permutation, rft) "
    "or ARI confidence 1 - alpha.",
    "two_sided": "Overrides the config's two_sided for this entry.",
    "contrasts": "Contrasts this entry applies to (default: all).",
    "desc": f"Label of the entry's results (letters and digits, at most {MAX_LABEL}); default "
    "from the method and the parameters that differ between entries.",
    "cluster_extent": "Minimum cluster size in voxels (0 = none).",
    "n_perm": "Number of permutations or sign flips (exact test when fewer exist).",
    "seed": "Seed of the random resamples.",
    "cluster_forming_p": "Cluster-forming p: adds cluster-size and cluster-mass inference "
    "(permutation) or the cluster level (rft).",
    "tfce": "Threshold-free cluster enhancement.",
    "blocks": "Exchangeability blocks: a column of the inputs table.",
    "tfce_E": "TFCE extent exponent.",
    "tfce_H": "TFCE height exponent.",
    "tfce_dh": "TFCE step (auto: 1/100 of the largest statistic).",
    "thresholds": "ARI cluster-forming thresholds, in z.",
    "fwhm_mm": "Smoothness (one FWHM or x, y, z in mm) instead of the estimate; required for "
    "level: maps.",
    "svc": "Small-volume correction: {mask: roi.nii.gz} or {sphere: {center_mm: [x, y, z], "
    "radius_mm: r}}; the entry's results (desc ending in SVC) are those of the region alone.",
}
CLUSTERS = {
    "connectivity": "Voxel neighbourhood of clusters: 6 (faces), 18 (edges) or 26 (corners).",
    "min_distance_mm": "Least distance between a cluster's sub-peaks, in mm.",
    "max_subpeaks": "Most sub-peaks listed per cluster.",
}
ATLAS = {
    "name": "Column name of the atlas in the tables.",
    "kind": "auto (3D images deterministic, 4D probabilistic), deterministic or probabilistic.",
    "templateflow": "A TemplateFlow atlas: template, atlas, desc, resolution.",
    "file": "Atlas image: 3D integer labels or 4D probabilities (one volume per label).",
    "labels": "Label names: TSV/CSV with index and name, FSL XML, or an 'index name' table.",
    "space": "Template of a file atlas (e.g. MNI152NLin6Asym).",
    "fsl": "FSL atlas name under $FSLDIR/data/atlases (e.g. HarvardOxford-Cortical).",
}


def run_schema() -> JSON:
    """One entry of ``model.runs``."""
    texts = RUN
    properties = {
        "bold": path_(texts["bold"]),
        "events": path_(texts["events"]),
        "confounds": path_(texts["confounds"]),
        "confound_columns": strings(texts["confound_columns"]),
        "design": path_(texts["design"]),
        "design_key": text(texts["design_key"]),
        "name": name_(texts["name"]),
    }
    not_both = {"not": {"required": ["events", "design"]}}
    return obj(only(properties, RUN_KEYS), required=("bold",), **not_both)


def map_schema() -> JSON:
    """One entry of ``model.maps``."""
    properties = {
        "name": name_(MAP["name"]),
        "path": path_(MAP["path"]),
        "stat": {"enum": list(MAP_STATS), "description": MAP["stat"]},
        "dof": {"type": "number", "exclusiveMinimum": 0, "description": MAP["dof"]},
        "df_num": {**from_spec(MapSpec, "df_num", MAP["df_num"]), "minimum": 1},
    }
    needs_dof = {
        "if": {"properties": {"stat": {"enum": ["t", "F"]}}},
        "then": {"required": ["dof"]},
    }
    return obj(properties, required=("name", "path", "stat"), **needs_dof)


def contrast_schema() -> JSON:
    """One contrast: a name and exactly one of t, F or weights."""
    expression = {"type": "string", "minLength": 1, "maxLength": MAX_EXPRESSION_CHARS}
    weights = {"type": "object", "additionalProperties": {"type": "number"}, "minProperties": 1}
    vector = {"type": "array", "items": {"type": "number"}, "minItems": 1}
    matrix = {"type": "array", "items": vector, "minItems": 1}
    properties = {
        "name": name_(CONTRAST["name"]),
        "t": {"description": CONTRAST["t"], "oneOf": [expression, weights, vector]},
        "F": {
            "description": CONTRAST["F"],
            "oneOf": [
                weights,
                {"type": "array", "minItems": 1, "items": {"oneOf": [expression, weights, vector]}},
            ],
        },
        "weights": {"description": CONTRAST["weights"], "oneOf": [weights, vector, matrix]},
        "conjunction": {
            "type": "array",
            "items": name_("A t contrast of this config."),
            "minItems": 2,
            "maxItems": MAX_CONJUNCTION,
            "uniqueItems": True,
            "description": CONTRAST["conjunction"],
        },
    }
    one_of = [{"required": [kind]} for kind in ("t", "F", "weights", "conjunction")]
    return obj(properties, required=("name",), oneOf=one_of)


def correction_schema(method: str) -> JSON:
    """One correction entry of ``method``: the common keys and the method's own."""
    common = {
        "method": {"const": method, "description": CORRECTION["method"]},
        "alpha": {**probability(CORRECTION["alpha"]), "default": DEFAULT_ALPHA.get(method, 0.05)},
        "two_sided": {"type": "boolean", "description": CORRECTION["two_sided"]},
        "contrasts": strings(CORRECTION["contrasts"]),
        "desc": text(CORRECTION["desc"], maxLength=MAX_LABEL, pattern="^[A-Za-z0-9]+$"),
    }
    own = {key: _method_key(key) for key in METHOD_KEYS[method]}
    return obj({**only(common, COMMON_CORRECTION_KEYS), **own}, required=("method",), title=method)


def _method_key(key: str) -> JSON:
    """The schema of a method's own key (see the README's corrections table)."""
    text = CORRECTION[key]
    positive = {"type": "number", "exclusiveMinimum": 0}
    schemas: dict[str, JSON] = {
        "cluster_extent": {"type": "integer", "minimum": 0, "default": 0},
        "n_perm": {"type": "integer", "minimum": 1, "maximum": MAX_RESAMPLES, "default": 10000},
        "seed": {"type": "integer", "minimum": 0, "default": 0},
        "cluster_forming_p": {"oneOf": [probability(text), {"type": "null"}]},
        "tfce": {"type": "boolean", "default": False},
        "blocks": {"type": ["string", "null"]},
        "tfce_E": {**positive, "default": 0.5},
        "tfce_H": {**positive, "default": 2.0},
        "tfce_dh": {"oneOf": [{"const": "auto"}, positive], "default": "auto"},
        "thresholds": {
            "oneOf": [
                positive,
                {"type": "array", "minItems": 1, "maxItems": MAX_ARI_THRESHOLDS, "items": positive},
            ],
            "default": [2.5, 3.5, 4.5],
        },
        "fwhm_mm": {
            "oneOf": [
                positive,
                {"type": "array", "items": positive, "minItems": 1, "maxItems": 1},
                {"type": "array", "items": positive, "minItems": 3, "maxItems": 3},
                {"type": "null"},
            ]
        },
        "svc": _svc_schema(),
    }
    return {**schemas[key], "description": text}


def _svc_schema() -> JSON:
    """``svc``: a mask image or a sphere, or null (none)."""
    coord = {"type": "number", "minimum": -MAX_SVC_COORD_MM, "maximum": MAX_SVC_COORD_MM}
    sphere = obj(
        {
            "center_mm": {
                "type": "array",
                "items": coord,
                "minItems": 3,
                "maxItems": 3,
                "description": "Centre of the sphere (x, y, z), world coordinates in mm.",
            },
            "radius_mm": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": MAX_SVC_RADIUS_MM,
                "description": "Radius in mm: the voxels whose centres lie within it.",
            },
        },
        required=("center_mm", "radius_mm"),
        description="A sphere: the voxels whose centres lie within radius_mm of center_mm.",
    )
    return {
        "oneOf": [
            {"type": "null"},
            obj({"mask": path_("Region image (non-zero voxels).")}, required=("mask",)),
            obj({"sphere": sphere}, required=("sphere",)),
        ]
    }


def clusters_schema() -> JSON:
    """The ``clusters`` section."""
    properties = spec_properties(ClusterOptions, CLUSTERS, tuple(CLUSTERS))
    properties["connectivity"]["enum"] = [6, 18, 26]
    properties["min_distance_mm"]["minimum"] = 0
    properties["max_subpeaks"].update(minimum=0, maximum=MAX_SUBPEAKS)
    return obj(properties)


def atlas_schema() -> JSON:
    """One atlas: a registry name, or a mapping with one source."""
    kind = {
        "enum": ["auto", "deterministic", "probabilistic"],
        "default": "auto",
        "description": ATLAS["kind"],
    }
    name = name_(ATLAS["name"])
    sources = {
        "templateflow": obj(
            {
                "templateflow": obj(
                    {
                        "template": text("TemplateFlow template, e.g. MNI152NLin6Asym."),
                        "atlas": text("TemplateFlow atlas, e.g. Schaefer2018."),
                        "desc": {
                            "type": ["string", "number", "null"],
                            "description": "Atlas variant.",
                        },
                        "resolution": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "description": "Resolution index (default 2).",
                        },
                    },
                    required=("template", "atlas"),
                    description=ATLAS["templateflow"],
                ),
                "name": name,
                "kind": kind,
            },
            required=("templateflow",),
            title="templateflow",
        ),
        "file": obj(
            {
                "file": path_(ATLAS["file"]),
                "labels": path_(ATLAS["labels"]),
                "name": name,
                "kind": kind,
                "space": {"type": ["string", "null"], "description": ATLAS["space"]},
            },
            required=("file",),
            title="file",
        ),
        "fsl": obj(
            {"fsl": text(ATLAS["fsl"]), "name": name, "kind": kind},
            required=("fsl",),
            title="fsl",
        ),
    }
    registry = {
        "enum": list(registry_keys()),
        "description": "An atlas of the registry (atlases/registry.json).",
    }
    return {"oneOf": [registry, *only(sources, ATLAS_SOURCES).values()]}


def report_schema() -> JSON:
    """The ``report`` section."""
    formats = from_spec(ReportOptions, "formats", "Report formats ([] writes no report).")
    listed = {"type": "array", "items": {"enum": list(FORMATS)}}
    return obj(
        {
            "formats": {
                "description": formats["description"],
                "default": formats["default"],
                "oneOf": [{"enum": list(FORMATS)}, listed],
            }
        }
    )
