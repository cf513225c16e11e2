"""JSON Schema of the run-config (``glmreport schema config``)."""

from __future__ import annotations

from typing import Any


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a run-config.

    Raises
    ------
    NotImplementedError
        Not written yet.
    """
    raise NotImplementedError("the config schema is not available in this version")
