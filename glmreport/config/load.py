"""Run-config v1: YAML in, frozen :class:`~glmreport.config.specs.RunConfig` out.

The config package is the only code that sees raw dicts. Every entry is checked once; an error
names the YAML path of the bad entry (``contrasts[2].t``), what was expected and what was
given, and suggests the nearest key for a misspelling. Relative paths are resolved against
the config file's folder. This module reads the file (:mod:`.yaml`) and puts the sections
together: :mod:`.model`, :mod:`.contrasts`, the corrections, the cluster and report options,
:mod:`.atlases`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, suggest
from .atlases import _atlases
from .contrasts import _contrasts
from .correction_labels import assign_descs, check_label, check_repeats
from .fields import (
    _alpha,
    _bool,
    _check_keys,
    _int,
    _list,
    _mapping,
    _number,
    _path,
    _str,
    _str_list,
)
from .fields import short as _short  # the corrections readers below use this name
from .model import _model
from .specs import (
    ClusterOptions,
    ContrastSpec,
    CorrectionSpec,
    ReportOptions,
    RunConfig,
)
from .vocabulary import FORMATS, MAX_RESAMPLES, METHODS
from .yaml import MAX_CONFIG_BYTES, load_yaml

#: Most correction entries in one config; most ARI thresholds; most sub-peaks per cluster.
MAX_CORRECTIONS = 32
MAX_ARI_THRESHOLDS = 20
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
        raise ConfigError(f"cannot read config file {path}: {_short(str(exc), 200)}") from None
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
    corrections = _corrections(raw.get("corrections"), two_sided, names, model.level)
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


COMMON_CORRECTION_KEYS = ("method", "alpha", "two_sided", "contrasts", "desc")
METHOD_KEYS: dict[str, tuple[str, ...]] = {
    "uncorrected": ("cluster_extent",),
    "fdr": ("cluster_extent",),
    "bonferroni": ("cluster_extent",),
    "permutation": (
        "n_perm",
        "seed",
        "cluster_forming_p",
        "tfce",
        "blocks",
        "tfce_E",
        "tfce_H",
        "tfce_dh",
    ),
    "ari": ("thresholds",),
    "rft": ("cluster_forming_p", "fwhm_mm"),
}
DEFAULT_ALPHA = {"uncorrected": 0.001}


def _corrections(
    value: Any, two_sided: bool, contrast_names: list[str], level: str
) -> tuple[CorrectionSpec, ...]:
    if value is None:
        return (CorrectionSpec(method="uncorrected", alpha=0.001, two_sided=two_sided),)
    items = _list(value, "corrections", most=MAX_CORRECTIONS)
    out = []
    explicit = []
    for i, item in enumerate(items):
        where = f"corrections[{i}]"
        raw = _mapping(item, where)
        if "method" not in raw:
            raise ConfigError(f"missing 'method' (one of {', '.join(METHODS)})", path=where)
        method = _str(raw["method"], f"{where}.method", choices=METHODS)
        _check_keys(raw, where, COMMON_CORRECTION_KEYS + METHOD_KEYS[method])
        if level == "maps" and method == "permutation":
            raise ConfigError(
                "permutation inference needs the input images; model.level 'maps' supports "
                "uncorrected, fdr, bonferroni, ari and rft (with fwhm_mm)",
                path=f"{where}.method",
            )
        if level == "first" and method in ("permutation", "rft"):
            raise ConfigError(
                f"'{method}' is a group-level (second-level) inference; a first-level model "
                "supports uncorrected, fdr, bonferroni and ari",
                path=f"{where}.method",
            )
        alpha = (
            _alpha(raw["alpha"], f"{where}.alpha")
            if "alpha" in raw
            else DEFAULT_ALPHA.get(method, 0.05)
        )
        sided = _bool(raw["two_sided"], f"{where}.two_sided") if "two_sided" in raw else two_sided
        names = None
        if "contrasts" in raw:
            names = _str_list(raw["contrasts"], f"{where}.contrasts")
            for j, name in enumerate(names):
                if name not in contrast_names:
                    raise ConfigError(
                        f"unknown contrast '{_short(name)}'; contrasts are: "
                        f"{_short(', '.join(contrast_names), 300)}."
                        + suggest(name[:100], contrast_names),
                        path=f"{where}.contrasts[{j}]",
                    )
        extent = 0
        if "cluster_extent" in raw:
            extent = _int(raw["cluster_extent"], f"{where}.cluster_extent", low=0)
        params = _method_params(method, raw, where)
        desc = check_label(raw["desc"], f"{where}.desc") if "desc" in raw else ""
        explicit.append(bool(desc))
        out.append(
            CorrectionSpec(
                method=method,
                alpha=alpha,
                two_sided=sided,
                cluster_extent=extent,
                contrasts=names,
                params=params,
                desc=desc,
            )
        )
    check_repeats(out, contrast_names)
    return assign_descs(out, explicit)


def _method_params(method: str, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    if method == "permutation":
        cfp = raw.get("cluster_forming_p")
        return {
            "n_perm": _n_perm(raw.get("n_perm", 10000), f"{where}.n_perm", MAX_RESAMPLES),
            "seed": _int(raw.get("seed", 0), f"{where}.seed", low=0),
            "cluster_forming_p": None if cfp is None else _alpha(cfp, f"{where}.cluster_forming_p"),
            "tfce": _bool(raw.get("tfce", False), f"{where}.tfce"),
            "blocks": None if raw.get("blocks") is None else _str(raw["blocks"], f"{where}.blocks"),
            "tfce_E": _number(raw.get("tfce_E", 0.5), f"{where}.tfce_E", low=0, low_open=True),
            "tfce_H": _number(raw.get("tfce_H", 2.0), f"{where}.tfce_H", low=0, low_open=True),
            "tfce_dh": "auto"
            if raw.get("tfce_dh", "auto") == "auto"
            else _number(raw["tfce_dh"], f"{where}.tfce_dh", low=0, low_open=True),
        }
    if method == "ari":
        values = _list(
            raw.get("thresholds", [2.5, 3.5, 4.5]),
            f"{where}.thresholds",
            allow_scalar=True,
            most=MAX_ARI_THRESHOLDS,
        )
        if not values:
            raise ConfigError("expected at least one threshold (z)", path=f"{where}.thresholds")
        thresholds = [
            _number(v, f"{where}.thresholds[{j}]", low=0, low_open=True)
            for j, v in enumerate(values)
        ]
        return {"thresholds": sorted(thresholds)}
    if method == "rft":
        fwhm = raw.get("fwhm_mm")
        if fwhm is not None:
            items = _list(fwhm, f"{where}.fwhm_mm", allow_scalar=True)
            if len(items) not in (1, 3):
                raise ConfigError(
                    "expected one FWHM or three (x, y, z) in mm", path=f"{where}.fwhm_mm"
                )
            fwhm = [_number(v, f"{where}.fwhm_mm", low=0, low_open=True) for v in items] * (
                3 if len(items) == 1 else 1
            )
        return {
            "cluster_forming_p": _alpha(
                raw.get("cluster_forming_p", 0.001), f"{where}.cluster_forming_p"
            ),
            "fwhm_mm": fwhm,
        }
    return {}


def _n_perm(value: Any, path: str, most: int) -> int:
    """``n_perm``: 1 to ``most`` resamples."""
    n = _int(value, path, low=1)
    if n > most:
        raise ConfigError(
            f"expected at most {most:,} resamples, got {_short(n, 30)}: {most:,} already resolve "
            f"p-values to 1/{most:,} (Monte Carlo error below 0.0003 at p = 0.05) and the run "
            "time grows with the count",
            path=path,
        )
    return n


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
