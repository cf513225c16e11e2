"""TFCE permutation null: glmreport vs nilearn's ``permuted_ols(tfce=True)``, same run.

Data: the 16 subjects of ``bench_permutation.py`` (MNI152NLin2009cAsym 2 mm brain mask, about
237,000 voxels, seeded white noise smoothed to 8 mm FWHM plus a small blob); one-sample
design, two-sided, TFCE with E 0.5, H 2 and 100 height steps.

Timed (wall clock of the call, data already in memory), each tool in a fresh process:

- glmreport: ``permutation_null(..., NullSettings(tfce=True))``: every resampled t map, its
  TFCE maximum, the observed TFCE map (26-connectivity, ``--n-jobs`` threads);
- nilearn 0.14.1: ``permuted_ols(..., tfce=True, masker=...)``: the same (6-connectivity,
  its only one; ``--n-jobs`` worker processes).

Both scale linearly with the number of permutations, so the ratio compares the time per
permutation. Given one count per tool, the time per permutation is the call's time divided by
the count (so it includes the fixed part: the fit, the observed map, starting nilearn's worker
processes). Given two counts per tool (``--n-perm 300 600 --nilearn-perm 10 20``), it is the
marginal time, the difference of the two calls' times divided by the difference of the counts,
and the fixed part is printed too. Each tool runs ``--repeats`` times (median shown) and
reports its peak RSS (``ru_maxrss`` of its process; nilearn's worker processes are still
alive when it is read, so they are not included).

Usage::

    python bench/bench_tfce.py [--n-perm 500 [1000]] [--nilearn-perm 20 [40]] [--repeats 3]
                               [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _data():
    sys.path.insert(0, str(HERE))
    from bench_permutation import make_data

    return make_data()


def run_ours(n_perm: int, n_jobs: int) -> float:
    import numpy as np

    from glmreport.inference.permutation.null import NullSettings, permutation_null

    data, mask, _ = _data()
    settings = NullSettings(n_perm=n_perm, seed=0, two_sided=True, tfce=True, n_jobs=n_jobs)
    t0 = time.perf_counter()
    permutation_null(data, np.ones((data.shape[0], 1)), [[1.0]], settings, mask=mask)
    return time.perf_counter() - t0


def run_nilearn(n_perm: int, n_jobs: int) -> float:
    import nibabel as nib
    import numpy as np
    from nilearn.maskers import NiftiMasker
    from nilearn.mass_univariate import permuted_ols

    data, mask, affine = _data()
    masker = NiftiMasker(nib.Nifti1Image(mask.astype(np.uint8), affine)).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        permuted_ols(
            np.ones((data.shape[0], 1)),
            data.astype(np.float64),
            model_intercept=False,
            n_perm=n_perm,
            two_sided_test=True,
            random_state=0,
            n_jobs=n_jobs,
            masker=masker,
            tfce=True,
            output_type="dict",
        )
        return time.perf_counter() - t0


def worker(tool: str, n_perm: int, n_jobs: int) -> None:
    seconds = (run_ours if tool == "glmreport" else run_nilearn)(n_perm, n_jobs)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mb": max(peak_kb, children_kb) / 1024}))


def fresh(tool: str, n_perm: int, n_jobs: int) -> dict:
    """Run one tool in a new Python process; its time and peak RSS."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", tool]
    cmd += ["--n-perm", str(n_perm), "--n-jobs", str(n_jobs)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _per_permutation(medians: dict[int, float]) -> tuple[float, float | None]:
    """Seconds per permutation and the fixed part (None with one count)."""
    counts = sorted(medians)
    if len(counts) == 1:
        return medians[counts[0]] / counts[0], None
    lo, hi = counts[0], counts[-1]
    per = (medians[hi] - medians[lo]) / (hi - lo)
    return per, medians[lo] - per * lo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    counts_help = "permutations; two counts give the marginal time per permutation"
    parser.add_argument(
        "--n-perm", type=int, nargs="+", default=[500], help=f"glmreport {counts_help}"
    )
    parser.add_argument(
        "--nilearn-perm", type=int, nargs="+", default=[20], help=f"nilearn {counts_help}"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2, help="threads / workers (default 2)")
    parser.add_argument("--worker", choices=["glmreport", "nilearn"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.n_perm[0], args.n_jobs)
        return
    counts = {"glmreport": args.n_perm, "nilearn": args.nilearn_perm}
    for tool, values in counts.items():
        if len(values) > 2 or len(set(values)) != len(values) or min(values) < 1:
            parser.error(f"{tool}: give one or two different positive permutation counts")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"TFCE null, 16 subjects, MNI 2 mm, two-sided; {cores} cores, load average "
        f"{os.getloadavg()[0]:.1f}; {platform.processor() or platform.machine()}",
        flush=True,
    )
    runs: dict[tuple[str, int], list[dict]] = {}
    for i in range(args.repeats):
        for tool in ("glmreport", "nilearn"):  # alternate, so both see the same load
            for n in counts[tool]:
                r = fresh(tool, n, args.n_jobs)
                runs.setdefault((tool, n), []).append(r)
                print(
                    f"  run {i + 1}: {tool:9s} {n:5d} permutations in "
                    f"{r['seconds']:7.1f} s, peak RSS {r['peak_mb']:6.0f} MB",
                    flush=True,
                )
    print()
    per = {}
    for tool in counts:
        medians = {}
        for n in counts[tool]:
            medians[n] = statistics.median(r["seconds"] for r in runs[tool, n])
            rss = max(r["peak_mb"] for r in runs[tool, n])
            print(
                f"{tool:9s} {n:5d} permutations in {medians[n]:.1f} s (median of "
                f"{args.repeats}), peak RSS {rss:.0f} MB"
            )
        per[tool], fixed = _per_permutation(medians)
        kind = "per permutation" if fixed is None else "per permutation (marginal)"
        extra = "" if fixed is None else f", fixed part {fixed:.1f} s"
        print(f"{tool:9s} {per[tool] * 1e3:.1f} ms {kind}{extra}")
    print(f"per-permutation speed-up: {per['nilearn'] / per['glmreport']:.0f}x")


if __name__ == "__main__":
    main()
