"""Contrast sections: statistic labels, short names, threshold lines and the cross table."""

from __future__ import annotations

from fixtures.summaries import contrast, correction

from glmreport.report.model import Atlas, Badge, Column, CorrectionSection, Table
from glmreport.report.sections import crosstab, short_names, stat_label, threshold_lines


def test_stat_label_and_short_names():
    assert stat_label("t", 15.0, 1) == "t(15)" and stat_label("F", 13.0, 2) == "F(2, 13)"
    assert stat_label("t", None, 1) == "t(?)"
    two = contrast(
        correction("fdr", "fdrQ01"), correction("fdr", "fdrQ05"), correction("ari", "ari")
    )
    assert short_names(two) == ["fdrQ01", "fdrQ05", "ARI"]  # a repeated short name gives way


def _section(desc: str, z: float | None, n_voxels: int, rows=(), two_sided=False, extra=()):
    columns = (
        Column(key="cluster_id", header="Cluster", kind="id"),
        Column(key="peak_value", header="Peak z", kind="stat"),
        Column(key="survives", header="Survives", kind="badges"),
        Column(key="atlas", header="atlas", kind="text"),
        *(Column(key=key, header=key, kind="percent") for key in extra),
    )
    return CorrectionSection(
        anchor=f"c1-{desc}",
        method="fdr",
        desc=desc,
        title=f"title {desc}",
        short=desc.upper(),
        alpha=0.05,
        two_sided=two_sided,
        threshold_z=z,
        threshold_stat=None,
        threshold_scale="z and t",
        cluster_extent=0,
        n_voxels=n_voxels,
        n_clusters=len(rows),
        clusters=Table(columns=columns, rows=tuple(rows), source=f"{desc}.tsv", n_total=len(rows)),
    )


def test_threshold_lines_group_equal_thresholds():
    lines = threshold_lines(
        [
            _section("a", 3.1, 1),
            _section("b", 3.104, 1),
            _section("c", None, 1),
            _section("d", 3.1, 1, two_sided=True),
        ]
    )
    assert [(line.label, line.two_sided) for line in lines] == [
        ("A \u00b7 B (z > 3.10)", False),
        ("D (|z| > 3.10)", True),
    ]


def test_crosstab_lists_the_most_lenient_corrections_clusters():
    b = lambda d: Badge(short=d.upper(), title=d, desc=d)  # noqa: E731
    rows = [("1", 5.0, (b("a"), b("b")), "Precentral; other"), ("2", 4.0, (b("a"),), None)]
    sections = [
        _section("a", 3.0, 50, rows),
        _section("b", 4.0, 10, rows[:1]),
        _section("c", 5.0, 0),
    ]
    atlases = [Atlas(name="atlas", status="ok", message="", citation="", space="", space_note="")]
    table = crosstab(sections, atlases)
    assert table is not None and table.base_anchor == "c1-a" and table.label_header == "atlas"
    assert [(r.cluster_id, r.marks, r.label, r.peak_z) for r in table.rows] == [
        ("1", (True, True, False), "Precentral", 5.0),
        ("2", (True, False, False), "", 4.0),
    ]
    assert crosstab(sections[:2], atlases) is None  # two corrections: the tables say it all
    lonely = [_section("a", 3.0, 50, rows), _section("b", 4.0, 0), _section("c", 5.0, 0)]
    assert crosstab(lonely, atlases) is None  # nothing else survives


def test_crosstab_shows_the_first_ari_bound_when_several_apply():
    b = lambda d: Badge(short=d.upper(), title=d, desc=d)  # noqa: E731
    keys = ("ari_tdp_ariLow", "ari_tdp_ariHigh")
    rows = [("1", 5.0, (b("a"), b("b")), None, 0.8, 0.5), ("2", 4.0, (b("a"),), None, 0.25, 0.0)]
    sections = [
        _section("a", 3.0, 50, rows, extra=keys),
        _section("b", 4.0, 10, rows[:1], extra=keys),
        _section("c", 5.0, 0),
    ]
    table = crosstab(sections, [])
    assert table is not None and table.tdp_header == "ARI TDP \u2265 (ariLow)"
    assert [r.tdp for r in table.rows] == [0.8, 0.25]
    single = [_section("a", 3.0, 50, [r[:5] for r in rows], extra=("ari_tdp",)), *sections[1:]]
    one = crosstab(single, [])
    assert one is not None and one.tdp_header == "ARI TDP \u2265"
    assert [r.tdp for r in one.rows] == [0.8, 0.25]
    assert (
        crosstab([_section("a", 3.0, 50, [r[:4] for r in rows]), *sections[1:]], []).tdp_header
        == ""
    )
