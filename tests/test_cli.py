"""The command line end to end on small synthetic data: outputs, exit codes, bad inputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from glmreport.cli import main
from glmreport.report.render import remove_stale_pdf

SHAPE = (14, 16, 12)
AFFINE = np.array([[3.0, 0, 0, -21], [0, 3.0, 0, -24], [0, 0, 3.0, -18], [0, 0, 0, 1]])


def write_dataset(folder: Path, n: int = 10, seed: int = 0) -> Path:
    """n one-sample maps with a positive and a negative blob; returns the inputs table."""
    rng = np.random.default_rng(seed)
    ii, jj, kk = np.indices(SHAPE)
    pos = np.exp(-((ii - 4) ** 2 + (jj - 5) ** 2 + (kk - 5) ** 2) / 6.0)
    neg = np.exp(-((ii - 10) ** 2 + (jj - 11) ** 2 + (kk - 6) ** 2) / 6.0)
    rows = []
    for s in range(n):
        data = 1.5 * pos - 1.5 * neg + rng.standard_normal(SHAPE) * 0.8
        data[0] = 0.0  # a slab outside the brain
        path = folder / f"sub-{s + 1:02d}.nii.gz"
        nib.save(nib.Nifti1Image(data.astype(np.float32), AFFINE), path)
        rows.append(
            {"path": path.name, "subject": f"{s + 1:02d}", "age": 20 + 3 * s, "group": "ab"[s % 2]}
        )
    pd.DataFrame(rows).to_csv(folder / "inputs.tsv", sep="\t", index=False)
    return folder / "inputs.tsv"


CONFIG = """\
title: CLI test
model:
  inputs: inputs.tsv
  design: one-sample
  covariates: [age]
contrasts:
  - {name: effect, t: intercept}
  - {name: age, t: age}
  - {name: both, F: [intercept, age]}
corrections:
  - {method: uncorrected, alpha: 0.001, cluster_extent: 3}
  - {method: fdr, alpha: 0.05}
  - {method: bonferroni, alpha: 0.05}
