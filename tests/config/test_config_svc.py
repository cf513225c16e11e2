"""``svc`` of rft and permutation entries, their labels, and the methods of conjunctions."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmreport.config.load import parse_config
from glmreport.config.specs import SvcSpec
from glmreport.config.svc import MAX_SVC_RADIUS_MM, parse_svc
from glmreport.errors import ConfigError

BASE = Path("/study")
MODEL = "model: {inputs: in.tsv}\ncontrasts: [{name: c, t: intercept}]\n"


def test_a_mask_or_a_sphere():
    mask = parse_svc({"mask": "rois/amygdala.nii.gz"}, "corrections[0].svc", BASE)
    assert mask.mask == BASE / "rois/amygdala.nii.gz" and mask.center_mm is None
    assert mask.to_dict() == {"mask": str(BASE / "rois/amygdala.nii.gz")}
    assert mask.describe() == "mask amygdala.nii.gz" and mask.where == "corrections[0].svc"
    sphere = parse_svc({"sphere": {"center_mm": [0, -52, 26.5], "radius_mm": 10}}, "x", BASE)
    assert sphere.center_mm == (0.0, -52.0, 26.5) and sphere.radius_mm == 10.0
    assert sphere.to_dict() == {"sphere": {"center_mm": [0.0, -52.0, 26.5], "radius_mm": 10.0}}
    assert sphere.describe() == "sphere of radius 10 mm at (0, -52, 26.5) mm"
    with pytest.raises(TypeError):
        SvcSpec()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({}, "exactly one of 'mask'"),
        ({"mask": "a.nii", "sphere": {}}, "exactly one of 'mask'"),
        ({"cube": 3}, "unknown key"),
        ({"sphere": {"center_mm": [0, 0], "radius_mm": 4}}, r"sphere\.center_mm: expected three"),
        ({"sphere": {"center_mm": [0, 0, 0]}}, "radius_mm"),
        ({"sphere": {"center_mm": [0, 0, 0], "radius_mm": -1}}, r"radius_mm: expected a number >"),
        (
            {"sphere": {"center_mm": [0, 0, 0], "radius_mm": MAX_SVC_RADIUS_MM + 1}},
            "expected a number <=",
        ),
        ({"sphere": {"center_mm": [0, "x", 0], "radius_mm": 4}}, r"center_mm\[1\]"),
        ("roi.nii", "expected a mapping"),
    ],
)
def test_bad_small_volumes_name_the_key(value, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_svc(value, "corrections[2].svc", BASE)
    assert "corrections[2].svc" in str(info.value)


def test_svc_entries_yield_small_volume_results_only():
    config = parse_config(
        MODEL + "corrections:\n"
        "  - {method: rft}\n"
        "  - {method: rft, svc: {mask: amygdala.nii.gz}}\n"
        "  - {method: rft, svc: {mask: hippocampus.nii.gz}}\n"
        "  - {method: permutation, cluster_forming_p: 0.01, svc: {sphere: "
        "{center_mm: [0, 0, 0], radius_mm: 8}}}\n",
        base_dir=BASE,
    )
    names = [[s.result_desc(r) for r in s.routes()] for s in config.corrections]
    assert names == [
        ["rft", "rftCluster"],
        ["rftAmygdalaSVC", "rftAmygdalaClusterSVC"],
        ["rftHippocampusSVC", "rftHippocampusClusterSVC"],
        ["permMaxTSVC", "permClusterSizeSVC", "permClusterMassSVC"],
    ]
    assert [s.routes() for s in config.corrections][1] == ("rftSVC", "rftClusterSVC")
    assert config.corrections[1].svc.mask == BASE / "amygdala.nii.gz"
    assert config.corrections[0].svc is None
    assert config.corrections[1].params.to_dict()["svc"] == {"mask": str(BASE / "amygdala.nii.gz")}
    assert "svc" not in config.corrections[0].params.to_dict()


def test_the_same_region_twice_is_a_repeat():
    with pytest.raises(ConfigError, match=r"corrections\[1\]: repeats corrections\[0\]"):
        parse_config(
            MODEL
            + "corrections: [{method: rft, svc: {mask: a.nii}}, {method: rft, svc: {mask: a.nii}}]",
            base_dir=BASE,
        )


def test_svc_is_refused_where_the_method_has_none():
    with pytest.raises(ConfigError, match=r"corrections\[0\]\.svc: unknown key"):
        parse_config(MODEL + "corrections: [{method: fdr, svc: {mask: a.nii}}]", base_dir=BASE)


CONJ = (
    "model: {inputs: in.tsv}\n"
    "contrasts: [{name: a, t: x}, {name: b, t: y}, {name: both, conjunction: [a, b]}]\n"
)


def test_conjunctions_take_the_methods_with_a_valid_test():
    config = parse_config(
        CONJ + "corrections: [{method: uncorrected}, {method: fdr}, {method: bonferroni},"
        " {method: rft}, {method: permutation, contrasts: [a, b]}, {method: ari, contrasts: [a]}]",
        base_dir=BASE,
    )
    assert len(config.corrections) == 6
    for method in ("permutation", "ari"):
        with pytest.raises(ConfigError, match=r"corrections\[0\]: .*every contrast, including"):
            parse_config(CONJ + f"corrections: [{{method: {method}}}]", base_dir=BASE)
        with pytest.raises(ConfigError, match=r"corrections\[0\]\.contrasts: .* names the conj"):
            parse_config(
                CONJ + f"corrections: [{{method: {method}, contrasts: [a, both]}}]", base_dir=BASE
            )
