"""``run(config)`` for ``model.level: study``: plan, fit the subjects, the group, write, render."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from ..config.specs import RunConfig
from ..outputs.provenance import package_versions, platform_info
from ..outputs.results import ContrastOutput, RunOutput, write_results
from ..outputs.shareable import share_command, share_path
from ..outputs.write import staged_output
from .execution import check_address, check_jobs
from .prepared import Log, quiet
from .study import (
    _previous,
    check_enough,
    fit_subjects,
    ordered_records,
    plan_study,
    study_info,
    study_protected,
)
from .study_group import group_level
from .study_subjects import inputs_hash


def run_study(
    config: RunConfig,
    *,
    target: Path,
    overwrite: bool = False,
    formats: tuple[str, ...] = (),
    progress: bool = False,
    log: Log = quiet,
    command: str | Sequence[str] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
) -> Path:
    """Run a study end to end into ``target`` (see :mod:`glmreport.pipeline.study`).

    ``jobs`` and ``scheduler`` override the config's ``compute`` section; ``resume`` reuses
    the subject folders of an earlier run to ``target`` whose inputs and settings are
    unchanged (and, like ``overwrite``, lets that earlier folder be replaced).
    """
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    spec = config.model.study
    base = config.source.parent if config.source else Path.cwd()
    jobs = check_jobs(jobs) if jobs is not None else spec.jobs
    scheduler = check_address(scheduler) if scheduler is not None else spec.scheduler
    log(f"finding the runs of task-{spec.task} in {spec.bids.name}")
    plan = plan_study(config)
    n_runs = len(plan.study.runs)
    log(f"{len(plan.study.subjects)} subjects, {n_runs} runs")
    provenance = {
        "versions": package_versions(),
        **platform_info(),
        "started": started.isoformat(timespec="seconds"),
        "finished": started.isoformat(timespec="seconds"),
        "run_time_s": 0.0,
        "seeds": {},
        "command": share_command(command, base),
        "results_folder": share_path(target, base)[0],
    }
    context = {
        "keys": {s.id: inputs_hash(s, config) for s in plan.study.subjects},
        "provenance": provenance,
        "base": base,
        "target": target,
        "log": log,
        "progress": progress,
    }
    previous = _previous(target) if resume else {}
    protected = study_protected(config)
    with staged_output(target, overwrite=overwrite or resume, protected=protected) as stage:
        subjects = fit_subjects(
            stage,
            plan,
            config,
            jobs=jobs,
            scheduler=scheduler,
            previous=previous,
            context=context,
        )
        records = ordered_records(plan, subjects)
        check_enough(records, subjects)
        group = group_level(
            config,
            stage,
            records,
            plan.participants,
            target=target,
            progress=progress,
            log=log,
            scheduler=scheduler,
        )
        seeds = {
            f"{c.name}/{corr.desc}": corr.params["seed"]
            for c, corrs in group.results
            for corr in corrs
            if "seed" in corr.params
        }
        prepared = group.prepared
        run_output = RunOutput(
            title=config.title,
            model=prepared.model,
            masker=prepared.masker,
            design=prepared.design,
            inputs=group.inputs,
            contrasts=tuple(
                ContrastOutput(contrast=c, corrections=tuple(corrs)) for c, corrs in group.results
            ),
            atlases=group.atlases,
            inference={
                "connectivity": config.clusters.connectivity,
                "peak_min_distance_mm": config.clusters.min_distance_mm,
                "max_subpeaks": config.clusters.max_subpeaks,
            },
            config_file=str(config.source) if config.source else None,
            config_text=config.text,
            provenance={
                **provenance,
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "run_time_s": round(time.perf_counter() - t0, 3),
                "seeds": seeds,
            },
            shared_from=base,
            results_folder=target,
            subjects=records,
            study=study_info(config, plan, subjects),
        )
        log("writing results")
        write_results(stage, run_output)
        if formats:
            from ..report.render import render_report

            log(f"rendering report ({', '.join(formats)})")
            render_report(stage, formats=formats)
    return target
