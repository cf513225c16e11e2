"""``model.level: maps``: existing statistical maps read as contrasts."""

from __future__ import annotations

import numpy as np

from ..config.specs import MapSpec, RunConfig
from ..errors import InputError
from ..glm import distributions as dist
from ..glm.contrasts import make_label
from ..glm.pvalues import z_from_logp
from ..glm.results import ContrastResult
from ..inputs.images import file_digests, load_images
from ..inputs.masking import Masker, build_mask
from .prepared import Log, Prepared, quiet
from .regions import small_volumes


def prepare_maps(config: RunConfig, *, fit: bool = True, log: Log = quiet) -> Prepared:
    """Read existing statistical maps (``model.level: maps``) as contrasts."""
    model = config.model
    paths = [m.path for m in model.maps]
    digests = file_digests(paths, what="map")
    volumes, affine = load_images(paths)
    mask, mask_info = build_mask(model.mask, affine=affine, volumes=volumes)
    masker = Masker(mask=mask, affine=affine)
    regions = small_volumes(config, masker)
    contrasts, taken = [], set()
    for spec, vol in zip(model.maps, volumes, strict=True):
        label = make_label(spec.name, taken)
        taken.add(label)
        contrasts.append(_map_contrast(spec, vol[mask].astype(np.float64), label))
    inputs = [
        {"path": str(m.path), "name": m.name, "stat": m.stat, "sha256": digest}
        for m, digest in zip(model.maps, digests, strict=True)
    ]
    info = {
        "level": "maps",
        "design": "existing statistical maps",
        "n_inputs": len(paths),
        "columns": [],
        "nuisance_columns": [],
        "dof": None,
        "smoothing_fwhm": 0.0,
        "mask": mask_info,
        "space": model.space,
        "noise_model": None,
        "voxel_size": masker.voxel_size.round(4).tolist(),
        "shape": list(mask.shape),
        "maps": [{"name": m.name, "stat": m.stat, "dof": m.dof} for m in model.maps],
    }
    return Prepared(
        masker=masker,
        data=None,
        fit=None,
        table=None,
        contrasts=tuple(contrasts),
        model=info,
        inputs=inputs,
        regions=regions,
    )


def _map_contrast(spec: MapSpec, stat: np.ndarray, label: str) -> ContrastResult:
    """An existing map's in-mask values as a contrast: its p and z from the stated statistic."""
    negative = int(np.sum(stat < 0))
    if spec.stat == "F" and negative:
        raise InputError(
            f"F map '{spec.name}' ({spec.path}) has {negative} voxel(s) below 0 in the "
            f"mask (minimum {stat.min():g}); an F statistic is >= 0: check the file and "
            "its 'stat'"
        )
    if spec.stat == "t":
        logp, log1mp = dist.t_logsf(stat, spec.dof), dist.t_logcdf(stat, spec.dof)
        dof, df_num = spec.dof, 1
    elif spec.stat == "F":
        logp = dist.f_logsf(stat, spec.df_num, spec.dof)
        log1mp = dist.f_logcdf(stat, spec.df_num, spec.dof)
        dof, df_num = spec.dof, spec.df_num
    else:
        logp, log1mp = dist.norm_logsf(stat), dist.norm_logcdf(stat)
        dof, df_num = np.inf, 1
    z = stat if spec.stat == "z" else z_from_logp(logp, log1mp=log1mp)
    return ContrastResult(
        name=spec.name,
        label=label,
        stat_type="F" if spec.stat == "F" else "t",
        weights=np.ones((1, 1)),
        columns=(spec.name,),
        effect=stat[None],
        variance=np.full((1, 1, stat.size), np.nan),
        stat=stat,
        p=np.exp(logp),
        z=z,
        dof=float(dof),
        df_num=int(df_num),
    )
