"""Hostile and broken inputs through the command line: exit 2, a bounded message naming what
and where, nothing run from the config, and nothing created or deleted.

Every case builds a small real dataset in ``tmp_path`` (NIfTI maps, tables, BOLD runs), breaks
one thing, runs ``glmreport validate`` or ``run`` in-process and checks the exit code, the
message and a snapshot of the folder before and after.
"""

from __future__ import annotations

import gzip
import shutil
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from glmreport.cli import main

SHAPE = (8, 8, 6)
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
N_INPUTS = 8
T_R, N_SCANS = 2.0, 30

SECOND = """\
model:
  inputs: inputs.tsv
  design: one-sample
contrasts:
  - {name: effect, t: intercept}
report: {formats: []}
"""

FIRST = """\
model:
  level: first
  t_r: 2.0
  mask: mask.nii.gz
  space: null
  runs:
    - {bold: bold.nii.gz, events: events.tsv}
contrasts:
  - {name: a, t: a}
report: {formats: []}
"""


# ---------------------------------------------------------------------------------------------
# datasets and helpers


def write_second(folder: Path) -> None:
    """N_INPUTS effect maps and an inputs table with a covariate, a group and a spare column."""
    rng = np.random.default_rng(0)
    rows = []
    for s in range(N_INPUTS):
        data = (1.0 + rng.standard_normal(SHAPE)).astype(np.float32)
        name = f"sub-{s + 1:02d}.nii.gz"
        nib.save(nib.Nifti1Image(data, AFFINE), folder / name)
        rows.append(
            {
                "path": name,
                "age": 20 + 3 * s,
                "group": "ab"[s % 2],
                "notes": "x",
            }
        )
    pd.DataFrame(rows).to_csv(folder / "inputs.tsv", sep="\t", index=False)
    (folder / "analysis.yaml").write_text(SECOND)


def write_first(folder: Path) -> None:
    """One BOLD run of N_SCANS scans, an all-brain mask and an events file."""
    rng = np.random.default_rng(1)
    bold = 100 + rng.standard_normal((*SHAPE, N_SCANS)).astype(np.float32)
    nib.save(nib.Nifti1Image(bold, AFFINE), folder / "bold.nii.gz")
    nib.save(nib.Nifti1Image(np.ones(SHAPE, np.uint8), AFFINE), folder / "mask.nii.gz")
    events = "onset\tduration\ttrial_type\n4\t2\ta\n20\t2\tb\n36\t2\ta\n50\t2\tb\n"
    (folder / "events.tsv").write_text(events)
    (folder / "analysis.yaml").write_text(FIRST)


def snapshot(folder: Path) -> set[tuple[str, int]]:
    """Every file under ``folder`` as (relative path, size)."""
    return {(str(p.relative_to(folder)), p.stat().st_size) for p in folder.rglob("*")}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def edit_table(folder: Path, change: Callable[[pd.DataFrame], None]) -> None:
    table = pd.read_csv(folder / "inputs.tsv", sep="\t", dtype=str, keep_default_na=False)
    change(table)
    table.to_csv(folder / "inputs.tsv", sep="\t", index=False)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def huge_header(path: Path, shape: tuple[int, ...]) -> None:
    """An uncompressed NIfTI whose header claims ``shape`` but which holds 64 bytes of data."""
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(np.float32)
    header.set_sform(AFFINE, 1)
    header.set_data_offset(352)
    raw = header.binaryblock + b"\0" * (352 - len(header.binaryblock)) + b"\0" * 64
    path.write_bytes(raw)


def run_cli(command: str, folder: Path, *extra: str) -> int:
    args = [command, str(folder / "analysis.yaml"), *extra]
    if command == "run":
        args += ["--out", str(folder / "results"), "-q"]
    return main(args)


# ---------------------------------------------------------------------------------------------
# formulas: parsed, never evaluated