two_sided: true
report: {formats: []}
"""


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    write_dataset(tmp_path)
    (tmp_path / "analysis.yaml").write_text(CONFIG)
    return tmp_path


def run_cli(*args: str) -> int:
    return main([*map(str, args)])


def test_run_writes_complete_results(dataset: Path, capsys):
    out = dataset / "results"
    assert run_cli("run", dataset / "analysis.yaml", "--out", out, "--quiet") == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["n_inputs"] == 10
    assert summary["model"]["columns"] == ["intercept", "age"]
    assert summary["model"]["dof"] == 8.0
    assert [c["label"] for c in summary["contrasts"]] == ["effect", "age", "both"]
    effect = summary["contrasts"][0]
    assert effect["stat_type"] == "t" and effect["dof"] == 8.0
    for key in ("effect", "variance", "stat", "z", "p"):
        assert (out / effect["maps"][key]).is_file()
    space = "space-MNI152NLin2009cAsym"
    assert effect["maps"]["stat"] == f"maps/{space}_contrast-effect_stat-t_statmap.nii.gz"
    both = summary["contrasts"][2]["maps"]["stat"]
    assert both == f"maps/{space}_contrast-both_stat-F_statmap.nii.gz"
    methods = [c["method"] for c in effect["corrections"]]
    assert methods == ["uncorrected", "fdr", "bonferroni"]
    unc = effect["corrections"][0]
    for key in (
        "method",
        "alpha",
        "two_sided",
        "threshold_z",
        "threshold_stat",
        "cluster_extent",
        "n_voxels",
        "n_clusters",
        "clusters_table",
        "peaks_table",
        "map",
    ):
        assert key in unc
    assert unc["threshold_z"] == pytest.approx(3.2905267, abs=1e-6)  # two-sided p < 0.001
    assert unc["n_clusters"] >= 2  # the positive and the negative blob
    clusters = pd.read_csv(out / unc["clusters_table"], sep="\t")
    assert set(clusters["sign"]) == {"+", "-"}
    peaks = pd.read_csv(out / unc["peaks_table"], sep="\t", dtype={"cluster_id": str})
    for col in (
        "cluster_id",
        "peak_x",
        "peak_y",
        "peak_z",
        "peak_value",
        "peak_stat",
        "size_voxels",
        "volume_mm",
    ):
        assert col in peaks.columns
    # effect sizes in the TSV files (values: tests/pipeline/test_infer_effects.py)
    assert {"effect", "effect_ci_low", "effect_ci_high", "cohens_d"} <= set(peaks.columns)
    assert np.sign(clusters["mean_effect"]).tolist() == [
        1 if s == "+" else -1 for s in clusters["sign"]
    ]
    design = pd.read_csv(out / "design_matrix.tsv", sep="\t")
    assert design.columns.tolist() == ["intercept", "age"]
    assert design["age"].mean() == pytest.approx(0.0, abs=1e-9)
    assert len(summary["inputs"]) == 10 and len(summary["inputs"][0]["sha256"]) == 64
    # thresholded map holds exactly the surviving voxels
    thr = nib.load(out / unc["map"]).get_fdata()
    assert np.count_nonzero(thr) == unc["n_voxels"]
    assert "results:" in capsys.readouterr().out


def test_existing_output_refused_then_overwritten(dataset: Path, capsys):
    out = dataset / "results"
    assert run_cli("run", dataset / "analysis.yaml", "--out", out, "-q") == 0
    assert run_cli("run", dataset / "analysis.yaml", "--out", out, "-q") == 2
    assert "already exists" in capsys.readouterr().err
    assert run_cli("run", dataset / "analysis.yaml", "--out", out, "-q", "--overwrite") == 0


def test_validate(dataset: Path, capsys):
    assert run_cli("validate", dataset / "analysis.yaml") == 0
    text = capsys.readouterr().out
    assert "OK" in text and "10 inputs" in text
    assert not (dataset / "results").exists()


def test_validate_warns_of_an_atlas_unavailable_offline(dataset: Path, capsys):
    # The session's TemplateFlow home (tests/conftest.py) holds Harvard-Oxford, not Schaefer.
    config = dataset / "analysis.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text + "atlases: [harvard-oxford-cortical, schaefer-400-7]\n")
    assert run_cli("validate", config) == 0
    captured = capsys.readouterr()
    assert "OK" in captured.out
    (line,) = [x for x in captured.err.splitlines() if x.startswith("warning:")]
    assert "atlas 'schaefer-400-7' is not available offline" in line
    assert "glmreport atlases fetch schaefer-400-7" in line
    assert "harvard-oxford" not in line


def _edit_inputs(folder: Path, change) -> None:
    table = pd.read_csv(folder / "inputs.tsv", sep="\t", dtype=str)
    change(folder, table)
    table.to_csv(folder / "inputs.tsv", sep="\t", index=False)


def _missing(folder, table):
    table.loc[3, "path"] = "nope.nii.gz"


def _not_nifti(folder, table):
    (folder / "bad.nii.gz").write_text("hello")
    table.loc[3, "path"] = "bad.nii.gz"


def _shape(folder, table):
    nib.save(nib.Nifti1Image(np.ones((5, 5, 5), np.float32), AFFINE), folder / "small.nii.gz")
    table.loc[3, "path"] = "small.nii.gz"


def _affine(folder, table):
    nib.save(nib.Nifti1Image(np.ones(SHAPE, np.float32), np.eye(4)), folder / "moved.nii.gz")
    table.loc[3, "path"] = "moved.nii.gz"


def _four_d(folder, table):
    nib.save(nib.Nifti1Image(np.ones((*SHAPE, 2), np.float32), AFFINE), folder / "4d.nii.gz")
    table.loc[3, "path"] = "4d.nii.gz"


def _all_nan(folder, table):
    nib.save(nib.Nifti1Image(np.full(SHAPE, np.nan, np.float32), AFFINE), folder / "nan.nii.gz")
    table.loc[3, "path"] = "nan.nii.gz"


def _empty_mask(folder, table):
    nib.save(nib.Nifti1Image(np.zeros(SHAPE, np.float32), AFFINE), folder / "zero.nii.gz")
    table.loc[3, "path"] = "zero.nii.gz"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_missing, "input file not found"),
        (_not_nifti, "not a readable NIfTI image"),
        (_shape, "share shape and affine"),
        (_affine, "affine different"),
        (_four_d, "4D with 2 volumes"),
        (_all_nan, "no finite value"),
        (_empty_mask, "contains no voxel"),
    ],
)
def test_bad_inputs_exit_2_without_output(dataset: Path, capsys, change, message):
    _edit_inputs(dataset, change)
    out = dataset / "results"
    assert run_cli("run", dataset / "analysis.yaml", "--out", out, "-q") == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1, err  # one clear line, no traceback
    assert not out.exists()
    assert not [p for p in dataset.iterdir() if p.name.startswith(".results")]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("t: intercept}", "t: intercpt}", "Did you mean 'intercept'?"),
        ("t: age}", "weights: [1, 0, 0]}", "has 3 weight(s) but the design has 2"),
        ("  covariates: [age]\n", "  covariates: [age]\n  design: {matrix: dm.tsv}\n", "rows"),
        ("contrasts:\n", "colour: red\ncontrasts:\n", "unknown key 'colour'"),
        ("alpha: 0.05}", "alpha: high}", "corrections[1].alpha: expected a number"),
    ],
)
def test_bad_config_exit_2(dataset: Path, capsys, old, new, message):
    if "dm.tsv" in new:
        pd.DataFrame({"a": np.ones(4)}).to_csv(dataset / "dm.tsv", sep="\t", index=False)
        new = new.replace("  covariates: [age]\n", "")
        old_text = CONFIG.replace("  design: one-sample\n", "")
    else:
        old_text = CONFIG
    text = old_text.replace(old, new, 1)
    assert text != old_text
    (dataset / "analysis.yaml").write_text(text)
    out = dataset / "results"
    assert run_cli("run", dataset / "analysis.yaml", "--out", out, "-q") == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_non_estimable_and_zero_dof(dataset: Path, capsys):
    text = CONFIG.replace(
        "design: one-sample", "design: {paired: {condition: group, subject: subject}}"
    )
    (dataset / "analysis.yaml").write_text(text.replace("    covariates: [age]\n", ""))
    # each subject has one row only -> paired design refused with the subject named
    assert run_cli("run", dataset / "analysis.yaml", "-q") == 2
    assert "subject" in capsys.readouterr().err
    # dof <= 0: 10 inputs, 10-column design
    pd.DataFrame(np.eye(10), columns=[f"c{i}" for i in range(10)]).to_csv(
        dataset / "dm.tsv", sep="\t", index=False
    )
    (dataset / "analysis.yaml").write_text(
        "model: {inputs: inputs.tsv, design: {matrix: dm.tsv}}\ncontrasts: [{name: a, t: c0}]\n"
    )
    assert run_cli("run", dataset / "analysis.yaml", "-q") == 2
    assert "degrees of freedom" in capsys.readouterr().err
    # non-estimable: duplicated column
    pd.DataFrame({"a": np.ones(10), "b": np.ones(10)}).to_csv(
        dataset / "dm.tsv", sep="\t", index=False
    )
    (dataset / "analysis.yaml").write_text(
        "model: {inputs: inputs.tsv, design: {matrix: dm.tsv}}\ncontrasts: [{name: only a, t: a}]\n"
    )
    assert run_cli("run", dataset / "analysis.yaml", "-q") == 2
    err = capsys.readouterr().err
    assert "not estimable" in err and "only a" in err
    assert not (dataset / "results").exists()


def test_maps_level(dataset: Path):
    out = dataset / "first"
    assert run_cli("run", dataset / "analysis.yaml", "--out", out, "-q") == 0
    maps = json.loads((out / "summary.json").read_text())["contrasts"][0]["maps"]
    (dataset / "maps.yaml").write_text(
        f"""\
