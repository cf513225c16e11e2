"""``run(config)`` for ``model.level: study``: plan, fit the subjects, the group, write, render."""

from __future__ import annotations

from pathlib import Path

from ..config.specs import RunConfig
from ..outputs.write import staged_output
from .execution import check_address, check_jobs
from .finish import Destination, finish_run
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
    dest: Destination,
    *,
    overwrite: bool = False,
    progress: bool = False,
    jobs: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
) -> Path:
    """Run a study end to end into ``dest.target`` (see :mod:`glmreport.pipeline.study`).

    ``jobs`` and ``scheduler`` override the config's ``compute`` section; ``resume`` reuses
    the subject folders of an earlier run to the target whose inputs and settings are
    unchanged (and, like ``overwrite``, lets that earlier folder be replaced).
    """
    spec = config.model.study
    target, log = dest.target, dest.log
    jobs = check_jobs(jobs) if jobs is not None else spec.jobs
    scheduler = check_address(scheduler) if scheduler is not None else spec.scheduler
    log(f"finding the runs of task-{spec.task} in {spec.bids.name}")
    plan = plan_study(config)
    n_runs = len(plan.study.runs)
    log(f"{len(plan.study.subjects)} subjects, {n_runs} runs")
    context = {
        "keys": {s.id: inputs_hash(s, config) for s in plan.study.subjects},
        "provenance": dest.provenance(finished=False),
        "base": dest.base,
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
        if dest.formats:  # figures only for a report: a run without one draws nothing
            from .study_figures import with_figures

            records = with_figures(stage, plan.study.subjects, records, config=config, log=log)
        finish_run(
            stage,
            config,
            group.prepared,
            results=group.results,
            dest=dest,
            inputs=group.inputs,
            atlases=group.atlases,
            qc=group.qc,
            subjects=records,
            study=study_info(config, plan, subjects),
        )
    return target
