"""The model part of the results contract: what every level shares and what only one has.

``Model`` holds a part common to every level and exactly one level part (``first``,
``second`` or ``maps``, the one named by ``level``); see :mod:`~glmreport.outputs.summary_types`
for the rest of ``summary.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .markers import OMIT_DEFAULT, RelPath


@dataclass(frozen=True, slots=True, kw_only=True)
class MaskInfo:
    """The analysis mask.

    Attributes
    ----------
    source : str
        ``auto`` or the mask file given in the config (shareable form).
    rule : str
        How the mask was made, in words.
    n_voxels : int
        Voxels in the mask.
    """

    source: str
    rule: str
    n_voxels: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """The drift model of a first-level design.

    Attributes
    ----------
    model : str
        ``cosine``, ``polynomial`` or ``none``.
    high_pass : float or None
        High-pass cut-off in Hz (cosine).
    order : int or None
        Polynomial order.
    """

    model: str
    high_pass: float | None
    order: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDesign:
    """The design matrix of one run.

    Attributes
    ----------
    name : str
        Run name.
    design_matrix : RelPath
        Its TSV file.
    """

    name: str
    design_matrix: RelPath


@dataclass(frozen=True, slots=True, kw_only=True)
class FirstLevelModel:
    """What only a first-level model has.

    Attributes
    ----------
    n_scans : tuple of int
        Scans per run.
    t_r : float
        Repetition time in seconds.
    slice_time_ref : float
        Reference slice time, as a fraction of the repetition time.
    hrf : str
        Haemodynamic response model.
    drift : Drift
    ar1 : str or None
        How the AR(1) noise model was estimated (None for OLS).
    signal_scaling : str
    fixed_effects : str
        How runs are combined.
    design_notes : mapping of str to tuple of str
        Notes on each run's design (run name -> notes).
    runs : tuple of RunDesign
    """

    n_scans: tuple[int, ...]
    t_r: float
    slice_time_ref: float
    hrf: str
    drift: Drift
    ar1: str | None
    signal_scaling: str
    fixed_effects: str
    design_notes: Mapping[str, tuple[str, ...]]
    runs: tuple[RunDesign, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NonSphericityInfo:
    """The error covariance of a within-subject ANOVA fitted with non-sphericity correction.

    Attributes
    ----------
    levels : tuple of str
        The within-subject cells, in the order of ``covariance``.
    covariance : tuple of tuple of float
        Estimated covariance of one subject's inputs between the cells, on the scale of the
        error covariance ``V`` (trace = number of inputs). With subject columns only its
        within-subject part is identified: a covariance common to every pair of cells (a
        between-subject variance) changes no test.
    epsilon_gg : float
        Greenhouse-Geisser epsilon of ``covariance`` over every contrast of the cells (1:
        spherical; at least 1 / (cells - 1)).
    epsilon_by_effect : mapping of str to float
        Epsilon of each main effect and interaction (``A``, ``A x B``) with several factors.
    dof : float
        Residual degrees of freedom of the whitened model.
    n_voxels_pooled : int
        Voxels whose data were pooled for the estimate.
    selection : str
        Which voxels: ``omnibus F p<0.001`` or ``all in-mask voxels`` (fewer than 1000 passed).
    iterations : int
        Passes of pooling and estimation (re-selected under the estimate until stable).
    converged : bool
    hyperparameters : mapping of str to float
        The covariance components' weights (``var(a)``, ``cov(a,b)``).
    """

    levels: tuple[str, ...]
    covariance: tuple[tuple[float, ...], ...]
    epsilon_gg: float
    epsilon_by_effect: Mapping[str, float]
    dof: float
    n_voxels_pooled: int
    selection: str
    iterations: int
    converged: bool
    hyperparameters: Mapping[str, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class SecondLevelModel:
    """What only a second-level model has.

    Attributes
    ----------
    rank : int
        Rank of the design matrix.
    nonsphericity : NonSphericityInfo or None
        The non-sphericity estimate (``model.nonsphericity: true``); None for OLS.
    """

    rank: int
    nonsphericity: NonSphericityInfo | None = field(default=None, metadata={OMIT_DEFAULT: True})


@dataclass(frozen=True, slots=True, kw_only=True)
class MapInput:
    """One existing statistical map read as a contrast (``level: maps``).

    Attributes
    ----------
    name : str
    stat : {'t', 'F', 'z'}
    dof : float or None
        Degrees of freedom (None for z maps).
    """

    name: str
    stat: Literal["t", "F", "z"]
    dof: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Model:
    """The fitted model: a part common to every level and the part of its level.

    Attributes
    ----------
    level : {'first', 'second', 'maps'}
    design : str
        The design in words.
    n_inputs : int
        Images (second level), runs (first level) or maps.
    columns : tuple of str
        Design columns.
    nuisance_columns : tuple of str
        Columns of no interest.
    dof : float or None
        Residual degrees of freedom (None for existing maps).
    smoothing_fwhm : float
        Smoothing kernel in mm (0: none).
    mask : MaskInfo
    space : str or None
        Template space of the data (None: not recorded).
    noise_model : str or None
        ``ols``, ``ar1`` or ``nonsphericity`` (None for existing maps).
    voxel_size : tuple of 3 float
        Voxel size in mm.
    shape : tuple of 3 int
        Grid shape.
    first : FirstLevelModel or None
        Present exactly when ``level`` is ``first``.
    second : SecondLevelModel or None
        Present exactly when ``level`` is ``second``.
    maps : tuple of MapInput or None
        Present exactly when ``level`` is ``maps``.
    """

    level: Literal["first", "second", "maps"]
    design: str
    n_inputs: int
    columns: tuple[str, ...]
    nuisance_columns: tuple[str, ...]
    dof: float | None
    smoothing_fwhm: float
    mask: MaskInfo
    space: str | None
    noise_model: str | None
    voxel_size: tuple[float, float, float]
    shape: tuple[int, int, int]
    first: FirstLevelModel | None = None
    second: SecondLevelModel | None = None
    maps: tuple[MapInput, ...] | None = None
