"""``glmreport diff``: two real runs of one config are equal (byte for byte but for the
provenance's times and names), a changed config is found where it changed, and the file
comparisons are checked on arrays whose differences are known."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from glmreport.cli import main
from glmreport.outputs.compare import (
    DEFAULT_TOLERANCE,
    Comparison,
    Difference,
    compare_results,
    config_differences,
    format_comparison,
)
from glmreport.outputs.compare_files import array_differences, compare_maps, compare_tables

SHAPE = (10, 12, 9)
AFFINE = np.array([[3.0, 0, 0, -15], [0, 3.0, 0, -18], [0, 0, 3.0, -12], [0, 0, 0, 1]])

CONFIG = """\
title: diff test
model:
  inputs: inputs.tsv
  design: one-sample
  covariates: [age]
  smoothing_fwhm: 4
contrasts:
  - {name: effect, t: intercept}
  - {name: both, F: [intercept, age]}
corrections:
  - {method: uncorrected, alpha: 0.001, cluster_extent: 2}
  - {method: fdr, alpha: 0.05}
  - {method: permutation, n_perm: 40, seed: 3}
two_sided: true
report: {formats: []}
"""


def write_study(folder: Path, config: str = CONFIG, n: int = 8) -> Path:
    """n maps with one blob, an inputs table and the config; returns the config."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    ii, jj, kk = np.indices(SHAPE)
    blob = np.exp(-((ii - 4) ** 2 + (jj - 5) ** 2 + (kk - 4) ** 2) / 5.0)
    rows = ["path\tage"]
    for s in range(n):
        data = (2.0 * blob + rng.standard_normal(SHAPE)).astype(np.float32)
        nib.save(nib.Nifti1Image(data, AFFINE), folder / f"sub-{s + 1:02d}.nii.gz")
        rows.append(f"sub-{s + 1:02d}.nii.gz\t{20 + 2 * s}")
    (folder / "inputs.tsv").write_text("\n".join(rows) + "\n")
    (folder / "analysis.yaml").write_text(config)
    return folder / "analysis.yaml"


def cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Results folders: the same config twice (a, b), a changed alpha, a changed smoothing."""
    root = tmp_path_factory.mktemp("diff")
    config = write_study(root / "study")
    changed = {
        "alpha": CONFIG.replace("alpha: 0.001", "alpha: 0.005"),
        "smoothing": CONFIG.replace("smoothing_fwhm: 4", "smoothing_fwhm: 6"),
    }
    for name, text in changed.items():
        (root / "study" / f"{name}.yaml").write_text(text)
    out = {}
    for name, cfg in (
        ("a", config),
        ("b", config),
        *((k, root / "study" / f"{k}.yaml") for k in changed),
    ):
        out[name] = root / name
        assert cli("run", cfg, "--out", out[name], "-q") == 0
    return out


def test_same_config_twice_is_equal(runs: dict[str, Path], capsys):
    comparison = compare_results(runs["a"], runs["b"])
    assert comparison.equal and comparison.differences == ()
    assert comparison.tolerance == DEFAULT_TOLERANCE == 1e-6
    # 2 contrasts x (uncorrected, fdr, permutation max-t) and every file they name
    assert comparison.counts["contrasts"] == 2 and comparison.counts["corrections"] == 6
    assert comparison.counts["maps"] >= 2 * 5 + 6 and comparison.counts["tables"] == 1 + 6 * 2
    assert comparison.counts["arrays"] == 2
    assert cli("diff", runs["a"], runs["b"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("equal (2 contrasts, 6 corrections, ")


def test_runs_are_deterministic_byte_for_byte(runs: dict[str, Path]):
    """No timestamp, absolute path or unordered output in the data: every file but
    summary.json is the same bytes, and summary.json differs only in its provenance's times,
    command line and folder name (which diff ignores)."""
    files_a = sorted(p.relative_to(runs["a"]) for p in runs["a"].rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(runs["b"]) for p in runs["b"].rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        if rel.name != "summary.json":
            assert (runs["a"] / rel).read_bytes() == (runs["b"] / rel).read_bytes(), rel
    sa, sb = (json.loads((runs[k] / "summary.json").read_text()) for k in "ab")
    changed = {key for key in sa["provenance"] if sa["provenance"][key] != sb["provenance"][key]}
    assert changed <= {"started", "finished", "run_time_s", "command", "results_folder"}
    assert {k: v for k, v in sa.items() if k != "provenance"} == {
        k: v for k, v in sb.items() if k != "provenance"
    }


def test_changed_alpha_is_found_where_it_changed(runs: dict[str, Path], capsys):
    assert cli("diff", runs["a"], runs["alpha"]) == 3
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "config:"
    assert lines[1] == (
        "  line 11: '  - {method: uncorrected, alpha: 0.001, cluster_extent: 2}' vs "
        "'  - {method: uncorrected, alpha: 0.005, cluster_extent: 2}'"
    )
    assert "model:" not in out  # the model is the same
    effect = lines.index("contrast 'effect':")
    block = lines[effect + 1 : lines.index("contrast 'both':")]
    assert block[0] == "  correction 'uncorrected':"
    assert "    alpha: 0.001 vs 0.005" in block
    assert "    threshold_z: 3.2905267314918945 vs 2.8070337683438042" in block
    assert any(line.startswith("    n_voxels: ") for line in block)
    assert any(line.startswith("    map z (thresholded): max |A - B| = ") for line in block)
    assert lines[-1].endswith(
        "compared; tolerance 1e-06; provenance except seeds, report files and sidecars ignored)"
    )
    assert lines[-1].split()[1] == "differences"


def test_changed_smoothing_changes_model_and_maps(runs: dict[str, Path]):
    comparison = compare_results(runs["a"], runs["smoothing"])
    by_group: dict[tuple[str, ...], list[str]] = {}
    for diff in comparison.differences:
        by_group.setdefault(diff.where, []).append(diff.what)
    assert by_group[("config",)] == ["line 6: '  smoothing_fwhm: 4' vs '  smoothing_fwhm: 6'"]
    assert "smoothing_fwhm: 4.0 vs 6.0" in by_group[("model",)]
    effect = by_group[("contrast 'effect'",)]
    for key in ("effect", "variance", "stat", "z", "p"):
        assert any(w.startswith(f"map {key}: max |A - B| = ") for w in effect), key
    assert ("inputs",) not in by_group and ("design",) not in by_group  # same inputs, design


def test_tolerance_hides_small_map_differences(runs: dict[str, Path], tmp_path: Path):
    """A map changed by 1e-4 at one voxel: a difference at the default tolerance, equal at
    1e-3 (the CLI's --tolerance)."""
    folder = tmp_path / "b"
    shutil.copytree(runs["b"], folder)
    summary = json.loads((folder / "summary.json").read_text())
    rel = summary["contrasts"][0]["maps"]["z"]
    img = nib.load(folder / rel)
    data = np.asarray(img.dataobj).copy()
    data[4, 5, 4] += 1e-4
    nib.save(nib.Nifti1Image(data, img.affine, img.header), folder / rel)
    comparison = compare_results(runs["a"], folder)
    assert [d.where for d in comparison.differences] == [("contrast 'effect'",)]
    (what,) = [d.what for d in comparison.differences]
    assert what.startswith("map z: max |A - B| = 0.0001")
    assert what.endswith(f"(1 of {np.prod(SHAPE)} voxels differs by more than 1e-06)")
    assert compare_results(runs["a"], folder, tolerance=1e-3).equal
    assert cli("diff", runs["a"], folder, "--tolerance", "1e-3") == 0
    assert cli("diff", runs["a"], folder, "--tolerance", "1e-5") == 3


def test_other_grid_is_a_difference_not_a_crash(runs: dict[str, Path], tmp_path: Path, capsys):
    folder = tmp_path / "b"
    shutil.copytree(runs["b"], folder)
    summary = json.loads((folder / "summary.json").read_text())
    rel = summary["contrasts"][1]["corrections"][0]["map"]
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), AFFINE), folder / rel)
    assert cli("diff", runs["a"], folder) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        "contrast 'both':",
        "  correction 'uncorrected':",
        f"    map z (thresholded): grid shape {SHAPE} vs (4, 4, 4) (voxels not compared)",
    ]


