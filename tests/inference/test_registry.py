"""The registry maps every config method name to the function that applies it."""

from __future__ import annotations

import numpy as np

from glmreport.config.specs import CorrectionSpec
from glmreport.config.vocabulary import METHODS
from glmreport.glm.results import ContrastResult
from glmreport.inference.ari import apply_ari
from glmreport.inference.context import InferenceContext
from glmreport.inference.permutation import apply_permutation
from glmreport.inference.registry import METHODS as REGISTERED
from glmreport.inference.registry import apply_correction, get_method
from glmreport.inference.rft import apply_rft
from glmreport.inference.thresholds import apply_bonferroni, apply_fdr, apply_uncorrected


def test_registry_dispatch():
    assert set(REGISTERED) == set(METHODS)
    assert get_method("uncorrected") is apply_uncorrected
    assert get_method("fdr") is apply_fdr
    assert get_method("bonferroni") is apply_bonferroni
    assert get_method("permutation") is apply_permutation
    assert get_method("ari") is apply_ari
    assert get_method("rft") is apply_rft


def test_apply_correction_runs_the_entry():
    mask = np.ones((4, 4, 4), bool)
    z = np.zeros(64)
    z[:8] = 5.0
    contrast = ContrastResult(
        name="c",
        label="c",
        stat_type="t",
        weights=np.ones((1, 1)),
        columns=("a",),
        effect=np.zeros((1, 64)),
        variance=np.ones((1, 1, 64)),
        stat=z,
        p=np.ones(64),
        z=z,
        dof=np.inf,
        df_num=1,
    )
    ctx = InferenceContext(mask=mask, affine=np.eye(4))
    (result,) = apply_correction(contrast, CorrectionSpec(method="bonferroni"), ctx)
    assert result.method == "bonferroni" and result.desc == "bonferroni"
    assert int(result.surviving.sum()) == 8
