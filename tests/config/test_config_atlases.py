"""The atlases section: registry names and the three sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmreport.config.atlases import MAX_ATLASES, _atlases
from glmreport.errors import ConfigError

BASE = Path("/study")


def test_every_source_becomes_a_spec():
    specs = _atlases(
        [
            "harvard-oxford-cortical",
            {"templateflow": {"template": "T", "atlas": "Schaefer2018", "desc": 200}},
            {"file": "atlases/aal.nii.gz", "labels": "aal.tsv", "space": "S"},
            {"fsl": "HarvardOxford-Sub", "kind": "deterministic"},
        ],
        BASE,
    )
    assert [s.source for s in specs] == ["registry", "templateflow", "file", "fsl"]
    assert [s.name for s in specs] == [
        "harvard-oxford-cortical",
        "Schaefer2018-200",
        "aal",
        "HarvardOxford-Sub",
    ]
    assert specs[1].templateflow == {
        "template": "T",
        "atlas": "Schaefer2018",
        "desc": "200",
        "resolution": None,
    }
    assert specs[2].file == BASE / "atlases/aal.nii.gz" and specs[2].space == "S"
    assert specs[3].kind == "deterministic" and specs[1].where == "atlases[1]"
    assert len(_atlases("harvard-oxford-cortical", BASE)) == 1  # a lone entry


def test_bad_atlases_name_their_entry():
    with pytest.raises(ConfigError, match=r"atlases\[0\]: unknown atlas.*harvard-oxford-cortical"):
        _atlases(["harvard-oxford-cortcal"], BASE)
    with pytest.raises(ConfigError, match="exactly one of templateflow, file, fsl"):
        _atlases([{"file": "a.nii", "fsl": "X"}], BASE)
    with pytest.raises(ConfigError, match=r"atlases\[0\]\.templateflow: missing required key"):
        _atlases([{"templateflow": {"atlas": "X"}}], BASE)
    with pytest.raises(ConfigError, match=r"atlases\[1\]: duplicate name"):
        _atlases([{"fsl": "X"}, {"fsl": "X"}], BASE)
    with pytest.raises(ConfigError, match=f"at most {MAX_ATLASES} entries"):
        _atlases([{"fsl": f"X{i}"} for i in range(MAX_ATLASES + 1)], BASE)
