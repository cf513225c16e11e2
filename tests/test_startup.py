"""Start-up: each command imports only what it needs (checked on sys.modules, not timed).

Each check runs in a fresh interpreter, so that the test session's own imports do not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import CONFIG, write_dataset

ROOT = Path(__file__).resolve().parents[1]
#: Packages that cost a large part of a second each and only some commands need.
HEAVY = (
    "weasyprint",
    "templateflow",
    "matplotlib",
    "jinja2",
    "scipy.stats",
    "scipy.optimize",
    "scipy.linalg",
    "scipy.fft",
)

PROBE = """
import json, sys
{code}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _loaded(code: str, cwd: Path = ROOT) -> list[str]:
    """The HEAVY packages present in sys.modules after running ``code`` in a fresh interpreter."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code, heavy=HEAVY)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cli_import_is_light():
    code = "import glmreport.cli\nassert 'numpy' not in sys.modules, 'numpy'"
    assert _loaded(code) == []


@pytest.mark.parametrize(
    ("formats", "expected"),
    [("[]", []), ("[html]", ["jinja2", "matplotlib"])],
)
def test_run_imports_only_what_the_outputs_need(tmp_path: Path, formats: str, expected):
    write_dataset(tmp_path, n=6)
    config = CONFIG.replace("report: {formats: []}", f"report: {{formats: {formats}}}")
    (tmp_path / "analysis.yaml").write_text(config)
    code = (
        "from glmreport.cli import main\n"
        "assert main(['run', 'analysis.yaml', '--out', 'res', '-q']) == 0"
    )
    assert _loaded(code, cwd=tmp_path) == expected
