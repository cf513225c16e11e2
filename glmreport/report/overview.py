"""The report's overview: model facts, the contrast x correction summary rows and their legend,
warnings, atlases, provenance and the table of contents.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path

from ..outputs.shareable import cap_text
from ..outputs.summary import AtlasRecord, Drift, Model, Summary
from .filters import TIMES, fmt_int, fmt_num, no_scheme
from .model import (
    MAX_NAMED_COLUMNS,
    Atlas,
    ContrastSection,
    Provenance,
    SummaryRow,
    TocEntry,
)
from .tables import inputs_table


def atlas_view(record: AtlasRecord) -> Atlas:
    """An atlas entry with web addresses written without their scheme."""
    return Atlas(
        name=record.name,
        status=record.status,
        message=no_scheme(record.message),
        citation=no_scheme(record.citation),
        space=record.space or "",
        space_note=no_scheme(record.space_note),
        title=no_scheme(record.title),
        doi=record.doi,
        licence=no_scheme(record.licence),
    )


def date_of(iso: str) -> str:
    """``22 November 2025`` from an ISO time (as given when it is not one)."""
    if not iso:
        return ""
    try:
        return _dt.datetime.fromisoformat(iso).strftime("%d %B %Y").lstrip("0")
    except ValueError:
        return iso


def columns_text(columns: Sequence[str], nuisance: Sequence[str]) -> str:
    """Design columns in words; long lists are summarised by what is of interest."""
    columns = [str(c) for c in columns]
    if len(columns) <= MAX_NAMED_COLUMNS:
        return ", ".join(columns)
    nuisance_set = {str(c) for c in nuisance}
    interest = [c for c in columns if c not in nuisance_set]
    other = [c for c in columns if c in nuisance_set]
    text = f"{len(columns)} columns"
    if interest and len(interest) <= MAX_NAMED_COLUMNS:
        text += f": {', '.join(interest)}"
    elif interest:
        text += f": {', '.join(interest[:3])}, \u2026, {interest[-1]} ({len(interest)})"
    if other:
        text += f"; {len(other)} of no interest ({other[0]} \u2026 {other[-1]})"
    return text


def drift_text(drift: Drift) -> str:
    """``cosine, high-pass 0.01 Hz``, ``polynomial, order 2`` or ``none``."""
    if not drift.model or drift.model == "none":
        return "none"
    text = drift.model
    if drift.high_pass is not None and drift.model == "cosine":
        text += f", high-pass {fmt_num(drift.high_pass)} Hz"
    if drift.order is not None and drift.model == "polynomial":
        text += f", order {fmt_int(drift.order)}"
    return text


def noise_text(noise: str | None) -> str:
    """``AR(1)``, ``OLS`` or the name given."""
    noise = noise or ""
    named = {"ar1": "AR(1)", "ols": "OLS", "nonsphericity": "non-sphericity (ReML, whitened)"}
    return named.get(noise.lower(), noise.upper())


def facts(summary: Summary) -> tuple[tuple[str, str], ...]:
    """The model's facts for the summary box (design, N, dof, smoothing, mask, space ...)."""
    model = summary.model
    out: list[tuple[str, str]] = []
    text = model.design
    if model.level not in text:
        text = f"{text} ({model.level} level)" if text else f"{model.level} level"
    out.append(("Model", text))
    out.extend(_level_facts(model))
    if model.dof is not None:
        out.append(("Residual dof", fmt_num(model.dof)))
    if model.noise_model:
        out.append(("Noise model", noise_text(model.noise_model)))
    fwhm = model.smoothing_fwhm
    out.append(("Smoothing", f"{fmt_num(fwhm)} mm FWHM" if fwhm > 0 else "none"))
    text = f"{fmt_int(model.mask.n_voxels)} voxels"
    out.append(("Mask", f"{text} ({model.mask.source})" if model.mask.source else text))
    voxels = f"{TIMES.join(fmt_num(v) for v in model.voxel_size)} mm voxels"
    out.append(("Space", ", ".join(t for t in (model.space or "not recorded", voxels) if t)))
    if model.columns:
        out.append(("Design columns", columns_text(model.columns, model.nuisance_columns)))
    names = [c.name for c in summary.contrasts]
    if names:
        out.append((f"Contrasts ({len(names)})", "; ".join(names)))
    if model.first is not None and model.first.fixed_effects:
        out.append(("Runs combined by", f"fixed effects, {model.first.fixed_effects}"))
    return tuple(out)


