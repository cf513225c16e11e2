"""The names of a results folder: BIDS entity-label pairs, desc last, a sidecar per map."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from glmreport.cli import main
from glmreport.outputs.layout import (
    Entities,
    arrays_name,
    map_figure_name,
    map_name,
    run_figure_name,
    shared_entities,
    sidecar_name,
    stat_label,
    table_name,
)
from glmreport.outputs.summary import read_summary

#: ``(<key>-<label>_)*<suffix>.<ext>``: labels of letters and digits, desc (when given) last.
BIDS_NAME = re.compile(
    r"^(?P<pairs>(?:[a-z]+-[A-Za-z0-9]+_)+)(?P<suffix>[A-Za-z0-9]+)\.(?P<ext>nii\.gz|tsv|json|npz)$"
)
#: BIDS order of the entities a results folder may carry; glmreport's own ones follow.
ORDER = ("sub", "ses", "task", "space", "contrast", "stat", "desc")


def check_name(rel: str) -> dict[str, str]:
    """Assert that ``rel`` is a BIDS derivative name; return its entities."""
    name = Path(rel).name
    match = BIDS_NAME.match(name)
    assert match, name
    pairs = [p.split("-", 1) for p in match.group("pairs").rstrip("_").split("_")]
    keys = [k for k, _ in pairs]
    assert keys == sorted(keys, key=ORDER.index), name  # BIDS order, desc last
    return dict(pairs)


def test_names():
    entities = Entities(sub="01", task="faces", space="MNI152NLin2009cAsym")
    assert (
        map_name("faceGtHouse", "z", entities=Entities(sub="01", task="faces"))
        == "maps/sub-01_task-faces_contrast-faceGtHouse_stat-z_statmap.nii.gz"
    )
    assert map_name("a", "z", "fdr") == "maps/contrast-a_stat-z_desc-fdr_statmap.nii.gz"
    assert (
        map_name("a", "logpFWE", "permMaxT", entities=entities)
        == "maps/sub-01_task-faces_space-MNI152NLin2009cAsym_contrast-a_stat-logpFWE"
        "_desc-permMaxT_statmap.nii.gz"
    )
    assert table_name("a", "fdr", "clusters") == "tables/contrast-a_desc-fdr_clusters.tsv"
    assert arrays_name("a", "perm") == "tables/contrast-a_desc-perm_arrays.npz"
    assert sidecar_name("maps/contrast-a_stat-z_statmap.nii.gz") == (
        "maps/contrast-a_stat-z_statmap.json"
    )
    for rel in (
        map_name("a", "z", "fdr", entities=entities),
        table_name("a", "fdr", "peaks", entities=entities),
        arrays_name("a", "fdr", entities=entities),
    ):
        assert check_name(rel)["desc"] == "fdr"


def test_figure_names():
    assert (
        run_figure_name("sub-01_ses-1_task-faces_run-2", "fd")
        == "figures/sub-01_ses-1_task-faces_run-2_desc-fd_bold.png"
    )
    z = map_name("faceGtHouse", "z", entities=Entities(sub="01", task="faces"))
    rel = map_figure_name(z, "glassBrain")
    assert rel == (
        "figures/sub-01_task-faces_contrast-faceGtHouse_stat-z_desc-glassBrain_statmap.png"
    )
    assert check_name(rel.replace("figures/", "maps/").replace(".png", ".nii.gz"))["desc"] == (
        "glassBrain"
    )
    for bad in ("sub-01 run-1", "../sub-01", "sub-01_run-1_bold"):
        with pytest.raises(ValueError, match="BIDS name"):
            run_figure_name(bad, "fd")
    with pytest.raises(ValueError, match="desc"):
        run_figure_name("sub-01_run-1", "design matrix")
    with pytest.raises(ValueError, match="without desc"):
        map_figure_name(map_name("a", "z", "fdr"), "glassBrain")


def test_stat_labels_are_letters_and_digits():
    assert stat_label("logp_fwe") == "logpFWE"
    assert [stat_label(k) for k in ("effect", "variance", "t", "F", "z", "p")] == [
        "effect",
        "variance",
        "t",
        "F",
        "z",
        "p",
    ]
    assert stat_label("tfce") == "tfce" and stat_label("max_t_stat") == "maxTStat"
    with pytest.raises(ValueError, match="not a BIDS label"):
        map_name("a_b", "z")
    with pytest.raises(ValueError, match="not a BIDS label"):
        Entities(space="MNI:2mm")


def test_shared_entities():
    runs = [
        "/d/sub-01/func/sub-01_task-faces_run-1_bold.nii.gz",
        "sub-01_task-faces_run-2_bold.nii",
    ]
    assert shared_entities(runs, space="MNI152NLin6Asym") == Entities(
        sub="01", task="faces", space="MNI152NLin6Asym"
    )
    group = ["sub-01_task-faces_effect.nii.gz", "sub-02_task-faces_effect.nii.gz"]
    assert shared_entities(group, space=None) == Entities(task="faces")
    assert shared_entities(["a.nii.gz"], space="not a label") == Entities()
    assert shared_entities([], space="MNI152NLin2009cAsym").prefix == "space-MNI152NLin2009cAsym_"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with every kind of output: maps of a contrast and of corrections, tables, npz."""
    root = tmp_path_factory.mktemp("layout")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(8):
        data = rng.standard_normal((8, 8, 8)).astype(np.float32) + 0.6
        name = f"sub-{i + 1:02d}_task-faces_effect.nii.gz"
        nib.save(nib.Nifti1Image(data, np.diag([3.0, 3.0, 3.0, 1.0])), root / name)
        rows.append(name)
    (root / "inputs.tsv").write_text("path\n" + "\n".join(rows) + "\n")
    (root / "analysis.yaml").write_text(
        "model: {inputs: inputs.tsv, design: one-sample}\n"
        "contrasts: [{name: face > house, t: intercept}]\n"
        "corrections: [{method: uncorrected, alpha: 0.05}, "
        "{method: permutation, n_perm: 20, seed: 1, tfce: true}, {method: ari}]\n"
        "report: {formats: []}\n"
    )
    assert main(["run", str(root / "analysis.yaml"), "--out", str(root / "results"), "-q"]) == 0
    return root / "results"


