"""The study section of a report (``model.level: study``): the subjects and their first levels.

Read from the top-level summary's ``subjects`` and ``study`` and from the subjects' own
folders: a table (runs, scans, framewise displacement, mask size, each subject's effect at
the group peak of each contrast) and, per contrast, a grid of the subjects' first-level glass
brains (z, shown above the uncorrected p < 0.001 height, for a look at each subject's map
before the group). Nothing here computes a statistic: values are read from the maps.
"""

from __future__ import annotations

import numpy as np

from .. import figures
from ..outputs.summary import Summary, read_summary
from .context import Context, figure_item, load_volume
from .filters import fmt_int, fmt_num
from .model import FigureItem
from .study_view import StudyView, SubjectGrid

#: z shown in the subjects' glass brains (one-sided p < 0.001, uncorrected).
DISPLAY_Z = 3.09
#: Width (inches) of a subject's glass brain, a cell of the grid.
GLASS_WIDTH_IN = 3.4
#: Most subjects drawn in a grid (the table lists them all).
MAX_GRID = 60


def _peak(summary: Summary, ctx: Context, index: int) -> tuple[tuple[int, ...] | None, str]:
    """The voxel of the largest |z| of a group contrast and its coordinates in words."""
    volume = load_volume(ctx.path(summary.contrasts[index].maps.z, "z map"))
    if volume is None or not np.any(volume[0]):
        return None, "no peak"
    z = np.abs(np.nan_to_num(volume[0]))
    ijk = np.unravel_index(int(np.argmax(z)), z.shape)
    xyz = volume[1] @ np.r_[np.asarray(ijk, dtype=float), 1.0]
    return tuple(int(i) for i in ijk), "(" + ", ".join(f"{v:.0f}" for v in xyz[:3]) + ") mm"


def _methods(summary: Summary) -> str:
    info = summary.study
    first = dict(info.first_level)
    confounds = ", ".join(first.get("confounds") or []) or "none"
    scrub = first.get("scrub_fd")
    text = (
        f"Each run of task '{info.task}' (fMRIPrep's preprocessed BOLD in {info.space}) was "
        f"modelled with the {first.get('hrf')} HRF, {first.get('drift_model') or 'no'} drift "
        f"(high-pass {first.get('high_pass')} Hz), {str(first.get('noise_model')).upper()} "
        f"noise and {fmt_num(first.get('smoothing_fwhm'))} mm smoothing; confounds: {confounds}"
        " (n/a values at the start of confound regressors were set to 0, as nilearn's "
        "first_level_from_bids does)"
    )
    if scrub is not None:
        text += f"; one spike regressor per scan with framewise displacement > {scrub:g} mm"
    if first.get("signal_scaling") == "percent":
        text += "; each voxel of each run was scaled to percent signal change, 100 (y / mean - 1)"
    covariates = f", covariates {', '.join(info.covariates)}" if info.covariates else ""
    return text + (
        ". A subject's runs were combined by precision-weighted fixed effects within the "
        f"intersection of their brain masks; the group model ({info.group_design}{covariates})"
        " was fitted on the subjects' effects within the voxels of every subject's mask."
    )


