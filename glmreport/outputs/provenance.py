"""Provenance of a run: package versions and the platform."""

from __future__ import annotations

import functools
import platform
import sys
from importlib import metadata

from .._version import __version__

PACKAGES = (
    "glmreport",
    "numpy",
    "scipy",
    "pandas",
    "nibabel",
    "matplotlib",
    "jinja2",
    "weasyprint",
    "templateflow",
    "formulaic",
    "pyyaml",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the results (a new dict each call)."""
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    """Looked up once per process: each lookup parses a package's metadata file (a few ms),
    and a study asks once per subject."""
    out = []
    for name in PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, __version__ if name == "glmreport" else "not installed"))
    return tuple(out)


def platform_info() -> dict[str, str]:
    """Python and OS description for provenance."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