def test_results_folder_names(folder: Path):
    summary = read_summary(folder)
    contrast = summary.contrasts[0]
    maps = [m for m in (contrast.maps.effect, contrast.maps.variance) if m]
    maps += [contrast.maps.stat, contrast.maps.z, contrast.maps.p]
    for k in contrast.corrections:
        assert k.cluster_map is not None and check_name(k.cluster_map)["stat"] == "clusterIndex"
        maps += [k.map, *k.maps.values(), k.cluster_map]
        for rel in (k.clusters_table, k.peaks_table, k.arrays):
            if rel:
                assert check_name(rel)["desc"] == k.desc and (folder / rel).is_file()
    assert {"logpFWE", "tfce", "tdp"} <= {key for k in contrast.corrections for key in k.maps}
    for rel in maps:
        entities = check_name(rel)
        # the inputs share the task, not the subject; the space is the model's
        assert entities["task"] == "faces" and "sub" not in entities
        assert entities["space"] == summary.model.space == "MNI152NLin2009cAsym"
        assert entities["contrast"] == contrast.label == "faceHouse"
        sidecar = json.loads((folder / sidecar_name(rel)).read_text())
        assert sidecar["Statistic"] == entities["stat"]
        assert sidecar["Contrast"]["Weights"] == [[1.0]]
        assert sidecar["Contrast"]["Columns"] == ["intercept"]
        assert sidecar["DegreesOfFreedom"] == 7.0 and sidecar["NumeratorDegreesOfFreedom"] == 1
        assert ("Correction" in sidecar) == ("desc" in entities)
    on_disk = sorted(p.relative_to(folder).as_posix() for p in (folder / "maps").iterdir())
    assert on_disk == sorted(maps + [sidecar_name(m) for m in maps])
    unc = contrast.corrections[0]
    sidecar = json.loads((folder / sidecar_name(unc.map)).read_text())
    assert sidecar["Thresholded"] is True and sidecar["NonSurvivingValue"] == 0
    assert sidecar["Correction"]["Method"] == "uncorrected"
    assert sidecar["Correction"]["ThresholdZ"] == pytest.approx(unc.threshold_z)
    assert sidecar["Correction"]["SurvivingVoxels"] == unc.n_voxels
    assert sidecar["Units"].startswith("z score")
