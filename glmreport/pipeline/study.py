"""``model.level: study``: every subject's first level, then the group, in one results folder.

1. :func:`plan_study` finds the subjects' runs (:func:`glmreport.inputs.bids.discover_study`),
   checks every run's confound names and joins ``participants.tsv`` before anything is
   fitted, so a bad name is an error (exit 2) that leaves nothing behind;
2. one task per run (:func:`glmreport.tasks.study_fit.fit_run`) on the chosen executor
   (this process, a local process pool or a Dask cluster); as soon as a subject's runs are
   in, the main process combines them and writes ``sub-<id>/``, then lets them go, so it
   holds about one subject's results at a time;
3. the group level of every first-level contrast (:mod:`.study_group`);
4. the top-level ``summary.json`` (the second-level contract plus ``subjects`` and ``study``)
   and the report.

A failed subject stops the run, or with ``on_error: skip`` is left out of the group and named
in the summary and report. ``--resume`` keeps the folder of every subject whose inputs and
settings are unchanged (:func:`glmreport.pipeline.study_subjects.inputs_hash`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.specs import ContrastSpec, RunConfig
from ..errors import GlmReportError, InputError
from ..glm.contrasts import make_label
from ..inputs.bids import Study, StudySubject, discover_study
from ..inputs.confounds import confound_columns, match_confounds
from ..inputs.images import load_image
from ..inputs.participants import read_participants, require_values
from ..outputs.safety import protected_paths
from ..outputs.summary import read_summary
from ..tasks.study_fit import RunFit, RunTask, fit_run
from .execution import (
    Executor,
    LocalExecutor,
    ThreadExecutor,
    default_jobs,
    make_executor,
    run_tasks,
)
from .study_subjects import subject_folder, write_subject

#: Most notes kept in the summary (a large study can have one per run).
MAX_NOTES = 200
#: In a process that may not fork (it runs other threads), runs holding fewer voxel-scans than
#: this in all are fitted on ``jobs`` threads of this process, not on worker processes:
#: starting such workers (from a fork server importing numpy, scipy and the fitting modules,
#: about a second of a core) costs more than they save on such a study (fits run at about 25
#: million voxel-scans per second of a core; two MNI 2 mm runs of 200 scans hold 430 million).
SMALL_STUDY = 500_000_000


def voxel_scans(tasks: Sequence[RunTask]) -> int:
    """Voxels x scans of the tasks' runs, from their headers (the data stay on disk)."""
    return sum(
        int(np.prod(load_image(t.run.bold, allow_4d=True).shape[:4], dtype=np.int64)) for t in tasks
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyPlan:
    """What a study will fit: its subjects and runs, participants and contrast labels."""

    study: Study
    participants: pd.DataFrame | None
    contrasts: tuple[tuple[ContrastSpec, str], ...]


def _design_columns(config: RunConfig) -> list[str]:
    group = config.model.study.group
    out = list(group.covariates)
    out += [c for c in (group.group, group.condition, group.subject) if c]
    return out + list(group.factors)


def _participants(config: RunConfig, study: Study) -> pd.DataFrame | None:
    spec = config.model.study
    needed = _design_columns(config)
    if not spec.participants.is_file():
        if needed or spec.group.kind == "formula":
            raise InputError(
                f"the group design uses {', '.join(needed) or 'a formula'} but "
                f"{spec.participants.name} was not found in {str(spec.participants.parent)[-120:]}"
            )
        return None
    table = read_participants(spec.participants)
    missing = [s for s in study.subject_ids if s not in set(table["sub"])]
    if missing and needed:
        raise InputError(
            f"{spec.participants.name} has no row for "
            f"{', '.join('sub-' + s for s in missing[:10])}; the group design needs their "
            f"{', '.join(needed)}"
        )
    unknown = [c for c in needed if c not in table.columns]
    if unknown:
        from ..errors import suggest

        raise InputError(
            f"{spec.participants.name} has no column '{unknown[0]}' (model.group); its columns "
            f"are {', '.join(c for c in table.columns if c != 'sub')}."
            + suggest(unknown[0], list(table.columns))
        )
    chosen = table[table["sub"].isin(study.subject_ids)]
    require_values(chosen, needed, source=spec.participants.name)
    return chosen.reset_index(drop=True)


def plan_study(config: RunConfig) -> StudyPlan:
    """Find and check everything a study needs before any fit (errors: exit 2)."""
    spec = config.model.study
    study = discover_study(
        spec.bids,
        spec.derivatives,
        task=spec.task,
        space=spec.space,
        res=spec.res,
        desc=spec.desc,
        subjects=spec.subjects,
        exclude=spec.exclude,
        sessions=spec.sessions,
    )
    patterns = spec.first_level.confounds
    for run in study.runs:
        if patterns and run.confounds is not None:
            names = confound_columns(run.confounds)  # the header suffices
            match_confounds(names, patterns, source=run.label)
    taken: set[str] = set()
    labels = []
    for c in config.contrasts:
        if not c.conjunction:
            labels.append((c, make_label(c.name, taken)))
            taken.add(labels[-1][1])
    return StudyPlan(
        study=study, participants=_participants(config, study), contrasts=tuple(labels)
    )


def _previous(target: Path) -> dict[str, dict[str, Any]]:
    """The subjects of an earlier run to ``target`` that may be reused, by id."""
    try:
        summary = read_summary(target)
    except (GlmReportError, OSError):
        return {}
    return {s.id: asdict(s) for s in summary.subjects if (target / s.folder).is_dir()}


class _Subjects:
    """Collects run fits and writes each subject as soon as all its runs are in."""

    def __init__(self, stage: Path, plan: StudyPlan, config: RunConfig, context: dict) -> None:
        self.stage, self.plan, self.config, self.context = stage, plan, config, context
        self.waiting: dict[str, list[RunFit]] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.failed: dict[str, str] = {}
        self.notes: list[str] = []
        self.by_id = {s.id: s for s in plan.study.subjects}
        self.bar: Any = None

    def start(self, count: int) -> None:
        """A progress bar over the ``count`` subjects to fit (with ``progress``)."""
        if self.context.get("progress") and count:
            import sys

            from tqdm import tqdm

            self.bar = tqdm(
                total=count, desc="subjects", unit="subject", leave=False, file=sys.stderr
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def add(self, subject: StudySubject, fit: RunFit) -> None:
        fits = self.waiting.setdefault(subject.id, [])
        fits.append(fit)
        if len(fits) < len(subject.runs) or subject.id in self.failed:
            return
        try:
            self.records[subject.id] = write_subject(
                self.stage,
                subject,
                fits,
                config=self.config,
                contrasts=self.plan.contrasts,
                key=self.context["keys"][subject.id],
                provenance=self.context["provenance"],
                base=self.context["base"],
                target=self.context["target"],
            )
        except GlmReportError as exc:
            if self.config.model.study.on_error != "skip":
                raise
            self.failed[subject.id] = str(exc)
            shutil.rmtree(self.stage / subject_folder(subject.id), ignore_errors=True)
        self.notes += [n for f in fits for n in f.notes]
        for fit in fits:  # run_tasks keeps every result: free the arrays now
            fit.contrasts.clear()
        del self.waiting[subject.id]
        if self.bar is not None:
            self.bar.update(1)
        else:
            self.context["log"](f"sub-{subject.id} done ({len(self.records)} subjects written)")


def fit_subjects(
    stage: Path,
    plan: StudyPlan,
    config: RunConfig,
    *,
    jobs: int | None,
    scheduler: str | None,
    previous: dict[str, dict[str, Any]],
    context: dict[str, Any],
) -> _Subjects:
    """Fit every subject (reusing unchanged ones from ``previous``) into ``stage``."""
    spec = config.model.study
    collector = _Subjects(stage, plan, config, context)
    tasks, names, owners = [], [], {}
    for subject in plan.study.subjects:
        key = context["keys"][subject.id]
        old = previous.get(subject.id)
        if old is not None and old["inputs_hash"] == key:
            shutil.copytree(context["target"] / old["folder"], stage / old["folder"])
            collector.records[subject.id] = {**old, "reused": True}
            continue
        for run in subject.runs:
            tasks.append(
                RunTask(
                    run=run,
                    subject_runs=subject.runs,
                    settings=spec.first_level,
                    contrasts=plan.contrasts,
                )
            )
            names.append(run.label)
            owners[run.label] = subject
    if tasks:
        with (
            _executor(tasks, jobs, scheduler, context["log"]) as executor,
            contextlib.closing(collector),
        ):
            collector.start(len({owners[n].id for n in names}))  # after forking: a bar is a thread
            done = run_tasks(
                executor,
                fit_run,
                tasks,
                names=names,
                on_error=spec.on_error,
                desc="fit run",
                on_result=lambda name, fit: collector.add(owners[name], fit),
            )
        for name, failure in done.failures.items():
            collector.failed.setdefault(owners[name].id, failure.describe())
    return collector


def _executor(
    tasks: list[RunTask], jobs: int | None, scheduler: str | None, log: Callable[[str], None]
) -> Executor:
    """Where the run fits go: a Dask cluster when given; else, with several jobs, worker
    processes forked from this one when it may fork (they start at once, with the modules
    already imported), else threads of this process for a small study, else a local pool."""
    count = min(default_jobs() if jobs is None else jobs, len(tasks))
    if scheduler is not None or count == 1:
        return make_executor(count, scheduler)
    pool = LocalExecutor(count, start_method="fork").start()
    if pool.start_method == "fork":
        log(f"{len(tasks)} runs: fitted on {count} worker processes forked from this one")
        return pool
    if voxel_scans(tasks) < SMALL_STUDY:
        log(
            f"{len(tasks)} small runs: fitted on {count} threads of this process "
            "(worker start-up would cost more than it saves)"
        )
        return ThreadExecutor(count)
    return make_executor(count, help_while_starting=True)


def study_info(config: RunConfig, plan: StudyPlan, subjects: _Subjects) -> dict[str, Any]:
    """The ``study`` part of the top-level summary."""
    spec = config.model.study
    name = spec.bids.name
    description = spec.bids / "dataset_description.json"
    try:
        name = str(json.loads(description.read_text(encoding="utf-8")).get("Name") or name)
    except (OSError, ValueError):
        pass
    first = asdict(spec.first_level)
    first["confounds"] = list(first["confounds"])
    notes = [*plan.study.notes, *subjects.notes]
    return {
        "dataset": name[:200],
        "task": plan.study.task,
        "space": plan.study.space,
        "first_level": first,
        "group_design": spec.group.kind,
        "covariates": list(spec.group.covariates),
        "failed": [{"id": k, "error": v[:500]} for k, v in sorted(subjects.failed.items())],
        "notes": notes[:MAX_NOTES],
    }


def study_protected(config: RunConfig) -> dict[Path, str]:
    """The files a study reads: its config, BIDS dataset and derivatives are never replaced."""
    spec = config.model.study
    found = protected_paths(config)
    found.setdefault(spec.bids / "dataset_description.json", "the BIDS dataset")
    found.setdefault(spec.derivatives, "the fMRIPrep derivatives")
    found.setdefault(spec.participants, "participants.tsv")
    return found


def ordered_records(plan: StudyPlan, subjects: _Subjects) -> list[dict[str, Any]]:
    """The written subjects in the study's order."""
    return [subjects.records[s.id] for s in plan.study.subjects if s.id in subjects.records]


def check_enough(records: Sequence[dict[str, Any]], subjects: _Subjects) -> None:
    """A group level needs at least two subjects."""
    if len(records) < 2:
        failed = "; ".join(f"sub-{k}: {v}" for k, v in list(subjects.failed.items())[:3])
        raise InputError(
            f"{len(records)} subject(s) left for the group level; at least 2 are needed"
            + (f" ({len(subjects.failed)} failed: {failed})" if failed else "")
        )


__all__ = ["StudyPlan", "fit_subjects", "plan_study", "study_info"]
