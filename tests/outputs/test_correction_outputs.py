"""One output per correction entry: entries of one method get their own desc and files.

Two entries of the same method on one contrast (uncorrected at .001 and .01, FDR one- and
two-sided ...) used to write the same paths, so the summary's counts described a map that
another entry had overwritten. Every test here runs the real pipeline on small synthetic maps.
"""

from __future__ import annotations

import json
import re
from html import escape as html_escape
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from glmreport.cli import main
from glmreport.outputs.layout import Entities, arrays_name, map_name, table_name
from glmreport.report.build import build_report_model
from glmreport.report.render import render_html

SHAPE = (12, 12, 12)
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
AFFINE[:3, 3] = -18.0
N_SUBJECTS = 16

HEADER = """\
title: correction outputs
model:
  inputs: inputs.tsv
  design: one-sample
contrasts:
  - {name: effect, t: intercept}
report: {formats: []}
corrections:
"""

#: method -> (two entries differing in a parameter, their expected labels, result routes)
PAIRS = {
    "uncorrected": (
        ["{method: uncorrected, alpha: 0.001}", "{method: uncorrected, alpha: 0.01}"],
        ["uncorrectedP001", "uncorrectedP01"],
        [""],
    ),
    "fdr": (
        ["{method: fdr, alpha: 0.05}", "{method: fdr, alpha: 0.05, two_sided: true}"],
        ["fdrOneSided", "fdrTwoSided"],
        [""],
    ),
    "bonferroni": (
        [
            "{method: bonferroni, alpha: 0.05}",
            "{method: bonferroni, alpha: 0.05, cluster_extent: 8}",
        ],
        ["bonferroniK0", "bonferroniK8"],
        [""],
    ),
    "permutation": (
        [
            "{method: permutation, n_perm: 200, seed: 1, alpha: 0.05, cluster_forming_p: 0.001, "
            "tfce: true}",
            "{method: permutation, n_perm: 200, seed: 1, alpha: 0.3, cluster_forming_p: 0.001, "
            "tfce: true}",
        ],
        ["permP05", "permP3"],
        ["MaxT", "ClusterSize", "ClusterMass", "TFCE"],
    ),
    "ari": (
        ["{method: ari, thresholds: [2.5, 3.5]}", "{method: ari, thresholds: [3.5]}"],
        ["ariZ2p5x3p5", "ariZ3p5"],
        [""],
    ),
    "rft": (
        [
            "{method: rft, alpha: 0.05, cluster_forming_p: 0.001}",
            "{method: rft, alpha: 0.3, cluster_forming_p: 0.01}",
        ],
        ["rftP05Cfp001", "rftP3Cfp01"],
        ["", "Cluster"],
    ),
}


def write_dataset(folder: Path, seed: int = 0) -> None:
    """16 smooth noise maps with a positive and a negative blob, and the inputs table."""
    rng = np.random.default_rng(seed)
    ii, jj, kk = np.indices(SHAPE)
    pos = np.exp(-((ii - 3.5) ** 2 + (jj - 4) ** 2 + (kk - 5) ** 2) / 10.0)
    neg = np.exp(-((ii - 8.5) ** 2 + (jj - 8) ** 2 + (kk - 6) ** 2) / 10.0)
    rows = []
    for s in range(N_SUBJECTS):
        noise = ndimage.gaussian_filter(rng.standard_normal(SHAPE), 0.8, mode="wrap")
        data = 1.6 * pos - 1.3 * neg + noise / noise.std()
        path = folder / f"sub-{s + 1:02d}.nii.gz"
        nib.save(nib.Nifti1Image(data.astype(np.float32), AFFINE), path)
        rows.append({"path": path.name, "subject": f"{s + 1:02d}"})
    pd.DataFrame(rows).to_csv(folder / "inputs.tsv", sep="\t", index=False)


def run(folder: Path, entries: list[str], out: str = "results") -> dict:
    """Run the one-sample analysis of ``folder`` with these correction entries."""
    config = folder / "analysis.yaml"
    config.write_text(HEADER + "".join(f"  - {e}\n" for e in entries))
    assert main(["run", str(config), "--out", str(folder / out), "--quiet"]) == 0
    return json.loads((folder / out / "summary.json").read_text())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pairs")
    write_dataset(folder)
    return folder


