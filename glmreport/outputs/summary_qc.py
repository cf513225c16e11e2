"""The quality checks of ``summary.json`` (``qc``): the design's collinearity and efficiency,
the inputs' distance from the group, the contrasts' p values and the mask's coverage.

Computed by the run (:mod:`glmreport.pipeline.qc`, from :mod:`glmreport.glm.design_qc` and
:mod:`glmreport.glm.qc`), drawn by the report. Non-finite numbers are written as ``null``
(JSON has no infinity): each field says what ``null`` means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .markers import OMIT_DEFAULT


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignCorrelation:
    """Pearson correlation between the columns of a design.

    Attributes
    ----------
    columns : tuple of str
    matrix : tuple of tuple of float or None
        One row per column; ``null`` in the row and column of a constant column (the
        intercept), whose correlation is undefined.
    note : str
        What ``null`` means here ("" when no column is constant).
    """

    columns: tuple[str, ...]
    matrix: tuple[tuple[float | None, ...], ...]
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignChecks:
    """Collinearity and efficiency of one design matrix.

    Attributes
    ----------
    vif : mapping of str to float or None
        Variance inflation factor of every non-constant column (statsmodels'
        ``variance_inflation_factor``); ``null``: infinite (the column is a combination of the
        others).
    efficiency : mapping of str to float or None
        By contrast name, ``1 / c (X'X)⁺ c'`` (F contrasts: ``q / trace(C (X'X)⁺ C')``);
        ``null``: the contrast is not estimable on this design (or not defined on it).
    correlation : DesignCorrelation
    """

    vif: Mapping[str, float | None]
    efficiency: Mapping[str, float | None]
    correlation: DesignCorrelation


@dataclass(frozen=True, slots=True, kw_only=True)
class InputCheck:
    """One input's distance from the group (``glm.qc.input_outliers``).

    Attributes
    ----------
    input : int
        Its position in ``inputs`` (0-based).
    leverage : float
        Diagonal of the design's hat matrix.
    measure : float or None
        Mean squared studentised residual over the voxels (about 1 for a typical input);
        ``null`` for an input fitted exactly (leverage 1).
    robust_z : float or None
        Modified z-score of ``log(measure)`` among the inputs (Iglewicz & Hoaglin 1993);
        ``null`` with fewer than 3 measures.
    flagged : bool
        ``|robust_z|`` above ``QualityChecks.outlier_threshold``.
    """

    input: int
    leverage: float
    measure: float | None
    robust_z: float | None
    flagged: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PValues:
    """Histogram of one contrast's uncorrected p values over the mask.

    Attributes
    ----------
    counts : tuple of int
        Voxels in each of ``len(counts)`` equal bins over [0, 1].
    pi0 : float or None
        Storey's estimate of the proportion of null voxels (λ = 0.5); about 1 without signal.
    n : int
        p values counted.
    sided : str
        Which p values: ``two-sided`` (t contrasts) or ``upper tail`` (F).
    """

    counts: tuple[int, ...]
    pi0: float | None
    n: int
    sided: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MaskCoverage:
    """How the analysis mask covers the template brain (``glm.qc.mask_coverage``).

    Attributes
    ----------
    template : str
        The template brain mask compared with.
    fraction_covered : float
        Fraction of the template brain's voxels inside the analysis mask.
    n_template_voxels, n_mask_voxels : int
    n_outside : int
        Analysis-mask voxels outside the template brain.
    fraction_outside : float or None
        ``n_outside / n_mask_voxels`` (``null`` for an empty mask).
    """

    template: str
    fraction_covered: float
    n_template_voxels: int
    n_mask_voxels: int
    n_outside: int
    fraction_outside: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityChecks:
    """The checks of a run: design, inputs, p values, mask.

    Attributes
    ----------
    vif, efficiency : mapping of str to float or None
        Of the model's design (second level; see :class:`DesignChecks`); empty at the first
        level, whose designs are the runs'.
    correlation : DesignCorrelation or None
        Of the model's design (second level).
    runs : mapping of str to DesignChecks
        First level: the checks of each run's design, by run name.
    outliers : tuple of InputCheck
        One per input (second level; empty otherwise).
    outlier_threshold : float
        ``|robust_z|`` beyond which an input is flagged.
    p_values : mapping of str to PValues
        By contrast name.
    mask_coverage : MaskCoverage or None
        None when the data are not in the template's space (or their space is not recorded).
    notes : tuple of str
        What was not checked, and why.
    """

    vif: Mapping[str, float | None]
    efficiency: Mapping[str, float | None]
    correlation: DesignCorrelation | None
    runs: Mapping[str, DesignChecks] = field(default_factory=dict, metadata={OMIT_DEFAULT: True})
    outliers: tuple[InputCheck, ...]
    outlier_threshold: float
    p_values: Mapping[str, PValues]
    mask_coverage: MaskCoverage | None
    notes: tuple[str, ...] = ()
