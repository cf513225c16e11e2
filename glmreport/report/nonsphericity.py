"""The non-sphericity estimate of a within-subject ANOVA in the report: its view model (the
table the design section shows) and its methods paragraph, read from
``model.second.nonsphericity`` of the summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..outputs.summary import NonSphericityInfo, Summary
from .filters import fmt_int, fmt_num

#: ``selection`` of an estimate pooled over every in-mask voxel.
ALL_VOXELS = "all in-mask voxels"
#: Fewer voxels passing the omnibus F than this pool every in-mask voxel instead.
MIN_POOLED = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class NonSphericityView:
    """The non-sphericity estimate of a within-subject ANOVA, ready to show.

    Attributes
    ----------
    levels : tuple of str
        The within-subject cells (row and column headers of ``covariance``).
    covariance : tuple of tuple of str
        The estimated covariance between the cells, formatted.
    epsilons : tuple of (str, str)
        Greenhouse-Geisser epsilon of all the cells and of each effect, formatted.
    facts : tuple of (str, str)
        Degrees of freedom, voxels pooled and how they were chosen, passes, convergence.
    """

    levels: tuple[str, ...]
    covariance: tuple[tuple[str, ...], ...]
    epsilons: tuple[tuple[str, str], ...]
    facts: tuple[tuple[str, str], ...]


def info_of(summary: Summary) -> NonSphericityInfo | None:
    """The estimate, when the model was fitted with non-sphericity correction."""
    second = summary.model.second
    return second.nonsphericity if second is not None else None


def _selection_text(info: NonSphericityInfo) -> str:
    if info.selection == ALL_VOXELS:
        return (
            f"all {fmt_int(info.n_voxels_pooled)} in-mask voxels (fewer than "
            f"{fmt_int(MIN_POOLED)} voxels passed the omnibus F test of the effects of interest "
            "at p < 0.001)"
        )
    rule = info.selection.replace("omnibus F p<", "")
    return (
        f"the {fmt_int(info.n_voxels_pooled)} voxels whose omnibus F test of the effects of "
        f"interest passed p < {rule}"
    )


def nonsphericity_view(summary: Summary) -> NonSphericityView | None:
    """The table of the estimate (None without non-sphericity correction)."""
    info = info_of(summary)
    if info is None:
        return None
    epsilons = [("all cells", f"{info.epsilon_gg:.3f}")]
    epsilons += [(name, f"{v:.3f}") for name, v in info.epsilon_by_effect.items()]
    facts = (
        ("Residual dof (whitened model)", fmt_num(info.dof)),
        ("Voxels pooled", _selection_text(info)),
        (
            "Passes",
            f"{fmt_int(info.iterations)}, {'converged' if info.converged else 'NOT converged'}",
        ),
    )
    return NonSphericityView(
        levels=info.levels,
        covariance=tuple(tuple(fmt_num(round(v, 4)) for v in row) for row in info.covariance),
        epsilons=tuple(epsilons),
        facts=facts,
    )


def nonsphericity_paragraph(summary: Summary, cite: Callable[..., str]) -> str | None:
    """The methods paragraph of the correction (None without it).

    Parameters
    ----------
    summary : Summary
    cite : callable
        ``cite(*keys)`` returns the in-text citation and records the works cited.
    """
    info = info_of(summary)
    if info is None:
        return None
    k = len(info.levels)
    text = (
        f"Non-sphericity correction: the error covariance between the {k} within-subject "
        "cells was modelled, as in SPM, with one variance per cell and one covariance per pair "
        f"of cells within subject ({cite('friston2002', 'glaser2007')}), and estimated by "
        f"restricted maximum likelihood from the data of {_selection_text(info)}, each voxel "
        "scaled to unit residual variance. Departing from SPM's single pass, the voxels were "
        "re-selected and re-scaled under the estimated covariance until the selection was "
        f"stable ({fmt_int(info.iterations)} passes"
        f"{'' if info.converged else ', not converged'}): on null data with non-spherical "
        "errors, SPM's single pass left a t contrast at 7.2% false positives for a nominal 5%. "
        "The model was refitted on data whitened by the inverse square root of the estimate "
        f"(generalised least squares), leaving {fmt_num(info.dof)} residual degrees of "
        "freedom for its t and F tests. With subject columns in the design only the "
        "within-subject part of the covariance is identified. The Greenhouse\u2013Geisser "
        f"epsilon of the estimate ({cite('greenhouse1959')}), a diagnostic of the departure "
        f"from sphericity (1 = spherical), was {info.epsilon_gg:.3f} over all "
        "cells"
    )
    if info.epsilon_by_effect:
        parts = [f"{name} {v:.3f}" for name, v in info.epsilon_by_effect.items()]
        text += f" ({'; '.join(parts)})"
    return text + "."
