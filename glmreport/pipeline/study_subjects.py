"""A study's subjects: combine each subject's fitted runs and write its results folder.

A subject's contrasts are the precision-weighted fixed effects of its runs
(:func:`glmreport.glm.fixed_effects.fixed_effects`); its folder ``sub-<id>/`` is an ordinary
first-level results folder (maps, design matrices, ``summary.json``) written by the one
writer, :func:`glmreport.outputs.results.write_results`. The group level reads the effect maps
back from these folders, so a folder kept by ``--resume`` serves exactly as a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..config.specs import ContrastSpec, RunConfig
from ..errors import ContrastError
from ..glm.fixed_effects import fixed_effects
from ..glm.results import ContrastResult
from ..inputs.bids import StudySubject
from ..inputs.confounds import SPIKE_PREFIX
from ..inputs.masking import Masker
from ..outputs.layout import run_design_name
from ..outputs.results import ContrastOutput, RunOutput, write_results
from ..tasks.study_fit import RunFit, input_files
from .finish import inference_options

FIXED_EFFECTS = (
    "precision-weighted over runs (effect = V sum(P_i e_i), V = (sum P_i)^-1, dof = sum of run dof)"
)


def subject_folder(subject: str) -> str:
    """``sub-<id>``: the subject's folder inside the results folder."""
    return f"sub-{subject}"


def inputs_hash(subject: StudySubject, config: RunConfig) -> str:
    """sha256 of the subject's input files (name, size, modification time) and the settings
    that shape its first level (model, contrasts, glmreport's version)."""
    study = config.model.study
    files = []
    for run in subject.runs:
        for path in input_files(run):
            stat = path.stat()
            files.append([str(path), stat.st_size, stat.st_mtime_ns])
    settings = {
        "version": __version__,
        "first_level": asdict(study.first_level),
        "contrasts": [[c.name, c.stat_type, c.definition] for c in config.contrasts],
        "files": files,
    }
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _combine(
    subject: str, fits: Sequence[RunFit], contrasts: Sequence[tuple[ContrastSpec, str]]
) -> list[ContrastResult]:
    out = []
    for spec, label in contrasts:
        runs = [(f.label, f.contrasts[spec.name]) for f in fits if spec.name in f.contrasts]
        if not runs:
            raise ContrastError(
                f"sub-{subject}: contrast '{spec.name}' ({spec.where}) names a design column "
                "that none of the subject's runs has (check its events' trial_type values)"
            )
        if len(runs) == 1:
            out.append(runs[0][1])
        else:
            out.append(
                fixed_effects(
                    [r for _, r in runs],
                    name=spec.name,
                    label=label,
                    run_names=[n for n, _ in runs],
                )
            )
    return out


def _fd(fits: Sequence[RunFit]) -> tuple[float | None, float | None]:
    values = [f.fd for f in fits if f.fd is not None]
    if not values:
        return None, None
    fd = np.concatenate(values)
    fd = fd[np.isfinite(fd)]
    if not fd.size:
        return None, None
    return round(float(fd.mean()), 4), round(float(fd.max()), 4)


