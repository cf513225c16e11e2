"""Permutation inference: glmreport vs nilearn's ``non_parametric_inference``, same run.

Data: 16 subjects in the MNI152NLin2009cAsym 2 mm brain mask (about 237,000 voxels), each a
seeded white-noise volume smoothed to 8 mm FWHM plus a small positive blob; one-sample design,
two-sided test, alpha 0.05.

Timed (wall clock, after the GLM fit):

- glmreport, ``apply_permutation`` end to end (nulls, maps, cluster and peak tables):
  10,000 sign flips max-T; 1,000 with cluster size/mass (cluster-forming p < 0.001);
  1,000 with TFCE;
- nilearn 0.14.1 ``non_parametric_inference`` (``n_jobs`` workers): 1,000 max-T; 1,000 with
  clusters (``threshold=0.001``); 100 with TFCE.

Both sides scale linearly with the number of permutations, so the speed-up column compares
the time per permutation. ``--quick`` runs about a tenth of the permutations.

``--end-to-end`` instead times what users run, both tools as fresh processes (median of
``--repeats``, ``bench/harness.py``): the 16 maps written as NIfTI files, then
``glmreport run perm.yaml --no-report`` (one-sample, two-sided, 5 000 sign flips max-T, maps,
tables and summary.json written) against a nilearn script calling ``non_parametric_inference``
on the same files (5 000 permutations, ``--n-jobs`` workers); each also reports its
in-process time (the work after the imports).

Usage::

    python bench/bench_permutation.py [--quick] [--n-jobs 2] [--skip-nilearn]
    python bench/bench_permutation.py --end-to-end [--repeats 3] [--n-perm 5000] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

from harness import PYTHON, Runs, machine_note, measure, run_fresh, table

if "--end-to-end" not in sys.argv:  # the driver of fresh processes stays small
    import nibabel as nib
    import numpy as np
    from scipy import ndimage

    from glmreport.config.specs import CorrectionSpec, PermutationParams
    from glmreport.glm.contrasts import compute_contrast
    from glmreport.glm.ols import fit_ols
    from glmreport.glm.results import DesignMatrix
    from glmreport.inference.context import InferenceContext
    from glmreport.inference.permutation import apply_permutation
    from glmreport.resources import template_image

N_SUBJECTS = 16
FWHM_MM = 8.0
CLUSTER_P = 0.001


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, v) smooth data in the MNI 2 mm mask, the mask and its affine."""
    img = nib.load(template_image("mask"))
    mask = np.asarray(img.dataobj) > 0
    affine = img.affine
    voxel = float(abs(affine[0, 0]))
    sigma = FWHM_MM / (2 * np.sqrt(2 * np.log(2))) / voxel
    rng = np.random.default_rng(seed)
    centre = np.argwhere(mask).mean(axis=0).round().astype(int) + np.array([12, 10, 8])
    ii, jj, kk = np.indices(mask.shape)
    blob = ((ii - centre[0]) ** 2 + (jj - centre[1]) ** 2 + (kk - centre[2]) ** 2) <= 25
    data = np.empty((N_SUBJECTS, int(mask.sum())), dtype=np.float32)
    for i in range(N_SUBJECTS):
        vol = ndimage.gaussian_filter(rng.standard_normal(mask.shape), sigma)
        vol /= vol[mask].std()
        data[i] = (vol + 0.6 * blob)[mask]
    return data, mask, affine


def time_ours(data, mask, affine, params: dict) -> float:
    x = np.ones((data.shape[0], 1))
    fit = fit_ols(data, DesignMatrix(matrix=x, columns=("intercept",)))
    con = compute_contrast(fit, np.ones((1, 1)), name="mean", label="mean", stat_type="t")
    ctx = InferenceContext(mask=mask, affine=affine, data=data, fit=fit)
    spec = CorrectionSpec(
        method="permutation", alpha=0.05, two_sided=True, params=PermutationParams(**params)
    )
    t0 = time.perf_counter()
    apply_permutation(con, spec, ctx)
    return time.perf_counter() - t0