model:
  level: maps
  maps:
    - {{name: from t, path: {out / maps["stat"]}, stat: t, dof: 8}}
    - {{name: from z, path: {out / maps["z"]}, stat: z}}
corrections: [{{method: fdr, alpha: 0.05}}]
report: {{formats: []}}
"""
    )
    out2 = dataset / "maps_out"
    assert run_cli("run", dataset / "maps.yaml", "--out", out2, "-q") == 0
    summary = json.loads((out2 / "summary.json").read_text())
    z_from_t = nib.load(out2 / summary["contrasts"][0]["maps"]["z"]).get_fdata()
    z_orig = nib.load(out / maps["z"]).get_fdata()
    # float32 storage of t: z recomputed from the stored t agrees to 1e-4
    np.testing.assert_allclose(z_from_t, z_orig, atol=1e-4)
    assert (
        summary["contrasts"][0]["corrections"][0]["n_voxels"]
        == summary["contrasts"][1]["corrections"][0]["n_voxels"]
    )


def test_atlas_labels_and_offline_missing_atlas(dataset: Path, templateflow_home: Path):
    text = CONFIG + "atlases: [harvard-oxford-cortical, schaefer-400-7]\n"
    (dataset / "analysis.yaml").write_text(text)
    out = dataset / "results"
    # schaefer-400-7 is not in the offline TemplateFlow tree: the run still finishes
    assert run_cli("run", dataset / "analysis.yaml", "--out", out, "-q") == 0
    summary = json.loads((out / "summary.json").read_text())
    status = {a["name"]: a["status"] for a in summary["atlases"]}
    assert status == {"harvard-oxford-cortical": "ok", "schaefer-400-7": "missing"}
    missing = [a for a in summary["atlases"] if a["status"] == "missing"][0]
    assert "glmreport atlases fetch schaefer-400-7" in missing["message"]
    corr = summary["contrasts"][0]["corrections"][0]
    peaks = pd.read_csv(out / corr["peaks_table"], sep="\t")
    assert set(peaks["schaefer-400-7"]) == {"atlas unavailable"}
    assert peaks["harvard-oxford-cortical"].notna().all()
    assert any("schaefer-400-7" in n for n in corr["extras"]["atlas_notes"])


def test_atlases_commands(templateflow_home: Path, capsys):
    assert run_cli("atlases", "list") == 0
    listing = capsys.readouterr().out
    assert "harvard-oxford-cortical " in listing and "available" in listing
    assert run_cli("atlases", "fetch", "harvard-oxford-cortical") == 0
    assert run_cli("atlases", "fetch", "schaefer-400-7") == 2
    assert "FAILED" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# global flags, help texts, plurals, stale PDFs, progress without a terminal

ONE_COLUMN = """\
model:
  inputs: inputs.tsv
  design: one-sample
