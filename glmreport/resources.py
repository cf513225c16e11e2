"""Locate the package's bundled folders (templates/ and atlases/); the cores and BLAS threads.

In a source checkout the folders sit at the repository's top level; in an installed wheel they
are shipped inside the package as ``_templates`` and ``_atlases``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path
from typing import Any

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


def block_threads(n_blocks: int, most: int) -> int:
    """Threads to run ``n_blocks`` independent blocks of work on: up to ``most`` in the main
    thread of the main process; one in a worker process or in a pool's thread, whose peers
    already keep the cores busy."""
    nested = (
        multiprocessing.parent_process() is not None
        or threading.current_thread() is not threading.main_thread()
    )
    return 1 if nested else max(1, min(most, n_blocks))


_CONTROLLER: list[Any] = []  # [(number of loaded modules, ThreadpoolController)]


def blas_controller() -> Any:
    """A threadpoolctl controller, rescanned whenever modules were imported since the last scan.

    Scanning the loaded libraries costs milliseconds; limiting through a kept controller costs
    microseconds.
    """
    from threadpoolctl import ThreadpoolController

    count = len(sys.modules)
    if not _CONTROLLER or _CONTROLLER[0][0] != count:
        _CONTROLLER[:] = [(count, ThreadpoolController())]
    return _CONTROLLER[0][1]


def single_blas_thread() -> AbstractContextManager:
    """BLAS limited to one thread while the context is open, the earlier limits restored after.

    The products over blocks of voxels are thin (a few dozen rows); multi-threaded BLAS gains
    nothing on them and, on a busy machine, loses several-fold to thread hand-offs. Where
    several threads already run such products, each should run BLAS on one thread.
    """
    return blas_controller().limit(limits=1, user_api="blas")
