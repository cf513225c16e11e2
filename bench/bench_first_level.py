"""Benchmark: first-level AR(1) GLM, glmreport vs nilearn FirstLevelModel.

Two runs x 220 scans (``--scans``) on a 64 x 64 x 36 grid with an ellipsoidal brain mask of
~56k voxels, glover HRF, cosine drift (0.01 Hz), six motion confounds, AR(1) noise model,
three contrasts (two t, one 3-row F) combined over the runs by fixed effects.

Timed as fresh processes, median of ``--repeat`` (default 3), with ``bench/harness.py``:

- glmreport: ``glmreport run first.yaml --no-report`` (reads the runs, builds the designs,
  fits, combines the runs, writes every map, an FDR correction, tables and summary.json); its
  in-process time is ``glmreport.run`` timed after the imports in another fresh process;
- nilearn: one script that loads the BOLD files, builds the designs from the events and
  confounds, fits both runs and computes the three contrasts (no file written); its in-process
  time is that work after the imports.

Each process's wall time is measured from outside, its peak RSS from ``wait4``.

The z maps of both tools are compared at the end, using glmreport's unweighted fixed effects
(the combination nilearn's ``FirstLevelModel`` uses; one more process running the engine
alone); glmreport's default precision-weighted maps are what is timed.

Usage::

    python bench/bench_first_level.py [--repeat 3] [--scans 220] [--keep DIR] [--uncompressed]
                                      [--blas-threads N]

glmreport limits BLAS to one thread inside its fit (its products are thin); nilearn uses
whatever BLAS threading the environment gives. ``--blas-threads 1`` gives both the same.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from harness import PYTHON, Runs, machine_note, measure, table

SHAPE, N_SCANS, T_R, N_RUNS = (64, 64, 36), 220, 2.0, 2
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
CONDITIONS = ("face", "house", "tool")


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB.

    ``VmHWM`` from ``/proc/self/status`` where available: unlike ``ru_maxrss`` it starts afresh
    at ``exec``, so it does not inherit the parent's footprint at ``fork``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# ---------------------------------------------------------------------------------------------
# data


CONFIG = """\
model:
  level: first
  t_r: {t_r}
  runs:
{runs}
  hrf: glover
  drift: {{model: cosine, high_pass: 0.01}}
  noise_model: ar1
  smoothing_fwhm: 0
  mask: mask.nii.gz
  space: null
contrasts:
  - {{name: faceVsHouse, t: face - house}}
  - {{name: tool, t: tool}}
  - {{name: effectsOfInterest, F: [face, house, tool]}}
corrections:
  - {{method: fdr, alpha: 0.05}}