contrasts:
  - {name: effect, t: intercept}
corrections:
  - {method: fdr, alpha: 0.05}
report: {formats: []}
"""


@pytest.mark.parametrize(
    "args",
    [("-q", "validate", "{c}"), ("validate", "{c}", "-q"), ("--quiet", "validate", "{c}")],
)
def test_global_flags_before_or_after_the_command(dataset: Path, capsys, args):
    config = dataset / "analysis.yaml"
    assert run_cli(*(a.format(c=config) for a in args)) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{config}: OK") and captured.err == ""


def test_quiet_and_verbose_exclude_each_other(dataset: Path, capsys):
    with pytest.raises(SystemExit) as exc:
        run_cli("-q", "validate", dataset / "analysis.yaml", "-v")
    assert exc.value.code == 2
    assert "-v/--verbose: not allowed with argument -q/--quiet" in capsys.readouterr().err
    # -v before the command takes effect: a traceback comes with the error
    assert run_cli("-v", "validate", dataset / "missing.yaml") == 2
    assert "Traceback" in capsys.readouterr().err


def test_validate_counts_in_words(dataset: Path, capsys):
    (dataset / "one.yaml").write_text(ONE_COLUMN)
    assert run_cli("validate", dataset / "one.yaml") == 0
    out = capsys.readouterr().out
    assert "10 inputs, " in out and "(1 column, dof 9.0), 1 contrast, 1 correction" in out
    assert run_cli("validate", dataset / "analysis.yaml") == 0
    assert "(2 columns, dof 8.0), 3 contrasts, 3 corrections" in capsys.readouterr().out


COMMANDS = ["run", "validate", "report", "diff", "demo", "schema", "atlases", "atlases list"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_texts_are_whole_sentences(capsys, command):
    with pytest.raises(SystemExit) as exc:
        run_cli(*command.split(), "--help")
    assert exc.value.code == 0
    text = capsys.readouterr().out
    description = text.split("\n\n")[1].replace("\n", " ")
    assert description[0].isupper() and description.endswith("."), description
    assert "-q, --quiet" in text and "-v, --verbose" in text


def test_top_level_help_lists_whole_lines(capsys):
    with pytest.raises(SystemExit):
        run_cli("--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "demo write a synthetic group dataset, run it, and print where its config and " in text
    assert "report are" in text
    assert "diff compare two results folders: exit 0 when equal, 3 when they differ" in text
    assert "3 diff: the folders differ" in text


def test_report_removes_the_pdf_it_wrote_earlier(dataset: Path, capsys):
    """A real PDF (one contrast, one correction: a short report to typeset)."""
    (dataset / "one.yaml").write_text(ONE_COLUMN)
    out = dataset / "results"
    assert run_cli("run", dataset / "one.yaml", "--out", out, "-q") == 0
    assert run_cli("report", out, "--pdf", "-q") == 0
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads((out / "summary.json").read_text())["report"]["pdf"] == "report.pdf"
    capsys.readouterr()
    assert run_cli("report", out) == 0
    assert not (out / "report.pdf").exists() and (out / "report.html").is_file()
    assert json.loads((out / "summary.json").read_text())["report"] == {
        "html": "report.html",
        "pdf": None,
    }
    err = capsys.readouterr().err
    assert f"removed {out / 'report.pdf'}, written for the earlier report" in err
    # a report.pdf that summary.json does not record, or a link, is not glmreport's: kept
    (out / "report.pdf").write_bytes(b"%PDF-1.4 someone else's")
    assert not remove_stale_pdf(out, None)
    (out / "report.pdf").unlink()
    (out / "report.pdf").symlink_to(dataset / "inputs.tsv")
    assert not remove_stale_pdf(out, "report.pdf")
    assert (out / "report.pdf").is_symlink() and (dataset / "inputs.tsv").is_file()


def test_progress_is_plain_lines_when_not_a_terminal(dataset: Path, capsys):
    """stderr captured (not a terminal): timed log lines, no progress bar, no carriage
    return; on a terminal the console may draw bars, and never with --quiet."""
    text = CONFIG.replace("corrections:\n", "corrections:\n  - {method: permutation, n_perm: 30}\n")
    (dataset / "perm.yaml").write_text(text)
    assert run_cli("run", dataset / "perm.yaml", "--out", dataset / "perm") == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "perm/s" not in err
    lines = err.splitlines()
    assert "] effect: permutation (perm)\n" in err
    assert all(line.startswith("[") and "s] " in line for line in lines), lines

    import pty

    from glmreport.cli import _Console

    master, replica = pty.openpty()
    with open(replica, "w") as terminal, open(master, "rb", buffering=0):
        saved = sys.stderr
        sys.stderr = terminal
        try:
            assert _Console().bars and not _Console(quiet=True).bars
        finally:
            sys.stderr = saved
    assert not _Console().bars  # captured stderr again
