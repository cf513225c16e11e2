"""Shared fixtures: an offline TemplateFlow home copied from ../shared/templateflow."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SHARED_TEMPLATEFLOW = Path(
    os.environ.get(
        "GLMREPORT_TEST_TEMPLATEFLOW",
        Path(__file__).resolve().parents[1].parent / "shared" / "templateflow",
    )
)


@pytest.fixture(scope="session")
def templateflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable copy of the shared offline TemplateFlow tree, set as ``TEMPLATEFLOW_HOME``.

    ``templateflow`` reads ``TEMPLATEFLOW_HOME`` when it is first imported, so the variable is
    set here before any import and kept for the whole session.
    """
    if not SHARED_TEMPLATEFLOW.is_dir():
        pytest.fail(f"offline TemplateFlow tree not found at {SHARED_TEMPLATEFLOW}")
    home = tmp_path_factory.mktemp("templateflow") / "home"
    shutil.copytree(SHARED_TEMPLATEFLOW, home)
    for path in home.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    os.environ["TEMPLATEFLOW_HOME"] = str(home)
    os.environ["TEMPLATEFLOW_AUTOUPDATE"] = "0"
    return home
