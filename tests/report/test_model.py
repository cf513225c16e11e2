"""The report model's derived properties."""

from __future__ import annotations

import dataclasses

import pytest

from glmreport.report.model import Column, CorrectionSection, Table


def test_table_properties():
    columns = (
        Column(key="id", header="Cluster", kind="id"),
        Column(key="p", header="p", kind="p", group="cluster level"),
        Column(key="q", header="q", kind="p", group="cluster level"),
        Column(key="x", header="x", kind="coord", group="mm"),
    )
    table = Table(columns=columns, rows=((1, 0.1, 0.2, 3.0),), source="t.tsv", n_total=4)
    assert table.truncated and table.n_more == 3
    assert table.header_groups == (("", 1), ("cluster level", 2), ("mm", 1))
    plain = dataclasses.replace(table, columns=columns[:1], n_total=1)
    assert not plain.truncated and plain.header_groups == ()


def test_correction_survives():
    section = CorrectionSection(
        anchor="a",
        method="fdr",
        desc="fdr",
        title="t",
        alpha=0.05,
        two_sided=False,
        threshold_z=None,
        threshold_stat=None,
        threshold_scale="",
        cluster_extent=0,
        n_voxels=0,
        n_clusters=0,
        extras=(("k", 1),),
    )
    assert not section.survives and section.extra == {"k": 1}
    assert dataclasses.replace(section, n_voxels=None, n_clusters=2).survives
    with pytest.raises(dataclasses.FrozenInstanceError):
        section.title = "x"  # type: ignore[misc]
