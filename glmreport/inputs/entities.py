"""BIDS ``key-value`` entities of file and folder names."""

from __future__ import annotations

import re
from pathlib import Path

NIFTI_SUFFIXES = (".nii", ".nii.gz")


_ENTITY = re.compile(r"(?:^|_)([a-zA-Z0-9]+)-([a-zA-Z0-9]+)")


_FOLDER_ENTITY = re.compile(r"([a-zA-Z0-9]+)-([a-zA-Z0-9]+)")


def bids_entities(path: str | Path) -> dict[str, str]:
    """Parse BIDS ``key-value`` entities from a file name.

    ``sub-01_task-x_desc-faces_effect.nii.gz`` gives
    ``{'sub': '01', 'task': 'x', 'desc': 'faces'}``.
    Folder names of the form ``key-value`` (``sub-01/``) count too; the file name wins.
    """
    path = Path(path)
    name = path.name
    for suffix in NIFTI_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    found = {}
    for part in path.parts[:-1]:
        match = _FOLDER_ENTITY.fullmatch(part)
        if match:
            found[match.group(1)] = match.group(2)
    found.update(_ENTITY.findall(name))
    return found
