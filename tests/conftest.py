"""Shared fixtures: offline TemplateFlow homes.

Every session points ``TEMPLATEFLOW_HOME`` at a small synthetic tree (real layout and grids,
made-up anatomy and labels; see ``fixtures/synthetic_templateflow.py``) before any test runs, so
no test reads the user's TemplateFlow cache or reaches the network, and nothing outside the
checkout is needed. Tests that assert real Harvard-Oxford names or real anatomy ask for
``real_templateflow_home``: a copy of the real offline tree found at
``$GLMREPORT_TEST_TEMPLATEFLOW`` or ``../shared/templateflow`` beside the checkout; without one
they are skipped with the reason.

``templateflow`` binds ``templateflow.api`` to the ``TEMPLATEFLOW_HOME`` set when it is first
imported; glmreport follows later changes of the variable with a ``TemplateFlowClient`` per
home (templateflow >= 25), which is how one session uses both trees.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.synthetic_templateflow import build_templateflow_tree

_DEFAULT_REAL_TREE = Path(__file__).resolve().parents[1].parent / "shared" / "templateflow"


def real_templateflow_tree() -> Path:
    """Where the real offline TemplateFlow tree is looked for (it may not exist)."""
    configured = os.environ.get("GLMREPORT_TEST_TEMPLATEFLOW", "").strip()
    return Path(configured) if configured else _DEFAULT_REAL_TREE


def _writable_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.fixture(scope="session", autouse=True)
def templateflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The synthetic TemplateFlow tree, set as ``TEMPLATEFLOW_HOME`` for the whole session.

    Autouse, so that ``templateflow`` is bound to an offline home whichever test imports it
    first; the previous values of the variables come back when the session ends.
    """
    home = build_templateflow_tree(tmp_path_factory.mktemp("templateflow") / "home")
    names = ("TEMPLATEFLOW_HOME", "TEMPLATEFLOW_AUTOUPDATE")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["TEMPLATEFLOW_HOME"] = str(home)
    os.environ["TEMPLATEFLOW_AUTOUPDATE"] = "0"
    yield home
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def _real_templateflow_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = real_templateflow_tree()
    if not source.is_dir():
        pytest.skip(
            f"real TemplateFlow tree not found at {source}; set GLMREPORT_TEST_TEMPLATEFLOW or "
            "place ../shared/templateflow beside the checkout"
        )
    try:
        from templateflow import TemplateFlowClient  # noqa: F401
    except ImportError:
        pytest.skip("templateflow < 25 cannot switch TEMPLATEFLOW_HOME within one process")
    return _writable_copy(source, tmp_path_factory.mktemp("templateflow-real") / "home")


@pytest.fixture
def real_templateflow_home(_real_templateflow_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the real offline tree, set as ``TEMPLATEFLOW_HOME`` for one test."""
    monkeypatch.setenv("TEMPLATEFLOW_HOME", str(_real_templateflow_copy))
    return _real_templateflow_copy