def _level_facts(model: Model) -> list[tuple[str, str]]:
    first = model.first
    if first is None:
        return [("Inputs (N)", fmt_int(model.n_inputs))]
    text = fmt_int(len(first.runs) or model.n_inputs)
    if first.n_scans:
        text += f" ({' + '.join(fmt_int(s) for s in first.n_scans)} scans)"
    out = [("Runs", text), ("Repetition time", f"{fmt_num(first.t_r)} s")]
    if first.hrf:
        out.append(("HRF", first.hrf))
    out.append(("Drift model", drift_text(first.drift)))
    return out


def summary_rows(contrasts: Sequence[ContrastSection]) -> tuple[SummaryRow, ...]:
    """One line per contrast x correction for the summary box."""
    rows = []
    for c in contrasts:
        for j, k in enumerate(c.corrections):
            rows.append(
                SummaryRow(
                    contrast=c.name,
                    contrast_anchor=c.anchor,
                    correction=k.title,
                    anchor=k.anchor,
                    stat_label=c.stat_label,
                    two_sided=k.two_sided,
                    threshold_z=k.threshold_z,
                    threshold_stat=k.threshold_stat,
                    n_clusters=k.n_clusters,
                    n_voxels=k.n_voxels,
                    survives=k.survives,
                    short=k.short,
                    contrast_span=len(c.corrections) if j == 0 else 0,
                )
            )
    return tuple(rows)


def legend(contrasts: Sequence[ContrastSection]) -> tuple[tuple[str, str], ...]:
    """Short correction names and the titles they stand for (first use wins)."""
    out: dict[str, str] = {}
    for c in contrasts:
        for k in c.corrections:
            out.setdefault(k.short, k.title)
    return tuple(out.items())


def warnings(
    summary: Summary, contrasts: Sequence[ContrastSection], atlases: Sequence[Atlas]
) -> list[str]:
    """Atlas, template-space, design and section notes, in that order."""
    out = []
    for atlas in atlases:
        if atlas.status != "ok":
            # one note per atlas: its message already names it and says how to get it
            message = (atlas.message or atlas.status).rstrip(".")
            named = message.startswith(f"Atlas '{atlas.name}'")
            out.append(f"{message}." if named else f"Atlas '{atlas.name}' not used: {message}.")
        elif atlas.space_note:
            named = atlas.name in atlas.space_note
            out.append(atlas.space_note if named else f"Atlas '{atlas.name}': {atlas.space_note}")
    space = summary.model.space
    if summary.background is None and not (space or "").upper().startswith("MNI"):
        out.append(
            "The data's template space is not recorded"
            + (f" ('{space}')" if space else "")
            + ": brain figures show the maps at their world coordinates over the "
            "MNI152NLin2009cAsym template, which is only meaningful if the data are aligned "
            "to it; coordinates are the data's world coordinates (mm)."
        )
    if summary.model.first is not None:
        for run, notes in summary.model.first.design_notes.items():
            out.extend(f"Design of {run}: {note}" for note in notes)
    for c in contrasts:
        out.extend(f"{c.name}: {note}" for note in c.notes)
        for k in c.corrections:
            out.extend(f"{c.name}, {k.title}: {note}" for note in k.notes)
    return out


def provenance(summary: Summary, results_dir: Path) -> Provenance:
    """Everything needed to reproduce the run."""
    prov = summary.provenance
    return Provenance(
        config_file=summary.config_file or "",
        config_text=cap_text(summary.config_text),
        command=cap_text(prov.command or "", 4096),
        inputs=inputs_table(summary.inputs),
        versions=tuple(prov.versions.items()),
        python=prov.python,
        platform=prov.platform,
        started=prov.started,
        finished=prov.finished,
        run_time_s=prov.run_time_s,
        seeds=tuple(prov.seeds.items()),
        # the folder as the run named it (relative to the config's folder), else its name:
        # never an absolute local path
        results_dir=prov.results_folder or results_dir.name,
    )


def toc(contrasts: Sequence[ContrastSection]) -> tuple[TocEntry, ...]:
    """The table of contents: summary, methods, design, each contrast and correction."""
    entries = [
        TocEntry(anchor="summary", title="Summary", level=1),
        TocEntry(anchor="methods", title="Methods", level=1),
        TocEntry(anchor="design", title="Design", level=1),
    ]
    for c in contrasts:
        entries.append(TocEntry(anchor=c.anchor, title=c.name, level=1, badge=c.stat_type))
        for k in c.corrections:
            badge = "" if k.survives else "0"
            entries.append(TocEntry(anchor=k.anchor, title=k.title, level=2, badge=badge))
    entries.append(TocEntry(anchor="provenance", title="Provenance", level=1))
    return tuple(entries)
