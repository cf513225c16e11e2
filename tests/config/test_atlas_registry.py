"""The atlas registry: names, entries and specs."""

from __future__ import annotations

import pytest

from glmreport.config.atlas_registry import (
    atlas_error,
    registry,
    registry_entry,
    registry_keys,
    registry_spec,
)
from glmreport.config.specs import AtlasSpec
from glmreport.errors import AtlasError


def test_registry_entries_have_what_labels_need():
    assert "harvard-oxford-cortical" in registry_keys()
    assert registry_keys() == tuple(registry())
    for key in registry_keys():
        entry = registry_entry(key)
        assert {"template", "atlas"} <= set(entry["templateflow"]), key
        assert entry.get("citation", {}).get("text"), key


def test_spec_and_unknown_names():
    spec = registry_spec("harvard-oxford-cortical", name="HO", where="atlases[0]")
    assert (spec.source, spec.registry_key, spec.name) == (
        "registry",
        "harvard-oxford-cortical",
        "HO",
    )
    with pytest.raises(AtlasError, match=r"^atlases\[3\]: unknown atlas.*Did you mean"):
        registry_spec("harvard-oxford-cortcal", where="atlases[3]")
    error = atlas_error(AtlasSpec(name="a", source="fsl", where="atlases[1]"), "bad")
    assert str(error) == "atlases[1]: bad" and str(atlas_error(None, "bad")) == "bad"
