"""Second level: inputs table, mask, design, OLS fit and contrasts."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..config.specs import RunConfig
from ..errors import DesignError
from ..glm.contrasts import check_estimable, compute_contrast, contrast_weights, make_label
from ..glm.design import build_design
from ..glm.ols import fit_ols
from ..glm.results import ContrastResult
from ..inputs.images import file_digests, load_images
from ..inputs.masking import Masker, build_mask
from ..inputs.smoothing import smooth
from ..inputs.tables import read_inputs_table, read_table
from .prepared import Log, Prepared, quiet


def _contrasts_for(config: RunConfig, columns: tuple[str, ...], X: np.ndarray) -> list[tuple]:
    """Parse every contrast against the design columns and check estimability (no fitting)."""
    out, taken = [], set()
    for spec in config.contrasts:
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
    digests = file_digests(list(table["path"]))
    log(f"loading {len(table)} input maps")
    volumes, affine = load_images(list(table["path"]))
    mask, mask_info = build_mask(model.mask, affine=affine, volumes=volumes)
    spec = model.design
    if model.design_matrix is not None:
        spec = dataclasses.replace(
            spec, matrix=read_table(model.design_matrix, what="design matrix")
        )
    design = build_design(table, spec)
    parsed = _contrasts_for(config, design.columns, design.matrix)
    n, rank = design.matrix.shape[0], np.linalg.matrix_rank(design.matrix)
    if n - rank <= 0:
        raise DesignError(
            f"{n} inputs and a design of rank {rank} leave {n - rank} residual degrees of "
            "freedom; at least 1 is needed (add inputs or remove design columns)"
        )
    _check_permutation_sizes(config, n)
    if model.smoothing_fwhm and fit:
        log(f"smoothing ({model.smoothing_fwhm:g} mm FWHM)")
        smooth(volumes, affine, model.smoothing_fwhm)
    masker = Masker(mask=mask, affine=affine)
    data = masker.transform(volumes)
    del volumes
    glm = None
    contrasts: list[ContrastResult] = []
    if fit:
        log(f"fitting OLS at {masker.n_voxels} voxels")
        glm = fit_ols(data, design)
        for cspec, weights, label in parsed:
            contrasts.append(
                compute_contrast(
                    glm, weights, name=cspec.name, label=label, stat_type=cspec.stat_type
                )
            )
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
        "dof": float(n - rank),
        "smoothing_fwhm": float(model.smoothing_fwhm),
        "mask": mask_info,
        "space": model.space,
        "noise_model": "ols",
        "voxel_size": masker.voxel_size.round(4).tolist(),
        "shape": list(mask.shape),
    }
    frame = design.to_frame()
    return Prepared(
        masker=masker,
        data=data,
        fit=glm,
        table=table,
        contrasts=tuple(contrasts),
        model=info,
        design=frame,
        inputs=inputs,
    )


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
