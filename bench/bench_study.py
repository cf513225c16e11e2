"""Benchmark: a whole study, glmreport ``level: study`` vs the nilearn pipeline.

The synthetic BIDS + fMRIPrep study of :func:`glmreport.datasets.study.write_study` (default
8 subjects x 2 runs of 100 scans on a 20 x 24 x 20 grid of 4 mm voxels; ``--shape`` and
``--scans`` make it larger). Both tools do the same analysis: per run glover HRF, cosine drift
(0.01 Hz), AR(1), 5 mm smoothing, the motion parameters with their expansions (``trans_*``,
``rot_?``), percent signal change; fixed effects per subject; a one-sample group t test of
``face - house``.

- nilearn: ``tests/fixtures/study_nilearn.py`` (``FirstLevelModel(signal_scaling=0)``
  per run, ``compute_fixed_effects(precision_weighted=True)``, ``SecondLevelModel``), one
  process, as a user's loop runs;
- glmreport: ``run(config, jobs=N)`` (default the cores; the runs are fitted on N worker
  processes forked from the main one), no report, one uncorrected threshold, every subject folder
  written; with ``--dask`` also on a Dask ``LocalCluster`` of N single-threaded worker
  processes on 127.0.0.1 (started before timing; its workers import glmreport on their first
  task, inside the timing).

The ``glmreport command`` line is ``glmreport run study.yaml --jobs N --no-report`` as a user
types it (``python -m glmreport``), timed from outside as a whole process, against nilearn's
whole process: the fresh-process ratio, as ``bench_first_level.py`` and
``bench_second_level.py`` time the command too.

Both tools are measured the same way: each run is a fresh subprocess that imports its tool,
then times its work (``work``: imports excluded; its CPU time, all threads of the process,
is what survives a busy machine); ``process`` is the whole subprocess (start,
imports, work, exit) timed by this script; ``CPU`` the user + system time of the subprocess
and the descendants it waited for (imports included; the forked workers are counted, those
of a Dask cluster are not); peak RSS the subprocess's
``VmHWM`` (worker processes not included). glmreport writes into a new folder each time
(nothing to replace); nilearn writes its group z map after its timing. The tools' runs
alternate, so a change of load on the machine touches both; the load average is printed
before and after. Median of ``--repeat`` runs (default 3); the ratio nilearn / glmreport of
the work times is printed, and the largest difference between the two group z maps.

Usage::

    python bench/bench_study.py [--repeat 3] [--jobs 2] [--dask] [--shape 20 24 20] [--scans 100]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """\
title: bench
model:
  level: study
  bids: bids
  task: faces
  space: MNI152NLin2009cAsym
  first_level:
    hrf: glover
    drift: {model: cosine, high_pass: 0.01}
    noise_model: ar1
    smoothing_fwhm: 5
    confounds: ["trans_*", "rot_?"]
