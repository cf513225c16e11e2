"""Correction entries: typed parameters, their one set of defaults, and their range checks.

The last test runs a small analysis and compares every ``params`` of its ``summary.json``
with the values the untyped parameters wrote before (captured from that version on the same
config): typing the parameters changed nothing in the results folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from glmreport.config.corrections import MAX_ARI_THRESHOLDS, is_probability
from glmreport.config.load import parse_config
from glmreport.config.specs import (
    PARAMS_CLASSES,
    AriParams,
    CorrectionSpec,
    PermutationParams,
    RftParams,
    ThresholdParams,
)
from glmreport.config.vocabulary import MAX_RESAMPLES, METHODS
from glmreport.errors import ConfigError

BASE = """\
model:
  inputs: inputs.tsv
contrasts:
  - {name: effect, t: intercept}
corrections:
"""


def _entries(*lines: str) -> tuple[CorrectionSpec, ...]:
    text = BASE + "".join(f"  - {line}\n" for line in lines)
    return parse_config(text, base_dir=Path(".")).corrections


def test_every_method_has_a_params_class():
    assert set(PARAMS_CLASSES) == set(METHODS)
    for method in METHODS:
        spec = CorrectionSpec(method=method)
        assert type(spec.params) is PARAMS_CLASSES[method]


def test_defaults_come_from_the_params_classes():
    unc, fdr, perm, ari, rft = _entries(
        "{method: uncorrected}",
        "{method: fdr}",
        "{method: permutation}",
        "{method: ari}",
        "{method: rft}",
    )
    assert (unc.alpha, fdr.alpha, perm.alpha) == (0.001, 0.05, 0.05)
    assert unc.params == fdr.params == ThresholdParams()
    assert perm.params == PermutationParams()
    assert ari.params == AriParams() and ari.params.thresholds == (2.5, 3.5, 4.5)
    assert rft.params == RftParams() and rft.params.cluster_forming_p == 0.001


def test_to_dict_gives_the_recorded_params():
    assert ThresholdParams().to_dict() == {}
    assert PermutationParams().to_dict() == {
        "n_perm": 10000,
        "seed": 0,
        "cluster_forming_p": None,
        "tfce": False,
        "blocks": None,
        "tfce_E": 0.5,
        "tfce_H": 2.0,
        "tfce_dh": "auto",
    }
    assert list(PermutationParams().to_dict()) == [
        "n_perm",
        "seed",
        "cluster_forming_p",
        "tfce",
        "blocks",
        "tfce_E",
        "tfce_H",
        "tfce_dh",
    ]
    assert AriParams(thresholds=(4, 3.5, 4.0)).to_dict() == {"thresholds": [3.5, 4.0]}
    assert RftParams().to_dict() == {"cluster_forming_p": 0.001, "fwhm_mm": None}
    assert RftParams(fwhm_mm=(6, 7, 8)).to_dict()["fwhm_mm"] == [6.0, 7.0, 8.0]


def test_explicit_values():
    perm, ari, rft = _entries(
        "{method: permutation, n_perm: 500, seed: 2, cluster_forming_p: 0.01, tfce: true,"
        " blocks: site, tfce_E: 1, tfce_H: 3, tfce_dh: 0.1}",
        "{method: ari, thresholds: 3.1}",
        "{method: rft, fwhm_mm: 6, cluster_forming_p: 0.01}",
    )
    assert perm.params == PermutationParams(
        n_perm=500,
        seed=2,
        cluster_forming_p=0.01,
        tfce=True,
        blocks="site",
        tfce_E=1.0,
        tfce_H=3.0,
        tfce_dh=0.1,
    )
    assert perm.routes() == ("permMaxT", "permClusterSize", "permClusterMass", "permTFCE")
    assert ari.params.thresholds == (3.1,)
    assert rft.params == RftParams(cluster_forming_p=0.01, fwhm_mm=(6.0, 6.0, 6.0))


@pytest.mark.parametrize(
    ("entry", "path", "fragment"),
    [
        ("{method: fdr, alpha: 0}", "corrections[0].alpha", "> 0"),
        ("{method: fdr, alpha: 1}", "corrections[0].alpha", "< 1"),
        ("{method: fdr, alpha: .nan}", "corrections[0].alpha", "finite"),
        ("{method: fdr, cluster_extent: -1}", "corrections[0].cluster_extent", ">= 0"),
        ("{method: rft, cluster_forming_p: 1.0}", "corrections[0].cluster_forming_p", "< 1"),
        ("{method: rft, fwhm_mm: [1, 2]}", "corrections[0].fwhm_mm", "three"),
        ("{method: rft, fwhm_mm: -2}", "corrections[0].fwhm_mm", "> 0"),
        ("{method: permutation, n_perm: 0}", "corrections[0].n_perm", ">= 1"),
        (
            f"{{method: permutation, n_perm: {MAX_RESAMPLES + 1}}}",
            "corrections[0].n_perm",
            "at most 1,000,000",
        ),
        ("{method: permutation, seed: -1}", "corrections[0].seed", ">= 0"),
        ("{method: permutation, tfce_dh: 0}", "corrections[0].tfce_dh", "> 0"),
        ("{method: permutation, tfce: 1}", "corrections[0].tfce", "true or false"),
        ("{method: permutation, n_prem: 5}", "corrections[0].n_prem", "Did you mean 'n_perm'"),
        ("{method: ari, thresholds: []}", "corrections[0].thresholds", "at least one"),
        ("{method: ari, thresholds: [x]}", "corrections[0].thresholds[0]", "a number"),
        ("{method: ari, thresholds: [-1.0]}", "corrections[0].thresholds[0]", "> 0"),
        ("{method: ari, thresholds: [.inf]}", "corrections[0].thresholds[0]", "finite"),
        (
            "{method: ari, thresholds: [" + ", ".join(["3"] * (MAX_ARI_THRESHOLDS + 1)) + "]}",
            "corrections[0].thresholds",
            f"at most {MAX_ARI_THRESHOLDS}",
        ),
        ("{method: ari, cluster_extent: 5}", "corrections[0].cluster_extent", "unknown key"),
    ],
)
def test_ranges_are_checked_once_here(entry, path, fragment):
    with pytest.raises(ConfigError, match=fragment) as info:
        _entries(entry)
    assert info.value.path == path


@pytest.mark.parametrize("value", [0.0, 1.0, -1e-9, 1.0 + 1e-9, float("nan")])
def test_is_probability_refuses(value):
    assert not is_probability(value)


def test_params_must_match_the_method():
    with pytest.raises(TypeError, match="takes PermutationParams, not dict"):
        CorrectionSpec(method="permutation", params={"n_perm": 5})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes RftParams, not AriParams"):
        CorrectionSpec(method="rft", params=AriParams())
    spec = CorrectionSpec(method="permutation", params=PermutationParams(cluster_forming_p=0.01))
    assert spec.routes() == ("permMaxT", "permClusterSize", "permClusterMass")
    assert hash(spec) == hash(CorrectionSpec(method="permutation", params=spec.params))


# --------------------------------------------------------------------------------------------
# summary.json params: the same as before the parameters were typed

CONFIG = """\
title: params
model: {level: second, inputs: inputs.tsv, design: one-sample, covariates: [age], mask: auto,
        space: null}
