"""Timing both tools the same way: fresh processes, median of repeats, peak RSS, ratios.

Every measurement is one fresh Python process. Its wall time is measured from outside
(start-up, imports, reading, work and exit: what a user waits for); a process may also print a
JSON line ``{"seconds": ...}`` with the time of its work after its imports ("in-process").
Peak RSS is the child's ``ru_maxrss`` from ``os.wait4``, CPU its user + system time (its
threads, not processes it starts: nilearn's joblib workers are not counted). The driver
imports no numerical package, so the few MB a child inherits at ``fork`` stay negligible.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PYTHON = sys.executable


@dataclass
class Runs:
    """The repeats of one measured command."""

    name: str
    wall: list[float] = field(default_factory=list)
    work: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def fresh(self) -> float:
        return statistics.median(self.wall)

    @property
    def inproc(self) -> float | None:
        return statistics.median(self.work) if self.work else None

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpu)

    @property
    def peak(self) -> float:
        return max(self.peak_mb)


def run_fresh(cmd: Sequence[str], *, cwd: str | None = None, env: dict | None = None) -> dict:
    """Run ``cmd`` as a fresh process: wall seconds, peak RSS (MB) and its last JSON line."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stdout}\n{stderr}")
    report: dict = {}
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            report = json.loads(line)
            break
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall": wall, "cpu": cpu, "peak_mb": usage.ru_maxrss / 1024.0, **report}


def measure(runs: Runs, cmd: Sequence[str], **kw) -> None:
    """One repeat of ``cmd`` added to ``runs`` (and printed)."""
    r = run_fresh(cmd, **kw)
    runs.wall.append(r["wall"])
    runs.peak_mb.append(r["peak_mb"])
    runs.cpu.append(r["cpu"])
    if "seconds" in r:
        runs.work.append(r["seconds"])
    inproc = f", work {r['seconds']:.2f} s" if "seconds" in r else ""
    print(
        f"  {runs.name}: process {r['wall']:.2f} s (CPU {r['cpu']:.2f} s){inproc}, "
        f"peak {r['peak_mb']:.0f} MB",
        flush=True,
    )


def table(title: str, ours: Runs, theirs: Runs, *, ours_inproc: Runs | None = None) -> str:
    """The result lines: fresh-process and in-process medians, peak RSS and the ratios."""
    n = len(ours.wall)
    lines = [f"{title} - median of {n}, each a fresh process", ""]
    lines.append(f"{'':12}{'fresh process':>15}{'in-process':>12}{'peak RSS':>12}{'CPU':>10}")
    inproc_ours = (ours_inproc or ours).inproc
    for name, r, inproc in (
        ("glmreport", ours, inproc_ours),
        ("nilearn", theirs, theirs.inproc),
    ):
        cell = f"{inproc:.2f} s" if inproc is not None else "-"
        lines.append(f"{name:12}{r.fresh:13.2f} s{cell:>12}{r.peak:9.0f} MB{r.cpu_s:8.2f} s")
    ratio_in = (
        f"{theirs.inproc / inproc_ours:.1f}x" if inproc_ours and theirs.inproc is not None else "-"
    )
    lines.append(
        f"{'ratio':12}{theirs.fresh / ours.fresh:13.1f}x{ratio_in:>12}"
        f"{ours.peak / theirs.peak:11.2f}x{theirs.cpu_s / ours.cpu_s:9.1f}x"
    )
    return "\n".join(lines)


def compile_package() -> list[str]:
    """Write the bytecode of the glmreport being timed, as installing it does.

    pip compiles a package's modules when it installs it, so a user's process reads their
    bytecode, as the reference tools' processes read theirs. A source checkout (the
    repository on ``PYTHONPATH``, or an editable install) in an environment that sets
    ``PYTHONDONTWRITEBYTECODE`` (this machine's does) never keeps bytecode, so every timed
    process would compile all of glmreport's modules again (about 0.2 s) before its work:
    they are compiled once here instead, into their ``__pycache__`` folders.

    Returns
    -------
    list of str
        The package folders compiled.
    """
    import compileall
    import importlib.util

    folders = {Path(__file__).resolve().parents[1] / "glmreport"}
    spec = importlib.util.find_spec("glmreport")  # the installed one, if another
    if spec is not None and spec.origin:
        folders.add(Path(spec.origin).resolve().parent)
    done = []
    for folder in sorted(folders):
        if folder.is_dir() and compileall.compile_dir(folder, quiet=1, workers=1):
            done.append(str(folder))
    return done


def machine_note() -> str:
    """Cores and load average: the figures are only as quiet as the machine was.

    Also compiles glmreport's bytecode (:func:`compile_package`) before anything is timed.
    """
    compiled = compile_package()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"{os.cpu_count()} cores, load average {load[0]:.1f} at the start "
        "(other work on the machine slows both tools); glmreport's bytecode compiled in "
        f"{len(compiled)} folder(s), as an install compiles it"
    )
