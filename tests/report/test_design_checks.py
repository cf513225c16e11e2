"""The "Design checks" section: its view model from summary.json qc, and the rendered HTML."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import nibabel as nib
import numpy as np
from fixtures.summaries import summary

from glmreport.cli import main
from glmreport.outputs.summary import (
    DesignChecks,
    DesignCorrelation,
    InputCheck,
    MaskCoverage,
    PValues,
    QualityChecks,
)
from glmreport.report.design_checks import design_checks_view, with_checks_entry
from glmreport.report.model import TocEntry

CORRELATION = DesignCorrelation(
    columns=("intercept", "a", "b"),
    matrix=((None, None, None), (None, 1.0, 0.95), (None, 0.95, 1.0)),
    note="intercept: constant, no correlation (shown blank).",
)


def _qc(**changes) -> QualityChecks:
    base = QualityChecks(
        vif={"a": 10.256, "b": None},
        efficiency={"effect": 4.0, "other": None},
        correlation=CORRELATION,
        outliers=(
            InputCheck(input=0, leverage=0.5, measure=1.0, robust_z=0.2, flagged=False),
            InputCheck(input=1, leverage=0.5, measure=9.0, robust_z=6.1, flagged=True),
            InputCheck(input=2, leverage=0.5, measure=1.1, robust_z=-0.4, flagged=False),
        ),
        outlier_threshold=3.5,
        p_values={"effect": PValues(counts=(30, 10, 10, 10), pi0=0.8, n=60, sided="two-sided")},
        mask_coverage=MaskCoverage(
            template="MNI",
            fraction_covered=0.875,
            n_template_voxels=8,
            n_mask_voxels=10,
            n_outside=3,
            fraction_outside=0.3,
        ),
        notes=("A note.",),
    )
    return dataclasses.replace(base, **changes)


def test_view_of_the_checks():
    s = summary(qc=_qc())
    view = design_checks_view(s, dpi=60)
    (design,) = view.designs
    assert design.vif == (("a", "10.26", True), ("b", "\u221e", True))
    assert design.efficiency == (("effect", "4"), ("other", "not estimable"))
    assert design.correlation is not None and design.note.startswith("intercept")
    assert view.outliers is not None and view.flagged == ("input 2 (z = 6.10)",)
    assert view.pi0 == (("effect", "two-sided", "0.800"),) and view.p_values is not None
    assert dict(view.coverage)["Template brain inside the mask"] == "88%"
    assert dict(view.coverage)["Mask voxels outside the template brain"] == "3 (30%)"
    assert design_checks_view(summary(), dpi=60) is None  # a folder without checks
    toc = (
        TocEntry(anchor="design", title="Design", level=1),
        TocEntry(anchor="x", title="X", level=1),
    )
    assert [e.anchor for e in with_checks_entry(toc, view)] == ["design", "design-checks", "x"]
    assert with_checks_entry(toc, None) == toc


def test_first_level_runs_are_checked_one_by_one():
    run = DesignChecks(vif={"a": 1.2}, efficiency={"effect": 2.0}, correlation=CORRELATION)
    qc = _qc(
        vif={}, efficiency={}, correlation=None, outliers=(), runs={"run-1": run, "run-2": run}
    )
    view = design_checks_view(summary("first", qc=qc), dpi=60)
    assert [d.title for d in view.designs] == ["Run run-1", "Run run-2"]
    assert view.outliers is None and view.flagged == ()


def test_rendered_section(tmp_path: Path):
    rng = np.random.default_rng(2)
    rows = []
    for i in range(10):
        data = rng.standard_normal((8, 8, 8)).astype(np.float32) * (8.0 if i == 4 else 1.0)
        nib.save(nib.Nifti1Image(data, np.diag([3.0, 3.0, 3.0, 1.0])), tmp_path / f"s{i}.nii.gz")
        rows.append(f"s{i}.nii.gz\t{i % 2}\t{20 + i}")
    (tmp_path / "inputs.tsv").write_text("path\tg\tage\n" + "\n".join(rows) + "\n")
    (tmp_path / "analysis.yaml").write_text(
        "model: {inputs: inputs.tsv, space: null, design: {formula: '1 + age'}}\n"
        "contrasts: [{name: age, t: age}]\n"
        "corrections: [{method: fdr}]\n"
        "report: {formats: [html]}\n"
    )
    out = tmp_path / "results"
    assert main(["run", str(tmp_path / "analysis.yaml"), "--out", str(out), "-q"]) == 0
    html = (out / "report.html").read_text()
    section = html[html.index('<section id="design-checks"') :]
    section = section[: section.index("</section>")]
    assert section.count("<img") == 3  # correlation, inputs, p values
    assert re.search(r"<td>age</td><td class=\"k-num\">1</td>", section)
    assert "Flagged (|z| &gt; 3.5): s4.nii.gz" in section
    assert "Mask coverage: not checked" in section
    assert '<a href="#design-checks">Design checks</a>' in html
    assert "Inputs far from the group (design checks): s4.nii.gz" in html