contrasts:
  - {name: button press, t: intercept}
  - {name: effects of interest, F: [intercept, age]}
corrections:
  - {method: uncorrected, alpha: 0.001, cluster_extent: 10}
  - {method: fdr, alpha: 0.05}
  - {method: bonferroni, alpha: 0.05, two_sided: false}
  - {method: permutation, n_perm: 20, seed: 3, cluster_forming_p: 0.01, tfce: true,
     blocks: subject, tfce_dh: 0.2}
  - {method: permutation, n_perm: 10, desc: permB}
  - {method: ari}
  - {method: ari, thresholds: [3, 3, 2.5], desc: ariB}
  - {method: rft}
  - {method: rft, fwhm_mm: 8, cluster_forming_p: 0.01, desc: rftB}
two_sided: true
"""

_PERM = {
    "n_perm": 20,
    "seed": 3,
    "cluster_forming_p": 0.01,
    "tfce": True,
    "blocks": "subject",
    "tfce_E": 0.5,
    "tfce_H": 2.0,
    "tfce_dh": 0.2,
}
_PERM_B = {
    "n_perm": 10,
    "seed": 0,
    "cluster_forming_p": None,
    "tfce": False,
    "blocks": None,
    "tfce_E": 0.5,
    "tfce_H": 2.0,
    "tfce_dh": "auto",
}
_RFT = {"cluster_forming_p": 0.001, "fwhm_mm": None}
_RFT_B = {"cluster_forming_p": 0.01, "fwhm_mm": [8.0, 8.0, 8.0]}
#: ``params`` of every result of CONFIG as the untyped version wrote them.
_T_PARAMS = {
    "uncorrected": {},
    "fdr": {},
    "bonferroni": {},
    "permMaxT": _PERM,
    "permClusterSize": _PERM,
    "permClusterMass": _PERM,
    "permTFCE": _PERM,
    "permBMaxT": _PERM_B,
    "ari": {"thresholds": [2.5, 3.5, 4.5]},
    "ariB": {"thresholds": [2.5, 3.0]},
    "rft": _RFT,
    "rftCluster": _RFT,
    "rftB": _RFT_B,
    "rftBCluster": _RFT_B,
}
_NOTE = {"two_sided_ignored": "F contrast"}
BEFORE = {
    **{f"button press/{desc}": params for desc, params in _T_PARAMS.items()},
    **{
        f"effects of interest/{desc}": params if desc == "bonferroni" else {**params, **_NOTE}
        for desc, params in _T_PARAMS.items()
    },
}


def _dataset(folder: Path) -> None:
    rng = np.random.default_rng(0)
    (folder / "maps").mkdir()
    rows = []
    for i in range(8):
        vol = ndimage.gaussian_filter(rng.standard_normal((12, 12, 12)), 1.0) * 3
        vol[4:8, 4:8, 4:8] += 2.0
        name = f"maps/sub-{i:02d}.nii.gz"
        nib.save(nib.Nifti1Image(vol.astype(np.float32), np.diag([3, 3, 3, 1.0])), folder / name)
        rows.append({"path": name, "subject": f"{i:02d}", "age": 20 + 3 * i})
    pd.DataFrame(rows).to_csv(folder / "inputs.tsv", sep="\t", index=False)


def test_summary_params_are_unchanged(tmp_path: Path):
    from glmreport.pipeline.run import run

    _dataset(tmp_path)
    config = parse_config(CONFIG, base_dir=tmp_path)
    out = run(config, out=tmp_path / "results", formats=())
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    params = {
        f"{c['name']}/{corr['desc']}": corr["params"]
        for c in summary["contrasts"]
        for corr in c["corrections"]
    }
    assert params == BEFORE
    # key order too (a JSON reader may show them in this order)
    for key, value in BEFORE.items():
        assert list(params[key]) == list(value), key
