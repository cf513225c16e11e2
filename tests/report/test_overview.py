"""The overview: model facts, warnings, provenance, summary rows and the table of contents."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fixtures.summaries import atlas, model, summary

from glmreport.outputs.summary import Drift
from glmreport.report.model import ContrastSection, CorrectionSection
from glmreport.report.overview import (
    atlas_view,
    columns_text,
    date_of,
    drift_text,
    facts,
    legend,
    noise_text,
    provenance,
    summary_rows,
    toc,
    warnings,
)


def test_second_level_facts():
    shown = dict(facts(summary("second")))
    assert shown == {
        "Model": "one-sample t-test (second level)",
        "Inputs (N)": "14",
        "Residual dof": "12",
        "Noise model": "OLS",
        "Smoothing": "6 mm FWHM",
        "Mask": "1\u2009234 voxels (auto)",
        "Space": "MNI152NLin2009cAsym, 2 \u00d7 2 \u00d7 2 mm voxels",
        "Design columns": "intercept, age",
        "Contrasts (1)": "a",
    }


def test_first_level_facts_and_warnings():
    s = summary("first")
    shown = dict(facts(s))
    assert shown["Runs"] == "2 (100 + 90 scans)" and shown["Repetition time"] == "2 s"
    assert shown["Drift model"] == "cosine, high-pass 0.01 Hz" and "Inputs (N)" not in shown
    assert shown["Runs combined by"] == "fixed effects, precision-weighted"
    s = dataclasses.replace(s, model=dataclasses.replace(s.model, space=None))
    atlases = [
        atlas_view(atlas(status="missing", message="not in cache")),
        atlas_view(atlas("aal", space_note="in another space")),
    ]
    found = warnings(s, [], atlases)
    assert found[0] == "Atlas 'harvard-oxford-cortical' not used: not in cache."
    assert found[1] == "Atlas 'aal': in another space"
    assert found[2].startswith("The data's template space is not recorded:")
    assert found[3] == "Design of run-2: an event ends after the run"


def test_texts():
    assert drift_text(Drift(model="polynomial", high_pass=None, order=2)) == "polynomial, order 2"
    assert drift_text(Drift(model="none", high_pass=0.01, order=None)) == "none"
    assert noise_text("ar1") == "AR(1)" and noise_text(None) == ""
    assert date_of("2025-11-22T15:31:12+00:00") == "22 November 2025" and date_of("x") == "x"
    many = [f"c{i}" for i in range(20)]
    assert (
        columns_text(many, many[5:])
        == "20 columns: c0, c1, c2, c3, c4; 15 of no interest (c5 \u2026 c19)"
    )
    assert atlas_view(atlas(licence="see https://x.org")).licence == "see x.org"
    assert model("maps").maps[0].stat == "t"


def test_provenance_has_no_local_path():
    view = provenance(summary(), Path("/somewhere/results"))
    assert view.results_dir == "results" and view.command == "glmreport run analysis.yaml"
    assert view.inputs.rows[0][:2] == ("data/sub-01.nii.gz", "0" * 64)
    assert view.versions == (("glmreport", "0.1.0"), ("numpy", "2.0"))


def _section(desc: str, n_voxels: int) -> CorrectionSection:
    return CorrectionSection(
        anchor=f"c1-{desc}",
        method="fdr",
        desc=desc,
        title=f"title {desc}",
        short=desc.upper(),
        alpha=0.05,
        two_sided=False,
        threshold_z=3.0,
        threshold_stat=3.2,
        threshold_scale="z and t",
        cluster_extent=0,
        n_voxels=n_voxels,
        n_clusters=1 if n_voxels else 0,
    )


def test_rows_legend_and_toc():
    contrast = ContrastSection(
        anchor="c1-a",
        name="a",
        label="a",
        stat_type="t",
        stat_label="t(12)",
        dof=12.0,
        df_num=1,
        weights=((1.0,),),
        columns=("x",),
        matrix=None,
        histogram=None,
        corrections=(_section("fdr", 5), _section("bonf", 0)),
    )
    rows = summary_rows([contrast])
    assert [(r.anchor, r.contrast_span, r.survives) for r in rows] == [
        ("c1-fdr", 2, True),
        ("c1-bonf", 0, False),
    ]
    assert legend([contrast]) == (("FDR", "title fdr"), ("BONF", "title bonf"))
    entries = toc([contrast])
    assert [e.anchor for e in entries] == [
        "summary",
        "methods",
        "design",
        "c1-a",
        "c1-fdr",
        "c1-bonf",
        "provenance",
    ]
    assert [e.badge for e in entries[3:6]] == ["t", "", "0"]
