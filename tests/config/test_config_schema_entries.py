"""Schemas of list entries, checked on small instances."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from glmreport.config.atlas_registry import registry_keys
from glmreport.config.schema_entries import (
    atlas_schema,
    contrast_schema,
    correction_schema,
    map_schema,
    run_schema,
)


def _ok(schema: dict, instance) -> bool:
    return Draft202012Validator(schema).is_valid(instance)


def test_correction_entries_allow_their_method_keys_only():
    perm = correction_schema("permutation")
    assert _ok(perm, {"method": "permutation", "n_perm": 100, "tfce": True})
    assert not _ok(perm, {"method": "permutation", "thresholds": [3]})
    assert not _ok(perm, {"method": "fdr"})
    rft = correction_schema("rft")
    assert _ok(rft, {"method": "rft", "fwhm_mm": [8, 8, 8]}) and _ok(rft, {"method": "rft"})
    assert not _ok(rft, {"method": "rft", "fwhm_mm": 0})
    assert perm["properties"]["alpha"]["default"] == 0.05
    assert correction_schema("uncorrected")["properties"]["alpha"]["default"] == 0.001


def test_contrast_needs_exactly_one_definition():
    schema = contrast_schema()
    assert _ok(schema, {"name": "c", "t": "a - b"})
    assert _ok(schema, {"name": "c", "F": [[1, 0], "b"]})
    assert not _ok(schema, {"name": "c"})
    assert not _ok(schema, {"name": "c", "t": "a", "weights": [1]})


def test_atlas_registry_names_are_an_enum():
    schema = atlas_schema()
    assert schema["oneOf"][0]["enum"] == list(registry_keys())
    assert _ok(schema, "harvard-oxford-cortical") and not _ok(schema, "nope")
    assert _ok(schema, {"fsl": "X", "kind": "probabilistic"})
    assert not _ok(schema, {"fsl": "X", "kind": "maybe"})


def test_runs_and_maps():
    assert _ok(run_schema(), {"bold": "r.nii", "events": "e.tsv"})
    assert not _ok(run_schema(), {"bold": "r.nii", "events": "e.tsv", "design": "d.tsv"})
    assert _ok(map_schema(), {"name": "z", "path": "z.nii", "stat": "z"})
    assert not _ok(map_schema(), {"name": "t", "path": "t.nii", "stat": "t"})
