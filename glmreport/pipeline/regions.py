"""The small volumes of a run's ``svc`` entries, on its analysis mask."""

from __future__ import annotations

import numpy as np

from ..config.specs import RunConfig
from ..inputs.masking import Masker
from ..inputs.regions import small_volume


def small_volumes(config: RunConfig, masker: Masker) -> dict[str, np.ndarray]:
    """The region of every correction entry with ``svc``, by the entry's ``desc``.

    Parameters
    ----------
    config : RunConfig
    masker : Masker
        The analysis mask and its affine.

    Returns
    -------
    dict of str to (v,) ndarray of bool
        In-mask voxels of each region.

    Raises
    ------
    ConfigError
        A region that is empty or outside the mask, naming the entry (``corrections[i].svc``).
    """
    return {
        spec.desc: small_volume(spec.svc, mask=masker.mask, affine=masker.affine)
        for spec in config.corrections
        if spec.svc is not None
    }
