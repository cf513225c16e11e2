"""Report tables: labelled columns, capped rows, badges, SPM layout, ARI blocks, inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from glmreport.outputs.summary import InputRecord
from glmreport.report.model import Badge
from glmreport.report.tables import (
    TableSpec,
    badges_of,
    inputs_table,
    level_title,
    num,
    plain,
    table,
    whole,
)


def _clusters(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cluster_id": [str(i + 1) for i in range(n)],
            "sign": ["+"] * n,
            "size_voxels": np.arange(n, dtype=int) + 10,
            "volume_mm": np.arange(n) * 8.0,
            "peak_x": [1.0] * n,
            "peak_y": [2.0] * n,
            "peak_z": [3.0] * n,
            "peak_value": [4.5] * n,
            "peak_stat": [5.5] * n,
            "p_fwe": [0.01] * (n - 1) + [math.nan],
            "survives": ["fdr, rft"] * (n - 1) + ["-"],
        }
    )


def test_columns_rows_and_badges():
    fdr = Badge(short="FDR", title="FDR q < 0.05", desc="fdr")
    spec = TableSpec(stat_type="F", badges={"fdr": fdr})
    shown = table(_clusters(3), "tables/x.tsv", spec, max_rows=2)
    assert shown is not None and shown.source == "tables/x.tsv"
    assert [c.header for c in shown.columns][:8] == [
        "Cluster",
        "Sign",
        "Voxels",
        "x",
        "y",
        "z",
        "Peak z",
        "Peak F",
    ]
    assert "volume_mm" not in [c.key for c in shown.columns]  # hidden: TSV only
    assert len(shown.rows) == 2 and shown.n_total == 3 and shown.n_more == 1
    badges = shown.rows[0][[c.key for c in shown.columns].index("survives")]
    assert badges[0] == fdr and badges[1] == Badge(short="rft", title="rft", desc="rft")
    assert table(None, "x", spec, max_rows=5) is None
    last = table(_clusters(3), "x", spec, max_rows=5).rows[2]
    assert last[[c.key for c in shown.columns].index("p_fwe")] is None


def test_rft_layout_and_set_level():
    spec = TableSpec(
        stat_type="t", method="rft", extras={"field": "T", "set_level_p": 0.25, "set_level_c": 3}
    )
    shown = table(_clusters(3).drop(columns="survives"), "x", spec, max_rows=5)
    keys = [c.key for c in shown.columns]
    assert keys[:4] == ["cluster_id", "sign", "set_p", "set_c"]
    assert [g for g, _ in shown.header_groups][:3] == ["", "set level", "cluster level"]
    assert shown.rows[0][2:4] == (0.25, 3) and shown.rows[1][2:4] == (None, None)
    assert shown.columns[keys.index("peak_stat")].header == "T"


def test_ari_blocks():
    frame = _clusters(3).assign(threshold_z=[3.09, 3.09, 4.0])
    spec = TableSpec(
        stat_type="t",
        stat_label="t(12)",
        method="ari",
        extras={"thresholds": [3.09, 4.0], "thresholds_stat": [3.6, 5.0]},
    )
    shown = table(frame, "x", spec, max_rows=5)
    assert "threshold_z" not in [c.key for c in shown.columns]
    assert [(b.title, len(b.rows)) for b in shown.blocks] == [
        ("Clusters at z > 3.09 (t(12) > 3.60)", 2),
        ("Clusters at z > 4 (t(12) > 5.00)", 1),
    ]
    assert level_title(None, False, "t", [], "peaks") == (
        "Peaks of the clusters (threshold not recorded)"
    )
    assert level_title(3.0, True, "t(5)", [(3.0, 4.0)], "clusters") == (
        "Clusters at |z| > 3 (|t(5)| > 4.00)"
    )


def test_values():
    assert plain(np.float32(1.5)) == 1.5 and plain(np.int64(2)) == 2 and plain(np.nan) is None
    assert plain(np.bool_(True)) is True and plain(pd.NA) is None
    assert num("2.5") == 2.5 and num(True) is None and num("x") is None and num(math.inf) is None
    assert whole(2.6) == 3 and whole(None) is None
    assert badges_of(math.nan, {}) == () and badges_of("-", {}) == ()


def test_inputs_table():
    rows = (
        InputRecord(path="data/a.nii.gz", sha256="a" * 64, values={"age": 30, "group": "x"}),
        InputRecord(path="b.nii.gz", sha256="b" * 64, outside_config_folder=True, values={}),
    )
    shown = inputs_table(rows)
    assert [c.key for c in shown.columns] == ["path", "sha256", "age", "group"]
    assert [c.kind for c in shown.columns][:2] == ["path", "hash"]
    assert shown.rows[1][0] == "b.nii.gz (outside the config's folder)"
    assert shown.rows[1][2] is None and shown.rows[0][2] == pytest.approx(30)
    assert inputs_table(()) is None


def test_effect_columns_one_cell_with_the_unit_in_the_header():
    from glmreport.report.filters import fmt_effect_ci
    from glmreport.report.tables import effect_unit

    frame = _clusters(2).drop(columns=["p_fwe", "survives"])
    frame["effect"] = [0.5234, -12.5]
    frame["effect_ci_low"] = [0.3111, -20.26]
    frame["effect_ci_high"] = [0.7357, math.nan]
    frame["cohens_d"] = [1.234, -0.5]
    shown = table(frame, "t.tsv", TableSpec(stat_type="t", unit="% signal change"), max_rows=5)
    keys = [c.key for c in shown.columns]
    assert "effect_ci_low" not in keys and "effect_ci_high" not in keys  # TSV only
    col = shown.columns[keys.index("effect")]
    assert col.header == "Effect [95% CI] (% signal change)" and col.kind == "effect_ci"
    cells = [row[keys.index("effect")] for row in shown.rows]
    assert fmt_effect_ci(cells[0]) == "0.523 [0.311, 0.736]"
    assert fmt_effect_ci(cells[1]) == "\u221212.5 [\u221220.3, \u2014]"
    assert shown.columns[keys.index("cohens_d")].header == "Cohen's d"

    class First:
        signal_scaling = "none"

    class Model:
        first = First()

    class Summary:
        model = Model()
        study = None

    assert effect_unit(Summary()) == "inputs' units"
    First.signal_scaling = "psc"
    assert effect_unit(Summary()) == "% signal change"
    # a study's subject folders describe their scaling in words
    First.signal_scaling = "percent signal change per voxel and run, 100 (y / mean(y) - 1)"
    assert effect_unit(Summary()) == "% signal change"

    class Study:  # a study's group level: the subjects' effects are in percent
        first_level = {"signal_scaling": "percent"}

    class Group:
        model = type("SecondModel", (), {"first": None})()
        study = Study()

    assert effect_unit(Group()) == "% signal change"
    Study.first_level = {"signal_scaling": "none"}
    assert effect_unit(Group()) == "inputs' units"