def time_nilearn(data, mask, affine, n_perm: int, n_jobs: int, **kw) -> float:
    import pandas as pd
    from nilearn.glm.second_level import non_parametric_inference

    imgs = []
    for row in data:
        vol = np.zeros(mask.shape, dtype=np.float32)
        vol[mask] = row
        imgs.append(nib.Nifti1Image(vol, affine))
    mask_img = nib.Nifti1Image(mask.astype(np.uint8), affine)
    design = pd.DataFrame({"intercept": np.ones(len(imgs))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        non_parametric_inference(
            imgs,
            design_matrix=design,
            second_level_contrast="intercept",
            mask=mask_img,
            n_perm=n_perm,
            two_sided_test=True,
            random_state=0,
            n_jobs=n_jobs,
            **kw,
        )
        return time.perf_counter() - t0


WRITE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import nibabel as nib
    import numpy as np
    sys.path.insert(0, sys.argv[3])
    from bench_permutation import make_data
    folder, n_perm = Path(sys.argv[1]), int(sys.argv[2])
    data, mask, affine = make_data()
    rows = ["path\\tsubject"]
    for i, row in enumerate(data):
        vol = np.zeros(mask.shape, dtype=np.float32)
        vol[mask] = row
        nib.save(nib.Nifti1Image(vol, affine), folder / f"sub-{i:02d}.nii.gz")
        rows.append(f"sub-{i:02d}.nii.gz\\t{i:02d}")
    nib.save(nib.Nifti1Image(mask.astype(np.uint8), affine), folder / "mask.nii.gz")
    (folder / "inputs.tsv").write_text("\\n".join(rows) + "\\n")
    (folder / "perm.yaml").write_text(
        "model: {inputs: inputs.tsv, design: one-sample, mask: mask.nii.gz}\\n"
        "contrasts: [{name: mean, t: intercept}]\\n"
        f"corrections: [{{method: permutation, n_perm: {n_perm}, alpha: 0.05, seed: 0}}]\\n"
        "two_sided: true\\nreport: {formats: []}\\n"
    )
    """
)

NILEARN = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    import pandas as pd
    from nilearn.glm.second_level import non_parametric_inference
    t0 = time.perf_counter()
    folder, n_perm, n_jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    table = pd.read_csv(folder + "/inputs.tsv", sep="\\t")
    imgs = [folder + "/" + p for p in table["path"]]
    non_parametric_inference(
        imgs, design_matrix=pd.DataFrame({"intercept": [1.0] * len(imgs)}),
        second_level_contrast="intercept", mask=folder + "/mask.nii.gz", n_perm=n_perm,
        two_sided_test=True, random_state=0, n_jobs=n_jobs,
    )
    print(json.dumps({"seconds": time.perf_counter() - t0}))
    """
)

OURS = textwrap.dedent(
    """
    import json, sys, time
    from glmreport.config import load_config
    from glmreport.pipeline import run
    cfg = load_config(sys.argv[1])
    t0 = time.perf_counter()
    run(cfg, out=sys.argv[2], formats=())
    print(json.dumps({"seconds": time.perf_counter() - t0}))
    """
)


def end_to_end(repeats: int, n_perm: int, n_jobs: int) -> None:
    """Both tools as fresh processes on the same NIfTI files (see the module docstring)."""
    print(machine_note())
    with tempfile.TemporaryDirectory() as tmp:
        here = str(Path(__file__).resolve().parent)
        run_fresh([PYTHON, "-c", WRITE, tmp, str(n_perm), here])
        ours, inproc, ref = Runs("glmreport"), Runs("glmreport in-process"), Runs("nilearn")
        for i in range(repeats):
            cli = [PYTHON, "-m", "glmreport", "run", "perm.yaml", "--out", f"cli{i}", "-q"]
            measure(ours, [*cli, "--no-report"], cwd=tmp)
            measure(inproc, [PYTHON, "-c", OURS, f"{tmp}/perm.yaml", f"{tmp}/api{i}"])
            measure(ref, [PYTHON, "-c", NILEARN, tmp, str(n_perm), str(n_jobs)])
    title = (
        f"permutation max-T, {n_perm:,} sign flips, 16 subjects one-sample, two-sided "
        f"(nilearn n_jobs={n_jobs})"
    )
    print()
    print(table(title, ours, ref, ours_inproc=inproc))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about a tenth of the permutations")
    parser.add_argument("--n-jobs", type=int, default=2, help="nilearn workers (default 2)")
    parser.add_argument("--skip-nilearn", action="store_true")
    parser.add_argument("--end-to-end", action="store_true", help="fresh processes, see above")
    parser.add_argument("--repeats", type=int, default=3, help="with --end-to-end (default 3)")
    parser.add_argument("--n-perm", type=int, default=5000, help="with --end-to-end (5000)")
    args = parser.parse_args(argv)
    if args.end_to_end:
        end_to_end(args.repeats, args.n_perm, args.n_jobs)
        return
    scale = 10 if args.quick else 1

    data, mask, affine = make_data()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"{N_SUBJECTS} subjects, {data.shape[1]:,} voxels (MNI152NLin2009cAsym 2 mm), "
        f"one-sample, two-sided; {cores} cores available; {platform.processor() or ''}"
    )
    routes = [
        ("max-T", {}, 10000, 1000, {}),
        (
            "cluster size/mass (p < 0.001)",
            {"cluster_forming_p": CLUSTER_P},
            1000,
            1000,
            {"threshold": CLUSTER_P},
        ),
        ("TFCE", {"tfce": True}, 1000, 100, {"tfce": True}),
    ]
    rows = []
    for name, params, n_ours, n_theirs, kw in routes:
        n_ours = max(n_ours // scale, 10)
        n_theirs = max(n_theirs // scale, 10)
        ours = time_ours(data, mask, affine, {"n_perm": n_ours, "seed": 0, **params})
        print(f"  glmreport {name}: {n_ours:,} permutations in {ours:.1f} s", flush=True)
        theirs = None
        if not args.skip_nilearn:
            theirs = time_nilearn(data, mask, affine, n_theirs, args.n_jobs, **kw)
            print(f"  nilearn   {name}: {n_theirs:,} permutations in {theirs:.1f} s", flush=True)
        rows.append((name, n_ours, ours, n_theirs, theirs))

    header = f"{'route':32s} {'glmreport':>18s} {'nilearn':>18s} {'per-perm speed-up':>18s}"
    print()
    print(header)
    print("-" * len(header))
    for name, n_ours, ours, n_theirs, theirs in rows:
        left = f"{n_ours:,} in {ours:.1f} s"
        if theirs is None:
            print(f"{name:32s} {left:>18s} {'-':>18s} {'-':>18s}")
            continue
        right = f"{n_theirs:,} in {theirs:.1f} s"
        ratio = (theirs / n_theirs) / (ours / n_ours)
        print(f"{name:32s} {left:>18s} {right:>18s} {ratio:>17.0f}x")


if __name__ == "__main__":
    main()
