"""Locate the package's bundled folders (templates/ and atlases/); count the usable cores.

In a source checkout the folders sit at the repository's top level; in an installed wheel they
are shipped inside the package as ``_templates`` and ``_atlases``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(installed: str, top_level: str) -> Path:
    inside = _PACKAGE / installed
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / top_level


@cache
def templates_dir() -> Path:
    """Folder holding the Jinja2 templates and the report's CSS/JS."""
    return _find("_templates", "templates")


@cache
def atlases_dir() -> Path:
    """Folder holding the atlas registry and the bundled template images."""
    return _find("_atlases", "atlases")


def template_image(kind: str = "T1w") -> Path:
    """Path of the bundled MNI152NLin2009cAsym 2 mm image.

    Parameters
    ----------
    kind : {'T1w', 'mask'}
        The (skull-stripped) T1-weighted template or its brain mask.
    """
    names = {
        "T1w": "mni_icbm152_2009c_asym_2mm_brain.nii.gz",
        "mask": "mni_icbm152_2009c_asym_2mm_mask.nii.gz",
    }
    return atlases_dir() / names[kind]


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity where the system reports it."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)