@pytest.fixture(scope="module")
def pairs(data_dir: Path) -> dict:
    """Every method twice, all in one config, run twice (for determinism)."""
    entries = [e for two, _, _ in PAIRS.values() for e in two]
    first = run(data_dir, entries, "first")
    second = run(data_dir, entries, "second")
    return {"first": first, "second": second, "folder": data_dir}


def _entities(summary: dict) -> Entities:
    """The entities of this study's names: its template space only (inputs differ in sub)."""
    return Entities(space=summary["model"]["space"])


def _entries(summary: dict) -> dict[str, dict]:
    corrections = summary["contrasts"][0]["corrections"]
    descs = [c["desc"] for c in corrections]
    assert len(set(descs)) == len(descs), descs
    return {c["desc"]: c for c in corrections}


def _files(entry: dict) -> list[str]:
    files = [entry["map"], entry["clusters_table"], entry["peaks_table"], entry["arrays"]]
    return [f for f in files + list(entry["maps"].values()) if f]


@pytest.mark.parametrize("method", list(PAIRS))
def test_two_entries_of_one_method_write_their_own_outputs(pairs, method):
    folder = pairs["folder"] / "first"
    entries = _entries(pairs["first"])
    _, labels, routes = PAIRS[method]
    assert labels[0] != labels[1]
    counts = []
    for label in labels:
        own = [entries[label + route] for route in routes]
        for entry in own:
            assert entry["method"] == method
            volume = np.asarray(nib.load(folder / entry["map"]).dataobj)
            assert entry["n_voxels"] == np.count_nonzero(volume), entry["desc"]
            clusters = pd.read_csv(folder / entry["clusters_table"], sep="\t")
            assert entry["n_clusters"] == len(clusters), entry["desc"]
            named = _entities(pairs["first"])
            assert entry["map"] == map_name("effect", "z", entry["desc"], entities=named)
            assert entry["clusters_table"] == table_name(
                "effect", entry["desc"], "clusters", entities=named
            )
        counts.append([e["n_voxels"] for e in own])
    first, second = ([f for r in routes for f in _files(entries[lab + r])] for lab in labels)
    assert not set(first) & set(second)
    # the two entries find different things, so a shared file could not satisfy both counts
    assert counts[0] != counts[1], counts
    assert any(n > 0 for n in counts[0] + counts[1])


def test_every_file_belongs_to_one_entry(pairs):
    entries = _entries(pairs["first"])
    files = [f for entry in entries.values() for f in _files(entry)]
    assert len(files) == len(set(files))
    expected = {
        label + route
        for _, labels, routes in PAIRS.values()
        for label in labels
        for route in routes
    }
    assert set(entries) == expected


def test_seeds_and_cross_references_use_the_labels(pairs):
    summary = pairs["first"]
    seeds = summary["provenance"]["seeds"]
    assert set(seeds) == {f"effect/permP05{r}" for r in PAIRS["permutation"][2]} | {
        f"effect/permP3{r}" for r in PAIRS["permutation"][2]
    }
    entries = _entries(summary)
    folder = pairs["folder"] / "first"
    lenient = pd.read_csv(folder / entries["uncorrectedP01"]["clusters_table"], sep="\t")
    named = {d.strip() for cell in lenient["survives"] for d in cell.split(",")} - {"-"}
    assert named <= set(entries)
    assert {"uncorrectedP01", "fdrOneSided", "fdrTwoSided"} <= named
    # two ARI entries: one bound per entry, named by its label
    assert {"ari_tdp_ariZ2p5x3p5", "ari_tdp_ariZ3p5"} <= set(lenient.columns)
    assert "ari_tdp" not in lenient.columns
    assert entries["permP3MaxT"]["route"] == "permMaxT"
    assert entries["rftP3Cfp01Cluster"]["route"] == "rftCluster"


def test_same_config_twice_gives_identical_tables(pairs):
    folder = pairs["folder"]
    first, second = _entries(pairs["first"]), _entries(pairs["second"])
    assert first.keys() == second.keys()
    for desc, entry in first.items():
        assert entry["clusters_table"] == second[desc]["clusters_table"]
        for key in ("clusters_table", "peaks_table"):
            a = (folder / "first" / entry[key]).read_bytes()
            b = (folder / "second" / second[desc][key]).read_bytes()
            assert a == b, (desc, key)
        assert entry["n_voxels"] == second[desc]["n_voxels"]