HOSTILE_FORMULAS = [
    ("1 + I(__import__('os').system('touch pwned') + age)", "I(__import__('os').system("),
    ("age.__class__", "term 'age.__class__'"),
    ("__import__", "term '__import__'"),
    ("{lambda: age}", "term 'lambda: age'"),
    ("'age' + 1", "term ''age''"),
    ("open(age)", "unknown function 'open'"),
    ("age[0]", "term 'age[0]'"),
    ("{(x := age)}", "term '(x := age)'"),
    ("{f'{age}'}", "formula '{f'{age}'}' cannot be parsed"),
    ("{age.real}", "term 'age.real'"),
    ("C(group, Sum)", "C() takes exactly one column name"),
    ("group / age", "operator '/'"),
]


@pytest.mark.parametrize(("formula", "fragment"), HOSTILE_FORMULAS)
def test_hostile_formula_refused_at_validate(tmp_path, capsys, monkeypatch, formula, fragment):
    write_second(tmp_path)
    monkeypatch.chdir(tmp_path)  # a payload that ran would write here
    quoted = formula.replace('"', '\\"')
    edit(tmp_path / "analysis.yaml", "design: one-sample", f'design: {{formula: "{quoted}"}}')
    before = snapshot(tmp_path)
    assert run_cli("validate", tmp_path) == 2
    err = capsys.readouterr().err
    assert "model.design.formula:" in err and fragment in err
    assert "a formula may use" in err or "cannot be parsed" in err
    assert not (tmp_path / "pwned").exists()
    assert snapshot(tmp_path) == before


def test_formula_is_refused_before_inputs_are_read(tmp_path, capsys):
    # no inputs table exists: the formula is refused first, from the config alone
    (tmp_path / "analysis.yaml").write_text(
        SECOND.replace("design: one-sample", 'design: {formula: "1 + np.log(age)"}')
    )
    assert run_cli("validate", tmp_path) == 2
    err = capsys.readouterr().err
    assert "term 'np.log(age)'" in err and "inputs.tsv" not in err


# ---------------------------------------------------------------------------------------------
# broken inputs and unbounded values: (setup, command, message fragments)


