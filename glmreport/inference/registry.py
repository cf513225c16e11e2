"""Dispatch from a correction entry to the function that applies it.

Every correction method is a function ``apply(contrast, spec, ctx) -> list[CorrectionResult]``
living in its own module; this registry is the only place that maps config method names to
them, so a new method plugs in here and nowhere else.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from ..config.specs import CorrectionSpec
from ..glm.results import ContrastResult
from .context import InferenceContext
from .results import CorrectionResult

#: config method name (:data:`glmreport.config.vocabulary.METHODS`) -> "module:function"
#: (imported lazily).
METHODS: dict[str, str] = {
    "uncorrected": "glmreport.inference.thresholds:apply_uncorrected",
    "fdr": "glmreport.inference.thresholds:apply_fdr",
    "bonferroni": "glmreport.inference.thresholds:apply_bonferroni",
    "permutation": "glmreport.inference.permutation:apply_permutation",
    "ari": "glmreport.inference.ari:apply_ari",
    "rft": "glmreport.inference.rft:apply_rft",
}


ApplyFunction = Callable[[ContrastResult, CorrectionSpec, InferenceContext], list[CorrectionResult]]


def get_method(method: str) -> ApplyFunction:
    """Return the function that applies correction ``method``.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`.
    """
    module_name, func_name = METHODS[method].split(":")
    return getattr(importlib.import_module(module_name), func_name)


def apply_correction(
    contrast: ContrastResult, spec: CorrectionSpec, ctx: InferenceContext
) -> list[CorrectionResult]:
    """Apply one correction entry to one contrast.

    Returns
    -------
    list of CorrectionResult
        One per inference route (a permutation entry yields max-T, cluster size, cluster mass
        and TFCE results). An entry with a small volume (``svc``) yields the method's results
        inside its region (:func:`glmreport.inference.svc.apply_svc`).
    """
    if spec.svc is not None:
        from .svc import apply_svc

        return apply_svc(contrast, spec, ctx)
    return get_method(spec.method)(contrast, spec, ctx)
