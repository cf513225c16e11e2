"""glmreport: fMRI GLMs from one YAML run-config to one standalone HTML/PDF report.

Public API
----------
load_config(path) -> RunConfig
run(config, out=None, overwrite=False, formats=None) -> Path
render(results_dir, formats=("html",)) -> dict
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["__version__", "load_config", "run", "render"]


def load_config(path):
    """Read and validate a YAML run-config (see :func:`glmreport.config.load_config`)."""
    from .config import load_config as _load

    return _load(path)


def run(config, out=None, *, overwrite=False, formats=None, progress=False):
    """Fit, infer, write the results folder and the report (see :func:`glmreport.pipeline.run`)."""
    from .pipeline import run as _run

    return _run(config, out=out, overwrite=overwrite, formats=formats, progress=progress)


def render(results_dir, formats=("html",)):
    """Re-render the report of an existing results folder without refitting."""
    from .report import render_report

    return render_report(results_dir, formats=formats)