def _model_info(subject: StudySubject, fits: Sequence[RunFit], config: RunConfig) -> dict:
    settings = config.model.study.first_level
    first, masker_mask = fits[0], fits[0].mask
    columns = list(first.design.columns)
    events = _event_columns(fits, config)
    nuisance = [c for c in columns if c not in events]
    return {
        "level": "first",
        "design": f"first-level GLM, {settings.noise_model.upper()} noise model",
        "n_inputs": len(fits),
        "n_scans": [f.n_scans for f in fits],
        "columns": columns,
        "nuisance_columns": nuisance,
        "dof": float(sum(f.dof for f in fits)),
        "smoothing_fwhm": float(settings.smoothing_fwhm),
        "mask": {
            "source": "subject",
            "rule": first.mask_rule,
            "n_voxels": int(masker_mask.sum()),
        },
        "space": config.model.space,
        "noise_model": settings.noise_model,
        "ar1": "voxel-wise lag-1 autocorrelation of OLS residuals, truncated to 0.01 bins, "
        "prewhitened refit per bin"
        if settings.noise_model == "ar1"
        else None,
        "t_r": float(subject.runs[0].t_r),
        "slice_time_ref": float(subject.runs[0].slice_time_ref or 0.0),
        "hrf": settings.hrf,
        "drift": {
            "model": settings.drift_model,
            "high_pass": settings.high_pass,
            "order": settings.drift_order,
        },
        "signal_scaling": "percent signal change per voxel and run, 100 (y / mean(y) - 1)"
        if settings.signal_scaling == "percent"
        else "none",
        "fixed_effects": FIXED_EFFECTS,
        "design_notes": {f.label: list(f.notes) for f in fits if f.notes},
        "voxel_size": Masker(mask=masker_mask, affine=first.affine).voxel_size.round(4).tolist(),
        "shape": list(masker_mask.shape),
    }


def _event_columns(fits: Sequence[RunFit], config: RunConfig) -> set[str]:
    """Columns some contrast weighs (the effects of interest); the rest are nuisance."""
    out: set[str] = set()
    for fit in fits:
        for result in fit.contrasts.values():
            weights = np.atleast_2d(result.weights)
            out.update(c for j, c in enumerate(result.columns) if np.any(weights[:, j] != 0))
    return out


def write_subject(
    stage: Path,
    subject: StudySubject,
    fits: Sequence[RunFit],
    *,
    config: RunConfig,
    contrasts: Sequence[tuple[ContrastSpec, str]],
    key: str,
    provenance: dict[str, Any],
    base: Path,
    target: Path,
) -> dict[str, Any]:
    """Combine a subject's runs, write ``sub-<id>/`` and return its ``subjects`` entry."""
    fits = sorted(fits, key=lambda f: [r.label for r in subject.runs].index(f.label))
    combined = _combine(subject.id, fits, contrasts)
    masker = Masker(mask=fits[0].mask, affine=fits[0].affine)
    name = subject_folder(subject.id)
    folder = stage / name
    folder.mkdir()
    inputs = [
        {"path": str(path), "run": fit.label, "kind": kind, "sha256": fit.digests[kind]}
        for run, fit in zip(subject.runs, fits, strict=True)
        for kind, path in (("bold", run.bold), ("events", run.events), ("confounds", run.confounds))
        if path is not None
    ]
    summary = write_results(
        folder,
        RunOutput(
            title=f"{config.title}: sub-{subject.id}",
            model=_model_info(subject, fits, config),
            masker=masker,
            design=None,
            inputs=inputs,
            contrasts=tuple(ContrastOutput(contrast=c, corrections=()) for c in combined),
            extra_designs={f.label: f.design for f in fits},
            inference=inference_options(config),
            config_file=str(config.source) if config.source else None,
            config_text=config.text,
            provenance={**provenance, "results_folder": f"{name}"},
            shared_from=base,
            results_folder=target / name,
        ),
    )
    mean_fd, max_fd = _fd(fits)
    spikes = [c for f in fits for c in f.design.columns if str(c).startswith(SPIKE_PREFIX)]
    return {
        "id": subject.id,
        "runs": len(fits),
        "scans": int(sum(f.n_scans for f in fits)),
        "mask_voxels": masker.n_voxels,
        "folder": name,
        "mean_fd": mean_fd,
        "max_fd": max_fd,
        "effects": {c.name: f"{name}/{c.maps.effect}" for c in summary.contrasts},
        "inputs_hash": key,
        "dof": float(sum(f.dof for f in fits)),
        "scrubbed": len(spikes) if config.model.study.first_level.scrub_fd is not None else None,
        "design_matrices": [f"{name}/{run_design_name(f.label)}" for f in fits],
    }
