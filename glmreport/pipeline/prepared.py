"""What the preparation of every level hands to inference: :class:`Prepared`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..glm.results import ContrastResult, GLMFit
from ..inputs.masking import Masker

Log = Callable[[str], None]


def quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """Data and model ready for inference.

    Attributes
    ----------
    masker : Masker
    data : (n, v) ndarray or None
        The fitted data (None for map-only runs).
    fit : GLMFit or None
    table : DataFrame or None
        Inputs table (one row per image).
    contrasts : tuple of ContrastResult
    model : dict
        Model description for summary.json.
    design : DataFrame or None
    extra_designs : dict of str -> DataFrame
        Per-run design matrices (first level).
    inputs : list of dict
        Input files with checksums (provenance).
    ols_fit : GLMFit or None
        The ordinary least-squares fit when ``fit`` is another (a second-level model fitted
        with non-sphericity correction): permutation inference refits the data by OLS.
    ols_contrasts : tuple of ContrastResult
        The contrasts of ``ols_fit`` (conjunctions left out), by the names of ``contrasts``.
    regions : dict of str to (v,) ndarray of bool
        The small volumes of the ``svc`` entries by entry ``desc``, made (and checked) with
        the mask, before the fit (:func:`glmreport.pipeline.regions.small_volumes`).
    """

    masker: Masker
    data: np.ndarray | None
    fit: GLMFit | None
    table: pd.DataFrame | None
    contrasts: tuple[ContrastResult, ...]
    model: dict[str, Any]
    design: pd.DataFrame | None = None
    extra_designs: dict[str, pd.DataFrame] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    ols_fit: GLMFit | None = None
    ols_contrasts: tuple[ContrastResult, ...] = ()
    regions: dict[str, np.ndarray] = field(default_factory=dict)
