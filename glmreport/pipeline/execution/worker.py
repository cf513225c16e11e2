"""What runs in a worker process (defined in :mod:`glmreport.tasks.worker`, which worker
processes import without the pipeline)."""

from __future__ import annotations

from ...tasks.worker import blas_controller, call_task, environment, init_worker

__all__ = ["blas_controller", "call_task", "environment", "init_worker"]
