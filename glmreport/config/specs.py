"""The frozen specs a validated config is made of (built only by :mod:`.load`).

Every later stage receives these objects and trusts them: they were checked once, at the
edge. Nothing here imports a statistics, labelling or output module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .study_spec import StudySpec
from .svc import SVC_SUFFIX, SvcSpec, with_svc
from .vocabulary import StatType

if TYPE_CHECKING:  # a matrix design's table is read by the pipeline; the config needs no pandas
    import pandas as pd

#: The label of an entry's results when nothing else names it (other methods: the method name).
DEFAULT_DESC = {"permutation": "perm"}

_ROUTES = {
    "permutation": {
        "permMaxT": "MaxT",
        "permClusterSize": "ClusterSize",
        "permClusterMass": "ClusterMass",
        "permTFCE": "TFCE",
    },
    "rft": {"rft": "", "rftCluster": "Cluster"},
}
#: Methods with several results (routes), each named ``<entry desc><suffix>``, keyed by their
#: default name (the ``desc`` of a default-labelled entry); small-volume ones end in ``SVC``.
ROUTE_SUFFIXES: dict[str, dict[str, str]] = {
    m: {**r, **{k + SVC_SUFFIX: v + SVC_SUFFIX for k, v in r.items()}} for m, r in _ROUTES.items()
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdParams:
    """Parameters of an ``uncorrected``, ``fdr`` or ``bonferroni`` entry: none of their own.

    The level, sidedness and cluster extent of these methods are the entry's
    (:attr:`CorrectionSpec.alpha`, ``two_sided``, ``cluster_extent``), shared with every method.
    """

    def to_dict(self) -> dict[str, Any]:
        """The parameters as recorded in ``summary.json`` (``{}``)."""
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class PermutationParams:
    """Parameters of a ``permutation`` entry (checked by :mod:`.corrections`).

    Attributes
    ----------
    n_perm : int
        Resamples, the identity included (1 to ``MAX_RESAMPLES``).
    seed : int
        Seed of the random resamples (>= 0).
    cluster_forming_p : float or None
        Uncorrected p of the cluster-forming threshold, in (0, 1); ``None``: no cluster-size
        or cluster-mass inference.
    tfce : bool
        Whether to add threshold-free cluster enhancement.
    blocks : str or None
        Column of the inputs table holding exchangeability blocks.
    tfce_E, tfce_H : float
        TFCE extent and height exponents (> 0).
    tfce_dh : float or 'auto'
        TFCE height step (> 0), or ``'auto'`` for 100 steps.
    svc : SvcSpec or None
        A small volume: results of the region alone (null maxima inside it).
    """

    n_perm: int = 10000
    seed: int = 0
    cluster_forming_p: float | None = None
    tfce: bool = False
    blocks: str | None = None
    tfce_E: float = 0.5
    tfce_H: float = 2.0
    tfce_dh: float | Literal["auto"] = "auto"
    svc: SvcSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        """The parameters as recorded in ``summary.json``: every field (``svc`` when set)."""
        out = {
            "n_perm": self.n_perm,
            "seed": self.seed,
            "cluster_forming_p": self.cluster_forming_p,
            "tfce": self.tfce,
            "blocks": self.blocks,
            "tfce_E": self.tfce_E,
            "tfce_H": self.tfce_H,
            "tfce_dh": self.tfce_dh,
        }
        return with_svc(out, self.svc)


@dataclass(frozen=True, slots=True, kw_only=True)
class AriParams:
    """Parameters of an ``ari`` entry (checked by :mod:`.corrections`).

    Attributes
    ----------
    thresholds : tuple of float
        Cluster-forming z thresholds (> 0), kept sorted ascending without repeats.
    """

    thresholds: tuple[float, ...] = (2.5, 3.5, 4.5)

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", tuple(sorted({float(t) for t in self.thresholds})))

    def to_dict(self) -> dict[str, Any]:
        """The parameters as recorded in ``summary.json``."""
        return {"thresholds": list(self.thresholds)}


@dataclass(frozen=True, slots=True, kw_only=True)
class RftParams:
    """Parameters of an ``rft`` entry (checked by :mod:`.corrections`).

    Attributes
    ----------
    cluster_forming_p : float
        Uncorrected p of the cluster-forming height, in (0, 1).
    fwhm_mm : tuple of 3 float or None
        Smoothness (FWHM along x, y, z, mm) to use instead of the estimate from the residuals;
        required for ``model.level: maps``.
    svc : SvcSpec or None
        A small volume: results of the region alone (its resels, the whole mask's smoothness).
    """

    cluster_forming_p: float = 0.001
    fwhm_mm: tuple[float, float, float] | None = None
    svc: SvcSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        """The parameters as recorded in ``summary.json`` (``svc`` when set)."""
        fwhm = None if self.fwhm_mm is None else [float(v) for v in self.fwhm_mm]
        return with_svc({"cluster_forming_p": self.cluster_forming_p, "fwhm_mm": fwhm}, self.svc)


#: The typed parameters of one correction entry.
CorrectionParams = ThresholdParams | PermutationParams | AriParams | RftParams

#: Method name -> the class of its parameters.
PARAMS_CLASSES: dict[str, type[CorrectionParams]] = {
    "uncorrected": ThresholdParams,
    "fdr": ThresholdParams,
    "bonferroni": ThresholdParams,
    "permutation": PermutationParams,
    "ari": AriParams,
    "rft": RftParams,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectionSpec:
    """One validated entry of the config's ``corrections`` list.

    Attributes
    ----------
    method : str
        ``uncorrected``, ``fdr``, ``bonferroni``, ``permutation``, ``ari`` or ``rft``.
    alpha : float
        Level of the test (FWE, FDR or uncorrected), in (0, 1).
    two_sided : bool
    cluster_extent : int
        Minimum cluster size in voxels (0 = none).
    contrasts : tuple of str or None
        Contrast names this entry applies to; ``None`` means all.
    params : ThresholdParams, PermutationParams, AriParams or RftParams
        The method's own parameters, of the class :data:`PARAMS_CLASSES` gives for
        ``method``; default: that class's defaults.
    desc : str
        Label of the entry's results (letters and digits), unique within the config: the
        results' ``desc`` for one-result methods, the prefix of each route's name for
        permutation and rft (see :meth:`result_desc`). Default: the method name (``perm`` for
        permutation), as when the method appears once in the config.

    Raises
    ------
    TypeError
        ``params`` of another method's class (a programming error: the config builds the
        right one).
    """

    method: str
    alpha: float = 0.05
    two_sided: bool = False
    cluster_extent: int = 0
    contrasts: tuple[str, ...] | None = None
    params: CorrectionParams | None = None
    desc: str = ""

    def __post_init__(self) -> None:
        if not self.desc:
            object.__setattr__(self, "desc", DEFAULT_DESC.get(self.method, self.method))
        kind = PARAMS_CLASSES.get(self.method)
        if kind is None:
            return  # an unknown method is refused by the config and by the registry
        if self.params is None:
            object.__setattr__(self, "params", kind())
        elif not isinstance(self.params, kind):
            raise TypeError(
                f"a '{self.method}' correction takes {kind.__name__}, not "
                f"{type(self.params).__name__}"
            )

    @property
    def svc(self) -> SvcSpec | None:
        """The entry's small volume (``rft`` and ``permutation`` only; None: whole mask)."""
        return getattr(self.params, "svc", None)

    def routes(self) -> tuple[str, ...]:
        """The results this entry yields, by their default names (``permMaxT``, ``fdr`` ...);
        with a small volume only small-volume ones (``rftSVC``, ``permMaxTSVC`` ...)."""
        tail = SVC_SUFFIX if self.svc is not None else ""
        if isinstance(self.params, PermutationParams):
            out = ["permMaxT"]
            if self.params.cluster_forming_p is not None:
                out += ["permClusterSize", "permClusterMass"]
            if self.params.tfce:
                out.append("permTFCE")
            return tuple(r + tail for r in out)
        return tuple(r + tail for r in _ROUTES.get(self.method, {self.method: ""}))

    def result_desc(self, route: str) -> str:
        """The ``desc`` of this entry's result on ``route`` (a default name, e.g. ``permMaxT``).

        One-result methods: the entry's ``desc``; permutation and rft: the entry's ``desc``
        followed by the route's suffix (``MaxT``, ``ClusterSize``, ``ClusterMass``, ``TFCE``;
        ``""`` and ``Cluster`` for rft; then ``SVC`` for a small volume): ``permMaxT``, ``rftSVC``.
        """
        suffixes = ROUTE_SUFFIXES.get(self.method)
        return self.desc + (suffixes[route] if suffixes else "")


