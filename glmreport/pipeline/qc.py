"""The quality checks of a run (``summary.json`` ``qc``), from the prepared data and model.

- second level: the design's VIF, each contrast's efficiency and the design's correlation
  matrix; each input's distance from the group (studentised residuals of the fitted data);
- first level: the same design checks for each run's design (the inputs are scans of one
  subject's time series, not a group, so no input check);
- every level: a histogram of each contrast's p values (two-sided for t contrasts) and, for
  data in the MNI template space, the mask's coverage of the bundled template brain.

The statistics are those of :mod:`glmreport.glm.design_qc` and :mod:`glmreport.glm.qc`;
this module only chooses what to check and writes plain JSON values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd

from ..config.specs import RunConfig
from ..errors import ContrastError, DesignError
from ..glm.design_qc import design_correlation, efficiency, vif
from ..glm.qc import OUTLIER_Z, input_outliers, mask_coverage, p_value_histogram
from ..glm.results import ContrastResult
from ..resources import template_image
from .prepared import Prepared

#: Bins of the p-value histograms.
P_BINS = 20
#: Name of the template brain mask the analysis mask is compared with.
TEMPLATE_NAME = "MNI152NLin2009cAsym brain mask (2 mm, bundled)"


def quality_checks(
    config: RunConfig, prepared: Prepared, *, coverage: bool = True
) -> dict[str, Any]:
    """The ``qc`` block of ``summary.json`` as plain JSON values.

    Parameters
    ----------
    config : RunConfig
    prepared : Prepared
        After the fit (contrasts computed).
    coverage : bool
        False: leave the mask coverage out (None, without a note), as for a model whose mask
        another model's checks already cover.

    Returns
    -------
    dict
        Keys of :class:`glmreport.outputs.summary_qc.QualityChecks`.
    """
    notes: list[str] = []
    out: dict[str, Any] = {
        "vif": {},
        "efficiency": {},
        "correlation": None,
        "outliers": [],
        "outlier_threshold": OUTLIER_Z,
    }
    named = {spec.name for spec in config.contrasts}  # not the per-run copies
    contrasts = [c for c in prepared.contrasts if c.name in named and not c.conjunction]
    if prepared.design is not None and prepared.design.shape[1]:
        out.update(design_checks(prepared.design, contrasts))
    if prepared.extra_designs:
        out["runs"] = {
            name: design_checks(frame, contrasts) for name, frame in prepared.extra_designs.items()
        }
    if prepared.data is not None and prepared.design is not None:
        out["outliers"] = _outliers(prepared.data, prepared.design.to_numpy(float), notes)
    elif config.model.level == "first":
        notes.append("Input outliers: not checked at the first level (the inputs are scans).")
    else:
        notes.append("Input outliers: not checked for existing statistical maps (no design).")
    out["p_values"] = {c.name: _p_values(c) for c in prepared.contrasts}
    out["mask_coverage"] = _coverage(config, prepared, notes) if coverage else None
    out["notes"] = notes
    return out


def design_checks(frame: pd.DataFrame, contrasts: Sequence[ContrastResult]) -> dict[str, Any]:
    """VIF, efficiency of every contrast defined on the design's columns, correlation."""
    x = frame.to_numpy(float)
    columns = tuple(str(c) for c in frame.columns)
    corr = design_correlation(x, columns)
    return {
        "vif": vif(x, columns),
        "efficiency": {c.name: _efficiency(x, columns, c) for c in contrasts},
        "correlation": {"columns": columns, "matrix": corr.matrix, "note": corr.note},
    }


def _efficiency(x: np.ndarray, columns: tuple[str, ...], contrast: ContrastResult) -> float | None:
    """A contrast's efficiency on a design, its weights matched to the columns by name (a
    first-level run may lack some of the contrast's columns: None)."""
    weights = np.atleast_2d(np.asarray(contrast.weights, dtype=float))
    aligned = np.zeros((weights.shape[0], len(columns)))
    position = {name: j for j, name in enumerate(columns)}
    for k, name in enumerate(contrast.columns):
        if name in position:
            aligned[:, position[name]] = weights[:, k]
        elif np.any(weights[:, k] != 0):
            return None
    try:
        return efficiency(x, aligned)
    except ContrastError:
        return None


def _outliers(data: np.ndarray, x: np.ndarray, notes: list[str]) -> list[dict[str, Any]]:
    try:
        table = input_outliers(data, x)
    except DesignError as exc:
        notes.append(f"Input outliers: not checked ({exc}).")
        return []
    return [
        {
            "input": int(row.input),
            "leverage": float(row.leverage),
            "measure": _finite(row.measure),
            "robust_z": _finite(row.robust_z),
            "flagged": bool(row.flagged),
        }
        for row in table.itertuples(index=False)
    ]


def _p_values(contrast: ContrastResult) -> dict[str, Any]:
    p = np.asarray(contrast.p, dtype=float)
    sided = "upper tail"
    if contrast.stat_type == "t":
        p = np.minimum(1.0, 2.0 * np.minimum(p, 1.0 - p))
        sided = "two-sided"
    hist = p_value_histogram(np.clip(p, 0.0, 1.0), P_BINS)
    return {"counts": hist.counts, "pi0": _finite(hist.pi0), "n": hist.n, "sided": sided}


def _coverage(config: RunConfig, prepared: Prepared, notes: list[str]) -> dict[str, Any] | None:
    space = (config.model.space or "").upper()
    if not space.startswith("MNI"):
        notes.append(
            "Mask coverage: not checked (the data's space is "
            f"{'not recorded' if not space else config.model.space}, not the MNI template's)."
        )
        return None
    image = nib.load(template_image("mask"))
    cov = mask_coverage(
        prepared.masker.mask,
        prepared.masker.affine,
        np.asarray(image.dataobj) > 0,
        image.affine,
    )
    return {
        "template": TEMPLATE_NAME,
        "fraction_covered": cov.fraction_covered,
        "n_template_voxels": cov.n_template_voxels,
        "n_mask_voxels": cov.n_mask_voxels,
        "n_outside": cov.n_outside,
        "fraction_outside": _finite(cov.fraction_outside),
    }


def _finite(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def combined_checks(parts: Sequence[tuple[RunConfig, Prepared]]) -> dict[str, Any]:
    """The ``qc`` block of models fitted on one design, one per set of inputs: a study's
    group level, one model per first-level contrast (the subjects' effect maps).

    The design checks (VIF, correlation) and mask coverage are those of the first model
    (every model shares the group design and mask); efficiencies and p-value histograms
    are gathered by contrast name; each model's input checks are numbered by the position
    of its inputs in the inputs of all the models, in order. The coverage is computed once.

    Parameters
    ----------
    parts : sequence of (RunConfig, Prepared)
        Each model's config and its fitted data.

    Returns
    -------
    dict
        Keys of :class:`glmreport.outputs.summary_qc.QualityChecks`.
    """
    out: dict[str, Any] | None = None
    offset = 0
    for config, prepared in parts:
        checks = quality_checks(config, prepared, coverage=out is None)
        for row in checks["outliers"]:
            row["input"] += offset
        offset += len(prepared.inputs)
        if out is None:
            out = checks
            continue
        out["efficiency"].update(checks["efficiency"])
        out["outliers"].extend(checks["outliers"])
        out["p_values"].update(checks["p_values"])
        out["notes"] += [n for n in checks["notes"] if n not in out["notes"]]
    if out is None:
        raise ValueError("combined_checks needs at least one model")
    return out
