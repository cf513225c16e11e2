"""The frozen results of inference: CorrectionResult and the cluster and peak table schemas."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from glmreport.inference.clusters import empty_clusters_table, empty_peaks_table
from glmreport.inference.results import CLUSTER_COLUMNS, PEAK_COLUMNS, CorrectionResult


def test_table_schemas():
    assert CLUSTER_COLUMNS[:3] == ("cluster_id", "sign", "size_voxels")
    assert set(PEAK_COLUMNS) <= set(CLUSTER_COLUMNS)
    assert tuple(empty_clusters_table().columns) == CLUSTER_COLUMNS
    assert tuple(empty_peaks_table().columns) == PEAK_COLUMNS


def test_correction_result_defaults_and_frozen():
    result = CorrectionResult(
        method="fdr",
        desc="fdr",
        title="FDR q < 0.05",
        alpha=0.05,
        two_sided=False,
        threshold_z=3.1,
        threshold_stat=3.4,
        cluster_extent=0,
        surviving=np.zeros(4, bool),
        clusters=empty_clusters_table(),
        peaks=empty_peaks_table(),
    )
    assert result.params == {} and result.extras == {} and result.maps == {}
    assert result.arrays == {} and result.cluster_labels is None and result.route == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.alpha = 0.1  # type: ignore[misc]
