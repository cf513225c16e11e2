"""Distinct, stable labels (``desc``) for the correction entries of a config.

Every correction result is written as ``contrast-<label>_desc-<desc>_...``, so two entries of
one method (``uncorrected`` at .001 and at .01, FDR one- and two-sided) need their own ``desc``.
The rule (README, "Corrections"):

1. an explicit ``desc: <label>`` (letters and digits, at most :data:`MAX_LABEL`) is used as is;
2. a method that appears once among the entries without an explicit ``desc`` keeps its default
   label (``uncorrected``, ``fdr``, ``bonferroni``, ``perm``, ``ari``, ``rft``);
3. entries of one method get a suffix made of the parameters that differ among them, in a fixed
   order (``uncorrectedP001``, ``fdrTwoSided``, ``permSeed2``, ``rftCfp01``); when those still
   coincide (the entries differ only in ``contrasts``) or grow longer than
   :data:`MAX_DERIVED`, they are numbered in config order (``fdr1``, ``fdr2``).

Permutation and rft entries yield one result per route, named ``<label><route suffix>``
(``MaxT``, ``ClusterSize``, ``ClusterMass``, ``TFCE``; rft ``""`` and ``Cluster``), so the
defaults give ``permMaxT`` and ``rftCluster``. An entry with a small volume (``svc``) yields
small-volume results only, whose suffixes end in ``SVC`` (``rftSVC``, ``permMaxTSVC``); its
label is derived among the small-volume entries of its method (a region's token is the mask's
file name, or ``Sphere`` and the radius), so ``rft`` beside ``rft`` with ``svc`` stays ``rft``.
Result labels must differ ignoring case (some file systems ignore it). An entry that repeats
another (same method and parameters on a common contrast) is refused: it would only write the
same result twice.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from ..errors import ConfigError
from .specs import DEFAULT_DESC, CorrectionSpec

#: Longest explicit ``desc``.
MAX_LABEL = 24
#: Longest derived label before route suffixes; longer ones are numbered instead.
MAX_DERIVED = 29
_LABEL = re.compile(r"[A-Za-z0-9]+")

Token = Callable[[CorrectionSpec], str]


def check_label(value: Any, path: str) -> str:
    """Validate an explicit ``desc``: letters and digits only (BIDS label), not too long."""
    if isinstance(value, str) and _LABEL.fullmatch(value) and len(value) <= MAX_LABEL:
        return value
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    raise ConfigError(
        f"expected a label of letters and digits only (at most {MAX_LABEL}), e.g. 'strict'; "
        f"got {type(value).__name__} ({text})",
        path=path,
    )


def check_repeats(specs: Sequence[CorrectionSpec], contrast_names: Sequence[str]) -> None:
    """Refuse an entry that applies the same method and parameters to a contrast twice."""
    for j, later in enumerate(specs):
        for i, earlier in enumerate(specs[:j]):
            if _key(earlier) != _key(later):
                continue
            common = [
                n
                for n in contrast_names
                if (earlier.contrasts is None or n in earlier.contrasts)
                and (later.contrasts is None or n in later.contrasts)
            ]
            if common:
                name = common[0] if len(common[0]) <= 40 else common[0][:37] + "..."
                on = "" if earlier.contrasts is later.contrasts is None else f" on '{name}'"
                raise ConfigError(
                    f"repeats corrections[{i}] (same method and parameters{on}); its results "
                    "would be the same: remove one of the two or change a parameter",
                    path=f"corrections[{j}]",
                )


def assign_descs(
    specs: Sequence[CorrectionSpec], explicit: Sequence[bool]
) -> tuple[CorrectionSpec, ...]:
    """Give every entry its ``desc`` by the module's rule; refuse labels that collide.

    Parameters
    ----------
    specs : sequence of CorrectionSpec
        Validated entries in config order; ``desc`` holds the explicit label where
        ``explicit`` is true.
    explicit : sequence of bool
        Whether each entry set ``desc`` in the config.
    """
    labels = [s.desc if e else "" for s, e in zip(specs, explicit, strict=True)]
    groups: dict[tuple[str, bool], list[int]] = {}
    for i, (spec, given) in enumerate(zip(specs, explicit, strict=True)):
        if not given:
            groups.setdefault((spec.method, spec.svc is not None), []).append(i)
    for (method, _), members in groups.items():
        derived = _derived(method, [specs[i] for i in members])
        for i, label in zip(members, derived, strict=True):
            labels[i] = label
    out = tuple(dataclasses.replace(s, desc=d) for s, d in zip(specs, labels, strict=True))
    _check_unique(out, explicit)
    return out


def _key(spec: CorrectionSpec) -> tuple[Any, ...]:
    return (spec.method, spec.alpha, spec.two_sided, spec.cluster_extent, spec.params)


def _derived(method: str, group: Sequence[CorrectionSpec]) -> list[str]:
    base = DEFAULT_DESC.get(method, method)
    if len(group) == 1:
        return [base]
    columns = [[token(s) for s in group] for token in _tokens(method)]
    varying = [col for col in columns if len(set(col)) > 1]
    labels = [base + "".join(col[k] for col in varying) for k in range(len(group))]
    distinct = len({label.lower() for label in labels}) == len(labels)
    if not distinct or max(map(len, labels)) > MAX_DERIVED:
        labels = [f"{base}{k + 1}" for k in range(len(group))]
    return labels


def _check_unique(specs: Sequence[CorrectionSpec], explicit: Sequence[bool]) -> None:
    seen: dict[str, tuple[int, str]] = {}
    for i, spec in enumerate(specs):
        for route in spec.routes():
            desc = spec.result_desc(route)
            if desc.lower() not in seen:
                seen[desc.lower()] = (i, desc)
                continue
            j, other = seen[desc.lower()]
            blamed = i if explicit[i] or not explicit[j] else j
            partner = j if blamed == i else i
            mine, theirs = (desc, other) if blamed == i else (other, desc)
            case = f" ('{theirs}', ignoring case)" if mine != theirs else ""
            raise ConfigError(
                f"its results would be labelled '{mine}', the same as those of "
                f"corrections[{partner}]{case}: give it another desc (letters and digits)",
                path=f"corrections[{blamed}]" + (".desc" if explicit[blamed] else ""),
            )


# --- parameter tokens ---------------------------------------------------------------------------


def positional(value: float) -> str:
    """The shortest digits that read back as ``value``, without exponent or trailing zeros.

    ``0.001`` -> ``0.001``, ``1e-05`` -> ``0.00001``, ``8.0`` -> ``8``, ``1e+16`` ->
    ``10000000000000000``: NumPy's ``format_float_positional(value, trim="-")``, without
    importing NumPy to read a config (both take the shortest round-trip digits, ``repr``'s).
    """
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _number(value: float) -> str:
    """``2.5`` -> ``2p5``, ``8`` -> ``8``, ``-1`` -> ``m1``."""
    text = positional(value)
    return text.replace("-", "m").replace(".", "p")


def _digits(p: float) -> str:
    """A probability's decimals: ``0.001`` -> ``001``, ``0.05`` -> ``05``."""
    text = positional(p)
    return text[2:] if text.startswith("0.") else _number(p)


def _alnum(text: Any) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", str(text))[:16]


def _tokens(method: str) -> list[Token]:
    """The parameters that may tell entries of ``method`` apart, in label order."""
    letter = "Q" if method == "fdr" else "P"
    common: list[Token] = [
        lambda s: letter + _digits(s.alpha),
        lambda s: "TwoSided" if s.two_sided else "OneSided",
        lambda s: f"K{s.cluster_extent}",
    ]
    return common + _PARAM_TOKENS.get(method, [])


def _param(key: str, fmt: Callable[[Any], str]) -> Token:
    return lambda s: fmt(getattr(s.params, key))


def _cfp(value: Any) -> str:
    return "NoCluster" if value is None else "Cfp" + _digits(value)


def _svc(value: Any) -> str:
    """A small volume's token: ``Amygdala`` (mask ``amygdala.nii.gz``) or ``Sphere10``."""
    if value is None:
        return ""
    if value.mask is not None:
        stem = value.mask.name.split(".")[0]
        token = _alnum(stem)
        return token[:1].upper() + token[1:] if token else "Mask"
    return "Sphere" + _number(value.radius_mm)


def _fwhm(value: Any) -> str:
    if value is None:
        return "FwhmEst"
    values = [_number(v) for v in value]
    return "Fwhm" + (values[0] if len(set(values)) == 1 else "x".join(values))


_PARAM_TOKENS: dict[str, list[Token]] = {
    "permutation": [
        _param("n_perm", lambda v: f"N{v}"),
        _param("seed", lambda v: f"Seed{v}"),
        _param("cluster_forming_p", _cfp),
        _param("tfce", lambda v: "Tfce" if v else "NoTfce"),
        _param("blocks", lambda v: "NoBlocks" if v is None else "Blocks" + _alnum(v)),
        _param("tfce_E", lambda v: "E" + _number(v)),
        _param("tfce_H", lambda v: "H" + _number(v)),
        _param("tfce_dh", lambda v: "DhAuto" if v == "auto" else "Dh" + _number(v)),
        _param("svc", _svc),
    ],
    "ari": [_param("thresholds", lambda v: "Z" + "x".join(_number(t) for t in v or []))],
    "rft": [_param("cluster_forming_p", _cfp), _param("fwhm_mm", _fwhm), _param("svc", _svc)],
}
