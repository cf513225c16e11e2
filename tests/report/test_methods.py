"""The methods text: model sentences, correction phrases with citations, the bibliography."""

from __future__ import annotations

import dataclasses

from fixtures.summaries import atlas, correction, model, summary

from glmreport.report.methods import (
    bibliography,
    method_phrase,
    methods,
    model_sentence,
    short_citation,
    weights_text,
)
from glmreport.report.overview import atlas_view


def test_model_sentences():
    assert model_sentence(model("second")) == (
        "A second-level (group) one-sample t-test was fitted by ordinary least squares to 14 "
        "images (design columns: intercept, age), leaving 12 residual degrees of freedom."
    )
    first = model_sentence(model("first"))
    assert first.startswith(
        "A first-level general linear model was fitted to each of the 2 runs (100 and 90 "
        "scans, repetition time 2 s) by generalised least squares with a first-order "
        "autoregressive (AR(1)) noise model (lag-1 autocorrelation)."
    )
    assert "cosine basis (high-pass cut-off 0.01 Hz)" in first
    assert "Runs were combined by fixed effects (precision-weighted)" in first


def test_correction_phrases_cite_their_sources():
    cited: list[str] = []
    assert "q = 0.05 (Benjamini\u2013Hochberg procedure; Benjamini" in method_phrase(
        correction("fdr"), cited
    )
    perm = correction(
        "permutation", "permClusterSize", params={"n_perm": 1000, "cluster_forming_p": 0.001}
    )
    text = method_phrase(perm, cited)
    assert (
        "(1\u2009000 permutations; FWE p < 0.05 from the distribution of the maximum cluster size"
        in text
    )
    assert "cluster-forming threshold of p < 0.001" in text
    rft = correction(
        "rft", "rftCluster", extras={"cluster_forming_p": 0.001, "resels": [1, 2, 30.5]}
    )
    assert method_phrase(rft, cited).startswith("cluster-level random field theory FWE control")
    assert "30.5 resels" in method_phrase(rft, cited)
    assert "(1 \u2212 \u03b1 = 0.95)" in method_phrase(correction("ari", "ari"), cited)
    assert method_phrase(correction("future", "future", title="New"), cited) == "New"
    assert cited == [
        "bh1995",
        "nichols2002",
        "winkler2014",
        "worsley1996",
        "rosenblatt2018",
        "goeman2011",
    ]


def test_methods_and_bibliography():
    s = summary(atlases=(atlas(),))
    sections = []  # methods reads the contrast sections for weights and thresholds
    paragraphs, cited = methods(
        dataclasses.replace(s, contrasts=()), sections, [atlas_view(s.atlases[0])]
    )
    assert paragraphs[0].startswith(
        "Statistical analyses were performed with glmreport 0.1.0 (Python 3.11.7, numpy 2.0)."
    )
    assert (
        "restricted to 1\u2009234 voxels (finite in every input) in MNI152NLin2009cAsym space "
        "at 2 \u00d7 2 \u00d7 2 mm" in paragraphs[0]
    )
    assert (
        "labelled with the Harvard-Oxford cortical atlas (Desikan et al., 2006)" in paragraphs[-1]
    )
    assert "26-connectivity; sub-peaks are at least 8 mm" in paragraphs[-1]
    references, bibtex = bibliography(cited, [atlas_view(s.atlases[0])])
    assert cited == ["fonov2011", "ciric2022"] and len(references) == 3
    assert "@misc{atlas_harvard_oxford_cortical," in bibtex and "doi = {10.1016" in bibtex


def test_small_texts():
    assert weights_text([1, -1, 0, 0.5], ["a", "b", "c", "d"]) == "a \u2212 b + 0.5\u00d7d"
    assert weights_text([-2], ["a"]) == "\u22122\u00d7a"
    assert short_citation("Smith SM, Nichols TE (2009) NeuroImage") == "Smith et al., 2009"
    assert short_citation("no year") == "no year"
