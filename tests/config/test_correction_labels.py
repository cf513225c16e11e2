"""Distinct labels (``desc``) for correction entries: glmreport.config.correction_labels.

Every entry writes its own maps and tables, so two entries of one method get their own label;
explicit labels are checked; a repeated entry is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from glmreport.config.correction_labels import MAX_DERIVED, MAX_LABEL, check_label
from glmreport.config.load import parse_config
from glmreport.errors import ConfigError

BASE = """\
model:
  inputs: inputs.tsv
contrasts:
  - {name: effect, t: intercept}
"""


def parse(text: str, base: Path = Path("/data")):
    return parse_config(text, base_dir=base)


TWO = BASE + "  - {name: other, t: intercept}\ncorrections:\n"


@pytest.mark.parametrize(
    ("entries", "descs"),
    [
        # a method that appears once keeps its default label
        (["{method: fdr}", "{method: rft}", "{method: permutation}"], ["fdr", "rft", "perm"]),
        # entries of one method: the parameters that differ, in a fixed order
        (
            ["{method: uncorrected, alpha: 0.001}", "{method: uncorrected, alpha: 0.01}"],
            ["uncorrectedP001", "uncorrectedP01"],
        ),
        (["{method: fdr}", "{method: fdr, two_sided: true}"], ["fdrOneSided", "fdrTwoSided"]),
        (
            ["{method: fdr, alpha: 0.1, two_sided: true}", "{method: fdr}"],
            ["fdrQ1TwoSided", "fdrQ05OneSided"],
        ),
        (
            ["{method: bonferroni}", "{method: bonferroni, cluster_extent: 10}"],
            ["bonferroniK0", "bonferroniK10"],
        ),
        (["{method: permutation}", "{method: permutation, seed: 7}"], ["permSeed0", "permSeed7"]),
        (
            ["{method: rft, fwhm_mm: 8}", "{method: rft, fwhm_mm: [6, 6, 7.5]}"],
            ["rftFwhm8", "rftFwhm6x6x7p5"],
        ),
        # same parameters on different contrasts: numbered
        (
            ["{method: fdr, contrasts: [effect]}", "{method: fdr, contrasts: [other]}"],
            ["fdr1", "fdr2"],
        ),
        # an explicit label is kept; the other entry of the method is then alone
        (["{method: fdr, desc: strict, alpha: 0.01}", "{method: fdr}"], ["strict", "fdr"]),
    ],
)
def test_correction_labels(entries, descs):
    cfg = parse(TWO + "".join(f"  - {e}\n" for e in entries))
    assert [c.desc for c in cfg.corrections] == descs
    assert [c.method for c in cfg.corrections] == [yaml.safe_load(e)["method"] for e in entries]


def test_route_labels_follow_the_entry_label():
    cfg = parse(
        TWO
        + "  - {method: permutation, desc: main, cluster_forming_p: 0.001, tfce: true}\n"
        + "  - {method: rft, desc: spm}\n"
    )
    perm, rft = cfg.corrections
    assert [perm.result_desc(r) for r in perm.routes()] == [
        "mainMaxT",
        "mainClusterSize",
        "mainClusterMass",
        "mainTFCE",
    ]
    assert [rft.result_desc(r) for r in rft.routes()] == ["spm", "spmCluster"]
    default = parse(BASE).corrections[0]
    assert default.desc == "uncorrected"


@pytest.mark.parametrize(
    ("entries", "path", "fragment"),
    [
        (["{method: fdr, desc: 'q 05'}"], "corrections[0].desc", "letters and digits only"),
        (["{method: fdr, desc: fdr_strict}"], "corrections[0].desc", "letters and digits only"),
        (["{method: fdr, desc: 5}"], "corrections[0].desc", "got int (5)"),
        (["{method: fdr, desc: " + "a" * 25 + "}"], "corrections[0].desc", "at most 24"),
        (
            ["{method: fdr, desc: same}", "{method: bonferroni, desc: same}"],
            "corrections[1].desc",
            "labelled 'same', the same as those of corrections[0]",
        ),
        (
            ["{method: fdr, desc: Same}", "{method: bonferroni, desc: sAME}"],
            "corrections[1].desc",
            "ignoring case",
        ),
        # an explicit label that takes a default one: the explicit entry is named
        (
            ["{method: uncorrected, desc: fdr}", "{method: fdr}"],
            "corrections[0].desc",
            "the same as those of corrections[1]",
        ),
        # a route of another entry
        (
            ["{method: rft}", "{method: fdr, desc: rftCluster}"],
            "corrections[1].desc",
            "labelled 'rftCluster'",
        ),
        (
            ["{method: fdr}", "{method: bonferroni}", "{method: fdr}"],
            "corrections[2]",
            "repeats corrections[0] (same method and parameters)",
        ),
        (
            ["{method: fdr, desc: a}", "{method: fdr, desc: b}"],
            "corrections[1]",
            "repeats corrections[0]",
        ),
        (
            ["{method: fdr, contrasts: [other]}", "{method: fdr, contrasts: [effect, other]}"],
            "corrections[1]",
            "repeats corrections[0] (same method and parameters on 'other')",
        ),
    ],
)
def test_bad_correction_labels(entries, path, fragment):
    with pytest.raises(ConfigError) as info:
        parse(TWO + "".join(f"  - {e}\n" for e in entries))
    assert info.value.path == path
    assert fragment in str(info.value)


def test_check_label_directly():
    assert check_label("a" * MAX_LABEL, "x.desc") == "a" * MAX_LABEL
    with pytest.raises(ConfigError, match=r"^x\.desc: expected a label") as info:
        check_label("a" * (MAX_LABEL + 1), "x.desc")
    assert info.value.path == "x.desc"


def test_long_derived_labels_are_numbered():
    # alpha, cluster extent and sidedness all differ: "uncorrectedP0000001K100001TwoSided"
    # would exceed MAX_DERIVED characters, so the entries are numbered in config order
    entries = [
        f"{{method: uncorrected, alpha: 0.000000{k}, cluster_extent: {100000 + k}, "
        f"two_sided: {'true' if k % 2 else 'false'}}}"
        for k in range(1, 4)
    ]
    cfg = parse(TWO + "".join(f"  - {e}\n" for e in entries))
    assert [c.desc for c in cfg.corrections] == ["uncorrected1", "uncorrected2", "uncorrected3"]
    assert len("uncorrectedP0000001K100001TwoSided") > MAX_DERIVED
