"""Non-sphericity, conjunctions, small volumes and cluster index maps through a whole run:
results folder, summary contract and report."""

from __future__ import annotations

import json

import pytest
from fixtures.within_subject import config_text, write_within_subject

from glmreport.cli import main
from glmreport.outputs.summary import read_summary, summary_schema
from glmreport.report.build import build_report_model

CORRECTIONS = (
    "[{method: uncorrected, alpha: 0.01},"
    " {method: rft, contrasts: [a minus c, c over a, both], fwhm_mm: 4,"
    " svc: {sphere: {center_mm: [10, 10, 8], radius_mm: 6}}},"
    " {method: permutation, contrasts: [a minus c], n_perm: 50, seed: 2}]"
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("features")
    write_within_subject(root, (10, 10, 8), seed=1)
    text = (
        config_text(nonsphericity=True, corrections=CORRECTIONS)
        .replace(
            "  - {name: a minus c, t: 'a - c'}\n",
            "  - {name: a minus c, t: 'a - c'}\n"
            "  - {name: c over a, t: 'c - a'}\n"
            "  - {name: b over a, t: 'b - a'}\n"
            "  - {name: both, conjunction: [c over a, b over a]}\n",
        )
        .replace("report: {formats: []}", "report: {formats: [html]}")
    )
    (root / "analysis.yaml").write_text(text)
    out = root / "results"
    assert main(["run", str(root / "analysis.yaml"), "--out", str(out), "-q"]) == 0
    return out


def test_the_summary_records_the_estimate(results):
    summary = read_summary(results)
    assert summary.model.noise_model == "nonsphericity"
    info = summary.model.second.nonsphericity
    assert info.levels == ("a", "b", "c") and len(info.covariance) == 3
    assert info.selection == "all in-mask voxels" and info.n_voxels_pooled == 800
    assert info.dof == pytest.approx(30.0) == summary.model.dof
    assert 0.5 <= info.epsilon_gg <= 1.0 and info.epsilon_by_effect == {}
    assert set(info.hyperparameters) >= {"var(a)", "var(b)", "var(c)", "cov(a,b)"}
    raw = json.loads((results / "summary.json").read_text())
    assert raw["model"]["second"]["nonsphericity"]["levels"] == ["a", "b", "c"]
    assert "nonsphericity" in json.dumps(summary_schema())


def test_permutation_uses_the_ols_statistic(results):
    summary = read_summary(results)
    contrast = next(c for c in summary.contrasts if c.name == "a minus c")
    perm = next(k for k in contrast.corrections if k.method == "permutation")
    assert "ordinary least-squares" in perm.extras["statistic"]
    assert perm.cluster_map is not None
    assert not any(
        k.method == "permutation" for c in summary.contrasts if c.conjunction for k in c.corrections
    )


def test_the_report_shows_every_feature(results):
    model = build_report_model(results)
    assert model.nonsphericity is not None
    assert model.nonsphericity.levels == ("a", "b", "c")
    assert model.nonsphericity.epsilons[0][0] == "all cells"
    methods = " ".join(model.methods)
    for text in (
        "Non-sphericity correction",
        "Friston et al., 2002",
        "Greenhouse & Geisser, 1959",
        "Nichols et al., 2005",
        "conjunction null",
        "small-volume correction within a sphere of radius 6 mm at (10, 10, 8) mm",
        "cluster index map",
    ):
        assert text in methods, text
    both = next(c for c in model.contrasts if c.name == "both")
    assert both.conjunction == ("c over a", "b over a")
    shorts = {k.short for c in model.contrasts for k in c.corrections}
    assert {"RFT voxel SVC", "RFT cluster SVC"} <= shorts
    files = [what for c in model.contrasts for k in c.corrections for what, _ in k.files]
    assert "cluster index map" in files
    html = (results / "report.html").read_text()
    assert "Non-sphericity</h3>" in html and "Greenhouse&ndash;Geisser" in html
    assert "Conjunction of &ldquo;c over a&rdquo; and &ldquo;b over a&rdquo;" in html
    assert "Small volume</dt>" in html and "stat-clusterIndex" in html
