"""``model.level: study``: a BIDS dataset with fMRIPrep derivatives, every subject's first
level, then the group.

The section names the dataset (``bids``, ``derivatives``, ``task``, ``space`` and the optional
``res``/``desc`` filters, ``subjects``/``exclude``/``sessions``), the first-level model each
run gets (``first_level``: HRF, drift, noise model, smoothing, confounds by name or pattern,
motion scrubbing, signal scaling) and the group model (``group``: a second-level design,
covariates from ``participants.tsv``, optional group contrasts). The top-level ``contrasts``
are the first-level contrasts, each taken to the group. What can only be checked on disk
(subjects, confound columns, events) is checked by the study pipeline before any fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConfigError
from .contrasts import _contrasts
from .fields import (
    _bool,
    _check_keys,
    _int,
    _list,
    _mapping,
    _number,
    _path,
    _str,
    _str_list,
    given,
    short,
)
from .specs import ContrastSpec, DesignSpec
from .study_spec import ON_ERROR, SIGNAL_SCALINGS, StudyFirstLevel, StudySpec
from .vocabulary import HRF_MODELS, NOISE_MODELS

_ADDRESS = re.compile(r"((tcp|tls)://)?[A-Za-z0-9\[\]:._-]{1,200}:[0-9]{1,5}")
#: Most subjects listed in ``subjects``/``exclude`` and most confound names or patterns.
MAX_SUBJECTS = 10_000
MAX_CONFOUNDS = 1000
#: Largest scrubbing threshold on framewise displacement (mm).
MAX_SCRUB_FD_MM = 100.0

STUDY_KEYS = (
    "level",
    "bids",
    "derivatives",
    "participants",
    "task",
    "space",
    "res",
    "desc",
    "subjects",
    "exclude",
    "sessions",
    "first_level",
    "group",
    "on_error",
)
FIRST_LEVEL_KEYS = (
    "hrf",
    "drift",
    "noise_model",
    "smoothing_fwhm",
    "confounds",
    "scrub",
    "signal_scaling",
)
GROUP_KEYS = ("design", "covariates", "center_covariates", "contrasts")
COMPUTE_KEYS = ("scheduler", "jobs")
#: Most local worker processes (as ``--jobs``).
MAX_JOBS = 1024

if TYPE_CHECKING:
    from .specs import ModelConfig


class Readers(NamedTuple):
    """The readers :mod:`.model` shares with the study level."""

    design: Callable[..., Any]
    drift: Callable[[Any], tuple[str | None, float, int]]
    smoothing: Callable[[Any], float]


def with_compute(model: ModelConfig, value: Any) -> ModelConfig:
    """The top-level ``compute`` section (``scheduler``, ``jobs``): study level only."""
    raw = _mapping({} if value is None else value, "compute")
    _check_keys(raw, "compute", COMPUTE_KEYS)
    if model.study is None:
        raise ConfigError(
            "compute (a Dask scheduler or local workers) runs the subjects of a study; it "
            f"needs model.level 'study', not '{model.level}'",
            path="compute",
        )
    scheduler = None
    if raw.get("scheduler") is not None:
        scheduler = _str(raw["scheduler"], "compute.scheduler")
        if not _ADDRESS.fullmatch(scheduler):
            raise ConfigError(
                f"expected a scheduler address such as tcp://host:8786 or host:8786, got "
                f"'{short(scheduler)}'",
                path="compute.scheduler",
            )
    jobs = _int(raw["jobs"], "compute.jobs", low=1, high=MAX_JOBS) if "jobs" in raw else None
    return replace(model, study=replace(model.study, scheduler=scheduler, jobs=jobs))


def _folder(value: Any, path: str, base: Path, what: str) -> Path:
    folder = _path(value, path, base)
    if not folder.is_dir():
        raise ConfigError(f"{what} not found or not a folder: {short(str(folder), 160)}", path=path)
    return folder.resolve()


def _labels(value: Any, path: str) -> tuple[str, ...]:
    items = _list(value, path, allow_scalar=True, most=MAX_SUBJECTS)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise ConfigError(
                f"expected a label such as '01', got {given(item)}", path=f"{path}[{i}]"
            )
        out.append(str(item))
    return tuple(out)


def parse_study(raw: Any, base: Path, readers: Readers) -> StudySpec:
    """Read ``model`` when ``level: study``.

    ``readers`` are :mod:`.model`'s readers of a design, a drift and a smoothing kernel
    (passed in: that module imports this one).
    """
    _check_keys(raw, "model", STUDY_KEYS, required=("bids", "task", "space"))
    bids = _folder(raw["bids"], "model.bids", base, "BIDS dataset folder")
    deriv = (
        _folder(raw["derivatives"], "model.derivatives", base, "fMRIPrep derivatives folder")
        if raw.get("derivatives") is not None
        else _folder(
            str(bids / "derivatives" / "fmriprep"),
            "model.derivatives",
            base,
            "fMRIPrep derivatives folder (default <bids>/derivatives/fmriprep; set "
            "model.derivatives)",
        )
    )
    participants = (
        _path(raw["participants"], "model.participants", base)
        if "participants" in raw
        else bids / "participants.tsv"
    )
    group, contrasts = _group(raw.get("group"), base, readers.design)
    return StudySpec(
        bids=bids,
        derivatives=deriv,
        participants=participants,
        task=_str(raw["task"], "model.task"),
        space=_str(raw["space"], "model.space"),
        res=None if raw.get("res") is None else str(_label(raw["res"], "model.res")),
        desc=_str(raw.get("desc", "preproc"), "model.desc"),
        subjects=_labels(raw["subjects"], "model.subjects") if "subjects" in raw else None,
        exclude=_labels(raw["exclude"], "model.exclude") if "exclude" in raw else (),
        sessions=_labels(raw["sessions"], "model.sessions") if "sessions" in raw else None,
        first_level=_first_level(raw.get("first_level"), readers),
        group=group,
        group_contrasts=contrasts,
        on_error=_str(raw.get("on_error", "raise"), "model.on_error", choices=ON_ERROR),  # type: ignore[arg-type]
    )


def _label(value: Any, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"expected a label, got {given(value)}", path=path)
    return str(value)


def _first_level(value: Any, readers: Readers) -> StudyFirstLevel:
    path = "model.first_level"
    raw = _mapping({} if value is None else value, path)
    _check_keys(raw, path, FIRST_LEVEL_KEYS)
    try:
        drift_model, high_pass, order = readers.drift(raw.get("drift", {"model": "cosine"}))
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("model.drift", f"{path}.drift", 1)) from None
    confounds = ()
    if raw.get("confounds") is not None:
        confounds = _str_list(raw["confounds"], f"{path}.confounds")
        if len(confounds) > MAX_CONFOUNDS:
            raise ConfigError(
                f"at most {MAX_CONFOUNDS} confound names or patterns, got {len(confounds)}",
                path=f"{path}.confounds",
            )
    scrub = None
    if raw.get("scrub") is not None:
        opts = _mapping(raw["scrub"], f"{path}.scrub")
        _check_keys(opts, f"{path}.scrub", ("fd",), required=("fd",))
        scrub = _number(opts["fd"], f"{path}.scrub.fd", low=0, low_open=True, high=MAX_SCRUB_FD_MM)
    smoothing = 0.0
    if "smoothing_fwhm" in raw:
        try:
            smoothing = readers.smoothing(raw["smoothing_fwhm"])
        except ConfigError as exc:
            raise ConfigError(
                str(exc).replace("model.smoothing_fwhm: ", ""), path=f"{path}.smoothing_fwhm"
            ) from None
    return StudyFirstLevel(
        hrf=_str(raw.get("hrf", "glover"), f"{path}.hrf", choices=HRF_MODELS),
        drift_model=drift_model,
        high_pass=high_pass,
        drift_order=order,
        noise_model=_str(
            raw.get("noise_model", "ar1"), f"{path}.noise_model", choices=NOISE_MODELS
        ),
        smoothing_fwhm=smoothing,
        confounds=confounds,
        scrub_fd=scrub,
        signal_scaling=_str(  # type: ignore[arg-type]
            raw.get("signal_scaling", "percent"), f"{path}.signal_scaling", choices=SIGNAL_SCALINGS
        ),
    )


def _group(value: Any, base: Path, design_fn: Any) -> tuple[DesignSpec, tuple[ContrastSpec, ...]]:
    path = "model.group"
    raw = _mapping({} if value is None else value, path)
    _check_keys(raw, path, GROUP_KEYS)
    covariates = _str_list(raw["covariates"], f"{path}.covariates") if "covariates" in raw else ()
    center = (
        _bool(raw["center_covariates"], f"{path}.center_covariates")
        if "center_covariates" in raw
        else True
    )
    try:
        design = design_fn(raw.get("design", "one-sample"), base, covariates, center)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("model.design", f"{path}.design", 1)) from None
    if isinstance(design, tuple):
        raise ConfigError(
            "a {matrix: ...} design has one row per input, which a study does not know before "
            "its subjects are found; use a formula or covariates",
            path=f"{path}.design",
        )
    contrasts: tuple[ContrastSpec, ...] = ()
    if raw.get("contrasts") is not None:
        try:
            contrasts = _contrasts(raw["contrasts"])
        except ConfigError as exc:
            raise ConfigError(
                f"{path}.{exc}" if str(exc).startswith("contrasts") else str(exc)
            ) from None
        contrasts = tuple(
            replace(c, where=f"{path}.{c.where}") for c in contrasts if not c.conjunction
        ) + tuple(c for c in contrasts if c.conjunction)
        if any(c.conjunction for c in contrasts):
            raise ConfigError(
                "conjunctions are made of first-level contrasts' group results; list them in "
                "the top-level contrasts",
                path=f"{path}.contrasts",
            )
    return design, contrasts