report: {{formats: []}}
"""
MOTION = "[trans_x, trans_y, trans_z, rot_x, rot_y, rot_z]"


def make_data(
    folder: Path, *, compressed: bool = True, seed: int = 0, n_scans: int = N_SCANS
) -> dict:
    """Write two synthetic runs (float32 BOLD, events, confounds), a mask and a config."""
    import nibabel as nib
    import pandas as pd

    from glmreport.glm.first_level import make_first_level_design, make_frame_times

    rng = np.random.default_rng(seed)
    ii, jj, kk = np.meshgrid(*[np.arange(s, dtype=float) for s in SHAPE], indexing="ij")
    r = ((ii - 31.5) / 29) ** 2 + ((jj - 31.5) / 29) ** 2 + ((kk - 17.5) / 16) ** 2
    mask = r <= 1
    v = int(mask.sum())
    nib.save(nib.Nifti1Image(mask.astype(np.uint8), AFFINE), folder / "mask.nii.gz")
    ext = ".nii.gz" if compressed else ".nii"
    runs = []
    for run in range(N_RUNS):
        onsets = np.sort(rng.uniform(5, n_scans * T_R - 30, 60)).round(1)
        events = pd.DataFrame(
            {
                "onset": onsets,
                "duration": rng.choice([1.0, 3.0], onsets.size),
                "trial_type": rng.choice(CONDITIONS, onsets.size),
            }
        )
        confounds = pd.DataFrame(
            rng.normal(size=(n_scans, 6)).cumsum(axis=0) * 0.05,
            columns=["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"],
        )
        ft = make_frame_times(n_scans, T_R)
        design = make_first_level_design(ft, events, confounds=confounds)
        cols = list(design.columns)
        betas = np.zeros((len(cols), v), dtype=np.float32)
        betas[cols.index("face")] = np.where(kk[mask] > 20, 15.0, 0.0)
        betas[cols.index("house")] = np.where(ii[mask] < 25, 10.0, 0.0)
        betas[cols.index("tool")] = 5.0
        betas[cols.index("constant")] = rng.normal(1000, 50, v)
        phi = rng.uniform(0.1, 0.5, v).astype(np.float32)
        y = (design.matrix.astype(np.float32) @ betas).astype(np.float32)
        noise = rng.standard_normal((n_scans, v), dtype=np.float32) * 8
        for t in range(1, n_scans):
            noise[t] += phi * noise[t - 1]
        y += noise
        del noise
        vol = np.zeros((*SHAPE, n_scans), dtype=np.float32)
        vol[mask] = y.T
        del y
        bold = folder / f"run-{run + 1}_bold{ext}"
        nib.save(nib.Nifti1Image(vol, AFFINE), bold)
        del vol
        events.to_csv(folder / f"run-{run + 1}_events.tsv", sep="\t", index=False)
        confounds.to_csv(folder / f"run-{run + 1}_confounds.tsv", sep="\t", index=False)
        runs.append(
            {
                "bold": str(bold),
                "events": str(folder / f"run-{run + 1}_events.tsv"),
                "confounds": str(folder / f"run-{run + 1}_confounds.tsv"),
            }
        )
    spec = {"mask": str(folder / "mask.nii.gz"), "runs": runs, "n_voxels": v, "n_scans": n_scans}
    lines = [
        f"    - {{bold: {Path(r['bold']).name}, events: {Path(r['events']).name},\n"
        f"       confounds: {Path(r['confounds']).name}, confound_columns: {MOTION}}}"
        for r in runs
    ]
    (folder / "first.yaml").write_text(CONFIG.format(t_r=T_R, runs="\n".join(lines)))
    (folder / "spec.json").write_text(json.dumps(spec))
    return spec


def _contrast_rows(columns: list[str]) -> dict[str, np.ndarray]:
    eye = np.eye(len(columns))
    c = {k: eye[columns.index(k)] for k in CONDITIONS}
    return {
        "faceVsHouse": (c["face"] - c["house"])[None],
        "tool": c["tool"][None],
        "effectsOfInterest": np.stack([c[k] for k in CONDITIONS]),
    }


# ---------------------------------------------------------------------------------------------
# workers (each runs in its own process)


def worker_glmreport(spec: dict, out: Path) -> dict:
    import nibabel as nib
    import pandas as pd

    from glmreport.glm.ar1 import fit_first_level
    from glmreport.glm.contrasts import compute_contrast
    from glmreport.glm.first_level import make_first_level_design, make_frame_times
    from glmreport.glm.fixed_effects import fixed_effects
    from glmreport.inputs.bold import run_timeseries

    rss_imports = _peak_rss_mb()
    t0 = time.perf_counter()
    mask = np.asarray(nib.load(spec["mask"]).dataobj) > 0
    per_contrast: dict[str, list] = {}
    for run in spec["runs"]:
        img = nib.load(run["bold"])
        y = run_timeseries(img, mask, source=run["bold"])
        ft = make_frame_times(y.shape[0], T_R)
        design = make_first_level_design(
            ft,
            pd.read_csv(run["events"], sep="\t"),
            hrf_model="glover",
            drift_model="cosine",
            high_pass=0.01,
            confounds=pd.read_csv(run["confounds"], sep="\t"),
        )
        fit = fit_first_level(y, design, noise_model="ar1")
        del y
        for label, w in _contrast_rows(list(design.columns)).items():
            stat_type = "t" if w.shape[0] == 1 else "F"
            per_contrast.setdefault(label, []).append(
                compute_contrast(fit, w, name=label, label=label, stat_type=stat_type)
            )
        del fit
    combined = {
        label: fixed_effects(results, name=label, label=label)
        for label, results in per_contrast.items()
    }
    elapsed = time.perf_counter() - t0
    # for the comparison: the unweighted combination that nilearn's FirstLevelModel uses
    z = {
        label: fixed_effects(results, name=label, label=label, precision_weighted=False).z
        for label, results in per_contrast.items()
    }
    assert all(np.isfinite(c.z).all() for c in combined.values())
    np.savez(out, **z)
    return {"seconds": elapsed, "peak_rss_mb": _peak_rss_mb(), "rss_after_imports_mb": rss_imports}


def worker_nilearn(spec: dict, out: Path) -> dict:
    import nibabel as nib
    import pandas as pd
    from nilearn.glm.first_level import FirstLevelModel

    rss_imports = _peak_rss_mb()
    t0 = time.perf_counter()
    mask_img = nib.load(spec["mask"])
    model = FirstLevelModel(
        t_r=T_R,
        slice_time_ref=0.0,
        hrf_model="glover",
        drift_model="cosine",
        high_pass=0.01,
        noise_model="ar1",
        mask_img=mask_img,
        smoothing_fwhm=None,
        signal_scaling=False,
        minimize_memory=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(
            [r["bold"] for r in spec["runs"]],
            events=[pd.read_csv(r["events"], sep="\t") for r in spec["runs"]],
            confounds=[pd.read_csv(r["confounds"], sep="\t") for r in spec["runs"]],
        )
        columns = list(model.design_matrices_[0].columns)
        z = {}
        for label, w in _contrast_rows(columns).items():
            stat_type = "t" if w.shape[0] == 1 else "F"
            maps = model.compute_contrast(
                w[0] if stat_type == "t" else w, stat_type=stat_type, output_type="all"
            )
            z[label] = maps["z_score"]
    elapsed = time.perf_counter() - t0
    mask = np.asarray(mask_img.dataobj) > 0
    np.savez(out, **{k: np.asarray(img.dataobj)[mask] for k, img in z.items()})
    return {"seconds": elapsed, "peak_rss_mb": _peak_rss_mb(), "rss_after_imports_mb": rss_imports}


def worker_run(spec: dict, out: Path) -> dict:
    """``glmreport.run`` on the config, timed after the imports (the in-process figure)."""
    from glmreport.config import load_config
    from glmreport.pipeline import run

    config = load_config(Path(spec["mask"]).parent / "first.yaml")
    t0 = time.perf_counter()
    run(config, out=out, formats=())
    return {"seconds": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb()}


WORKERS = {"glmreport": worker_glmreport, "nilearn": worker_nilearn, "run": worker_run}


def _env(blas_threads: int | None) -> dict:
    env = dict(os.environ)
    if blas_threads is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(blas_threads)
    return env


def _worker(name: str, spec_path: Path, out: Path) -> list[str]:
    return [PYTHON, __file__, "--worker", name, "--spec", str(spec_path), "--out", str(out)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per tool")
    parser.add_argument("--scans", type=int, default=N_SCANS, help="scans per run (220)")
    parser.add_argument("--keep", type=Path, help="write/reuse the data in this folder")
    parser.add_argument("--uncompressed", action="store_true", help="write .nii instead of .nii.gz")
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="set OPENBLAS/OMP/MKL_NUM_THREADS for both tools (default: inherit)",
    )
    parser.add_argument("--worker", choices=[*sorted(WORKERS), "make"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "make":  # in its own process: the driver's memory stays small
        make_data(args.out, compressed=not args.uncompressed, n_scans=args.scans)
        return
    if args.worker:
        spec = json.loads(args.spec.read_text())
        print(json.dumps(WORKERS[args.worker](spec, args.out)))
        return

    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_first_level_")
        folder = Path(tmp.name)
    else:
        folder = args.keep
        folder.mkdir(parents=True, exist_ok=True)
    try:
        spec_path = folder / "spec.json"
        if not spec_path.is_file() or json.loads(spec_path.read_text())["n_scans"] != args.scans:
            t0 = time.perf_counter()
            cmd = [PYTHON, __file__, "--worker", "make", "--out", str(folder)]
            cmd += ["--scans", str(args.scans)] + (["--uncompressed"] if args.uncompressed else [])
            subprocess.run(cmd, check=True)
            print(f"data written in {time.perf_counter() - t0:.1f} s to {folder}")
        spec = json.loads(spec_path.read_text())
        print(machine_note())
        print(
            f"{N_RUNS} runs x {spec['n_scans']} scans, grid {SHAPE}, {spec['n_voxels']} in-mask "
            "voxels, AR(1), 3 contrasts (2 t, 1 F) + fixed effects; BLAS threads: "
            + ("inherited" if args.blas_threads is None else str(args.blas_threads))
        )
        env = _env(args.blas_threads)
        ours, inproc, ref = Runs("glmreport"), Runs("glmreport in-process"), Runs("nilearn")
        for i in range(args.repeat):
            for name in (f"cli{i}", f"api{i}"):  # left by an earlier run with --keep
                shutil.rmtree(folder / name, ignore_errors=True)
            cli = [PYTHON, "-m", "glmreport", "run", "first.yaml", "--out", f"cli{i}", "-q"]
            measure(ours, [*cli, "--no-report"], cwd=str(folder), env=env)
            measure(inproc, _worker("run", spec_path, folder / f"api{i}"), env=env)
            measure(ref, _worker("nilearn", spec_path, folder / "z_nilearn.npz"), env=env)
        title = f"first level, {N_RUNS} runs x {spec['n_scans']} scans, AR(1), 2 t + 1 F"
        print()
        print(table(title, ours, ref, ours_inproc=inproc))
        engine = Runs("glmreport engine only (fit + contrasts + fixed effects)")
        measure(engine, _worker("glmreport", spec_path, folder / "z_glmreport.npz"), env=env)
        z_ours = np.load(folder / "z_glmreport.npz")
        z_theirs = np.load(folder / "z_nilearn.npz")
        for label in z_ours.files:
            a, b = z_ours[label], z_theirs[label]
            note = " (nilearn sums whitened F effects)" if label == "effectsOfInterest" else ""
            print(
                f"z {label}: max |dz| {np.abs(a - b).max():.2e}, "
                f"corr {np.corrcoef(a, b)[0, 1]:.6f}{note}"
            )
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
