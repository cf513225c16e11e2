"""Peak memory of a second level as the number of subjects grows (glmreport, fresh processes).

Writes N synthetic inputs on the MNI 2 mm grid (97 x 115 x 97, 237 473 brain voxels; int16
with a scale factor, uncompressed, so that writing them is quick) into a folder under /tmp
(not kept), then runs ``glmreport run config --no-report`` (one-sample, FDR, no smoothing) as a
fresh process for each N and prints its peak RSS (``ru_maxrss``) and wall time. The slope in
MB per subject is what the number of subjects costs.

Usage::

    python bench/bench_memory.py [--subjects 120 240 480] [--code DIR]

``--code DIR`` runs another checkout of glmreport (e.g. an older commit exported with
``git archive``) on the same inputs, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import textwrap
from pathlib import Path

from harness import PYTHON, machine_note, run_fresh

MAKE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import nibabel as nib
    import numpy as np
    from glmreport.resources import template_image
    folder, n = Path(sys.argv[1]), int(sys.argv[2])
    ref = nib.load(template_image("mask"))
    mask = np.asarray(ref.dataobj) > 0
    rng = np.random.default_rng(0)
    base = rng.standard_normal((8, *mask.shape)).astype(np.float32)
    rows = ["path\\tsubject"]
    for i in range(n):
        vol = (base[i % 8] + 0.3 + 0.01 * i) * mask
        img = nib.Nifti1Image(np.round(vol * 1000).astype(np.int16), ref.affine)
        img.header.set_slope_inter(0.001, 0)
        nib.save(img, folder / f"sub-{i:04d}.nii")
        rows.append(f"sub-{i:04d}.nii\\t{i:04d}")
    (folder / "inputs.tsv").write_text("\\n".join(rows) + "\\n")
    (folder / "memory.yaml").write_text(
        "model: {inputs: inputs.tsv, design: one-sample, mask: auto}\\n"
        "contrasts: [{name: mean, t: intercept}]\\n"
        "corrections: [{method: fdr, alpha: 0.05}]\\n"
        "report: {formats: []}\\n"
    )
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[120, 240, 480])
    parser.add_argument("--code", type=Path, help="run this checkout of glmreport instead")
    args = parser.parse_args()
    print(machine_note())
    code = str((args.code or Path(__file__).resolve().parents[1]).resolve())
    env = {**os.environ, "PYTHONPATH": code}
    rows = []
    for n in args.subjects:
        folder = Path(tempfile.mkdtemp(prefix=f"glmreport_memory_{n}_"))
        try:
            run_fresh([PYTHON, "-c", MAKE, str(folder), str(n)], env=env)
            cmd = [PYTHON, "-m", "glmreport", "run", "memory.yaml", "--out", "out", "-q"]
            r = run_fresh([*cmd, "--no-report"], cwd=str(folder), env=env)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        rows.append((n, r["peak_mb"], r["wall"]))
        print(f"  {n} subjects: peak {r['peak_mb']:.0f} MB, {r['wall']:.1f} s", flush=True)
    print(f"\nglmreport from {code}")
    print(f"{'subjects':>9}{'peak RSS':>12}{'time':>9}")
    for n, mb, s in rows:
        print(f"{n:>9}{mb:>9.0f} MB{s:>7.1f} s")
    if len(rows) > 1:
        (n0, m0, _), (n1, m1, _) = rows[0], rows[-1]
        slope = (m1 - m0) / (n1 - n0)
        print(
            f"slope {slope:.2f} MB per subject; 1 000 subjects: about "
            f"{m1 + slope * (1000 - n1):.0f} MB"
        )


if __name__ == "__main__":
    main()
