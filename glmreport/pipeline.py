"""``run(config)``: the one place where the order of the stages is written.

config -> inputs/masking -> design -> fit -> contrasts -> corrections -> clusters -> labels
-> results folder (maps, tables, summary.json) -> report (HTML / PDF)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import io, safety, shareable
from .config import RunConfig
from .errors import ConfigError, DesignError, InputError
from .masking import AUTO_MASK_RULE, Masker, auto_mask, check_mask, resample_mask, smooth
from .outputs import (
    ContrastOutput,
    RunOutput,
    package_versions,
    platform_info,
    render_report,
    write_results,
)
from .stats.contrasts import (
    check_estimable,
    compute_contrast,
    contrast_weights,
    make_label,
    z_from_logp,
)
from .stats.crossref import cross_reference
from .stats.design import build_design
from .stats.glm import fit_ols
from .stats.inference import InferenceContext, apply_correction
from .stats.results import ContrastResult, GLMFit

Log = Callable[[str], None]


def _quiet(_: str) -> None:
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


# ---------------------------------------------------------------------------------------------
# masks


def build_mask(
    spec: str | Path, volumes: np.ndarray, affine: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """The analysis mask from ``model.mask`` (``auto`` or a NIfTI file) and the inputs.

    Returns
    -------
    mask : (X, Y, Z) ndarray of bool
    info : dict
        ``source``, ``rule`` and ``n_voxels`` for summary.json.
    """
    if spec == "auto":
        mask = auto_mask(volumes)
        info = {"source": "auto", "rule": AUTO_MASK_RULE}
    else:
        img = io.load_image(spec)
        given = io.image_data(img) != 0
        mask = resample_mask(given, img.affine, volumes.shape[1:], affine)
        finite = np.all(np.isfinite(volumes), axis=0)
        mask &= finite
        info = {
            "source": str(spec),
            "rule": "non-zero voxels of the mask file (nearest-neighbour onto the data grid), "
            "where every input is finite",
        }
        if not mask.any():
            raise InputError(
                f"the mask {spec} does not overlap the inputs' finite voxels (no voxel in common)"
            )
    check_mask(mask, source=info["source"])
    info["n_voxels"] = int(mask.sum())
    return mask, info


# ---------------------------------------------------------------------------------------------
# levels


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


def prepare_second_level(config: RunConfig, *, fit: bool = True, log: Log = _quiet) -> Prepared:
    """Load inputs, build the mask and design, and (if ``fit``) fit and compute contrasts."""
    model = config.model
    table = io.read_inputs_table(model.inputs)
    digests = io.file_digests(list(table["path"]))
    log(f"loading {len(table)} input maps")
    volumes, affine = io.load_images(list(table["path"]))
    mask, mask_info = build_mask(model.mask, volumes, affine)
    spec = model.design
    if model.design_matrix is not None:
        spec = dataclasses.replace(
            spec, matrix=io.read_table(model.design_matrix, what="design matrix")
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
        from .stats.permutation import check_resample_table

        for spec in specs:
            check_resample_table(int(spec.params.get("n_perm", 10000)), n)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def prepare_maps(config: RunConfig, *, fit: bool = True, log: Log = _quiet) -> Prepared:
    """Read existing statistical maps (``model.level: maps``) as contrasts."""
    model = config.model
    paths = [m.path for m in model.maps]
    digests = io.file_digests(paths, what="map")
    volumes, affine = io.load_images(paths)
    mask, mask_info = build_mask(model.mask, volumes, affine)
    masker = Masker(mask=mask, affine=affine)
    contrasts, taken = [], set()
    for spec, vol in zip(model.maps, volumes, strict=True):
        stat = vol[mask].astype(np.float64)
        negative = int(np.sum(stat < 0))
        if spec.stat == "F" and negative:
            raise InputError(
                f"F map '{spec.name}' ({spec.path}) has {negative} voxel(s) below 0 in the "
                f"mask (minimum {stat.min():g}); an F statistic is >= 0: check the file and "
                "its 'stat'"
            )
        if spec.stat == "t":
            logp, log1mp = sps.t.logsf(stat, spec.dof), sps.t.logcdf(stat, spec.dof)
            dof, df_num = spec.dof, 1
        elif spec.stat == "F":
            logp = sps.f.logsf(stat, spec.df_num, spec.dof)
            log1mp = sps.f.logcdf(stat, spec.df_num, spec.dof)
            dof, df_num = spec.dof, spec.df_num
        else:
            logp, log1mp = sps.norm.logsf(stat), sps.norm.logcdf(stat)
            dof, df_num = np.inf, 1
        label = make_label(spec.name, taken)
        taken.add(label)
        z = stat if spec.stat == "z" else z_from_logp(logp, log1mp=log1mp)
        contrasts.append(
            ContrastResult(
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
        )
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
    )


def prepare(config: RunConfig, *, fit: bool = True, log: Log = _quiet) -> Prepared:
    """Dispatch on ``model.level``."""
    if config.model.level == "second":
        return prepare_second_level(config, fit=fit, log=log)
    if config.model.level == "maps":
        return prepare_maps(config, fit=fit, log=log)
    from .runs import prepare_first_level

    return prepare_first_level(config, fit=fit, log=log)


# ---------------------------------------------------------------------------------------------
# inference and labels


def infer(config: RunConfig, prepared: Prepared, *, progress: bool = False, log: Log = _quiet):
    """Apply every correction to the contrasts it names."""
    ctx = InferenceContext(
        mask=prepared.masker.mask,
        affine=prepared.masker.affine,
        data=prepared.data,
        fit=prepared.fit,
        table=prepared.table,
        connectivity=config.clusters.connectivity,
        peak_min_distance_mm=config.clusters.min_distance_mm,
        max_subpeaks=config.clusters.max_subpeaks,
        progress=progress,
    )
    results = []
    for contrast in prepared.contrasts:
        specs = [
            s for s in config.corrections if s.contrasts is None or contrast.name in s.contrasts
        ]
        applied = []
        for spec in specs:
            log(f"{contrast.name}: {spec.method} ({spec.desc})")
            applied.extend(apply_correction(contrast, spec, ctx))
        applied = cross_reference(contrast, applied, specs, mask=ctx.mask, affine=ctx.affine)
        results.append((contrast, applied))
    return results


def _label(config: RunConfig, prepared: Prepared, results, log: Log):
    """Add atlas columns to every table; returns (results, atlas info for summary.json)."""
    if not config.atlases:
        return results, []
    from .labels.atlases import load_atlases
    from .labels.labelling import label_tables

    loaded = load_atlases(config.atlases, data_space=config.model.space)
    info = [a.describe() for a in loaded]
    out = []
    for contrast, corrections in results:
        labelled = []
        for corr in corrections:
            labels = corr.cluster_labels
            if labels is None:
                labels = np.zeros(prepared.masker.n_voxels, dtype=int)
            clusters, peaks, notes = label_tables(
                corr.clusters,
                corr.peaks,
                labels,
                mask=prepared.masker.mask,
                affine=prepared.masker.affine,
                atlases=loaded,
            )
            extras = {**corr.extras, "atlas_notes": list(notes)} if notes else corr.extras
            labelled.append(
                dataclasses.replace(corr, clusters=clusters, peaks=peaks, extras=extras)
            )
        out.append((contrast, labelled))
    return out, info


# ---------------------------------------------------------------------------------------------
# run


def run(
    config: RunConfig,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    formats: tuple[str, ...] | None = None,
    progress: bool = False,
    log: Log = _quiet,
    command: str | Sequence[str] | None = None,
) -> Path:
    """Run an analysis end to end and write its results folder.

    Parameters
    ----------
    config : RunConfig
    out : str or Path, optional
        Results folder; defaults to the config's ``output`` (or ``results`` beside the config).
    overwrite : bool
        Replace an existing results folder, only once the new one is complete and only when
        glmreport wrote it (see :func:`glmreport.safety.check_target`).
    formats : tuple of {'html', 'pdf'}, optional
        Report formats; defaults to the config's ``report.formats``. Empty: no report.
    progress : bool
        Show progress bars on long steps.
    log : callable
        Receives one-line progress messages.
    command : str or sequence of str, optional
        The command line, for provenance (absolute paths in it are recorded relative to the
        config's folder, or by name).

    Returns
    -------
    Path
        The results folder.
    """
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    base = config.source.parent if config.source else Path.cwd()
    target = Path(out) if out is not None else config.output
    if target is None:
        target = base / "results"
    target = Path(target).resolve()
    formats = config.report.formats if formats is None else tuple(formats)
    # files the run reads: a folder holding one is never replaced (checked again at the end,
    # with every input actually read)
    protected = safety.protected_paths(config)
    with io.staged_output(target, overwrite=overwrite, protected=protected) as stage:
        prepared = prepare(config, log=log)
        protected.update({Path(i["path"]): "the input" for i in prepared.inputs if i.get("path")})
        results = infer(config, prepared, progress=progress, log=log)
        results, atlas_info = _label(config, prepared, results, log)
        seeds = {
            f"{c.name}/{corr.desc}": corr.params["seed"]
            for c, corrs in results
            for corr in corrs
            if "seed" in corr.params
        }
        run_output = RunOutput(
            title=config.title,
            model=prepared.model,
            masker=prepared.masker,
            design=prepared.design,
            inputs=prepared.inputs,
            contrasts=tuple(
                ContrastOutput(
                    contrast=c,
                    corrections=tuple(corrs),
                    maps_available=("stat", "z", "p")
                    if config.model.level == "maps"
                    else ("effect", "variance", "stat", "z", "p"),
                )
                for c, corrs in results
            ),
            atlases=atlas_info,
            inference={
                "connectivity": config.clusters.connectivity,
                "peak_min_distance_mm": config.clusters.min_distance_mm,
                "max_subpeaks": config.clusters.max_subpeaks,
            },
            extra_designs=prepared.extra_designs,
            config_file=str(config.source) if config.source else None,
            config_text=config.text,
            provenance={
                "versions": package_versions(),
                **platform_info(),
                "started": started.isoformat(timespec="seconds"),
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "run_time_s": round(time.perf_counter() - t0, 3),
                "seeds": seeds,
                "command": shareable.share_command(command, base),
                "results_folder": shareable.share_path(target, base)[0],
            },
            shared_from=base,
        )
        log("writing results")
        write_results(stage, run_output)
        if formats:
            log(f"rendering report ({', '.join(formats)})")
            render_report(stage, formats=formats)
    return target


def validate(config: RunConfig) -> Prepared:
    """Check the config and inputs (images, mask, design, contrasts) without fitting."""
    if config.model.level == "maps" and any(c.method == "permutation" for c in config.corrections):
        raise ConfigError("permutation needs input images", path="corrections")
    return prepare(config, fit=False)
