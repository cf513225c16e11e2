"""Run-config v1: YAML in, frozen :class:`~glmreport.config.specs.RunConfig` out.

The config package is the only code that sees raw dicts. Every entry is checked once; an error
names the YAML path of the bad entry (``contrasts[2].t``), what was expected and what was
given, and suggests the nearest key for a misspelling. Relative paths are resolved against
the config file's folder. This module reads the file (:mod:`.yaml`) and puts the sections
together: :mod:`.model`, :mod:`.contrasts`, the corrections, the cluster and report options,
:mod:`.atlases`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .atlases import _atlases
from .contrasts import _contrasts
from .corrections import parse_corrections
from .fields import (
    _bool,
    _check_keys,
    _int,
    _list,
    _mapping,
    _number,
    _path,
    _str,
    short,
)
from .model import _model
from .specs import (
    ClusterOptions,
    ContrastSpec,
    ReportOptions,
    RunConfig,
)
from .study import with_compute
from .vocabulary import FORMATS
from .yaml import MAX_CONFIG_BYTES, load_yaml

#: Most sub-peaks per cluster (correction entries: :data:`.corrections.MAX_CORRECTIONS`).
MAX_SUBPEAKS = 100

TOP_KEYS = (
    "title",
    "output",
    "model",
    "contrasts",
    "corrections",
    "two_sided",
    "clusters",
    "atlases",
    "report",
    "compute",
)


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run-config.

    Parameters
    ----------
    path : str or Path
        The YAML file. Relative paths inside it are resolved against its folder.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        For any malformed entry, naming its YAML path.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_file() and size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"config file {path} has {size:,} bytes; at most {MAX_CONFIG_BYTES:,} are read "
                "(a run-config is a few kilobytes; put long input lists in an inputs table)"
            )
        with path.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {short(str(exc), 200)}") from None
    return parse_config(text, base_dir=path.resolve().parent, source=path.resolve())


def parse_config(text: str, *, base_dir: Path, source: Path | None = None) -> RunConfig:
    """Validate a run-config given as YAML text.

    Parameters
    ----------
    text : str
        YAML document.
    base_dir : Path
        Folder that relative paths are resolved against.
    source : Path, optional
        The file the text came from (for provenance).
    """
    raw = load_yaml(text)
    if raw is None:
        raise ConfigError("the config is empty; it needs at least 'model' and 'contrasts'")
    raw = _mapping(raw, "(top level)")
    _check_keys(raw, "", TOP_KEYS, required=("model",))

    title = _str(raw["title"], "title") if "title" in raw else "glmreport analysis"
    output = _path(raw["output"], "output", base_dir) if raw.get("output") is not None else None
    two_sided = _bool(raw["two_sided"], "two_sided") if "two_sided" in raw else False
    model = _model(raw["model"], base_dir)
    if "compute" in raw:
        model = with_compute(model, raw["compute"])

    if model.level == "maps":
        if raw.get("contrasts"):
            raise ConfigError(
                "model.level 'maps' takes no contrasts: each entry of model.maps is already a "
                "statistical map",
                path="contrasts",
            )
        contrasts: tuple[ContrastSpec, ...] = ()
    else:
        if "contrasts" not in raw:
            raise ConfigError("missing required key 'contrasts' (a list of t or F contrasts)")
        contrasts = _contrasts(raw["contrasts"])

    names = [c.name for c in contrasts] + [m.name for m in model.maps]
    corrections = parse_corrections(
        raw.get("corrections"),
        two_sided,
        names,
        model.level,
        base=base_dir,
        conjunctions=[c.name for c in contrasts if c.conjunction],
    )
    clusters = _clusters(raw.get("clusters"))
    atlases = _atlases(raw.get("atlases"), base_dir)
    report = _report(raw.get("report"))
    return RunConfig(
        title=title,
        output=output,
        model=model,
        contrasts=contrasts,
        corrections=corrections,
        two_sided=two_sided,
        clusters=clusters,
        atlases=atlases,
        report=report,
        source=source,
        text=text,
    )


def _clusters(value: Any) -> ClusterOptions:
    """The ``clusters`` section: connectivity, peak distance, sub-peaks."""
    if value is None:
        return ClusterOptions()
    raw = _mapping(value, "clusters")
    _check_keys(raw, "clusters", ("connectivity", "min_distance_mm", "max_subpeaks"))
    conn = _int(raw.get("connectivity", 26), "clusters.connectivity")
    if conn not in (6, 18, 26):
        raise ConfigError(f"expected 6, 18 or 26, got {conn}", path="clusters.connectivity")
    return ClusterOptions(
        connectivity=conn,
        min_distance_mm=_number(raw.get("min_distance_mm", 8.0), "clusters.min_distance_mm", low=0),
        max_subpeaks=_int(
            raw.get("max_subpeaks", 3), "clusters.max_subpeaks", low=0, high=MAX_SUBPEAKS
        ),
    )


def _report(value: Any) -> ReportOptions:
    """The ``report`` section: which formats to write."""
    if value is None:
        return ReportOptions()
    raw = _mapping(value, "report")
    _check_keys(raw, "report", ("formats",))
    formats = _list(raw.get("formats", ["html"]), "report.formats", allow_scalar=True)
    out = tuple(_str(f, f"report.formats[{i}]", choices=FORMATS) for i, f in enumerate(formats))
    return ReportOptions(formats=tuple(dict.fromkeys(out)))