def _alias_bomb(folder: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    (folder / "analysis.yaml").write_text("\n".join(lines) + "\ntitle: *a9\n" + SECOND)


def _huge_config(folder: Path) -> None:
    (folder / "analysis.yaml").write_text(f"title: {'x' * (2 << 20)}\n" + SECOND)


def _n_perm_too_large(folder: Path) -> None:
    (folder / "analysis.yaml").write_text(
        SECOND + "corrections:\n  - {method: permutation, n_perm: 2000000}\n"
    )


def _n_perm_1e9_covariate(folder: Path) -> None:
    text = SECOND.replace("design: one-sample", "design: one-sample\n  covariates: [age]")
    text += "corrections:\n  - {method: permutation, n_perm: 1000000000}\n"
    (folder / "analysis.yaml").write_text(text)


def _smoothing(folder: Path) -> None:
    edit(
        folder / "analysis.yaml", "design: one-sample", "design: one-sample\n  smoothing_fwhm: 1e6"
    )


def _header_1000_cubed(folder: Path) -> None:
    huge_header(folder / "sub-03.nii", (1000, 1000, 1000))
    edit(folder / "inputs.tsv", "sub-03.nii.gz", "sub-03.nii")


def _header_longer_than_file(folder: Path) -> None:
    huge_header(folder / "sub-03.nii", SHAPE)
    edit(folder / "inputs.tsv", "sub-03.nii.gz", "sub-03.nii")


def _truncated_map(folder: Path) -> None:
    truncate(folder / "sub-04.nii.gz")


def _negative_f_map(folder: Path) -> None:
    data = np.abs(np.random.default_rng(2).standard_normal(SHAPE)).astype(np.float32) + 0.1
    data[2, 3, 1] = -1.5
    data[4, 4, 4] = -0.5
    nib.save(nib.Nifti1Image(data, AFFINE), folder / "fmap.nii.gz")
    (folder / "analysis.yaml").write_text(
        "model:\n  level: maps\n  maps:\n    - {name: fmap, path: fmap.nii.gz, stat: F, dof: 20}\n"
        "report: {formats: []}\n"
    )


def _na_covariate(folder: Path) -> None:
    edit_table(folder, lambda t: t.__setitem__("age", t["age"].where(t.index != 2, "n/a")))
    edit(folder / "analysis.yaml", "design: one-sample", "design: one-sample\n  covariates: [age]")


def _na_formula_column(folder: Path) -> None:
    edit_table(folder, lambda t: t.__setitem__("age", t["age"].where(t.index != 5, "n/a")))
    edit(folder / "analysis.yaml", "design: one-sample", 'design: {formula: "1 + age"}')


def _na_group(folder: Path) -> None:
    edit_table(folder, lambda t: t.__setitem__("group", t["group"].where(t.index != 1, "n/a")))
    edit(folder / "analysis.yaml", "design: one-sample", "design: {two-sample: {group: group}}")


def _duplicate_path(folder: Path) -> None:
    edit(folder / "inputs.tsv", "sub-05.nii.gz", "sub-02.nii.gz")


def _duplicate_content(folder: Path) -> None:
    shutil.copyfile(folder / "sub-02.nii.gz", folder / "sub-06.nii.gz")


def _deep_yaml(folder: Path) -> None:
    (folder / "analysis.yaml").write_text(SECOND + "extra: " + "[" * 5000 + "]" * 5000 + "\n")


def _long_integer(folder: Path) -> None:
    (folder / "analysis.yaml").write_text(
        SECOND + "corrections:\n  - {method: fdr, cluster_extent: " + "9" * 5000 + "}\n"
    )


def _long_key(folder: Path) -> None:
    (folder / "analysis.yaml").write_text(SECOND + "k" * 1000 + ": 1\n")


def _long_formula(folder: Path) -> None:
    formula = " + ".join(["age"] * 400)
    edit(folder / "analysis.yaml", "design: one-sample", f'design: {{formula: "{formula}"}}')


def _formula_terms(folder: Path) -> None:
    formula = "*".join("abcdefghij")
    edit(folder / "analysis.yaml", "design: one-sample", f'design: {{formula: "{formula}"}}')


def _too_many_corrections(folder: Path) -> None:
    (folder / "analysis.yaml").write_text(SECOND + "corrections:\n" + "  - fdr\n" * 40)


def _ari_thresholds(folder: Path) -> None:
    thresholds = ", ".join(str(2 + i / 100) for i in range(50))
    (folder / "analysis.yaml").write_text(
        SECOND + f"corrections:\n  - {{method: ari, thresholds: [{thresholds}]}}\n"
    )


def _max_subpeaks(folder: Path) -> None:
    (folder / "analysis.yaml").write_text(SECOND + "clusters: {max_subpeaks: 100000}\n")


SECOND_CASES = {
    "alias bomb": (_alias_bomb, "validate", ["expands to more than 1,000,000 values"]),
    "huge config file": (_huge_config, "validate", ["analysis.yaml has", "at most 1,048,576"]),
    "n_perm too large": (_n_perm_too_large, "validate", ["corrections[0].n_perm", "1,000,000"]),
    "n_perm 1e9 with covariate": (_n_perm_1e9_covariate, "run", ["n_perm", "1,000,000"]),
    "smoothing 1e6": (_smoothing, "validate", ["model.smoothing_fwhm", "at most 50 mm"]),
    "header 1000 cubed": (_header_1000_cubed, "validate", ["sub-03.nii", "(1000, 1000, 1000)"]),
    "header longer than file": (_header_longer_than_file, "validate", ["sub-03.nii", "truncated"]),
    "truncated nii.gz": (_truncated_map, "validate", ["sub-04.nii.gz", "truncated or corrupt"]),
    "negative F map": (_negative_f_map, "validate", ["F map 'fmap'", "2 voxel(s) below 0"]),
    "n/a covariate": (_na_covariate, "validate", ["covariate 'age'", "row 3 (", "sub-03"]),
    "n/a formula column": (_na_formula_column, "validate", ["column 'age'", "n/a", "sub-06"]),
    "n/a group": (_na_group, "validate", ["group column 'group'", "row 2 (", "sub-02"]),
    "duplicate path": (_duplicate_path, "validate", ["input 2 (", "input 5 (", "same file"]),
    "duplicate content": (_duplicate_content, "validate", ["sub-06.nii.gz", "identical content"]),
    "deep yaml": (_deep_yaml, "validate", ["nested more than 50 levels"]),
    "long integer": (_long_integer, "validate", ["more than 4300 digits"]),
    "long key": (_long_key, "validate", ["unknown key 'kkkk", "..."]),
    "long formula": (_long_formula, "validate", ["model.design.formula", "at most 1000"]),
    "formula terms": (_formula_terms, "validate", ["more than 128 terms"]),
    "too many corrections": (_too_many_corrections, "validate", ["at most 32 entries"]),
    "ari thresholds": (_ari_thresholds, "validate", ["corrections[0].thresholds", "at most 20"]),
    "max_subpeaks": (_max_subpeaks, "validate", ["clusters.max_subpeaks", "<= 100"]),
}


@pytest.mark.parametrize("case", list(SECOND_CASES))
def test_second_level_hostile_input(tmp_path, capsys, case):
    setup, command, fragments = SECOND_CASES[case]
    write_second(tmp_path)
    setup(tmp_path)
    before = snapshot(tmp_path)
    t0 = time.perf_counter()
    assert run_cli(command, tmp_path) == 2
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert err.startswith("glmreport: error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert len(err) < 1500  # no unbounded value is printed
    assert snapshot(tmp_path) == before
    assert elapsed < {"alias bomb": 2.0, "n_perm 1e9 with covariate": 5.0}.get(case, 30.0)


# ---------------------------------------------------------------------------------------------
# first level


def _truncated_bold(folder: Path) -> None:
    truncate(folder / "bold.nii.gz")


def _na_onset(folder: Path) -> None:
    edit(folder / "events.tsv", "20\t2\tb", "n/a\t2\tb")


def _event_after_end(folder: Path) -> None:
    # the run ends at 30 scans x 2 s = 60 s; frame times end at 59 s + 2 s = 61 s with
    # slice_time_ref 0.5, which must not extend the run
    edit(folder / "events.tsv", "50\t2\tb", "60.5\t2\tb")
    edit(folder / "analysis.yaml", "t_r: 2.0", "t_r: 2.0\n  slice_time_ref: 0.5")


def _duplicate_bold(folder: Path) -> None:
    edit(
        folder / "analysis.yaml",
        "    - {bold: bold.nii.gz, events: events.tsv}",
        "    - {bold: bold.nii.gz, events: events.tsv}\n"
        "    - {bold: ./bold.nii.gz, events: events.tsv}",
    )


def _fir_delays(folder: Path) -> None:
    edit(folder / "analysis.yaml", "t_r: 2.0", "t_r: 2.0\n  hrf: fir\n  fir_delays: [0, 5000]")


FIRST_CASES = {
    "truncated bold": (_truncated_bold, "run", ["bold.nii.gz", "truncated or corrupt"]),
    "n/a onset": (_na_onset, "validate", ["events.tsv", "'onset'", "rows 2"]),
    "event after run end": (
        _event_after_end,
        "validate",
        ["events.tsv", "end of the run (60 s; the run has 30 scans", "onset 60.5 s"],
    ),
    "duplicate bold": (_duplicate_bold, "validate", ["BOLD run 1", "BOLD run 2", "same file"]),
    "fir delay": (_fir_delays, "validate", ["model.fir_delays[1]", "<= 100"]),
}


@pytest.mark.parametrize("case", list(FIRST_CASES))
def test_first_level_hostile_input(tmp_path, capsys, case):
    setup, command, fragments = FIRST_CASES[case]
    write_first(tmp_path)
    setup(tmp_path)
    before = snapshot(tmp_path)
    assert run_cli(command, tmp_path) == 2
    err = capsys.readouterr().err
    assert err.startswith("glmreport: error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert snapshot(tmp_path) == before


def test_truncated_bold_also_refused_by_validate_with_auto_mask(tmp_path, capsys):
    write_first(tmp_path)
    edit(tmp_path / "analysis.yaml", "  mask: mask.nii.gz\n", "")
    truncate(tmp_path / "bold.nii.gz")
    before = snapshot(tmp_path)
    assert run_cli("validate", tmp_path) == 2
    err = capsys.readouterr().err
    assert "bold.nii.gz" in err and "cannot be read" in err
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------------------------------
# what is accepted


def test_na_in_unused_column_is_fine(tmp_path, capsys):
    write_second(tmp_path)
    edit_table(tmp_path, lambda t: t.__setitem__("notes", ["n/a", ""] * (N_INPUTS // 2)))
    edit_table(tmp_path, lambda t: t.__setitem__("age", t["age"].where(t.index != 0, "n/a")))
    assert run_cli("validate", tmp_path) == 0
    assert f"{N_INPUTS} inputs" in capsys.readouterr().out


def test_yaml_12_numbers_are_numbers(tmp_path, capsys):
    write_second(tmp_path)
    (tmp_path / "analysis.yaml").write_text(
        SECOND + "corrections:\n  - {method: fdr, alpha: 1e-3}\n  - {method: uncorrected, "
        "alpha: 5E-2}\n  - {method: bonferroni, alpha: .05}\n"
    )
    assert run_cli("validate", tmp_path) == 0
    from glmreport.config.load import load_config

    config = load_config(tmp_path / "analysis.yaml")
    assert [c.alpha for c in config.corrections] == [0.001, 0.05, 0.05]


def test_na_trial_type_rows_dropped_with_note(tmp_path, capsys):
    import json

    write_first(tmp_path)
    edit(tmp_path / "events.tsv", "36\t2\ta", "36\t2\tn/a")
    assert run_cli("run", tmp_path, "--no-report") == 0
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    notes = summary["model"]["first"]["design_notes"]["run-1"]
    assert any("1 event(s) with trial_type n/a were dropped (rows 3)" in n for n in notes)
    assert summary["model"]["columns"][:2] == ["a", "b"]  # no condition named 'n/a'


def test_gzip_of_garbage_is_an_input_error(tmp_path, capsys):
    write_second(tmp_path)
    with gzip.open(tmp_path / "sub-07.nii.gz", "wb") as fh:
        fh.write(b"\0" * 100)
    before = snapshot(tmp_path)
    assert run_cli("validate", tmp_path) == 2
    assert "sub-07.nii.gz" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_a_bold_run_inflating_past_the_read_ahead_budget_is_read_as_usual(tmp_path, capsys):
    """A run whose gzip inflates far past its header's data (300 MiB of zeros after it) is
    not held by the start-up read-ahead: the run reads what its header describes, the same
    maps as the plain file, and the read-ahead holds nothing afterwards."""
    from glmreport.inputs import prefetch

    write_first(tmp_path)
    config = str(tmp_path / "analysis.yaml")
    assert main(["run", config, "--out", str(tmp_path / "plain"), "-q"]) == 0
    raw = gzip.decompress((tmp_path / "bold.nii.gz").read_bytes())
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    with open(tmp_path / "bold.nii.gz", "wb") as fh:
        fh.write(packer.compress(raw))
        zeros = bytes(1 << 20)
        for _ in range(300):
            fh.write(packer.compress(zeros))
        fh.write(packer.flush())
    t0 = time.perf_counter()
    assert main(["run", config, "--out", str(tmp_path / "padded"), "-q"]) == 0
    assert time.perf_counter() - t0 < 60
    assert prefetch._active is None
    for z in sorted((tmp_path / "plain").rglob("*stat-z*.nii.gz")):
        padded = tmp_path / "padded" / z.relative_to(tmp_path / "plain")
        np.testing.assert_array_equal(nib.load(padded).get_fdata(), nib.load(z).get_fdata())
