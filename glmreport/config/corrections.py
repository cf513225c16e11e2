"""The config's ``corrections`` list -> validated :class:`~.specs.CorrectionSpec` entries.

Every range a correction entry may take is checked here, once: ``alpha`` and
``cluster_forming_p`` in (0, 1), ``n_perm`` from 1 to :data:`~.vocabulary.MAX_RESAMPLES`, ARI
thresholds and FWHM positive, and so on. The defaults are the fields of the typed parameter
classes of :mod:`.specs` (:class:`~.specs.PermutationParams`, :class:`~.specs.AriParams`,
:class:`~.specs.RftParams`), so each lives in one place. The inference code trusts what it
receives.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, suggest
from .correction_labels import assign_descs, check_label, check_repeats
from .fields import _bool, _check_keys, _int, _list, _mapping, _number, _str, _str_list, short
from .specs import (
    AriParams,
    CorrectionParams,
    CorrectionSpec,
    PermutationParams,
    RftParams,
    ThresholdParams,
)
from .svc import parse_svc
from .vocabulary import MAX_RESAMPLES, METHODS

#: Most correction entries in one config.
MAX_CORRECTIONS = 32
#: Most ARI thresholds in one entry.
MAX_ARI_THRESHOLDS = 20

#: Keys every entry may have.
COMMON_CORRECTION_KEYS = ("method", "alpha", "two_sided", "contrasts", "desc")
#: Keys of each method, besides the common ones.
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
        "svc",
    ),
    "ari": ("thresholds",),
    "rft": ("cluster_forming_p", "fwhm_mm", "svc"),
}
#: Methods a conjunction may be corrected with (the minimum statistic under the conjunction
#: null; README, "Conjunctions"): each compares the minimum with the threshold one component
#: would have, which is valid whatever the other components do.
CONJUNCTION_METHODS = ("uncorrected", "fdr", "bonferroni", "rft")
#: ``alpha`` of an entry that gives none (other methods: :data:`DEFAULT_LEVEL`).
DEFAULT_ALPHA = {"uncorrected": 0.001}
DEFAULT_LEVEL = 0.05


def is_probability(value: float) -> bool:
    """Whether ``value`` may be a level or a cluster-forming p: a number in the open (0, 1).

    The one rule for ``alpha`` and ``cluster_forming_p``, used by the config reader and by the
    guards of the public statistics functions.
    """
    return 0.0 < value < 1.0


def _alpha(value: Any, path: str) -> float:
    """A level or cluster-forming p: a number in the open interval (0, 1)."""
    number = _number(value, path)
    if not is_probability(number):
        bound = "> 0" if number <= 0 else "< 1"
        raise ConfigError(f"expected a number {bound}, got {number:g}", path=path)
    return number


def parse_corrections(
    value: Any,
    two_sided: bool,
    contrast_names: list[str],
    level: str,
    *,
    base: Path = Path("."),
    conjunctions: Collection[str] = (),
) -> tuple[CorrectionSpec, ...]:
    """Validate the ``corrections`` list.

    Parameters
    ----------
    value : Any
        The raw list (``None``: one uncorrected entry at p < 0.001).
    two_sided : bool
        The config's top-level ``two_sided`` (the default of each entry).
    contrast_names : list of str
        Names an entry's ``contrasts`` may list.
    level : {'second', 'first', 'maps'}
        ``model.level``: permutation needs the input images, rft a group model.
    base : Path
        The config's folder (relative ``svc`` mask paths).
    conjunctions : collection of str
        The names of the conjunction contrasts: only :data:`CONJUNCTION_METHODS` apply to them.

    Returns
    -------
    tuple of CorrectionSpec
        With their ``desc`` assigned (:func:`.correction_labels.assign_descs`).

    Raises
    ------
    ConfigError
        Naming the YAML path of the bad entry.
    """
    if value is None:
        return (CorrectionSpec(method="uncorrected", alpha=0.001, two_sided=two_sided),)
    items = _list(value, "corrections", most=MAX_CORRECTIONS)
    out = []
    explicit = []
    for i, item in enumerate(items):
        spec, given = _entry(item, f"corrections[{i}]", two_sided, contrast_names, level, base)
        _check_conjunctions(spec, f"corrections[{i}]", contrast_names, conjunctions)
        out.append(spec)
        explicit.append(given)
    check_repeats(out, contrast_names)
    return assign_descs(out, explicit)


def _entry(
    item: Any, where: str, two_sided: bool, contrast_names: list[str], level: str, base: Path
) -> tuple[CorrectionSpec, bool]:
    """One entry, and whether it set its ``desc``."""
    raw = _mapping(item, where)
    if "method" not in raw:
        raise ConfigError(f"missing 'method' (one of {', '.join(METHODS)})", path=where)
    method = _str(raw["method"], f"{where}.method", choices=METHODS)
    _check_keys(raw, where, COMMON_CORRECTION_KEYS + METHOD_KEYS[method])
    _check_level(method, level, where)
    alpha = (
        _alpha(raw["alpha"], f"{where}.alpha")
        if "alpha" in raw
        else DEFAULT_ALPHA.get(method, DEFAULT_LEVEL)
    )
    sided = _bool(raw["two_sided"], f"{where}.two_sided") if "two_sided" in raw else two_sided
    names = _contrast_names(raw, where, contrast_names) if "contrasts" in raw else None
    extent = 0
    if "cluster_extent" in raw:
        extent = _int(raw["cluster_extent"], f"{where}.cluster_extent", low=0)
    desc = check_label(raw["desc"], f"{where}.desc") if "desc" in raw else ""
    spec = CorrectionSpec(
        method=method,
        alpha=alpha,
        two_sided=sided,
        cluster_extent=extent,
        contrasts=names,
        params=method_params(method, raw, where, base=base),
        desc=desc,
    )
    return spec, bool(desc)


def _check_level(method: str, level: str, where: str) -> None:
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


def _check_conjunctions(
    spec: CorrectionSpec, where: str, contrast_names: list[str], conjunctions: Collection[str]
) -> None:
    """Refuse a method that has no valid test of a conjunction, on a conjunction."""
    if spec.method in CONJUNCTION_METHODS or not conjunctions:
        return
    names = spec.contrasts if spec.contrasts is not None else contrast_names
    hit = next((n for n in names if n in conjunctions), None)
    if hit is None:
        return
    scope = "applies to every contrast, including" if spec.contrasts is None else "names"
    raise ConfigError(
        f"'{spec.method}' {scope} the conjunction '{short(hit)}'; a conjunction is corrected "
        f"with {', '.join(CONJUNCTION_METHODS)} only (its minimum statistic has no "
        f"{spec.method} null here). List the contrasts this entry applies to in 'contrasts'",
        path=f"{where}.contrasts" if spec.contrasts is not None else where,
    )


def _contrast_names(
    raw: Mapping[str, Any], where: str, contrast_names: list[str]
) -> tuple[str, ...]:
    names = _str_list(raw["contrasts"], f"{where}.contrasts")
    for j, name in enumerate(names):
        if name not in contrast_names:
            raise ConfigError(
                f"unknown contrast '{short(name)}'; contrasts are: "
                f"{short(', '.join(contrast_names), 300)}." + suggest(name[:100], contrast_names),
                path=f"{where}.contrasts[{j}]",
            )
    return names


def method_params(
    method: str, raw: Mapping[str, Any], where: str, *, base: Path = Path(".")
) -> CorrectionParams:
    """The typed parameters of an entry of ``method`` from its raw mapping.

    Parameters
    ----------
    method : str
        A name of :data:`~.vocabulary.METHODS`.
    raw : mapping
        The entry (its keys already checked against :data:`METHOD_KEYS`).
    where : str
        YAML path of the entry, e.g. ``corrections[2]``.
    base : Path
        The config's folder (relative ``svc`` mask paths).

    Returns
    -------
    ThresholdParams, PermutationParams, AriParams or RftParams
        Missing keys take the class's defaults.
    """
    if method == "permutation":
        return _permutation_params(raw, where, base)
    if method == "ari":
        return _ari_params(raw, where)
    if method == "rft":
        return _rft_params(raw, where, base)
    return ThresholdParams()


def _svc(raw: Mapping[str, Any], where: str, base: Path) -> Any:
    value = raw.get("svc")
    return None if value is None else parse_svc(value, f"{where}.svc", base)


def _permutation_params(raw: Mapping[str, Any], where: str, base: Path) -> PermutationParams:
    default = PermutationParams()
    cfp = raw.get("cluster_forming_p")
    blocks = raw.get("blocks")
    dh = raw.get("tfce_dh", default.tfce_dh)

    def positive(key: str) -> float:
        return _number(raw.get(key, getattr(default, key)), f"{where}.{key}", low=0, low_open=True)

    return PermutationParams(
        n_perm=_n_perm(raw.get("n_perm", default.n_perm), f"{where}.n_perm"),
        seed=_int(raw.get("seed", default.seed), f"{where}.seed", low=0),
        cluster_forming_p=None if cfp is None else _alpha(cfp, f"{where}.cluster_forming_p"),
        tfce=_bool(raw.get("tfce", default.tfce), f"{where}.tfce"),
        blocks=None if blocks is None else _str(blocks, f"{where}.blocks"),
        tfce_E=positive("tfce_E"),
        tfce_H=positive("tfce_H"),
        tfce_dh="auto" if dh == "auto" else positive("tfce_dh"),
        svc=_svc(raw, where, base),
    )


def _n_perm(value: Any, path: str) -> int:
    """``n_perm``: 1 to :data:`~.vocabulary.MAX_RESAMPLES` resamples."""
    n = _int(value, path, low=1)
    if n > MAX_RESAMPLES:
        most = MAX_RESAMPLES
        raise ConfigError(
            f"expected at most {most:,} resamples, got {short(n, 30)}: {most:,} already resolve "
            f"p-values to 1/{most:,} (Monte Carlo error below 0.0003 at p = 0.05) and the run "
            "time grows with the count",
            path=path,
        )
    return n


def _ari_params(raw: Mapping[str, Any], where: str) -> AriParams:
    if "thresholds" not in raw:
        return AriParams()
    path = f"{where}.thresholds"
    values = _list(raw["thresholds"], path, allow_scalar=True, most=MAX_ARI_THRESHOLDS)
    if not values:
        raise ConfigError("expected at least one threshold (z)", path=path)
    thresholds = [_number(v, f"{path}[{j}]", low=0, low_open=True) for j, v in enumerate(values)]
    return AriParams(thresholds=tuple(thresholds))


def _rft_params(raw: Mapping[str, Any], where: str, base: Path) -> RftParams:
    default = RftParams()
    fwhm = raw.get("fwhm_mm")
    if fwhm is not None:
        items = _list(fwhm, f"{where}.fwhm_mm", allow_scalar=True)
        if len(items) not in (1, 3):
            raise ConfigError("expected one FWHM or three (x, y, z) in mm", path=f"{where}.fwhm_mm")
        values = [_number(v, f"{where}.fwhm_mm", low=0, low_open=True) for v in items]
        fwhm = tuple(values * 3 if len(values) == 1 else values)
    cfp = raw.get("cluster_forming_p", default.cluster_forming_p)
    return RftParams(
        cluster_forming_p=_alpha(cfp, f"{where}.cluster_forming_p"),
        fwhm_mm=fwhm,
        svc=_svc(raw, where, base),
    )
