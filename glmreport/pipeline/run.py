"""``run(config)``: the one place where the order of the stages is written.

config -> inputs -> glm (design -> fit -> contrasts) -> inference (corrections -> clusters)
-> labels -> outputs (maps, tables, summary.json) -> report (HTML / PDF)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..config.specs import RunConfig
from ..errors import ConfigError
from ..outputs.results import ContrastOutput
from ..outputs.safety import protected_paths
from ..outputs.write import staged_output
from .finish import Clock, Destination, finish_run
from .infer import infer, label
from .maps import prepare_maps
from .prepared import Log, Prepared, quiet
from .qc import quality_checks
from .second_level import prepare_second_level


def prepare(config: RunConfig, *, fit: bool = True, log: Log = quiet) -> Prepared:
    """Dispatch on ``model.level``."""
    if config.model.level == "second":
        return prepare_second_level(config, fit=fit, log=log)
    if config.model.level == "maps":
        return prepare_maps(config, fit=fit, log=log)
    # imported here: a second-level run needs none of the first level's HRF and FFT code
    from .first_level import prepare_first_level

    return prepare_first_level(config, fit=fit, log=log)


def run(
    config: RunConfig,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    formats: tuple[str, ...] | None = None,
    progress: bool = False,
    log: Log = quiet,
    command: str | Sequence[str] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
) -> Path:
    """Run an analysis end to end and write its results folder.

    Parameters
    ----------
    config : RunConfig
    out : str or Path, optional
        Results folder; defaults to the config's ``output`` (or ``results`` beside the config).
    overwrite : bool
        Replace an existing results folder, only once the new one is complete and only when
        glmreport wrote it (see :func:`glmreport.outputs.safety.check_target`).
    formats : tuple of {'html', 'pdf'}, optional
        Report formats; defaults to the config's ``report.formats``. Empty: no report.
    progress : bool
        Show progress bars on long steps.
    log : callable
        Receives one-line progress messages.
    command : str or sequence of str, optional
        The command line, for provenance (absolute paths in it are recorded relative to the
        config's folder, or by name).
    jobs, scheduler, resume
        A study (``model.level: study``) only: local worker processes, a Dask scheduler's
        address, and whether to reuse unchanged subject folders of an earlier run
        (see :func:`glmreport.pipeline.study_run.run_study`).

    Returns
    -------
    Path
        The results folder.
    """
    clock = Clock()
    base = config.source.parent if config.source else Path.cwd()
    target = Path(out) if out is not None else config.output
    if target is None:
        target = base / "results"
    dest = Destination(
        target=Path(target).resolve(),
        base=base,
        clock=clock,
        command=command,
        formats=config.report.formats if formats is None else tuple(formats),
        log=log,
    )
    if config.model.level == "study":
        from .study_run import run_study

        return run_study(
            config,
            dest,
            overwrite=overwrite,
            progress=progress,
            jobs=jobs,
            scheduler=scheduler,
            resume=resume,
        )
    # files the run reads: a folder holding one is never replaced (checked again at the end,
    # with every input actually read)
    protected = protected_paths(config)
    with staged_output(dest.target, overwrite=overwrite, protected=protected) as stage:
        prepared = prepare(config, log=log)
        protected.update({Path(i["path"]): "the input" for i in prepared.inputs if i.get("path")})
        results = infer(config, prepared, progress=progress, log=log)
        results, atlas_info = label(config, prepared, results, log)
        log("quality checks")
        checks = quality_checks(config, prepared)
        finish_run(
            stage,
            config,
            prepared,
            results=results,
            dest=dest,
            contrasts=tuple(
                ContrastOutput(
                    contrast=c,
                    corrections=tuple(corrs),
                    maps_available=("stat", "z", "p")
                    if config.model.level == "maps" or c.conjunction
                    else ("effect", "variance", "stat", "z", "p"),
                )
                for c, corrs in results
            ),
            atlases=atlas_info,
            qc=checks,
        )
    return dest.target


def validate(config: RunConfig) -> Prepared | None:
    """Check the config and inputs (images, mask, design, contrasts) without fitting.

    A study is checked by :func:`glmreport.pipeline.study.plan_study` (returns None).
    """
    if config.model.level == "study":
        from .study import plan_study

        plan_study(config)  # discovery, confound names, participants: no fit
        return None  # type: ignore[return-value]
    if config.model.level == "maps" and any(c.method == "permutation" for c in config.corrections):
        raise ConfigError("permutation needs input images", path="corrections")
    return prepare(config, fit=False)  # makes the small volumes too: an empty one is refused


def atlas_warnings(config: RunConfig) -> list[str]:
    """One warning per configured atlas that a run could not use offline.

    Atlases are looked up as a run looks them up, without downloading: a TemplateFlow atlas
    missing from the local cache (or FSL not installed) is named with how to get it.
    """
    if not config.atlases:
        return []
    from ..labels.atlas import load_atlases

    loaded = load_atlases(config.atlases, data_space=config.model.space, download=False)
    return [
        f"atlas '{a.name}' is not available offline; a run labels no table with it. {a.message}"
        for a in loaded
        if not a.ok
    ]
