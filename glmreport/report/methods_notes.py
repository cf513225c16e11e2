"""Methods sentences of conjunctions, small-volume corrections, cluster index maps and effect
sizes.

Written from the summary like the rest of :mod:`glmreport.report.methods`, which calls these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..outputs.summary import Correction, Summary
from .filters import fmt_int

Cite = Callable[..., str]


def _names(names: Sequence[str]) -> str:
    quoted = [f"\u201c{n}\u201d" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def conjunction_sentence(summary: Summary, cite: Cite) -> str | None:
    """Which contrasts are conjunctions and which null they test (None without any)."""
    joined = [c for c in summary.contrasts if c.conjunction]
    if not joined:
        return None
    parts = [f"\u201c{c.name}\u201d joins {_names(c.conjunction)}" for c in joined]
    many = len(joined) > 1
    return (
        f"Conjunction{'s' if many else ''}: {'; '.join(parts)}. "
        f"{'Each' if many else 'It'} was tested with the minimum statistic (at every voxel the "
        "smallest z of its t contrasts, p the largest of their p-values) against the "
        "conjunction null hypothesis that not every one of the effects is present, "
        "compared with the threshold a single contrast would need "
        f"({cite('nichols2005')}); a significant voxel shows every effect. Conjunctions are "
        "one-sided (every effect positive) and corrected only by uncorrected, FDR, "
        "Bonferroni or random-field thresholds."
    )


def svc_phrase(entry: Correction, cite: Cite) -> str:
    """``; small-volume correction within ...`` for a result of an entry with ``svc``."""
    region = entry.extras.get("svc_region")
    if not region:
        return ""
    voxels = entry.extras.get("svc_voxels")
    size = f", {fmt_int(voxels)} voxels" if isinstance(voxels, int | float) else ""
    text = f"; small-volume correction within a {region}{size}"
    if entry.method == "rft":
        smooth = entry.extras.get("svc_smoothness") or ""
        text += (
            ": resel counts of the region with the smoothness "
            + (
                "estimated over the whole analysis mask (as SPM)"
                if "whole" in str(smooth)
                else "given in the configuration"
            )
            + f" ({cite('worsley1996')})"
        )
    else:
        text += ": the maxima of the null distributions taken inside the region"
    return text


def statistic_phrase(entry: Correction) -> str:
    """``; statistic: ...`` when a result thresholds another statistic than the contrast's."""
    statistic = entry.extras.get("statistic")
    return f"; statistic: {statistic}" if isinstance(statistic, str) and statistic else ""


def cluster_map_sentence(summary: Summary) -> str | None:
    """That cluster index maps were written (None when none was)."""
    if not any(k.cluster_map for c in summary.contrasts for k in c.corrections):
        return None
    return (
        "The clusters of every correction are also written as a cluster index map (each "
        "voxel holds its cluster's number in the table, negative for clusters of negative "
        "statistics)."
    )


def effect_size_sentence(contrasts: Sequence[Any], cite: Cite) -> str | None:
    """What the tables' effect-size columns hold (None when no table has them).

    Parameters
    ----------
    contrasts : sequence of ContrastSection
        The report's contrast sections; their corrections' tables name the columns shown.
    """
    keys: set[str] = set()
    for contrast in contrasts:
        for correction in contrast.corrections:
            for table in (correction.peaks, correction.clusters):
                if table is not None:
                    keys.update(c.key for c in table.columns)
    if "effect" not in keys:
        return None
    parts = [
        "Peak tables give the contrast estimate at each peak in the units of the data with its "
        "95% confidence interval (estimate \u00b1 t(0.975, dof) \u00d7 standard error; bounds "
        "in the TSV files)"
    ]
    if "cohens_d" in keys:
        parts.append("Cohen's d (the estimate over the model's residual standard deviation)")
    if "partial_eta2" in keys:
        parts.append(
            "partial \u03b7\u00b2 for F contrasts (F\u00b7df\u2081 / (F\u00b7df\u2081 + df\u2082))"
        )
    text = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    tail = (
        "; cluster tables give the mean estimate over each cluster" if "mean_effect" in keys else ""
    )
    return f"{text} ({cite('lakens2013')}){tail}."
