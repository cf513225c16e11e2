"""Methods sentences of conjunctions, small volumes and cluster index maps."""

from __future__ import annotations

from fixtures.summaries import contrast, correction, summary

from glmreport.report.methods import cite
from glmreport.report.methods_notes import (
    cluster_map_sentence,
    conjunction_sentence,
    statistic_phrase,
    svc_phrase,
)


def citer(cited: list[str]):
    return lambda *keys: cite(cited, *keys)


def test_conjunctions_name_their_components_and_the_null():
    cited: list[str] = []
    both = contrast(name="both", conjunction=("a", "b", "c"))
    text = conjunction_sentence(summary(contrasts=(contrast(), both)), citer(cited))
    assert text.startswith(
        "Conjunction: \u201cboth\u201d joins \u201ca\u201d, \u201cb\u201d and \u201cc\u201d."
    )
    assert "conjunction null hypothesis" in text and "Nichols et al., 2005" in text
    assert cited == ["nichols2005"]
    assert conjunction_sentence(summary(), citer([])) is None


def test_small_volume_phrases_say_where_the_threshold_comes_from():
    cited: list[str] = []
    extras = {"svc_region": "sphere of radius 8 mm at (0, 0, 0) mm", "svc_voxels": 123}
    rft = correction(
        "rft",
        "rftSVC",
        extras={
            **extras,
            "svc_smoothness": "estimated from the residuals of the whole analysis mask",
        },
    )
    text = svc_phrase(rft, citer(cited))
    assert text == (
        "; small-volume correction within a sphere of radius 8 mm at (0, 0, 0) mm, 123 voxels: "
        "resel counts of the region with the smoothness estimated over the whole analysis mask "
        "(as SPM) (Worsley et al., 1996)"
    )
    perm = correction("permutation", "permMaxTSVC", extras=extras)
    assert svc_phrase(perm, citer(cited)).endswith(
        "the maxima of the null distributions taken inside the region"
    )
    assert svc_phrase(correction(), citer(cited)) == ""
    assert statistic_phrase(correction(extras={"statistic": "OLS"})) == "; statistic: OLS"
    assert statistic_phrase(correction()) == ""


def test_cluster_maps_are_mentioned_when_written():
    assert cluster_map_sentence(summary()) is None
    listed = contrast(
        correction(cluster_map="maps/contrast-a_stat-clusterIndex_desc-fdr_statmap.nii.gz")
    )
    assert "cluster index map" in cluster_map_sentence(summary(contrasts=(listed,)))
