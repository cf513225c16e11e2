"""Second level end to end: glmreport vs nilearn, both as fresh processes, same run.

Data: the demo dataset (16 subjects, MNI 2 mm, 237 473 voxels in the auto mask, one-sample with
an age covariate), smoothed at 8 mm. Work: fit, 3 contrasts (two t, one F), 3 corrections
(uncorrected p < 0.001 k >= 10, FDR 0.05, Bonferroni 0.05, two-sided) and cluster/peak tables;
no report. glmreport also writes every map, table and summary.json; nilearn writes nothing.

- glmreport, fresh process: ``glmreport run demo.yaml --no-report`` (the command users type);
  in-process: ``glmreport.run`` timed after the imports, in another fresh process.
- nilearn, one fresh script: SecondLevelModel fit + compute_contrast + threshold_stats_img +
  get_clusters_table; in-process: that work timed after the imports.

Usage::

    python bench/bench_second_level.py [--repeats 3] [--fwhm 8]
"""

from __future__ import annotations

import argparse
import tempfile
import textwrap
from pathlib import Path

from harness import PYTHON, Runs, machine_note, measure, run_fresh, table

MAKE = textwrap.dedent(
    """
    import sys
    from glmreport.datasets import write_demo
    config = write_demo(sys.argv[1])
    text = config.read_text().replace("smoothing_fwhm: 6", "smoothing_fwhm: " + sys.argv[2])
    config.write_text(text.replace("report: {formats: [html, pdf]}", "report: {formats: []}"))
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

NILEARN = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    import numpy as np, pandas as pd
    from nilearn.glm.second_level import SecondLevelModel
    from nilearn.glm import threshold_stats_img
    from nilearn.reporting import get_clusters_table
    t0 = time.perf_counter()
    folder, fwhm = sys.argv[1], float(sys.argv[2])
    table = pd.read_csv(folder + "/inputs.tsv", sep="\\t")
    imgs = [folder + "/" + p for p in table["path"]]
    design = pd.DataFrame({"intercept": 1.0, "age": table["age"] - table["age"].mean()})
    model = SecondLevelModel(smoothing_fwhm=fwhm).fit(imgs, design_matrix=design)
    contrasts = {"button press": "intercept", "age": "age", "effects of interest": np.eye(2)}
    for name, con in contrasts.items():
        kind = "F" if name == "effects of interest" else "t"
        out = model.compute_contrast(con, second_level_stat_type=kind, output_type="all")
        z = out["z_score"]
        for control, alpha, k in [("fpr", 0.001, 10), ("fdr", 0.05, 0), ("bonferroni", 0.05, 0)]:
            thr_img, thr = threshold_stats_img(z, model.masker_.mask_img_, alpha=alpha,
                                               height_control=control, cluster_threshold=k,
                                               two_sided=kind == "t")
            get_clusters_table(z, thr, cluster_threshold=k, two_sided=kind == "t")
    print(json.dumps({"seconds": time.perf_counter() - t0}))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fwhm", type=float, default=8.0, help="smoothing in mm (default 8)")
    args = parser.parse_args()
    print(machine_note())
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        run_fresh([PYTHON, "-c", MAKE, str(demo), f"{args.fwhm:g}"])
        config = demo / "demo.yaml"
        ours, inproc, ref = Runs("glmreport"), Runs("glmreport in-process"), Runs("nilearn")
        for i in range(args.repeats):
            cli = ["-m", "glmreport", "run", str(config), "--out", f"{tmp}/cli{i}", "-q"]
            measure(ours, [PYTHON, *cli, "--no-report"])
            measure(inproc, [PYTHON, "-c", OURS, str(config), f"{tmp}/api{i}"])
            measure(ref, [PYTHON, "-c", NILEARN, str(demo), f"{args.fwhm:g}"])
    title = (
        f"second level, demo (16 x MNI 2 mm, {args.fwhm:g} mm smoothing, "
        "3 contrasts x 3 corrections + tables)"
    )
    print()
    print(table(title, ours, ref, ours_inproc=inproc))
    print(f"glmreport in-process peak RSS {inproc.peak:.0f} MB")


if __name__ == "__main__":
    main()