def study_view(summary: Summary, ctx: Context) -> StudyView | None:
    """The study section (None for other levels)."""
    if summary.study is None:
        return None
    names = [c.name for c in summary.contrasts if c.name in _first_names(summary)]
    peaks = {
        name: _peak(summary, ctx, i)
        for i, c in enumerate(summary.contrasts)
        for name in [c.name]
        if name in names
    }
    rows, grids = [], {name: [] for name in names}
    for record in summary.subjects:
        effects = []
        folder = ctx.path(record.folder, "subject folder")
        sub = (
            read_summary(folder)
            if folder is not None and (folder / "summary.json").is_file()
            else None
        )
        for name in names:
            volume = load_volume(ctx.path(record.effects.get(name), "effect map"))
            ijk = peaks[name][0]
            effects.append(None if volume is None or ijk is None else float(volume[0][ijk]))
            if len(grids[name]) < MAX_GRID:
                grids[name].append((f"sub-{record.id}", _glass(record, sub, folder, name, ctx)))
        rows.append(
            (
                (
                    f"sub-{record.id}" + (" (kept)" if record.reused else ""),
                    fmt_int(record.runs),
                    fmt_int(record.scans),
                    "n/a" if record.mean_fd is None else f"{record.mean_fd:.3f}",
                    "n/a" if record.max_fd is None else f"{record.max_fd:.3f}",
                    fmt_int(record.mask_voxels),
                ),
                effects,
            )
        )
    rows = _with_effect_columns(rows)
    info = summary.study
    facts = (
        ("Dataset", info.dataset),
        ("Task, space", f"{info.task}, {info.space}"),
        ("Subjects", f"{len(summary.subjects)} in the group, {len(info.failed)} failed"),
    )
    return StudyView(
        facts=facts,
        headers=tuple(f"{n}: effect at {peaks[n][1]}" for n in names),
        rows=tuple(rows),
        failed=tuple((f"sub-{f.id}", f.error) for f in info.failed),
        grids=tuple(
            SubjectGrid(contrast=n, peak=peaks[n][1], figures=tuple(grids[n])) for n in names
        ),
        methods=_methods(summary),
        notes=info.notes,
        figure_files=tuple(
            (f"sub-{r.id}", _figure_files(r)) for r in summary.subjects if r.figures is not None
        ),
    )


def _with_effect_columns(rows: list[tuple[tuple[str, ...], list[float | None]]]) -> list:
    """Each row's cells followed by its effects, each effect column with one number of decimals.

    A column shows 4 significant digits of its largest absolute value and the same decimals on
    every row (1.220 beside 1.255, not 1.22), so that the column reads as one quantity.
    """
    n = max((len(effects) for _, effects in rows), default=0)
    decimals = []
    for j in range(n):
        values = [abs(e[j]) for _, e in rows if e[j] is not None and np.isfinite(e[j])]
        top = max(values, default=0.0)
        decimals.append(3 if top == 0 else int(min(max(3 - np.floor(np.log10(top)), 0), 12)))
    return [
        (
            *cells,
            *(
                "" if v is None else fmt_num(v) if not np.isfinite(v) else _fixed(v, decimals[j])
                for j, v in enumerate(effects)
            ),
        )
        for cells, effects in rows
    ]


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if float(text) == 0:  # -0.000 reads as a negative effect
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


def _first_names(summary: Summary) -> set[str]:
    out: set[str] = set()
    for record in summary.subjects:
        out.update(record.effects)
    return out


def _glass(record, sub: Summary | None, folder, name: str, ctx: Context) -> FigureItem | None:
    """The subject's glass brain of ``name``: the file the run drew (at the default dpi, so
    for a report at that dpi), else drawn here."""
    alt = f"Glass brain of {name} in one subject (|z| >= {DISPLAY_Z})"
    drawn = record.figures.glass_brains.get(name) if record.figures is not None else None
    if ctx.dpi != figures.DEFAULT_DPI:
        drawn = None
    path = ctx.path(drawn, "subject figure")
    if path is not None and path.is_file():
        return figure_item(figures.read_png(path, ctx.dpi), alt=alt)
    if sub is None:
        return None
    contrast = next((c for c in sub.contrasts if c.name == name), None)
    if contrast is None:
        return None
    volume = load_volume(folder / contrast.maps.z)
    if volume is None:
        return None
    png = figures.plot_map_glass_brain(
        volume[0],
        volume[1],
        ctx.background,
        threshold=DISPLAY_Z,
        width_in=GLASS_WIDTH_IN,
        dpi=ctx.dpi,
    )
    return figure_item(png, alt=alt)


def _figure_files(record) -> tuple[tuple[str, str], ...]:
    """The subject's QC figure files: (what, path relative to the results folder)."""
    found = record.figures
    if found is None:
        return ()
    return (
        *((f"design matrix, {run}", rel) for run, rel in found.design_matrices.items()),
        *(
            (f"framewise displacement, {run}", rel)
            for run, rel in found.framewise_displacement.items()
        ),
        *((f"glass brain, {name}", rel) for name, rel in found.glass_brains.items()),
    )
