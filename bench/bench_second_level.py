"""Second-level engine: glmreport vs nilearn on the demo dataset, same run, same machine.

Each side runs in its own fresh Python process (so peak memory is measured fairly with
``ru_maxrss``) on the demo data (16 subjects, MNI 2 mm, 6 mm smoothing, one-sample design with
an age covariate): fit, 3 contrasts (two t, one F), 3 corrections (uncorrected p<0.001 k>=10,
FDR 0.05, Bonferroni 0.05, two-sided) and cluster/peak tables; no report.

Usage::

    python bench/bench_second_level.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

OURS = textwrap.dedent(
    """
    import json, resource, sys, time
    t0 = time.perf_counter()
    from glmreport.config import load_config
    from glmreport.pipeline import run
    cfg = load_config(sys.argv[1])
    t1 = time.perf_counter()
    run(cfg, out=sys.argv[2], overwrite=True, formats=())
    t2 = time.perf_counter()
    print(json.dumps({"seconds": t2 - t1, "import_s": t1 - t0,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)

NILEARN = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    import numpy as np, pandas as pd
    from nilearn.glm.second_level import SecondLevelModel
    from nilearn.glm import threshold_stats_img
    from nilearn.reporting import get_clusters_table
    folder = sys.argv[1]
    table = pd.read_csv(folder + "/inputs.tsv", sep="\\t")
    imgs = [folder + "/" + p for p in table["path"]]
    t1 = time.perf_counter()
    design = pd.DataFrame({"intercept": 1.0, "age": table["age"] - table["age"].mean()})
    model = SecondLevelModel(smoothing_fwhm=6.0).fit(imgs, design_matrix=design)
    contrasts = {"button press": "intercept", "age": "age",
                 "effects of interest": np.eye(2)}
    for name, con in contrasts.items():
        kind = "F" if name == "effects of interest" else "t"
        out = model.compute_contrast(con, second_level_stat_type=kind, output_type="all")
        z = out["z_score"]
        for control, alpha, k in [("fpr", 0.001, 10), ("fdr", 0.05, 0), ("bonferroni", 0.05, 0)]:
            thr_img, thr = threshold_stats_img(z, model.masker_.mask_img_, alpha=alpha,
                                               height_control=control, cluster_threshold=k,
                                               two_sided=kind == "t")
            get_clusters_table(z, thr, cluster_threshold=k, two_sided=kind == "t")
    t2 = time.perf_counter()
    print(json.dumps({"seconds": t2 - t1, "import_s": t1 - t0,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def _child(code: str, *args: str) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if res.returncode:
        raise SystemExit(res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from glmreport.datasets import write_demo

    with tempfile.TemporaryDirectory() as tmp:
        config = write_demo(Path(tmp) / "demo")
        ours, ref = [], []
        for _ in range(args.repeats):
            ours.append(_child(OURS, str(config), str(Path(tmp) / "out")))
            ref.append(_child(NILEARN, str(config.parent)))
    t_ours = statistics.median(r["seconds"] for r in ours)
    t_ref = statistics.median(r["seconds"] for r in ref)
    m_ours = max(r["peak_mb"] for r in ours)
    m_ref = max(r["peak_mb"] for r in ref)
    print(
        "second level, demo (16 x MNI 2 mm, 3 contrasts x 3 corrections), "
        f"{args.repeats} runs, median"
    )
    print(f"{'':12}{'time (s)':>10}{'peak RSS (MB)':>16}")
    print(f"{'glmreport':12}{t_ours:10.2f}{m_ours:16.0f}")
    print(f"{'nilearn':12}{t_ref:10.2f}{m_ref:16.0f}")
    print(f"speed-up {t_ref / t_ours:.1f}x, memory ratio {m_ours / m_ref:.2f}")


if __name__ == "__main__":
    main()
