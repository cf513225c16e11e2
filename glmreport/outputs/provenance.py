"""Provenance of a run: package versions and the platform."""

from __future__ import annotations

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
    """Installed versions of the packages that shape the results."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = __version__ if name == "glmreport" else "not installed"
    return out


def platform_info() -> dict[str, str]:
    """Python and OS description for provenance."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
