"""The typed contents of ``summary.json``: the results folder's contract.

Every key of the file is a field of one of these frozen dataclasses (the model's in
:mod:`~glmreport.outputs.summary_model`); ``summary_io`` writes and reads them (one writer, one
reader) and ``schema`` turns them into a JSON Schema. The markers of
:mod:`~glmreport.outputs.markers` refine plain types (relative paths, any JSON value, flattened
and optional keys). Every other key is required in the file: a missing, renamed or mistyped key
is an error that names the key, never a blank in the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .markers import FLATTEN, JSON, OMIT_DEFAULT, RELPATH, JSONValue, RelPath
from .summary_model import Model
from .summary_qc import QualityChecks

#: Version of the layout of summary.json written by this glmreport. Files of glmreport 0.1
#: carry no ``schema_version`` (version 1); the reader upgrades them (``summary_io``).
SCHEMA_VERSION = 2

__all__ = [
    "FLATTEN",
    "JSON",
    "OMIT_DEFAULT",
    "RELPATH",
    "SCHEMA_VERSION",
    "JSONValue",
    "Model",
    "RelPath",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Correction:
    """One correction applied to one contrast.

    Attributes
    ----------
    method : str
        Config method name (``fdr``, ``permutation`` ...).
    desc : str
        Label of this result, unique within the contrast (``desc-`` of its files).
    route : str
        What kind of result it is, by its default label (``permMaxT``, ``rftCluster`` ...).
    title : str
        Human-readable name.
    alpha : float
    two_sided : bool
    threshold_z : float or None
        Voxel height threshold on the z scale (None: the method has none).
    threshold_stat : float or None
        The same threshold in the contrast's units (t or F).
    threshold_scale : str
        The scales the thresholds are stated on (``z and t``).
    cluster_extent : int
        Minimum cluster size in voxels (0: none).
    n_voxels, n_clusters : int
        Surviving voxels and clusters.
    map : RelPath
        Thresholded z map (0 where nothing survives).
    clusters_table, peaks_table : RelPath
    maps : mapping of str to RelPath
        Further maps of the method, by ``stat-`` label (``logpFWE``, ``tfce``, ``tdp``).
    arrays : RelPath or None
        ``.npz`` file of arrays such as a permutation null distribution.
    params : mapping of str to JSON
        Method parameters as configured.
    extras : mapping of str to JSON
        Method-specific numbers (named and formatted by ``templates/labels.yaml``).
    cluster_map : RelPath or None
        Cluster index map: each voxel holds the ``cluster_id`` of its cluster in the clusters
        table (negated for clusters of negative statistics of a two-sided test), 0 elsewhere;
        ARI: one volume per cluster-forming threshold. None: written by a glmreport without
        index maps.
    """

    method: str
    desc: str
    route: str
    title: str
    alpha: float
    two_sided: bool
    threshold_z: float | None
    threshold_stat: float | None
    threshold_scale: str
    cluster_extent: int
    n_voxels: int
    n_clusters: int
    map: RelPath
    clusters_table: RelPath
    peaks_table: RelPath
    maps: Mapping[str, RelPath]
    arrays: RelPath | None
    params: Mapping[str, JSONValue]
    extras: Mapping[str, JSONValue]
    cluster_map: RelPath | None = field(default=None, metadata={OMIT_DEFAULT: True})


@dataclass(frozen=True, slots=True, kw_only=True)
class ContrastMaps:
    """The unthresholded maps of a contrast.

    Attributes
    ----------
    effect, variance : RelPath or None
        Effect size and its variance (None for existing statistical maps).
    stat : RelPath
        The t or F statistic.
    z : RelPath
        z values of equal p.
    p : RelPath
        Uncorrected p-values.
    """

    effect: RelPath | None
    variance: RelPath | None
    stat: RelPath
    z: RelPath
    p: RelPath


@dataclass(frozen=True, slots=True, kw_only=True)
class Contrast:
    """One contrast and every correction applied to it.

    Attributes
    ----------
    name : str
        As named in the config.
    label : str
        Its ``contrast-`` label (letters and digits).
    stat_type : {'t', 'F'}
    dof : float or None
        Residual degrees of freedom (None: infinite, as for z maps).
    df_num : int
        Numerator degrees of freedom (rows of an F contrast; 1 for t).
    weights : tuple of tuple of float
        Contrast weights, one row per contrast row, aligned with ``columns``.
    columns : tuple of str
    maps : ContrastMaps
    notes : tuple of str
        Notes on the contrast (for the report's warnings).
    corrections : tuple of Correction
    conjunction : tuple of str
        A conjunction (minimum statistic of t contrasts, conjunction null): the names of its
        components, whose weights are the rows of ``weights``; empty for other contrasts.
    """

    name: str
    label: str
    stat_type: Literal["t", "F"]
    dof: float | None
    df_num: int
    weights: tuple[tuple[float, ...], ...]
    columns: tuple[str, ...]
    maps: ContrastMaps
    notes: tuple[str, ...]
    corrections: tuple[Correction, ...]
    conjunction: tuple[str, ...] = field(default=(), metadata={OMIT_DEFAULT: True})


@dataclass(frozen=True, slots=True, kw_only=True)
class InputRecord:
    """One input file and its checksum.

    Attributes
    ----------
    path : str
        Relative to the config's folder, or the file's name when it lies elsewhere.
    sha256 : str
    outside_config_folder : bool
        True when ``path`` is only the file's name (the file lies outside the config's folder).
    values : mapping of str to JSON
        The input's other columns (covariates, run and kind of a first-level file, ...).
    """

    path: str
    sha256: str
    outside_config_folder: bool = field(default=False, metadata={OMIT_DEFAULT: True})
    values: Mapping[str, JSONValue] = field(default_factory=dict, metadata={FLATTEN: True})


@dataclass(frozen=True, slots=True, kw_only=True)
class AtlasRecord:
    """An atlas asked for in the config: used (``ok``) or why not (``missing``).

    Attributes
    ----------
    name : str
        Its column name in the tables.
    status : {'ok', 'missing'}
    message : str
        Why it is missing (empty when ok).
    title, kind, source : str or None
    image, labels : str or None
        Its files (by name).
    n_labels : int
    citation, doi, licence : str
    space : str or None
        Template space of the atlas.
    space_note : str
        Note on the data's and the atlas's spaces (empty when they agree).
    """

    name: str
    status: Literal["ok", "missing"]
    message: str
    title: str
    kind: str | None
    source: str
    image: str | None
    labels: str | None
    n_labels: int
    citation: str
    doi: str
    licence: str
    space: str | None
    space_note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InferenceOptions:
    """How clusters and peaks were formed.

    Attributes
    ----------
    connectivity : int
        6, 18 or 26.
    peak_min_distance_mm : float
        Minimum distance between the peaks of a cluster.
    max_subpeaks : int
        Sub-peaks listed per cluster.
    """

    connectivity: int
    peak_min_distance_mm: float
    max_subpeaks: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """What ran, where and when.

    Attributes
    ----------
    versions : mapping of str to str
        Package versions.
    python, platform, machine : str
    started, finished : str
        ISO 8601 times (UTC).
    run_time_s : float
    seeds : mapping of str to JSON
        Random seeds by ``contrast/desc``.
    command : str or None
        The command line (shareable form).
    results_folder : str
        The results folder as the run named it (relative to the config's folder, or its name).
    """

    versions: Mapping[str, str]
    python: str
    platform: str
    machine: str
    started: str
    finished: str
    run_time_s: float
    seeds: Mapping[str, JSONValue]
    command: str | None
    results_folder: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFiles:
    """The report files last rendered into the folder.

    Attributes
    ----------
    html, pdf : RelPath or None
    """

    html: RelPath | None = None
    pdf: RelPath | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectFigures:
    """A study subject's QC figures (PNG files in ``sub-<id>/figures``).

    Attributes
    ----------
    design_matrices : mapping of str to RelPath
        Run name -> its design matrix drawn.
    framewise_displacement : mapping of str to RelPath
        Run name -> its framewise displacement by scan, the scrubbing threshold dashed (runs
        without an FD column are absent).
    glass_brains : mapping of str to RelPath
        First-level contrast name -> the glass brain of the subject's z map (``|z| >= 3.09``).
    """

    design_matrices: Mapping[str, RelPath]
    framewise_displacement: Mapping[str, RelPath]
    glass_brains: Mapping[str, RelPath]


@dataclass(frozen=True, slots=True, kw_only=True)
class StudySubject:
    """One subject of a study (``model.level: study``): its first level and where it is.

    Attributes
    ----------
    id : str
        Subject label (without ``sub-``).
    runs, scans : int
        Runs fitted and their scans in all.
    mask_voxels : int
        Voxels of the subject's mask (the intersection of its runs' brain masks).
    folder : RelPath
        Its results folder (``sub-<id>``), with its own ``summary.json``.
    mean_fd, max_fd : float or None
        Framewise displacement (mm) over its runs' scans (None without confounds).
    effects : mapping of str to RelPath
        First-level contrast name -> the effect map the group level used.
    inputs_hash : str
        sha256 of its input files' names, sizes and times and of the first-level settings:
        ``--resume`` reuses the folder while this is unchanged.
    reused : bool
        Whether ``--resume`` kept the folder of an earlier run.
    dof : float or None
        Residual degrees of freedom of its fixed effects (the sum over its runs).
    scrubbed : int or None
        Scans given a spike regressor for framewise displacement over ``scrub.fd`` (None
        without scrubbing).
    design_matrices : tuple of RelPath
        Each run's design matrix (TSV), in run order: what to look at when a subject stands
        out.
    figures : SubjectFigures or None
        Its QC figures (None: made by a run that rendered no report, or by a glmreport
        without them).
    """

    id: str
    runs: int
    scans: int
    mask_voxels: int
    folder: RelPath
    mean_fd: float | None
    max_fd: float | None
    effects: Mapping[str, RelPath]
    inputs_hash: str
    reused: bool = field(default=False, metadata={OMIT_DEFAULT: True})
    dof: float | None = field(default=None, metadata={OMIT_DEFAULT: True})
    scrubbed: int | None = field(default=None, metadata={OMIT_DEFAULT: True})
    design_matrices: tuple[RelPath, ...] = field(default=(), metadata={OMIT_DEFAULT: True})
    figures: SubjectFigures | None = field(default=None, metadata={OMIT_DEFAULT: True})


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyFailure:
    """A subject left out of the group because its first level failed (``on_error: skip``).

    Attributes
    ----------
    id : str
    error : str
        The error, naming the run.
    """

    id: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyInfo:
    """How a study's subjects were found and modelled.

    Attributes
    ----------
    dataset : str
        The BIDS dataset's name (``dataset_description.json``), else its folder name.
    task, space : str
    first_level : mapping of str to JSON value
        Every run's model (HRF, drift, noise model, smoothing, confounds, scrubbing, scaling).
    group_design : str
        The group design in words.
    covariates : tuple of str
        participants.tsv columns in the group design.
    failed : tuple of StudyFailure
    notes : tuple of str
        Discovery and confound notes (exclusions, filled n/a, flagged scans).
    """

    dataset: str
    task: str
    space: str
    first_level: Mapping[str, JSONValue]
    group_design: str
    covariates: tuple[str, ...]
    failed: tuple[StudyFailure, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """Everything ``summary.json`` holds: the contract between a run and its report.

    Attributes
    ----------
    schema_version : int
        Version of this layout (:data:`SCHEMA_VERSION`).
    glmreport_version : str
        glmreport that ran the analysis.
    title : str
    config_file : str or None
        The config, relative to its own folder (its name).
    config_text : str
        The config verbatim (capped).
    model : Model
    design_matrix : RelPath or None
        The model's design matrix (None for first-level models, see ``model.first.runs``).
    mask : RelPath
    background : RelPath or None
        Background image of the figures (None: the MNI template).
    inputs : tuple of InputRecord
    inference : InferenceOptions
    contrasts : tuple of Contrast
    atlases : tuple of AtlasRecord
    provenance : Provenance
    report : ReportFiles
    qc : QualityChecks or None
        The design, input, p-value and mask checks (None: written by a glmreport without
        them).
    subjects : tuple of StudySubject
        A study (``model.level: study``): its subjects' first levels (empty otherwise).
    study : StudyInfo or None
        A study: how its subjects were found and modelled.
    """

    schema_version: Literal[2] = SCHEMA_VERSION
    glmreport_version: str
    title: str
    config_file: str | None
    config_text: str
    model: Model
    design_matrix: RelPath | None
    mask: RelPath
    background: RelPath | None
    inputs: tuple[InputRecord, ...]
    inference: InferenceOptions
    contrasts: tuple[Contrast, ...]
    atlases: tuple[AtlasRecord, ...]
    provenance: Provenance
    report: ReportFiles
    qc: QualityChecks | None = field(default=None, metadata={OMIT_DEFAULT: True})
    subjects: tuple[StudySubject, ...] = field(default=(), metadata={OMIT_DEFAULT: True})
    study: StudyInfo | None = field(default=None, metadata={OMIT_DEFAULT: True})
