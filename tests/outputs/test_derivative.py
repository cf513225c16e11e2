"""dataset_description.json (a BIDS derivative, its source datasets) and map sidecars."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from glmreport._version import __version__
from glmreport.glm.results import ContrastResult
from glmreport.inference.results import CorrectionResult
from glmreport.outputs.derivative import (
    MAX_SOURCES,
    dataset_description,
    map_sidecar,
    source_datasets,
)


def _dataset(root: Path, name: str | None, **extra) -> Path:
    root.mkdir(parents=True)
    description = {"BIDSVersion": "1.9.0", **extra}
    if name:
        description["Name"] = name
    (root / "dataset_description.json").write_text(json.dumps(description))
    return root


def test_description_names_glmreport_and_its_sources():
    out = dataset_description("my study", source_datasets=[{"URL": "../raw"}])
    assert out == {
        "Name": "my study",
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "glmreport", "Version": __version__}],
        "SourceDatasets": [{"URL": "../raw"}],
    }
    assert "SourceDatasets" not in dataset_description("t")


def test_source_datasets(tmp_path: Path):
    project = tmp_path / "project"
    raw = _dataset(project / "raw", "Faces", DatasetDOI="doi:10.1/x")
    (raw / "sub-01" / "func").mkdir(parents=True)
    deriv = _dataset(project / "derivatives" / "prep", None)
    outside = _dataset(tmp_path / "elsewhere" / "other", "Other study")
    inputs = [
        raw / "sub-01" / "func" / "sub-01_bold.nii.gz",
        raw / "sub-01" / "func" / "sub-01_run-2_bold.nii.gz",  # same dataset: once
        deriv / "sub-01_effect.nii.gz",
        outside / "sub-02_effect.nii.gz",
        project / "loose.nii.gz",  # in no dataset
    ]
    found = source_datasets(inputs, results_folder=project / "results", base=project)
    assert found == [
        {"URL": "../raw", "DOI": "doi:10.1/x"},
        {"URL": "../derivatives/prep"},
        {"URL": "Other study"},  # outside the config's folder: by name, no path
    ]
    assert str(tmp_path) not in json.dumps(found)
    # results outside the config's folder: datasets by name (or folder name)
    found = source_datasets(inputs[:3], results_folder=tmp_path / "out", base=project)
    assert found == [{"URL": "Faces", "DOI": "doi:10.1/x"}, {"URL": "prep"}]


def test_source_datasets_are_bounded(tmp_path: Path):
    inputs = [_dataset(tmp_path / f"d{i}", f"d{i}") / "x.nii.gz" for i in range(MAX_SOURCES + 5)]
    assert len(source_datasets(inputs, results_folder=None, base=None)) == MAX_SOURCES


def _contrast(dof: float) -> ContrastResult:
    v = np.zeros(3)
    return ContrastResult(
        name="a > b",
        label="aB",
        stat_type="F",
        weights=np.array([[1.0, -1.0], [0.0, 1.0]]),
        columns=("a", "b"),
        effect=np.zeros((2, 3)),
        variance=np.zeros((2, 2, 3)),
        stat=v,
        p=v,
        z=v,
        dof=dof,
        df_num=2,
    )


def test_map_sidecar():
    plain = map_sidecar(_contrast(np.inf), "F")
    assert plain["Contrast"] == {
        "Name": "a > b",
        "Label": "aB",
        "StatType": "F",
        "Weights": [[1.0, -1.0], [0.0, 1.0]],
        "Columns": ["a", "b"],
    }
    assert plain["DegreesOfFreedom"] is None and plain["NumeratorDegreesOfFreedom"] == 2
    assert plain["Units"] == "F statistic" and "Correction" not in plain
    corr = CorrectionResult(
        method="fdr",
        desc="fdrQ01",
        title="FDR q < 0.01",
        alpha=0.01,
        two_sided=False,
        threshold_z=3.5,
        threshold_stat=20.0,
        cluster_extent=5,
        surviving=np.array([True, False, True]),
        clusters=pd.DataFrame(),
        peaks=pd.DataFrame(),
        params={"q": 0.01},
        route="fdr",
    )
    thresholded = map_sidecar(_contrast(12.0), "z", correction=corr, thresholded=True)
    assert thresholded["DegreesOfFreedom"] == 12.0 and thresholded["Thresholded"] is True
    assert thresholded["Correction"] == {
        "Method": "fdr",
        "Desc": "fdrQ01",
        "Route": "fdr",
        "Title": "FDR q < 0.01",
        "Alpha": 0.01,
        "TwoSided": False,
        "ThresholdZ": 3.5,
        "ThresholdStat": 20.0,
        "ThresholdScale": "z and F",
        "ClusterExtent": 5,
        "Parameters": {"q": 0.01},
        "SurvivingVoxels": 2,
    }
    json.dumps(thresholded)  # JSON as it is