def test_single_entries_keep_their_default_names(data_dir: Path):
    summary = run(
        data_dir,
        [
            "{method: uncorrected, alpha: 0.001}",
            "{method: fdr}",
            "{method: bonferroni}",
            "{method: permutation, n_perm: 50, cluster_forming_p: 0.001, tfce: true}",
            "{method: ari}",
            "{method: rft}",
        ],
        "single",
    )
    entries = summary["contrasts"][0]["corrections"]
    descs = [c["desc"] for c in entries]
    assert descs == [
        "uncorrected",
        "fdr",
        "bonferroni",
        "permMaxT",
        "permClusterSize",
        "permClusterMass",
        "permTFCE",
        "ari",
        "rft",
        "rftCluster",
    ]
    assert [c["route"] for c in entries] == descs
    fdr, named = entries[1], _entities(summary)
    assert fdr["map"] == map_name("effect", "z", "fdr", entities=named)
    assert fdr["clusters_table"] == table_name("effect", "fdr", "clusters", entities=named)
    assert entries[3]["arrays"] == arrays_name("effect", "permMaxT", entities=named)
    assert entries[3]["arrays"].endswith("_contrast-effect_desc-permMaxT_arrays.npz")
    assert set(entries[3]["maps"]) == {"logpFWE"}
    assert set(entries[6]["maps"]) == {"tfce", "logpFWE"}
    clusters = pd.read_csv(data_dir / "single" / entries[0]["clusters_table"], sep="\t")
    assert "ari_tdp" in clusters.columns


def test_explicit_desc_names_the_outputs(data_dir: Path):
    summary = run(
        data_dir,
        [
            "{method: fdr, desc: lenient, alpha: 0.2}",
            "{method: fdr}",
            "{method: rft, desc: main}",
            "{method: permutation, desc: quick, n_perm: 20}",
        ],
        "explicit",
    )
    entries = summary["contrasts"][0]["corrections"]
    assert [(c["desc"], c["route"]) for c in entries] == [
        ("lenient", "fdr"),
        ("fdr", "fdr"),
        ("main", "rft"),
        ("mainCluster", "rftCluster"),
        ("quickMaxT", "permMaxT"),
    ]
    assert entries[0]["map"] == map_name("effect", "z", "lenient", entities=_entities(summary))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["{method: fdr, desc: a-b}"], "corrections[0].desc: expected a label of letters"),
        (
            ["{method: fdr, desc: same}", "{method: bonferroni, desc: same}"],
            "corrections[1].desc: its results would be labelled 'same'",
        ),
        (
            ["{method: fdr}", "{method: bonferroni}", "{method: fdr}"],
            "corrections[2]: repeats corrections[0]",
        ),
    ],
)
def test_bad_labels_and_repeats_exit_2(data_dir: Path, capsys, entries, message):
    config = data_dir / "bad.yaml"
    config.write_text(HEADER + "".join(f"  - {e}\n" for e in entries))
    out = data_dir / "bad-results"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1, err
    assert not out.exists()


def test_report_shows_both_entries(data_dir: Path):
    summary = run(
        data_dir,
        [
            "{method: uncorrected, alpha: 0.01}",
            "{method: uncorrected, alpha: 0.001}",
            "{method: fdr, alpha: 0.05}",
            "{method: fdr, alpha: 0.2}",
        ],
        "report",
    )
    descs = [c["desc"] for c in summary["contrasts"][0]["corrections"]]
    assert descs == ["uncorrectedP01", "uncorrectedP001", "fdrQ05", "fdrQ2"]
    model = build_report_model(data_dir / "report")
    sections = model.contrasts[0].corrections
    assert [s.desc for s in sections] == descs
    anchors = [s.anchor for s in sections]
    assert len(set(anchors)) == 4
    # two entries of one method share a short name, so the labels tell them apart
    assert [s.short for s in sections] == descs
    html = render_html(model)
    for section in sections:
        assert f'id="{section.anchor}"' in html
        assert html_escape(section.title, quote=False) in html
    assert sections[0].title != sections[1].title
    crosstab = re.search(r'<table class="data crosstab">.*?</table>', html, re.S)
    assert crosstab is not None
    header = crosstab.group(0).split("</thead>")[0]
    for section in sections:
        assert f'href="#{section.anchor}"' in header