def test_contrasts_and_corrections_in_one_folder_only(runs: dict[str, Path], tmp_path: Path):
    folder = tmp_path / "b"
    shutil.copytree(runs["b"], folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary["contrasts"] = summary["contrasts"][:1]
    summary["contrasts"][0]["corrections"] = summary["contrasts"][0]["corrections"][::-1][1:]
    (folder / "summary.json").write_text(json.dumps(summary))
    whats = [(d.where, d.what) for d in compare_results(runs["a"], folder).differences]
    assert whats == [
        (("contrasts",), "contrast 'both' only in A"),
        (("contrast 'effect'",), "correction 'permMaxT' only in A"),
        (
            ("contrast 'effect'",),
            "order of the corrections: ['uncorrected', 'fdr'] vs ['fdr', 'uncorrected']",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# the pieces


def test_array_differences_nan_aware():
    a = np.array([1.0, np.nan, 3.0, np.inf, 5.0, np.nan])
    b = np.array([1.0, np.nan, 3.5, np.inf, 5.0 + 1e-9, 0.0])
    assert array_differences(a, a.copy(), 0.0, unit="values") == []
    assert array_differences(a, b, 1e-6, unit="values") == [
        "max |A - B| = 0.5 (1 of 6 values differs by more than 1e-06)",
        "NaN in one and not the other in 1 of 6 values",
    ]
    inf = array_differences(np.array([np.inf, 1.0]), np.array([-np.inf, 1.0]), 1.0, unit="voxels")
    assert inf == ["max |A - B| = inf (1 of 2 voxels differs by more than 1)"]


def test_compare_tables(tmp_path: Path):
    a, b, c = tmp_path / "a.tsv", tmp_path / "b.tsv", tmp_path / "c.tsv"
    a.write_text("cluster_id\tpeak_z\tlabel\n1\t3.5\tleft\n2\tn/a\tright\n")
    b.write_text("cluster_id\tpeak_z\tlabel\n1\t3.75\tleft\n2\tn/a\tcentre\n")
    c.write_text("cluster_id\tpeak_z\n1\t3.5\n")
    assert compare_tables(a, a, 0.0) == []
    assert compare_tables(a, b, 0.1) == [
        "column 'peak_z': max |A - B| = 0.25 (1 of 2 rows differs by more than 0.1)",
        "column 'label': 1 of 2 rows differs (row 2: 'right' vs 'centre')",
    ]
    assert compare_tables(a, b, 0.3) == [
        "column 'label': 1 of 2 rows differs (row 2: 'right' vs 'centre')"
    ]
    assert compare_tables(a, c, 0.0) == [
        "columns differ (only in A: 'label')",
        "2 rows vs 1 row (cells not compared)",
    ]


def test_compare_maps_affine_and_4d(tmp_path: Path):
    data = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    nib.save(nib.Nifti1Image(data, AFFINE), tmp_path / "a.nii.gz")
    shifted = AFFINE.copy()
    shifted[0, 3] += 2.0
    data_b = data.copy()
    data_b[1, 2, 3, 1] = np.nan
    nib.save(nib.Nifti1Image(data_b, shifted), tmp_path / "b.nii.gz")
    assert compare_maps(tmp_path / "a.nii.gz", tmp_path / "a.nii.gz", 0.0) == []
    assert compare_maps(tmp_path / "a.nii.gz", tmp_path / "b.nii.gz", 0.0) == [
        "affine differs (max |A - B| = 2)",
        "NaN in one and not the other in 1 of 48 voxels",
    ]


def test_config_differences_numbers_lines_of_both():
    a = "a: 1\nb: 2\nc: 3\n"
    b = "a: 1\nnew: 0\nb: 2\nc: 4\n"
    assert config_differences(a, b) == [
        "line 2 only in B: 'new: 0'",
        "line 3 (B: line 4): 'c: 3' vs 'c: 4'",
    ]
    assert config_differences(a, a) == []


def test_format_groups_and_caps():
    diffs = [Difference(("config",), "line 1: 'a' vs 'b'")]
    diffs += [Difference(("contrast 'x'", "correction 'fdr'"), f"d{i}") for i in range(25)]
    diffs += [Difference(("contrast 'y'",), "map z: only in A")]
    text = format_comparison(
        Comparison(
            a=Path("A"),
            b=Path("B"),
            tolerance=0.5,
            differences=tuple(diffs),
            notes=("written by glmreport '0.1' and '0.2' (not compared)",),
            counts={"contrasts": 1, "maps": 3},
        )
    )
    assert text[:4] == ["config:", "  line 1: 'a' vs 'b'", "contrast 'x':", "  correction 'fdr':"]
    assert text[4:24] == [f"    d{i}" for i in range(20)]
    assert text[24:] == [
        "    ... and 5 more",
        "contrast 'y':",
        "  map z: only in A",
        "note: written by glmreport '0.1' and '0.2' (not compared)",
        "27 differences (1 contrast, 3 maps compared; tolerance 0.5; provenance except seeds, "
        "report files and sidecars ignored)",
    ]


def test_reader_gone_is_not_an_internal_error(runs: dict[str, Path]):
    """``glmreport diff A B | head -1``: a reader that stops reading ends the command quietly
    (128 + SIGPIPE), without a traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "glmreport", "diff", runs["a"], runs["alpha"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    proc.stdout.close()  # before the command prints anything (it imports first)
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""
