"""A worker process imports what fitting needs, not the pipeline."""

from __future__ import annotations

import functools
import pickle
import subprocess
import sys
from pathlib import Path

from glmreport.pipeline.execution.executors import preload_modules
from glmreport.tasks.study_fit import fit_run
from glmreport.tasks.worker import call_task

ROOT = Path(__file__).resolve().parents[2]


def test_a_task_sent_to_a_worker_imports_no_pipeline_module():
    """What a pool or Dask worker unpickles (the call around the task, the task) and what the
    fork server preloads import config, inputs, glm and tasks only."""
    sent = pickle.dumps(functools.partial(call_task, fit_run))
    modules = [m for m in preload_modules(fit_run) if m not in ("__main__", "numpy")]
    code = (
        "import importlib, pickle, sys\n"
        f"pickle.loads({sent!r})\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "parts = sorted({m.split('.')[1] for m in sys.modules if m.startswith('glmreport.')})\n"
        "print(' '.join(parts))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    parts = set(done.stdout.split())
    assert {"tasks", "glm", "inputs", "config"} <= parts
    assert parts <= {"tasks", "glm", "inputs", "config", "errors", "resources", "_version"}
    assert modules == ["glmreport.tasks.worker", "glmreport.tasks.study_fit"]
