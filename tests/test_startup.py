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

#: The numerical stack: none of it is needed to read a config or to list atlases.
NUMERICAL = ("numpy", "pandas", "scipy", "nibabel", "bids", "sqlalchemy")

PROBE = """
import json, sys
{code}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _loaded(code: str, cwd: Path = ROOT, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The ``heavy`` modules in sys.modules after running ``code`` in a fresh interpreter."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code, heavy=heavy)],
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


def test_reading_a_config_imports_no_numerical_package(tmp_path: Path):
    """A run's start-up: the CLI and the config package, then the config read (PyYAML only)."""
    # two FDR entries: their labels carry the alphas' digits (written without NumPy)
    second_fdr = "  - {method: fdr, alpha: 0.05}\n  - {method: fdr, alpha: 1e-5}\n"
    config = CONFIG.replace("  - {method: fdr, alpha: 0.05}\n", second_fdr)
    (tmp_path / "analysis.yaml").write_text(config)
    write_dataset(tmp_path, n=6)
    code = (
        "import glmreport.cli\n"
        "from glmreport.config import load_config\n"
        "config = load_config('analysis.yaml')\n"
        "assert [c.name for c in config.contrasts] == ['effect', 'age', 'both']\n"
        "descs = [c.desc for c in config.corrections]\n"
        "assert descs == ['uncorrected', 'fdrQ05', 'fdrQ00001', 'bonferroni'], descs\n"
        "assert 'yaml' in sys.modules\n"
        # the input files read ahead during the imports are planned without them too
        "from glmreport.inputs import prefetch\n"
        "assert len(prefetch.plan(config)) == 6\n"
    )
    assert _loaded(code, cwd=tmp_path, heavy=NUMERICAL + HEAVY) == []


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_bad_config_fails_before_the_numerical_imports(tmp_path: Path, command: str):
    (tmp_path / "analysis.yaml").write_text(CONFIG.replace("method: fdr", "method: fdrr"))
    code = f"from glmreport.cli import main\nassert main([{command!r}, 'analysis.yaml', '-q']) == 2"
    assert _loaded(code, cwd=tmp_path, heavy=NUMERICAL + HEAVY) == []


def test_atlases_list_imports_no_numerical_package(templateflow_home: Path):
    """The TemplateFlow cache is read from file names: neither pybids nor the labelling code."""
    code = "from glmreport.cli import main\nassert main(['atlases', 'list']) == 0"
    assert _loaded(code, heavy=NUMERICAL) == []


def test_a_cached_templateflow_atlas_needs_no_pybids_index(tmp_path: Path, templateflow_home: Path):
    """A run labelling with a registry atlas in the cache finds its files by name."""
    write_dataset(tmp_path, n=6)
    config = CONFIG + "atlases: [harvard-oxford-cortical]\n"
    (tmp_path / "analysis.yaml").write_text(config)
    code = (
        "import json\n"
        "from glmreport.cli import main\n"
        "assert main(['run', 'analysis.yaml', '--out', 'res', '-q']) == 0\n"
        "summary = json.load(open('res/summary.json'))\n"
        "assert [a['status'] for a in summary['atlases']] == ['ok'], summary['atlases']"
    )
    assert _loaded(code, cwd=tmp_path, heavy=("bids", "sqlalchemy", "templateflow")) == [
        "templateflow"
    ]
