"""Time the report: model + HTML, PDF, and (when installed) nilearn's report on the same data.

Usage::

    python bench/bench_report.py [RESULTS_DIR] [--repeat N] [--no-nilearn]

Without RESULTS_DIR the demo (``glmreport.datasets.write_demo``: 16 subjects, MNI 2 mm,
3 contrasts x 3 corrections, input images included) is written to a temporary folder and run
with ``glmreport run --no-report``, giving the same results folder as ``glmreport demo``.
Timings are wall-clock seconds in this process; the first round includes one-off costs (font
cache, lazy imports), later rounds show the steady state. Nothing is written into RESULTS_DIR
except ``report.html`` / ``report.pdf`` when ``--write`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path


def _timed(func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return time.perf_counter() - start, out


def _demo_results(folder: Path) -> Path:
    """Write the demo dataset into ``folder`` and run it without a report; its results folder."""
    from glmreport.cli import main as glmreport_main
    from glmreport.datasets import write_demo

    config = write_demo(folder / "demo")
    results = folder / "demo" / "results"
    argv = ["run", str(config), "--out", str(results), "--no-report", "--quiet"]
    if glmreport_main(argv) != 0:
        raise SystemExit(f"glmreport {' '.join(argv)} failed")
    return results


def _nilearn_report(results: Path, out_dir: Path) -> list[tuple[str, float, str]]:
    """Fit nilearn's SecondLevelModel on the run's inputs and time generate_report."""
    try:
        import nilearn  # noqa: F401
        from nilearn.glm.second_level import SecondLevelModel
    except ImportError:
        return [("nilearn", float("nan"), "not installed")]
    import numpy as np
    import pandas as pd

    summary = json.loads((results / "summary.json").read_text())
    inputs = [e["path"] for e in summary.get("inputs", [])]
    if not inputs or not all(Path(p).is_file() for p in inputs):
        return [("nilearn", float("nan"), "input images not found")]
    design = pd.read_csv(results / summary["design_matrix"], sep="\t")
    contrasts = []
    for c in summary["contrasts"]:
        weights = np.asarray(c["weights"], dtype=float)
        if weights.shape[0] == 1:
            contrasts.append(weights[0])
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fwhm = (summary.get("model") or {}).get("smoothing_fwhm") or None
        model = SecondLevelModel(mask_img=str(results / summary["mask"]), smoothing_fwhm=fwhm)
        fit_s, model = _timed(model.fit, inputs, design_matrix=design)
        rows.append(("nilearn SecondLevelModel.fit", fit_s, f"{len(inputs)} images"))
        report_s, glm_report = _timed(
            model.generate_report, contrasts=contrasts, height_control="fdr", alpha=0.05
        )
        save_s, _ = _timed(glm_report.save_as_html, out_dir / "nilearn_report.html")
    size = (out_dir / "nilearn_report.html").stat().st_size / 1e6
    rows.append(
        (
            "nilearn generate_report + save_as_html",
            report_s + save_s,
            f"{len(contrasts)} t contrasts, FDR; {size:.2f} MB",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, help="results folder (summary.json)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each timing")
    parser.add_argument("--no-nilearn", action="store_true", help="skip the nilearn comparison")
    parser.add_argument("--write", action="store_true", help="write report.html/pdf into it")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="glmreport-bench-"))
    results = args.results
    if results is None:
        gen_s, results = _timed(_demo_results, tmp)
        print(f"demo results folder written in {gen_s:.1f} s: {results}")

    import_s, _ = _timed(__import__, "glmreport.report")
    from glmreport import report

    rows: list[tuple[str, float, str]] = [("import glmreport.report", import_s, "")]
    html_times, pdf_times = [], []
    html = ""
    for _ in range(max(args.repeat, 1)):
        build_s, model = _timed(report.build_report_model, results)
        render_s, html = _timed(report.render_html, model)
        html_times.append((build_s, render_s))
        pdf_s, _ = _timed(report.render_pdf, html, tmp / "report.pdf")
        pdf_times.append(pdf_s)
    n_sections = sum(len(c.corrections) for c in model.contrasts)
    size = len(html.encode("utf-8")) / 1e6
    first_b, first_r = html_times[0]
    best_b, best_r = min(html_times, key=sum)
    rows.append(
        (
            "build model + HTML (first)",
            first_b + first_r,
            f"{len(model.contrasts)} contrasts, {n_sections} corrections",
        )
    )
    rows.append(
        (
            "build model + HTML (best)",
            best_b + best_r,
            f"model {best_b:.2f} s + render {best_r:.3f} s; {size:.2f} MB",
        )
    )
    pages = ""
    try:
        import pypdf

        pages = f"{len(pypdf.PdfReader(str(tmp / 'report.pdf')).pages)} pages"
    except ImportError:
        pass
    rows.append(("PDF from the HTML (first)", pdf_times[0], "WeasyPrint"))
    rows.append(("PDF from the HTML (best)", min(pdf_times), pages))
    rows.append(("HTML + PDF, figures shared (best)", best_b + best_r + min(pdf_times), ""))
    if args.write:
        write_s, paths = _timed(report.write_report, results)
        rows.append(("write_report(html, pdf)", write_s, ", ".join(str(p) for p in paths.values())))
    if not args.no_nilearn:
        rows.extend(_nilearn_report(results, tmp))

    width = max(len(r[0]) for r in rows)
    print(f"\n{'step':<{width}}  {'seconds':>8}  notes")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 30}")
    for name, seconds, note in rows:
        print(f"{name:<{width}}  {seconds:>8.2f}  {note}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average (1 min) {load:.2f} on {os.cpu_count()} CPUs; scratch folder: {tmp}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
