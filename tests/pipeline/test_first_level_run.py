"""First-level runs through the CLI: outputs, fixed effects, and every bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from glmreport.cli import main
from glmreport.datasets import write_first_level

CONFIG = """\
model:
  level: first
  t_r: 2.0
  runs:
    - {bold: sub-01_run-1_bold.nii.gz, events: sub-01_run-1_events.tsv,
       confounds: sub-01_run-1_confounds.tsv, confound_columns: [trans_x, rot_z]}
    - {bold: sub-01_run-2_bold.nii.gz, design: sub-01_run-2_design.tsv}
  noise_model: ar1
  space: null
contrasts:
  - {name: different speaker, t: "SSt_DSp + DSt_DSp - SSt_SSp - DSt_SSp"}
  - {name: effects of interest, F: [SSt_SSp, SSt_DSp, DSt_SSp, DSt_DSp]}
corrections:
  - {method: fdr, alpha: 0.05}
report: {formats: []}
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("first_level_source")
    write_first_level(folder, n_scans=60)
    return folder


@pytest.fixture()
def data(source: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(source, folder)
    (folder / "analysis.yaml").write_text(CONFIG)
    return folder


def test_a_conjunction_of_fixed_effects_contrasts(data: Path):
    text = CONFIG.replace(
        "  - {name: effects of interest, F: [SSt_SSp, SSt_DSp, DSt_SSp, DSt_DSp]}\n",
        "  - {name: sentence, t: 'DSt_SSp + DSt_DSp - SSt_SSp - SSt_DSp'}\n"
        "  - {name: both, conjunction: [different speaker, sentence]}\n",
    )
    (data / "analysis.yaml").write_text(text)
    out = data / "results"
    assert main(["run", str(data / "analysis.yaml"), "--out", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    speaker, sentence, both = s["contrasts"]
    assert both["conjunction"] == ["different speaker", "sentence"]
    assert both["dof"] == speaker["dof"] == sentence["dof"]
    assert both["maps"]["effect"] is None and both["corrections"][0]["cluster_map"]
    mask = np.asarray(nib.load(out / s["mask"]).dataobj) > 0

    def z(c):
        return np.asarray(nib.load(out / c["maps"]["z"]).dataobj)[mask]

    np.testing.assert_array_equal(z(both), np.minimum(z(speaker), z(sentence)))


def test_two_runs_fixed_effects(data: Path):
    out = data / "results"
    assert main(["run", str(data / "analysis.yaml"), "--out", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["model"]["level"] == "first" and s["model"]["first"]["n_scans"] == [60, 60]
    assert s["model"]["columns"][:4] == ["DSt_DSp", "DSt_SSp", "SSt_DSp", "SSt_SSp"]
    assert [r["name"] for r in s["model"]["first"]["runs"]] == ["run-1", "run-2"]
    # the runs' shared entity (sub-01) leads every name
    assert s["contrasts"][0]["maps"]["z"].startswith("maps/sub-01_contrast-differentSpeaker_")
    assert (out / "design_matrix_run-1.tsv").is_file() and (
        out / "design_matrix_run-2.tsv"
    ).is_file()
    speaker, eoi = s["contrasts"]
    # fixed effects over two runs: dof add up (60 scans - rank of each run's design)
    ranks = [
        np.linalg.matrix_rank(pd.read_csv(out / f"design_matrix_run-{r}.tsv", sep="\t").to_numpy())
        for r in (1, 2)
    ]
    assert speaker["dof"] == sum(60 - r for r in ranks)
    assert eoi["stat_type"] == "F" and eoi["df_num"] == 4
    peaks = pd.read_csv(out / speaker["corrections"][0]["peaks_table"], sep="\t")
    # the planted frontal "different speaker" response at (44, 24, 20) mm
    d = np.linalg.norm(peaks[["peak_x", "peak_y", "peak_z"]].to_numpy() - [44, 24, 20], axis=1)
    assert d.min() <= 8.0
    # effect sizes: the estimate and its interval; no Cohen's d at the first level
    assert {"effect", "effect_ci_low", "effect_ci_high"} <= set(peaks.columns)
    assert "cohens_d" not in peaks.columns
    # quality checks of each run's design; no input check (the inputs are scans)
    qc = s["qc"]
    assert qc["vif"] == {} and qc["outliers"] == [] and set(qc["runs"]) == {"run-1", "run-2"}
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    design = pd.read_csv(out / "design_matrix_run-1.tsv", sep="\t")
    vifs = qc["runs"]["run-1"]["vif"]
    for name in ("trans_x", "SSt_SSp"):
        expected = variance_inflation_factor(design.to_numpy(float), list(design).index(name))
        # relative 1e-4: the design TSV holds 6 significant digits of the matrix checked
        assert vifs[name] == pytest.approx(expected, rel=1e-4)
    assert set(qc["runs"]["run-2"]["efficiency"]) == {"different speaker", "effects of interest"}
    assert set(qc["p_values"]) == {"different speaker", "effects of interest"}


def _write_yaml(data: Path, text: str) -> None:
    (data / "analysis.yaml").write_text(text)


def _bold_3d(data: Path) -> None:
    img = nib.load(data / "sub-01_run-2_bold.nii.gz")
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj)[..., 0], img.affine), data / "3d.nii.gz")
    _write_yaml(data, CONFIG.replace("sub-01_run-2_bold.nii.gz", "3d.nii.gz"))


def _events_past_end(data: Path) -> None:
    ev = pd.read_csv(data / "sub-01_run-1_events.tsv", sep="\t")
    ev.loc[len(ev)] = [500.0, 3.0, "SSt_SSp"]
    ev.to_csv(data / "sub-01_run-1_events.tsv", sep="\t", index=False)


def _events_missing_column(data: Path) -> None:
    ev = pd.read_csv(data / "sub-01_run-1_events.tsv", sep="\t")
    ev.rename(columns={"trial_type": "condition"}).to_csv(
        data / "sub-01_run-1_events.tsv", sep="\t", index=False
    )


def _runs_differ(data: Path) -> None:
    img = nib.load(data / "sub-01_run-2_bold.nii.gz")
    small = np.asarray(img.dataobj)[:-2]
    nib.save(nib.Nifti1Image(small, img.affine), data / "sub-01_run-2_bold.nii.gz")


def _design_rows(data: Path) -> None:
    d = pd.read_csv(data / "sub-01_run-2_design.tsv", sep="\t")
    d.iloc[:-5].to_csv(data / "sub-01_run-2_design.tsv", sep="\t", index=False)


def _unknown_column(data: Path) -> None:
    _write_yaml(data, CONFIG.replace("SSt_DSp + DSt_DSp", "SSt_DSp + nothing"))


def _no_t_r(data: Path) -> None:
    _write_yaml(data, CONFIG.replace("  t_r: 2.0\n", ""))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_no_t_r, "t_r"),
        (_bold_3d, "expected a 4D"),
        (_events_past_end, "500"),
        (_events_missing_column, "trial_type"),
        (_runs_differ, "runs must share one voxel grid"),
        (_design_rows, "rows"),
        (_unknown_column, "no run has"),
    ],
)
def test_bad_first_level_inputs(data: Path, capsys, change, message):
    change(data)
    out = data / "results"
    assert main(["run", str(data / "analysis.yaml"), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1, err
    assert not out.exists()


def test_first_level_folders_feed_a_second_level(tmp_path: Path):
    """A study chains: first level per subject, then a second level over their effect maps."""
    for i, sub in enumerate(("01", "02", "03")):
        folder = tmp_path / f"raw-{sub}"
        write_first_level(folder, n_scans=60, seed=20 + i)
        for path in folder.glob("sub-01_*"):  # each subject's files carry its own label
            path.rename(folder / path.name.replace("sub-01", f"sub-{sub}"))
        (folder / "analysis.yaml").write_text(CONFIG.replace("sub-01", f"sub-{sub}"))
        out = tmp_path / "firstlevel" / f"sub-{sub}"
        assert main(["run", str(folder / "analysis.yaml"), "--out", str(out), "-q"]) == 0
    (tmp_path / "group.yaml").write_text(
        """\
model:
  inputs: {glob: "firstlevel/sub-*/maps/sub-*_contrast-differentSpeaker_stat-effect_statmap.nii.gz"}
  design: one-sample
  space: null
contrasts: [{name: speaker, t: intercept}]
corrections: [{method: uncorrected, alpha: 0.01}]
report: {formats: []}
"""
    )
    out = tmp_path / "group"
    assert main(["run", str(tmp_path / "group.yaml"), "--out", str(out), "-q"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert [row["sub"] for row in s["inputs"]] == ["01", "02", "03"]
    assert s["model"]["dof"] == 2.0
    # the first-level folders are the group's source datasets, named relative to it
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["SourceDatasets"] == [
        {"URL": f"../firstlevel/sub-{sub}"} for sub in ("01", "02", "03")
    ]


def test_read_ahead_and_estimates_give_the_same_maps(data: Path, monkeypatch):
    """Reading the next run on a thread, and combining runs from their effects and
    covariances alone, give the maps of reading in turn and computing every run's statistics."""
    import dataclasses

    from glmreport.config import load_config
    from glmreport.pipeline import first_level

    config = load_config(data / "analysis.yaml")

    def maps(cfg) -> list[dict[str, np.ndarray]]:
        prepared = first_level.prepare_first_level(cfg, log=lambda _: None)
        fields = ("effect", "variance", "stat", "p", "z")
        return [{f: getattr(c, f) for f in fields} for c in prepared.contrasts]

    ahead = maps(config)
    per_run = maps(
        dataclasses.replace(config, model=dataclasses.replace(config.model, per_run_outputs=True))
    )
    monkeypatch.setattr(first_level, "READ_AHEAD_BYTES", 0)
    in_turn = maps(config)
    assert len(ahead) == len(in_turn) == 2 and len(per_run) == 6
    for a, b, c in zip(ahead, in_turn, per_run[::3], strict=True):
        for field in a:
            np.testing.assert_array_equal(a[field], b[field])
            np.testing.assert_array_equal(a[field], c[field])


def test_the_next_run_is_read_ahead_only_when_both_runs_fit_the_bound(data: Path, monkeypatch):
    """The run being fitted and the one read ahead count together against READ_AHEAD_BYTES:
    with room for one run the first is read on the reading thread, the second in turn."""
    import threading

    from glmreport.config import load_config
    from glmreport.pipeline import first_level

    config = load_config(data / "analysis.yaml")
    calls: list[tuple[str, int]] = []
    real = first_level.run_timeseries

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append((threading.current_thread().name, out.shape[0] * out.shape[1] * 4))
        return out

    monkeypatch.setattr(first_level, "run_timeseries", spy)
    first_level.prepare_first_level(config, log=lambda _: None)
    assert len(calls) == 2 and all(name.startswith("glmreport-read") for name, _ in calls)
    one_run = max(size for _, size in calls)
    calls.clear()
    monkeypatch.setattr(first_level, "READ_AHEAD_BYTES", one_run)
    first_level.prepare_first_level(config, log=lambda _: None)
    assert calls[0][0].startswith("glmreport-read")
    assert calls[1][0] == threading.main_thread().name


def test_a_failed_fit_stops_the_run_read_ahead(data: Path, monkeypatch):
    """When a run's fit fails, the read of the next run is cancelled (it stops with
    ReadCancelled instead of reading on) and the error is the fit's."""
    import threading

    from glmreport.config import load_config
    from glmreport.errors import DesignError
    from glmreport.inputs.bold import ReadCancelled
    from glmreport.pipeline import first_level

    config = load_config(data / "analysis.yaml")
    real = first_level.run_timeseries
    outcomes: list[str] = []
    second_started = threading.Event()
    fit_failed = threading.Event()

    def slow_second(img, *args, **kwargs):
        if img is not first_imgs[0]:
            second_started.set()
            fit_failed.wait(10)  # read on only once the first run's fit has failed
        try:
            out = real(img, *args, **kwargs)
        except ReadCancelled:
            outcomes.append("cancelled")
            raise
        outcomes.append("read")
        return out

    def failing_fit(*args, **kwargs):
        second_started.wait(10)
        fit_failed.set()
        raise DesignError("the fit failed")

    first_imgs: list = []
    real_load = first_level._load_runs

    def load(model):
        imgs, digests = real_load(model)
        first_imgs.append(imgs[0])
        return imgs, digests

    monkeypatch.setattr(first_level, "_load_runs", load)
    monkeypatch.setattr(first_level, "run_timeseries", slow_second)
    monkeypatch.setattr(first_level, "fit_first_level", failing_fit)
    with pytest.raises(DesignError, match="the fit failed"):
        first_level.prepare_first_level(config, log=lambda _: None)
    assert outcomes == ["read", "cancelled"]
    assert not [t for t in threading.enumerate() if t.name.startswith("glmreport-read")]
