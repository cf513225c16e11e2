"""The last stage of every run: its ``RunOutput`` assembled, written and rendered.

A single-model run (:func:`glmreport.pipeline.run.run`) and a study
(:func:`glmreport.pipeline.study_run.run_study`) end the same way: the correction seeds, the
inference options, the provenance (versions, platform, times, command, results folder), the
one writer (:func:`glmreport.outputs.results.write_results`) and, when formats are asked for,
the report. Only what each run found (model, design, inputs, contrasts, checks, subjects)
differs; it is passed through as :class:`~glmreport.outputs.results.RunOutput` fields.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config.specs import RunConfig
from ..outputs.provenance import package_versions, platform_info
from ..outputs.results import ContrastOutput, RunOutput, write_results
from ..outputs.shareable import share_command, share_path
from .prepared import Log, Prepared, quiet


@dataclass(frozen=True, slots=True, kw_only=True)
class Clock:
    """When a run started: a UTC time for the record and a monotonic one for its duration."""

    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    t0: float = field(default_factory=time.perf_counter)


def correction_seeds(results: Iterable[tuple[Any, Sequence[Any]]]) -> dict[str, Any]:
    """Random seeds of the corrections that drew any, by ``<contrast>/<desc>``."""
    return {
        f"{c.name}/{corr.desc}": corr.params["seed"]
        for c, corrs in results
        for corr in corrs
        if "seed" in corr.params
    }


def inference_options(config: RunConfig) -> dict[str, Any]:
    """How clusters and peaks are formed (``summary.json`` ``inference``)."""
    return {
        "connectivity": config.clusters.connectivity,
        "peak_min_distance_mm": config.clusters.min_distance_mm,
        "max_subpeaks": config.clusters.max_subpeaks,
    }


def provenance(
    clock: Clock,
    *,
    command: str | Sequence[str] | None,
    base: Path,
    target: Path,
    seeds: dict[str, Any] | None = None,
    finished: bool = True,
) -> dict[str, Any]:
    """What ran, where and when (``summary.json`` ``provenance``).

    Parameters
    ----------
    clock : Clock
        The run's start.
    command : str or sequence of str or None
        The command line (recorded in its shareable form).
    base : Path
        The config's folder: paths are recorded relative to it.
    target : Path
        The results folder.
    seeds : dict, optional
        Correction seeds (:func:`correction_seeds`).
    finished : bool
        False: the record of a run still under way (finished = started, no run time), as a
        study's subjects carry it.
    """
    started = clock.started.isoformat(timespec="seconds")
    return {
        "versions": package_versions(),
        **platform_info(),
        "started": started,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")
        if finished
        else started,
        "run_time_s": round(time.perf_counter() - clock.t0, 3) if finished else 0.0,
        "seeds": dict(seeds or {}),
        "command": share_command(command, base),
        "results_folder": share_path(target, base)[0],
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """Where and how a run ends: the results folder, the report and the provenance record.

    Attributes
    ----------
    target : Path
        The results folder (written in a staging folder first).
    base : Path
        The config's folder: paths are recorded relative to it.
    clock : Clock
        The run's start.
    command : str or sequence of str or None
        The command line, for provenance.
    formats : tuple of {'html', 'pdf'}
        Report formats (empty: no report).
    log : callable
        Receives one-line progress messages.
    """

    target: Path
    base: Path
    clock: Clock
    command: str | Sequence[str] | None = None
    formats: tuple[str, ...] = ()
    log: Log = quiet

    def provenance(self, **kwargs: Any) -> dict[str, Any]:
        """:func:`provenance` of this run (keywords: ``seeds``, ``finished``)."""
        return provenance(
            self.clock, command=self.command, base=self.base, target=self.target, **kwargs
        )


def finish_run(
    stage: Path,
    config: RunConfig,
    prepared: Prepared,
    *,
    results: Sequence[tuple[Any, Sequence[Any]]],
    dest: Destination,
    contrasts: tuple[ContrastOutput, ...] | None = None,
    **found: Any,
) -> None:
    """Write a run's results folder into ``stage`` and render its report.

    Parameters
    ----------
    stage : Path
        The staging folder the results are written into.
    config : RunConfig
    prepared : Prepared
        Its model, masker, design, per-run designs and inputs are written (unless ``found``
        replaces them).
    results : sequence of (ContrastResult, corrections)
        Every contrast with its corrections.
    dest : Destination
    contrasts : tuple of ContrastOutput, optional
        How the contrasts are written; default: every map of each.
    **found
        Other :class:`~glmreport.outputs.results.RunOutput` fields (``atlases``, ``qc``,
        ``subjects``, ...) or replacements of ``prepared``'s.
    """
    if contrasts is None:
        contrasts = tuple(
            ContrastOutput(contrast=c, corrections=tuple(corrs)) for c, corrs in results
        )
    fields = {
        "model": prepared.model,
        "masker": prepared.masker,
        "design": prepared.design,
        "extra_designs": prepared.extra_designs,
        "inputs": prepared.inputs,
        **found,
    }
    run_output = RunOutput(
        title=config.title,
        contrasts=contrasts,
        inference=inference_options(config),
        config_file=str(config.source) if config.source else None,
        config_text=config.text,
        provenance=dest.provenance(seeds=correction_seeds(results)),
        shared_from=dest.base,
        results_folder=dest.target,
        **fields,
    )
    dest.log("writing results")
    write_results(stage, run_output)
    if dest.formats:
        from ..report.render import render_report  # matplotlib and jinja2 only when needed

        dest.log(f"rendering report ({', '.join(dest.formats)})")
        render_report(stage, formats=dest.formats)
