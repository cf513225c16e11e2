"""Second level: inputs table, mask, design, fit (OLS, or whitened with non-sphericity
correction) and contrasts, conjunctions included."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config.specs import DesignSpec, RunConfig
from ..errors import DesignError
from ..glm.conjunction import add_conjunctions
from ..glm.contrasts import check_estimable, compute_contrast, contrast_weights, make_label
from ..glm.design import build_design
from ..glm.ols import fit_ols
from ..glm.results import ContrastResult, DesignMatrix, GLMFit
from ..inputs.group import read_group_inputs
from ..inputs.images import file_digests
from ..inputs.masking import Masker
from ..inputs.participants import join_participants, read_participants, require_values
from ..inputs.tables import read_inputs_table, read_table
from .prepared import Log, Prepared, quiet
from .regions import small_volumes

if TYPE_CHECKING:
    from ..glm.within_subject import WithinSubjectFit


def with_participants(table: pd.DataFrame, path: Path, design: DesignSpec) -> pd.DataFrame:
    """The inputs table with ``participants.tsv``'s columns joined on its ``sub`` entity.

    Columns already in the inputs table are kept as they are; a design column that comes from
    the participants file and is ``n/a`` for one of the inputs' subjects is an error.
    """
    participants = read_participants(path)
    columns = [c for c in participants.columns if c != "sub" and c not in table.columns]
    out = join_participants(table, participants, columns=columns, source=path.name)
    used = [*design.covariates, *design.factors]
    used += [c for c in (design.group, design.condition, design.subject) if c]
    require_values(out, [c for c in used if c in columns], source=path.name)
    return out


def _contrasts_for(config: RunConfig, columns: tuple[str, ...], X: np.ndarray) -> list[tuple]:
    """Parse every contrast against the design columns and check estimability (no fitting).

    Conjunctions are left out: they are made from their components once those are computed
    (:func:`~glmreport.glm.conjunction.add_conjunctions`).
    """
    out, taken = [], set()
    for spec in config.contrasts:
        if spec.conjunction:
            continue
        weights = contrast_weights(spec, columns)
        check_estimable(weights, X, name=spec.name, where=spec.where)
        label = make_label(spec.name, taken)
        taken.add(label)
        out.append((spec, weights, label))
    return out


def prepare_second_level(config: RunConfig, *, fit: bool = True, log: Log = quiet) -> Prepared:
    """Load inputs, build the mask and design, and (if ``fit``) fit and compute contrasts."""
    model = config.model
    table = read_inputs_table(model.inputs)
    if model.participants is not None:
        table = with_participants(table, model.participants, model.design)
    digests = file_digests(list(table["path"]))
    spec = model.design
    if model.design_matrix is not None:
        spec = dataclasses.replace(
            spec, matrix=read_table(model.design_matrix, what="design matrix")
        )
    design = build_design(table, spec)
    if model.nonsphericity:
        _within_cells(table, spec)  # fewer than 3 cells: refused before anything is fitted
    parsed = _contrasts_for(config, design.columns, design.matrix)
    n, rank = design.matrix.shape[0], np.linalg.matrix_rank(design.matrix)
    if n - rank <= 0:
        raise DesignError(
            f"{n} inputs and a design of rank {rank} leave {n - rank} residual degrees of "
            "freedom; at least 1 is needed (add inputs or remove design columns)"
        )
    _check_permutation_sizes(config, n)
    fwhm = model.smoothing_fwhm if fit else 0.0
    smoothing = f", smoothing each ({fwhm:g} mm FWHM)" if fwhm else ""
    log(f"loading {len(table)} input maps{smoothing}")
    group = read_group_inputs(list(table["path"]), model.mask, fwhm_mm=fwhm)
    mask, mask_info, data = group.mask, group.info, group.data
    masker = Masker(mask=mask, affine=group.affine)
    regions = small_volumes(config, masker)  # an empty region is refused before the fit
    fitted = _fit(config, data, design, table, parsed, log) if fit else _Fitted()
    glm = fitted.glm
    inputs = [
        {**{k: _plain(v) for k, v in row.items()}, "sha256": digest}
        for row, digest in zip(table.to_dict("records"), digests, strict=True)
    ]
    info = {
        "level": "second",
        "design": design.description,
        "n_inputs": int(n),
        "columns": list(design.columns),
        "nuisance_columns": list(design.nuisance),
        "rank": int(rank),
        "dof": float(n - rank) if glm is None else float(glm.dof),
        "smoothing_fwhm": float(model.smoothing_fwhm),
        "mask": mask_info,
        "space": model.space,
        "noise_model": "ols" if glm is None else glm.noise_model,
        "voxel_size": masker.voxel_size.round(4).tolist(),
        "shape": list(mask.shape),
    }
    if fitted.within is not None:
        info["nonsphericity"] = fitted.within.summary()
    frame = design.to_frame()
    return Prepared(
        masker=masker,
        data=data,
        fit=glm,
        table=table,
        contrasts=fitted.contrasts,
        model=info,
        design=frame,
        inputs=inputs,
        ols_fit=fitted.ols_fit,
        ols_contrasts=fitted.ols_contrasts,
        regions=regions,
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Fitted:
    """The fit, its contrasts and, with non-sphericity correction, the OLS fit besides."""

    glm: GLMFit | None = None
    contrasts: tuple[ContrastResult, ...] = ()
    within: WithinSubjectFit | None = None
    ols_fit: GLMFit | None = None
    ols_contrasts: tuple[ContrastResult, ...] = ()


def _fit(
    config: RunConfig,
    data: np.ndarray,
    design: DesignMatrix,
    table: pd.DataFrame,
    parsed: list[tuple],
    log: Log,
) -> _Fitted:
    """Fit the model (OLS, or whitened with non-sphericity correction) and its contrasts."""
    log(f"fitting OLS at {data.shape[1]} voxels")
    ols = fit_ols(data, design)
    if not config.model.nonsphericity:
        return _Fitted(glm=ols, contrasts=_computed(config, ols, parsed))
    log("estimating the non-sphericity (ReML pooled over voxels) and refitting whitened")
    within = _within_subject(data, design, table, config.model.design)
    ols_contrasts: tuple[ContrastResult, ...] = ()
    if any(c.method == "permutation" for c in config.corrections):
        ols_contrasts = tuple(c for c in _computed(config, ols, parsed) if not c.conjunction)
    return _Fitted(
        glm=within.fit,
        contrasts=_computed(config, within.fit, parsed),
        within=within,
        ols_fit=ols,
        ols_contrasts=ols_contrasts,
    )


def _computed(config: RunConfig, glm: GLMFit, parsed: list[tuple]) -> tuple[ContrastResult, ...]:
    """Every contrast of ``glm``, then the conjunctions made from them."""
    contrasts = [
        compute_contrast(glm, weights, name=spec.name, label=label, stat_type=spec.stat_type)
        for spec, weights, label in parsed
    ]
    return tuple(add_conjunctions(config.contrasts, contrasts))


def _within_cells(
    table: pd.DataFrame, spec: DesignSpec | None
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """The cell, subject and factor levels of every row of a within-subject ANOVA.

    Raises
    ------
    DesignError
        Not a within-subject ANOVA (the config refuses it), or fewer than 3 cells.
    """
    if spec is None or spec.kind != "anova" or spec.subject is None:
        raise DesignError("non-sphericity correction needs a within-subject anova design")
    factors = {f: [str(v) for v in table[f]] for f in spec.factors}
    cells = ["_".join(values) for values in zip(*factors.values(), strict=True)]
    if len(set(cells)) < 3:
        raise DesignError(
            f"non-sphericity correction needs at least 3 within-subject cells; this design has "
            f"{len(set(cells))}: with 2 the only within-subject difference is always spherical "
            "(epsilon = 1). Leave model.nonsphericity out."
        )
    return cells, [str(v) for v in table[spec.subject]], factors


def _within_subject(
    data: np.ndarray, design: DesignMatrix, table: pd.DataFrame, spec: DesignSpec | None
) -> WithinSubjectFit:
    """The non-sphericity fit of a within-subject ANOVA (cells and subjects from the table)."""
    cells, subjects, factors = _within_cells(table, spec)
    # imported here: only non-sphericity correction needs ReML (and scipy.linalg)
    from ..glm.within_subject import fit_within_subject

    return fit_within_subject(data, design, cells=cells, subjects=subjects, factors=factors)


def _check_permutation_sizes(config: RunConfig, n: int) -> None:
    """Refuse, before fitting, permutation entries whose table of resamples is too large."""
    specs = [c for c in config.corrections if c.method == "permutation"]
    if specs:
        from ..inference.permutation import check_resample_table

        for spec in specs:
            check_resample_table(spec.params.n_perm, n)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value
