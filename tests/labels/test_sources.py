"""Where each kind of atlas entry finds its files, or why it is missing."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.atlas_files import save_image
from fixtures.synthetic_templateflow import HOCPA, HOCPA_TSV

from glmreport.config.atlas_registry import registry_spec
from glmreport.config.specs import AtlasSpec
from glmreport.errors import AtlasError
from glmreport.labels.sources import locate


def test_registry_atlas_is_found_in_the_templateflow_cache(templateflow_home):
    located = locate(registry_spec("harvard-oxford-cortical"), download=False, timeout_s=1)
    assert located.image == templateflow_home / HOCPA
    assert located.labels == templateflow_home / HOCPA_TSV
    assert located.space == "MNI152NLin6Asym" and located.citation and located.licence
    assert "glmreport atlases fetch harvard-oxford-cortical" in located.refetch_hint


def test_uncached_atlas_is_missing_with_how_to_get_it(templateflow_home):
    located = locate(registry_spec("schaefer-400-7"), download=False, timeout_s=1)
    assert located.image is None and "could not be fetched" in located.message
    assert "glmreport atlases fetch schaefer-400-7" in located.message


def test_file_and_fsl_atlases(tmp_path, monkeypatch):
    image = save_image(np.ones((2, 2, 2), dtype=np.int16), np.eye(4), tmp_path / "a.nii.gz")
    located = locate(
        AtlasSpec(name="a", source="file", file=image, space="S"), download=False, timeout_s=1
    )
    assert (located.image, located.labels, located.space) == (image, None, "S")
    assert located.title == "a (file a.nii.gz)" and located.refetch_hint == ""
    with pytest.raises(AtlasError, match="label file .* does not exist"):
        locate(
            AtlasSpec(name="a", source="file", file=image, labels=tmp_path / "x.tsv"),
            download=False,
            timeout_s=1,
        )
    monkeypatch.delenv("FSLDIR", raising=False)
    fsl = locate(AtlasSpec(name="f", source="fsl", fsl="X"), download=False, timeout_s=1)
    assert fsl.image is None and "FSLDIR is not set" in fsl.message


def test_templateflow_entries_need_template_and_atlas():
    spec = AtlasSpec(
        name="t", source="templateflow", templateflow={"atlas": "X"}, where="atlases[1]"
    )
    with pytest.raises(AtlasError, match=r"atlases\[1\]: templateflow atlas lacks template"):
        locate(spec, download=False, timeout_s=1)
    with pytest.raises(AtlasError, match="unknown atlas source"):
        locate(AtlasSpec(name="t", source="web"), download=False, timeout_s=1)  # type: ignore[arg-type]
