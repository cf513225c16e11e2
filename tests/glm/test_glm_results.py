"""The frozen results of model fitting: DesignMatrix, GLMFit, ContrastResult."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from glmreport.glm.results import ContrastResult, DesignMatrix, GLMFit


def test_design_matrix():
    design = DesignMatrix(matrix=np.arange(6.0).reshape(3, 2), columns=("a", "b"))
    assert design.shape == (3, 2)
    frame = design.to_frame()
    assert list(frame.columns) == ["a", "b"]
    np.testing.assert_array_equal(frame["b"], [1.0, 3.0, 5.0])
    assert design.row_labels == () and design.nuisance == () and design.description == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        design.columns = ("x", "y")  # type: ignore[misc]


def test_fit_and_contrast_are_frozen_records():
    design = DesignMatrix(matrix=np.ones((4, 1)), columns=("intercept",))
    fit = GLMFit(
        design=design,
        betas=np.zeros((1, 5)),
        sigma2=np.ones(5),
        dof=3.0,
        cov_unscaled=np.full((1, 1), 0.25),
    )
    assert fit.noise_model == "ols" and fit.groups is None
    contrast = ContrastResult(
        name="mean",
        label="mean",
        stat_type="t",
        weights=np.ones((1, 1)),
        columns=("intercept",),
        effect=np.zeros((1, 5)),
        variance=np.ones((1, 1, 5)),
        stat=np.zeros(5),
        p=np.full(5, 0.5),
        z=np.zeros(5),
        dof=3.0,
        df_num=1,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        contrast.name = "other"  # type: ignore[misc]
    assert dataclasses.replace(contrast, name="other").name == "other"
