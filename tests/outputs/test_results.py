"""write_results on hand-made results (no pipeline): names from the inputs' entities, the
summary checked against the contract before anything is written, shareable paths."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glmreport.glm.results import ContrastResult
from glmreport.inference.results import CLUSTER_COLUMNS, PEAK_COLUMNS, CorrectionResult
from glmreport.inputs.masking import Masker
from glmreport.outputs.results import ContrastOutput, RunOutput, _MapWriter, write_results
from glmreport.outputs.summary import read_summary

N = 8


def _contrast() -> ContrastResult:
    z = np.linspace(-2.0, 5.0, N)
    return ContrastResult(
        name="faces > houses",
        label="facesHouses",
        stat_type="t",
        weights=np.array([[1.0, -1.0]]),
        columns=("faces", "houses"),
        effect=z[None] / 2,
        variance=np.full((1, 1, N), 0.25),
        stat=z,
        p=np.full(N, 0.5),
        z=z,
        dof=40.0,
    )


def _correction() -> CorrectionResult:
    return CorrectionResult(
        method="permutation",
        desc="permMaxT",
        title="Permutation",
        alpha=0.05,
        two_sided=False,
        threshold_z=4.0,
        threshold_stat=4.2,
        cluster_extent=0,
        surviving=np.arange(N) >= 7,
        clusters=pd.DataFrame(columns=list(CLUSTER_COLUMNS)),
        peaks=pd.DataFrame(columns=list(PEAK_COLUMNS)),
        params={"n_perm": 10, "seed": 1},
        extras={"null_label": "maximum t"},
        maps={"logp_fwe": np.zeros(N)},
        arrays={"null": np.arange(10.0)},
        route="permMaxT",
    )


def _first_level_model() -> dict:
    """The flat model description the first-level preparation hands over."""
    return {
        "level": "first",
        "design": "first-level GLM",
        "n_inputs": 2,
        "n_scans": [20, 20],
        "columns": ["faces", "houses"],
        "nuisance_columns": [],
        "dof": 40.0,
        "smoothing_fwhm": 0.0,
        "mask": {"source": "auto", "rule": "EPI", "n_voxels": N},
        "space": "MNI152NLin6Asym",
        "noise_model": "ar1",
        "ar1": "lag-1",
        "t_r": 2.0,
        "slice_time_ref": 0.0,
        "hrf": "glover",
        "drift": {"model": "cosine", "high_pass": 0.01, "order": 1},
        "signal_scaling": "none",
        "fixed_effects": "precision-weighted",
        "design_notes": {},
        "voxel_size": [2.0, 2.0, 2.0],
        "shape": [2, 2, 2],
    }


def _run(base: Path, **changes) -> RunOutput:
    bold = [base / f"sub-07/func/sub-07_task-faces_run-{r}_bold.nii.gz" for r in (1, 2)]
    inputs = [
        {"path": str(p), "run": f"run-{i}", "kind": "bold", "sha256": "a" * 64}
        for i, p in enumerate(bold)
    ]
    inputs.append(
        {"path": str(base / "events.tsv"), "run": "run-1", "kind": "events", "sha256": "b" * 64}
    )
    run = RunOutput(
        title="faces",
        model=_first_level_model(),
        masker=Masker(mask=np.ones((2, 2, 2), bool), affine=np.eye(4)),
        design=None,
        inputs=inputs,
        contrasts=(ContrastOutput(contrast=_contrast(), corrections=(_correction(),)),),
        extra_designs={"run-1": pd.DataFrame({"faces": [0.0, 1.0]})},
        inference={"connectivity": 26, "peak_min_distance_mm": 8.0, "max_subpeaks": 3},
        config_file=str(base / "analysis.yaml"),
        provenance={
            "versions": {},
            "python": "3",
            "platform": "p",
            "machine": "m",
            "started": "",
            "finished": "",
            "run_time_s": 1.0,
            "seeds": {"faces > houses/permMaxT": 1},
            "command": None,
            "results_folder": "results",
        },
        shared_from=base,
        results_folder=base / "results",
    )
    return dataclasses.replace(run, **changes)


def test_first_level_names_and_summary(tmp_path: Path):
    out = tmp_path / "results"
    out.mkdir()
    summary = write_results(out, _run(tmp_path))
    assert summary == read_summary(out)
    prefix = "sub-07_task-faces_space-MNI152NLin6Asym_contrast-facesHouses"
    contrast = summary.contrasts[0]
    assert contrast.maps.z == f"maps/{prefix}_stat-z_statmap.nii.gz"
    corr = contrast.corrections[0]
    assert corr.map == f"maps/{prefix}_stat-z_desc-permMaxT_statmap.nii.gz"
    assert corr.maps == {"logpFWE": f"maps/{prefix}_stat-logpFWE_desc-permMaxT_statmap.nii.gz"}
    assert corr.arrays == f"tables/{prefix}_desc-permMaxT_arrays.npz"
    assert corr.n_voxels == 1 and corr.extras == {"null_label": "maximum t"}
    assert summary.model.first.runs[0].design_matrix == "design_matrix_run-1.tsv"
    assert summary.inputs[0].path == "sub-07/func/sub-07_task-faces_run-1_bold.nii.gz"
    assert summary.inputs[2].values == {"run": "run-1", "kind": "events"}
    assert summary.config_file == "analysis.yaml"
    text = (out / "summary.json").read_text() + "".join(
        p.read_text() for p in (out / "maps").glob("*.json")
    )
    assert str(tmp_path) not in text


def test_a_model_key_outside_the_contract_is_a_bug(tmp_path: Path):
    """A preparation that adds a model key must add it to the contract: the write fails."""
    model = {**_first_level_model(), "new_key": 1}
    out = tmp_path / "results"
    out.mkdir()
    with pytest.raises(TypeError, match=r"does not fit the results contract: .*'new_key'"):
        write_results(out, _run(tmp_path, model=model))
    assert not (out / "summary.json").exists()
    assert not (out / "dataset_description.json").exists()


@pytest.mark.parametrize("rows", [None, 1, 3])
def test_maps_are_laid_out_in_nifti_order_with_the_same_values(tmp_path, rows):
    """A map's volume is built in Fortran order (NIfTI's) from its in-mask values: the same
    array as ``Masker.inverse``, for one volume and for several."""
    rng = np.random.default_rng(5)
    mask = rng.random((7, 6, 5)) > 0.4
    masker = Masker(mask=mask, affine=np.eye(4))
    shape = (int(mask.sum()),) if rows is None else (rows, int(mask.sum()))
    values = rng.normal(size=shape).astype(np.float32)
    volume = _MapWriter(tmp_path, masker, None)._volume(values)
    assert volume.flags.f_contiguous and volume.dtype == np.float32
    np.testing.assert_array_equal(volume, masker.inverse(values))


def test_maps_written_on_threads_or_in_turn_are_the_same_files(tmp_path, monkeypatch):
    """Small maps are written in turn (a pool costs more), large ones on threads: the same
    files either way."""
    from glmreport.outputs import results

    rng = np.random.default_rng(9)
    mask = rng.random((12, 11, 10)) > 0.3
    masker = Masker(mask=mask, affine=np.diag([2.0, 2.0, 2.0, 1.0]))
    maps = {f"m{i}.nii.gz": rng.normal(size=int(mask.sum())) for i in range(4)}
    written = {}
    for threshold in (0, 1 << 40):
        monkeypatch.setattr(results, "THREADED_BYTES", threshold)
        folder = tmp_path / str(threshold)
        folder.mkdir()
        writer = _MapWriter(folder, masker, None)
        for name, values in maps.items():
            writer.add(name, values, {"Description": name})
        writer.flush()
        assert not writer.jobs
        written[threshold] = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    assert written[0] == written[1 << 40] and len(written[0]) == 8
