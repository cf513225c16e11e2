"""``summary.json``, the results folder's contract: its types, its one writer and reader, its
JSON Schema.

The types live in :mod:`~glmreport.outputs.summary_types` and
:mod:`~glmreport.outputs.summary_model`, the writer and reader in
:mod:`~glmreport.outputs.summary_io` (on top of the checking codec,
:mod:`~glmreport.outputs.codec`), the schema generator in :mod:`~glmreport.outputs.schema`;
this module gathers what the other stages use.
"""

from __future__ import annotations

from .schema import summary_schema
from .summary_io import read_summary, summary_from_json, summary_to_json, write_summary
from .summary_model import (
    Drift,
    FirstLevelModel,
    MapInput,
    MaskInfo,
    Model,
    NonSphericityInfo,
    RunDesign,
    SecondLevelModel,
)
from .summary_qc import (
    DesignChecks,
    DesignCorrelation,
    InputCheck,
    MaskCoverage,
    PValues,
    QualityChecks,
)
from .summary_types import (
    SCHEMA_VERSION,
    AtlasRecord,
    Contrast,
    ContrastMaps,
    Correction,
    InferenceOptions,
    InputRecord,
    Provenance,
    ReportFiles,
    StudyFailure,
    StudyInfo,
    StudySubject,
    SubjectFigures,
    Summary,
)

__all__ = [
    "DesignChecks",
    "DesignCorrelation",
    "InputCheck",
    "MaskCoverage",
    "PValues",
    "QualityChecks",
    "SCHEMA_VERSION",
    "AtlasRecord",
    "Contrast",
    "ContrastMaps",
    "Correction",
    "Drift",
    "FirstLevelModel",
    "InferenceOptions",
    "InputRecord",
    "MapInput",
    "MaskInfo",
    "Model",
    "NonSphericityInfo",
    "Provenance",
    "ReportFiles",
    "StudyFailure",
    "StudyInfo",
    "StudySubject",
    "SubjectFigures",
    "RunDesign",
    "SecondLevelModel",
    "Summary",
    "read_summary",
    "summary_from_json",
    "summary_schema",
    "summary_to_json",
    "write_summary",
]