contrasts: [{name: face > house, t: face - house}]
corrections: [{method: uncorrected, alpha: 0.001}]
report: {formats: []}
"""


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(tool: str, folder: Path, jobs: int, scheduler: str | None, out: str) -> None:
    """Run one tool in this (fresh) process and print its time and memory as JSON."""
    import time

    import nibabel as nib
    import numpy as np

    if tool == "nilearn":
        sys.path.insert(0, str(ROOT / "tests"))
        from fixtures.study_nilearn import nilearn_group_z

        t0, c0 = time.perf_counter(), time.process_time()
        z = nilearn_group_z(folder / "bids", smoothing_fwhm=5.0)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        z.z.to_filename(folder / "nilearn_z.nii.gz")
    else:
        from glmreport.config.load import load_config
        from glmreport.pipeline import run

        config = load_config(folder / "study.yaml")
        results = folder / out
        t0, c0 = time.perf_counter(), time.process_time()
        run(config, out=results, formats=(), jobs=jobs, scheduler=scheduler)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        summary = json.loads((results / "summary.json").read_text())
        z = nib.load(results / summary["contrasts"][0]["maps"]["z"])
        np.save(folder / f"{tool}_z.npy", np.asarray(z.dataobj))
    print(json.dumps({"seconds": seconds, "work_cpu": cpu, "rss_mb": _peak_rss_mb()}))


def _spawn(tool: str, folder: Path, jobs: int, scheduler: str | None, out: str = "") -> dict:
    import time

    cmd = [sys.executable, __file__, "--child", tool, str(folder), str(jobs), scheduler or "", out]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    process = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process": process, "cpu": cpu}


def _command(folder: Path, jobs: int, out: str) -> dict:
    """``glmreport run study.yaml`` as a user types it: wall, CPU and peak RSS of the process."""
    from harness import run_fresh

    cmd = [sys.executable, "-m", "glmreport", "run", "study.yaml", "--out", out]
    cmd += ["--jobs", str(jobs), "--no-report", "-q"]
    return run_fresh(cmd, cwd=str(folder), env={**os.environ, "PYTHONPATH": str(ROOT)})


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _line(name: str, results: list[dict], base: float) -> str:
    seconds = statistics.median(r["seconds"] for r in results)
    process = statistics.median(r["process"] for r in results)
    cpu = statistics.median(r["cpu"] for r in results)
    work_cpu = statistics.median(r["work_cpu"] for r in results)
    rss = max(r["rss_mb"] for r in results)
    return (
        f"{name:23s} work {seconds:6.2f} s (CPU {work_cpu:5.2f} s)  process {process:6.2f} s "
        f"(CPU {cpu:5.2f} s)  peak RSS {rss:4.0f} MiB  nilearn / this = {base / seconds:5.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dask", action="store_true", help="also time a Dask LocalCluster")
    parser.add_argument("--subjects", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--scans", type=int, default=100)
    parser.add_argument("--shape", type=int, nargs=3, default=(20, 24, 20))
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, folder, jobs, scheduler, out = args.child
        child(tool, Path(folder), int(jobs), scheduler or None, out)
        return

    import nibabel as nib
    import numpy as np
    from harness import compile_package

    from glmreport.datasets.study import write_study

    compile_package()  # as an install compiles it (see harness.compile_package)

    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        folder = Path(tmp)
        write_study(
            folder / "bids",
            n_subjects=args.subjects,
            n_runs=args.runs,
            n_scans=args.scans,
            shape=tuple(args.shape),
        )
        (folder / "study.yaml").write_text(CONFIG)
        print(
            f"{args.subjects} subjects x {args.runs} runs x {args.scans} scans, grid "
            f"{tuple(args.shape)}; {os.cpu_count()} cores; median of {args.repeat} fresh "
            f"processes, alternated; load average before: {_load()}"
        )
        runs: dict[str, list[dict]] = {"nilearn": [], "glmreport": []}
        command: list[dict] = []
        for i in range(args.repeat):
            runs["nilearn"].append(_spawn("nilearn", folder, 1, None))
            runs["glmreport"].append(_spawn("glmreport", folder, args.jobs, None, f"out-{i}"))
            command.append(_command(folder, args.jobs, f"cli-{i}"))
        if args.dask:
            from distributed import LocalCluster

            with LocalCluster(
                n_workers=args.jobs,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            ) as cluster:
                runs["glmreport-dask"] = [
                    _spawn("dask", folder, args.jobs, cluster.scheduler_address, f"dask-{i}")
                    for i in range(args.repeat)
                ]
        base = statistics.median(r["seconds"] for r in runs["nilearn"])
        for name, results in runs.items():
            jobs = "" if name == "nilearn" else f" (jobs {args.jobs})"
            print(_line(name + jobs, results, base))
        process = statistics.median(r["process"] for r in runs["nilearn"])
        wall = statistics.median(r["wall"] for r in command)
        print(
            f"{'glmreport command':23s} process {wall:6.2f} s "
            f"(CPU {statistics.median(r['cpu'] for r in command):5.2f} s)  peak RSS "
            f"{max(r['peak_mb'] for r in command):4.0f} MiB  nilearn process / this = "
            f"{process / wall:5.2f}x"
        )
        print(f"load average after: {_load()}")
        theirs = np.asarray(nib.load(folder / "nilearn_z.nii.gz").dataobj, dtype=float)
        for name in ("glmreport", "dask"):
            path = folder / f"{name}_z.npy"
            if path.is_file():
                diff = np.abs(np.load(path) - theirs).max()
                print(f"max |z difference| {name} vs nilearn: {diff:.2e}")


if __name__ == "__main__":
    main()
