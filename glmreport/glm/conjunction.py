"""Conjunctions of t contrasts: the minimum statistic under the conjunction null.

A conjunction asks where *every* one of several effects is present. Nichols et al. (2005)
test it with the minimum statistic: at each voxel the smallest of the components' statistics
(z = the voxel-wise minimum of their z, p = the maximum of their one-sided p). Compared with
the threshold that one component alone would need, the minimum is a valid test of the
*conjunction null* -- "not every effect is real" -- whatever the other components do, because
the minimum exceeds a threshold only where the component that is null exceeds it (the
intersection-union test). It is not a test of the global null ("no effect at all"), which
asks less and would use a lower threshold.

When every component has the same degrees of freedom (one model), the minimum t is the t of
the minimum z; otherwise the statistic is reported on the z scale (``dof = inf``).

Reference: Nichols T, Brett M, Andersson J, Wager T, Poline J-B (2005). Valid conjunction
inference with the minimum statistic. NeuroImage 25:653-660.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config.specs import ContrastSpec
from ..errors import ContrastError
from .contrasts import make_label
from .results import ContrastResult

__all__ = ["add_conjunctions", "conjunction_contrast"]


def conjunction_contrast(
    components: Sequence[ContrastResult], *, name: str, label: str
) -> ContrastResult:
    """The minimum-statistic conjunction of t contrasts.

    Parameters
    ----------
    components : sequence of ContrastResult
        Two or more t contrasts over the same voxels and design columns.
    name, label : str
        The conjunction's name and file-name label.

    Returns
    -------
    ContrastResult
        ``stat_type == 't'``; ``z`` the voxel-wise minimum of the components' z, ``p`` the
        maximum of their p, ``stat`` the minimum t (equal degrees of freedom; otherwise the
        minimum z and ``dof = inf``); ``weights``, ``effect`` and the diagonal of
        ``variance`` stack the components' (one row each; the covariances between components
        are not computed: NaN); ``conjunction`` their names.

    Raises
    ------
    ContrastError
        Fewer than two components, an F contrast or a conjunction among them, or components
        of different voxels or columns.
    """
    parts = list(components)
    if len(parts) < 2:
        raise ContrastError(f"conjunction '{name}' needs at least two t contrasts.")
    first = parts[0]
    for part in parts:
        if part.stat_type != "t" or part.conjunction:
            raise ContrastError(
                f"conjunction '{name}': '{part.name}' is not a t contrast; a conjunction joins "
                "t contrasts."
            )
        if part.z.shape != first.z.shape or tuple(part.columns) != tuple(first.columns):
            raise ContrastError(
                f"conjunction '{name}': '{part.name}' and '{first.name}' are not over the same "
                "voxels and design columns (first level: contrasts of different runs); a "
                "conjunction joins contrasts of one model."
            )
    z = np.stack([np.asarray(c.z, dtype=np.float64) for c in parts])
    p = np.stack([np.asarray(c.p, dtype=np.float64) for c in parts])
    same_dof = len({float(c.dof) for c in parts}) == 1
    if same_dof:
        stat, dof = _nan_min(np.stack([np.asarray(c.stat, np.float64) for c in parts])), first.dof
    else:
        stat, dof = _nan_min(z), float("inf")
    k, v = len(parts), z.shape[1]
    variance = np.full((k, k, v), np.nan)
    for i, c in enumerate(parts):
        variance[i, i] = np.asarray(c.variance, dtype=np.float64)[0, 0]
    return ContrastResult(
        name=name,
        label=label,
        stat_type="t",
        weights=np.vstack([np.atleast_2d(c.weights) for c in parts]),
        columns=tuple(first.columns),
        effect=np.vstack([np.atleast_2d(c.effect) for c in parts]),
        variance=variance,
        stat=stat,
        p=_nan_max(p),
        z=_nan_min(z),
        dof=float(dof),
        df_num=1,
        conjunction=tuple(c.name for c in parts),
    )


def _nan_min(values: np.ndarray) -> np.ndarray:
    """Minimum over the first axis; NaN where any component is NaN (nothing to conclude)."""
    return np.where(np.isnan(values).any(axis=0), np.nan, np.min(values, axis=0))


def _nan_max(values: np.ndarray) -> np.ndarray:
    """Maximum over the first axis; NaN where any component is NaN."""
    return np.where(np.isnan(values).any(axis=0), np.nan, np.max(values, axis=0))


def add_conjunctions(
    specs: Sequence[ContrastSpec], contrasts: Sequence[ContrastResult]
) -> list[ContrastResult]:
    """The computed contrasts followed by the conjunctions of ``specs`` made from them.

    Parameters
    ----------
    specs : sequence of ContrastSpec
        The config's contrasts; those with ``conjunction`` are made here, in config order.
    contrasts : sequence of ContrastResult
        The computed contrasts (their names are the specs' names).

    Returns
    -------
    list of ContrastResult
        ``contrasts``, then one conjunction per conjunction spec, labelled uniquely.

    Raises
    ------
    ContrastError
        A component that was not computed.
    """
    by_name = {c.name: c for c in contrasts}
    taken = {c.label for c in contrasts}
    out = list(contrasts)
    for spec in specs:
        if not spec.conjunction:
            continue
        missing = [n for n in spec.conjunction if n not in by_name]
        if missing:
            raise ContrastError(
                f"{spec.where}: conjunction '{spec.name}' needs the t contrast "
                f"'{missing[0]}', which was not computed."
            )
        label = make_label(spec.name, taken)
        taken.add(label)
        out.append(
            conjunction_contrast(
                [by_name[n] for n in spec.conjunction], name=spec.name, label=label
            )
        )
    return out
