"""The non-sphericity table and methods paragraph, from the typed summary."""

from __future__ import annotations

import dataclasses

from fixtures.summaries import model, summary

from glmreport.outputs.summary import NonSphericityInfo, SecondLevelModel, summary_from_json
from glmreport.outputs.summary_io import summary_to_json
from glmreport.report.methods import cite
from glmreport.report.nonsphericity import nonsphericity_paragraph, nonsphericity_view


def info(**changes) -> NonSphericityInfo:
    base = NonSphericityInfo(
        levels=("a_x", "a_y", "b_x", "b_y"),
        covariance=tuple(tuple(1.0 if i == j else 0.25 for j in range(4)) for i in range(4)),
        epsilon_gg=0.81234,
        epsilon_by_effect={"A": 1.0, "B": 1.0, "A x B": 1.0},
        dof=45.0,
        n_voxels_pooled=2345,
        selection="omnibus F p<0.001",
        iterations=5,
        converged=True,
        hyperparameters={"var(a_x)": 1.0},
    )
    return dataclasses.replace(base, **changes)


def with_info(item: NonSphericityInfo | None):
    second = SecondLevelModel(rank=20, nonsphericity=item)
    return summary(model=model(second=second, noise_model="nonsphericity"))


def test_the_view_formats_the_estimate():
    view = nonsphericity_view(with_info(info()))
    assert view.levels == ("a_x", "a_y", "b_x", "b_y")
    assert view.covariance[0] == ("1", "0.25", "0.25", "0.25")
    assert view.epsilons == (
        ("all cells", "0.812"),
        ("A", "1.000"),
        ("B", "1.000"),
        ("A x B", "1.000"),
    )
    facts = dict(view.facts)
    assert facts["Residual dof (whitened model)"] == "45"
    assert (
        "2\u2009345 voxels whose omnibus F" in facts["Voxels pooled"]
        and "0.001" in facts["Voxels pooled"]
    )
    assert facts["Passes"] == "5, converged"
    assert nonsphericity_view(summary()) is None


def test_the_paragraph_says_how_the_voxels_were_chosen_and_cites():
    cited: list[str] = []
    text = nonsphericity_paragraph(with_info(info()), lambda *k: cite(cited, *k))
    assert "the 2\u2009345 voxels whose omnibus F test" in text
    assert "(5 passes)" in text and "45 residual degrees of freedom" in text
    assert "0.812 over all cells (A 1.000; B 1.000; A x B 1.000)" in text
    assert cited == ["friston2002", "glaser2007", "greenhouse1959"]
    fallback = info(selection="all in-mask voxels", n_voxels_pooled=800, converged=False)
    text = nonsphericity_paragraph(with_info(fallback), lambda *k: cite([], *k))
    assert "all 800 in-mask voxels (fewer than 1\u2009000 voxels passed" in text
    assert "not converged" in text
    assert nonsphericity_paragraph(summary(), lambda *k: "") is None


def test_the_estimate_round_trips_and_old_summaries_read_without_it():
    typed = with_info(info())
    data = summary_to_json(typed)
    assert data["model"]["second"]["nonsphericity"]["epsilon_by_effect"]["A x B"] == 1.0
    assert summary_from_json(data, file="s.json") == typed
    plain = summary_to_json(summary())
    assert "nonsphericity" not in plain["model"]["second"]
    assert summary_from_json(plain, file="s.json").model.second.nonsphericity is None