#: What a contrast definition may be (see :mod:`glmreport.glm.contrasts`).
ContrastDefinition = (
    str | list[str] | dict[str, float] | list[dict[str, float]] | list[float] | list[list[float]]
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContrastSpec:
    """One contrast as written in the config.

    Attributes
    ----------
    name : str
        Name as written by the user.
    stat_type : {'t', 'F'}
    definition : str, list of str, dict of str -> float, list of float or list of list of float
        Expression(s), ``{column: weight}`` mapping(s), or full-width weights.
    where : str
        YAML path of the entry (e.g. ``contrasts[2]``), used in error messages.
    conjunction : tuple of str
        A conjunction: the t contrasts it joins (also its ``definition``); else empty.
    """

    name: str
    stat_type: StatType
    definition: ContrastDefinition
    where: str = ""
    conjunction: tuple[str, ...] = ()


DesignKind = Literal["one-sample", "two-sample", "paired", "anova", "formula", "matrix"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignSpec:
    """A validated second-level design request.

    Attributes
    ----------
    kind : {'one-sample', 'two-sample', 'paired', 'anova', 'formula', 'matrix'}
    group : str or None
        Table column holding the group of a two-sample design.
    levels : tuple of str or None
        Order of the two levels of ``group`` (two-sample) or ``condition`` (paired); the first
        level is coded 1. Default: sorted unique values as strings.
    condition : str or None
        Table column holding the condition of a paired design.
    subject : str or None
        Table column holding the subject of a paired or ANOVA design.
    factors : tuple of str
        Table columns crossed in an ANOVA design.
    formula : str or None
        Wilkinson formula (right-hand side only) of a ``formula`` design.
    matrix : DataFrame or None
        User design matrix of a ``matrix`` design, one row per input.
    covariates : tuple of str
        Table columns appended as covariates.
    center_covariates : bool
        Whether covariates are mean-centred.
    """

    kind: DesignKind
    group: str | None = None
    levels: tuple[str, ...] | None = None
    condition: str | None = None
    subject: str | None = None
    factors: tuple[str, ...] = ()
    formula: str | None = None
    matrix: pd.DataFrame | None = None
    covariates: tuple[str, ...] = ()
    center_covariates: bool = True


AtlasSource = Literal["registry", "templateflow", "file", "fsl"]
AtlasKind = Literal["auto", "deterministic", "probabilistic"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AtlasSpec:
    """One validated entry of the config's ``atlases`` list.

    Attributes
    ----------
    name : str
        Column name in the tables (the friendly name for registry entries, the user's
        ``name`` otherwise). Unique within a run.
    source : {'registry', 'templateflow', 'file', 'fsl'}
    registry_key : str or None
        Key in ``atlases/registry.json`` (source ``registry``).
    templateflow : dict or None
        ``template``, ``atlas`` (required), ``desc``, ``resolution`` (default 2) and optional
        ``suffix`` (``dseg`` or ``probseg``; default from ``kind``) (source ``templateflow``).
    file : Path or None
        NIfTI image, 3D integer labels or 4D probabilities (source ``file``).
    labels : Path or None
        Label names: TSV/CSV with ``index`` and ``name`` columns, FSL XML, or a text lookup
        table ``index name [r g b [a]]``. For ``file`` atlases; for ``templateflow`` /
        ``registry`` atlases it replaces TemplateFlow's own TSV.
    fsl : str or None
        Atlas XML name under ``$FSLDIR/data/atlases`` without ``.xml``, e.g.
        ``HarvardOxford-Cortical`` (source ``fsl``).
    kind : {'auto', 'deterministic', 'probabilistic'}
        ``auto``: 3D images are deterministic, 4D probabilistic; FSL atlases follow their XML
        ``type``. ``deterministic`` on an FSL probabilistic atlas uses its max-prob summary.
    space : str or None
        Template of the atlas (e.g. ``MNI152NLin6Asym``) for ``file`` atlases; registry,
        TemplateFlow and FSL atlases know their own.
    where : str
        YAML path of the entry for messages, e.g. ``atlases[1]``.
    """

    name: str
    source: AtlasSource
    registry_key: str | None = None
    templateflow: dict[str, Any] | None = None
    file: Path | None = None
    labels: Path | None = None
    fsl: str | None = None
    kind: AtlasKind = "auto"
    space: str | None = None
    where: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class InputsSpec:
    """Where the second-level inputs come from.

    Attributes
    ----------
    kind : {'table', 'list', 'glob'}
    table : Path or None
        TSV/CSV file with a ``path`` column (``kind == 'table'``).
    rows : tuple of dict
        Inline rows, each with ``path`` (``kind == 'list'``).
    pattern : str or None
        Glob pattern relative to ``base_dir`` (``kind == 'glob'``).
    base_dir : Path
        Folder that relative paths are resolved against.
    """

    kind: str
    table: Path | None = None
    rows: tuple[dict[str, Any], ...] = ()
    pattern: str | None = None
    base_dir: Path = Path(".")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpec:
    """One first-level run."""

    name: str
    bold: Path
    events: Path | None = None
    confounds: Path | None = None
    confound_columns: tuple[str, ...] | None = None
    design: Path | None = None
    design_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MapSpec:
    """One existing statistical map for ``model.level: maps``."""

    name: str
    path: Path
    stat: str
    dof: float | None = None
    df_num: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelConfig:
    """The ``model`` section.

    Attributes
    ----------
    level : {'second', 'first', 'maps', 'study'}
    inputs, design, participants : InputsSpec, DesignSpec, Path or None
        Second level only; ``participants.tsv``'s columns join the inputs on their ``sub``.
    design_matrix : Path or None
        The TSV of an explicit ``{matrix: ...}`` design.
    smoothing_fwhm : float
        Isotropic Gaussian FWHM in mm (0 = none).
    mask : 'auto' or Path
    space : str or None
        Template space the data are in (used to check atlases), e.g. ``MNI152NLin2009cAsym``.
    t_r, slice_time_ref, runs, hrf, fir_delays, drift_model, high_pass, drift_order, noise_model
        First level only.
    maps : tuple of MapSpec (``level: maps`` only)
    nonsphericity : bool
        Within-subject ANOVA: fit whitened by the ReML estimate of the error covariance.
    study : StudySpec or None
        ``level: study`` only (dataset, first-level model, group model).
    """

    level: str
    inputs: InputsSpec | None = None
    design: DesignSpec | None = None
    design_matrix: Path | None = None
    smoothing_fwhm: float = 0.0
    mask: str | Path = "auto"
    space: str | None = "MNI152NLin2009cAsym"
    t_r: float | None = None
    slice_time_ref: float = 0.0
    runs: tuple[RunSpec, ...] = ()
    hrf: str = "glover"
    fir_delays: tuple[int, ...] = (0,)
    drift_model: str | None = "cosine"
    high_pass: float = 0.01
    drift_order: int = 1
    noise_model: str = "ar1"
    per_run_outputs: bool = False
    maps: tuple[MapSpec, ...] = ()
    nonsphericity: bool = False
    study: StudySpec | None = None
    participants: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterOptions:
    """How clusters and peaks are tabulated."""

    connectivity: int = 26
    min_distance_mm: float = 8.0
    max_subpeaks: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportOptions:
    """Which report formats to write."""

    formats: tuple[str, ...] = ("html",)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """A validated run-config.

    Attributes
    ----------
    source : Path or None
        The YAML file it was read from.
    text : str
        The YAML verbatim (for provenance).
    """

    title: str
    output: Path | None
    model: ModelConfig
    contrasts: tuple[ContrastSpec, ...]
    corrections: tuple[CorrectionSpec, ...]
    two_sided: bool = False
    clusters: ClusterOptions = field(default_factory=ClusterOptions)
    atlases: tuple[AtlasSpec, ...] = ()
    report: ReportOptions = field(default_factory=ReportOptions)
    source: Path | None = None
    text: str = ""
