"""Second-level OLS statistics against statsmodels and nilearn on the same inputs.

Four designs built by :func:`glmreport.glm.design.build_design` (one-sample, two-sample,
paired, 3 x 3 within-subject ANOVA) are fitted to seeded synthetic images on a 10 x 12 x 8
grid. statsmodels ``OLS`` is checked at 20 voxels (relative 1e-9), nilearn's
``SecondLevelModel`` on every in-mask voxel (max absolute difference 1e-9; both agree to
~1e-13 in practice).
"""

from __future__ import annotations

from dataclasses import dataclass

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy.linalg import sqrtm

from glmreport.config.specs import ContrastSpec, DesignSpec
from glmreport.glm.contrasts import compute_contrast, contrast_weights
from glmreport.glm.design import build_design
from glmreport.glm.ols import fit_ols
from glmreport.glm.results import ContrastResult, DesignMatrix

SHAPE = (10, 12, 8)
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
RTOL_STATSMODELS = 1e-9
ATOL_NILEARN = 1e-9


@dataclass(frozen=True)
class Case:
    design: DesignMatrix
    data: np.ndarray  # (n, v)
    contrasts: tuple[ContrastSpec, ...]


def _mask() -> np.ndarray:
    ijk = np.indices(SHAPE).astype(float)
    centre = (np.array(SHAPE) - 1) / 2
    r2 = sum(((ijk[d] - centre[d]) / (SHAPE[d] / 2)) ** 2 for d in range(3))
    return r2 < 1.0


MASK = _mask()
N_VOXELS = int(MASK.sum())


def _signal(rng: np.random.Generator, scale: float) -> np.ndarray:
    """A smooth-ish spatial pattern over the in-mask voxels."""
    return scale * rng.standard_normal(N_VOXELS)


def _one_sample() -> Case:
    rng = np.random.default_rng(10)
    n = 12
    table = pd.DataFrame({"path": [f"sub-{i:02d}.nii.gz" for i in range(n)]})
    data = 0.4 + _signal(rng, 0.3) + rng.standard_normal((n, N_VOXELS))
    design = build_design(table, DesignSpec(kind="one-sample"))
    return Case(design, data, (ContrastSpec(name="mean", stat_type="t", definition="intercept"),))


def _two_sample() -> Case:
    rng = np.random.default_rng(11)
    groups = ["patient"] * 7 + ["control"] * 6
    table = pd.DataFrame(
        {
            "path": [f"sub-{i:02d}.nii.gz" for i in range(13)],
            "group": groups,
            "age": rng.uniform(20, 60, 13),
        }
    )
    spec = DesignSpec(
        kind="two-sample", group="group", levels=("patient", "control"), covariates=("age",)
    )
    design = build_design(table, spec)
    effect = _signal(rng, 0.8)
    data = rng.standard_normal((13, N_VOXELS)) + design.matrix[:, 1:2] * effect
    data += 0.02 * design.matrix[:, 2:3]
    contrasts = (
        ContrastSpec(name="patient > control", stat_type="t", definition="group"),
        ContrastSpec(name="age", stat_type="t", definition="-age"),
    )
    return Case(design, data, contrasts)


def _paired() -> Case:
    rng = np.random.default_rng(12)
    subjects = [f"{i:02d}" for i in range(8)]
    table = pd.DataFrame(
        {
            "path": [f"sub-{s}_cond-{c}.nii.gz" for s in subjects for c in ("a", "b")],
            "sub": [s for s in subjects for _ in range(2)],
            "cond": ["a", "b"] * 8,
        }
    )
    design = build_design(table, DesignSpec(kind="paired", condition="cond", subject="sub"))
    subject_means = rng.standard_normal((8, N_VOXELS)) * 2.0
    data = np.repeat(subject_means, 2, axis=0) + rng.standard_normal((16, N_VOXELS))
    data += design.matrix[:, :1] * _signal(rng, 0.7)
    contrasts = (ContrastSpec(name="a > b", stat_type="t", definition="cond"),)
    return Case(design, data, contrasts)


def _anova() -> Case:
    rng = np.random.default_rng(13)
    subjects = [f"{i}" for i in range(1, 6)]
    rows = [
        {"path": f"s{s}_{a}_{b}.nii.gz", "subj": s, "load": a, "task": b}
        for s in subjects
        for a in ("1", "2", "3")
        for b in ("x", "y", "z")
    ]
    table = pd.DataFrame(rows)
    design = build_design(table, DesignSpec(kind="anova", factors=("load", "task"), subject="subj"))
    cells = design.matrix[:, :9]
    cell_effects = rng.standard_normal((9, N_VOXELS)) * 0.5
    subject_means = rng.standard_normal((5, N_VOXELS))
    data = cells @ cell_effects + design.matrix[:, 9:] @ subject_means
    data += rng.standard_normal(data.shape)
    interaction = [
        f"load_{i}_{j} - load_{i}_{jn} - load_{i_n}_{j} + load_{i_n}_{jn}"
        for i, i_n in (("1", "2"), ("2", "3"))
        for j, jn in (("x", "y"), ("y", "z"))
    ]
    interaction = [e.replace("load_", "") for e in interaction]
    contrasts = (
        ContrastSpec(
            name="load 1 > 3",
            stat_type="t",
            definition="(1_x + 1_y + 1_z)/3 - (3_x + 3_y + 3_z)/3",
        ),
        ContrastSpec(name="task x > z at load 2", stat_type="t", definition="2_x - 2_z"),
        ContrastSpec(name="interaction", stat_type="F", definition=interaction),
        ContrastSpec(
            name="main effect of task",
            stat_type="F",
            definition=["1_x + 2_x + 3_x - 1_y - 2_y - 3_y", "1_y + 2_y + 3_y - 1_z - 2_z - 3_z"],
        ),
    )
    return Case(design, data, contrasts)


CASES = {
    "one-sample": _one_sample,
    "two-sample": _two_sample,
    "paired": _paired,
    "anova": _anova,
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request: pytest.FixtureRequest) -> tuple[Case, list[ContrastResult]]:
    case = CASES[request.param]()
    fit = fit_ols(case.data, case.design)
    results = []
    for spec in case.contrasts:
        weights = contrast_weights(spec, case.design.columns)
        results.append(
            compute_contrast(
                fit, weights, name=spec.name, label=spec.name, stat_type=spec.stat_type
            )
        )
    return case, results


def test_anova_design_columns() -> None:
    design = _anova().design
    assert design.columns[:9] == tuple(f"{a}_{b}" for a in "123" for b in "xyz")
    assert design.columns[9:] == tuple(f"subj-{s}" for s in range(1, 6))
    assert np.linalg.matrix_rank(design.matrix) == 13


# ---------------------------------------------------------------------------------- statsmodels


# the ANOVA design (cell means + subject means) is rank-deficient by construction
@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
def test_against_statsmodels(case: tuple[Case, list[ContrastResult]]) -> None:
    sm = pytest.importorskip("statsmodels.api")
    data, design = case[0].data, case[0].design
    voxels = np.random.default_rng(0).choice(N_VOXELS, 20, replace=False)
    for res in case[1]:
        for k in voxels:
            ols = sm.OLS(data[:, k], design.matrix).fit()
            assert ols.df_resid == res.dof
            if res.stat_type == "t":
                ref = ols.t_test(res.weights)
                t = float(np.squeeze(ref.tvalue))
                p_two = float(np.squeeze(ref.pvalue))
                p_one = p_two / 2 if t > 0 else 1 - p_two / 2
                np.testing.assert_allclose(
                    res.effect[0, k], float(np.squeeze(ref.effect)), rtol=RTOL_STATSMODELS
                )
                np.testing.assert_allclose(
                    res.variance[0, 0, k], float(np.squeeze(ref.sd)) ** 2, rtol=RTOL_STATSMODELS
                )
                np.testing.assert_allclose(res.stat[k], t, rtol=RTOL_STATSMODELS)
                np.testing.assert_allclose(res.p[k], p_one, rtol=RTOL_STATSMODELS)
            else:
                ref = ols.f_test(res.weights)
                np.testing.assert_allclose(
                    res.effect[:, k], res.weights @ ols.params, rtol=RTOL_STATSMODELS
                )
                np.testing.assert_allclose(
                    res.variance[:, :, k],
                    ols.cov_params(r_matrix=res.weights),
                    rtol=RTOL_STATSMODELS,
                )
                np.testing.assert_allclose(
                    res.stat[k], float(np.squeeze(ref.fvalue)), rtol=RTOL_STATSMODELS
                )
                np.testing.assert_allclose(
                    res.p[k], float(np.squeeze(ref.pvalue)), rtol=RTOL_STATSMODELS
                )
                assert res.df_num == ref.df_num


# -------------------------------------------------------------------------------------- nilearn


def _images(data: np.ndarray) -> list[nib.Nifti1Image]:
    images = []
    for row in data:
        vol = np.zeros(SHAPE)
        vol[MASK] = row
        img = nib.Nifti1Image(vol, AFFINE)
        img.set_data_dtype(np.float64)
        images.append(img)
    return images


def _nilearn_model(data: np.ndarray, frame: pd.DataFrame):
    from nilearn.glm.second_level import SecondLevelModel

    mask_img = nib.Nifti1Image(MASK.astype(np.uint8), AFFINE)
    model = SecondLevelModel(mask_img=mask_img, smoothing_fwhm=None)
    return model.fit(_images(data), design_matrix=frame)


def test_against_nilearn(case: tuple[Case, list[ContrastResult]]) -> None:
    pytest.importorskip("nilearn")
    data, design = case[0].data, case[0].design
    keep = np.ones(len(design.columns), dtype=bool)
    if np.linalg.matrix_rank(design.matrix) < len(design.columns):
        # nilearn divides the residual sum of squares by n - n_columns rather than n - rank
        # (see test_nilearn_rank_deficient_variance); give it the same model in a full-rank
        # parameterisation: dropping the last subject column leaves the column space, and
        # every cell-difference contrast, unchanged.
        keep[-1] = False
        assert np.linalg.matrix_rank(design.matrix[:, keep]) == keep.sum()
    model = _nilearn_model(data, design.to_frame().loc[:, keep])
    for res in case[1]:
        assert np.all(res.weights[:, ~keep] == 0)
        weights = res.weights[:, keep]
        contrast = weights[0] if res.stat_type == "t" else weights
        out = model.compute_contrast(
            contrast, second_level_stat_type=res.stat_type, output_type="all"
        )
        maps = {key: np.asarray(img.get_fdata())[MASK] for key, img in out.items()}
        np.testing.assert_allclose(res.stat, maps["stat"], rtol=0, atol=ATOL_NILEARN)
        np.testing.assert_allclose(res.z, maps["z_score"], rtol=0, atol=ATOL_NILEARN)
        np.testing.assert_allclose(res.p, maps["p_value"], rtol=0, atol=ATOL_NILEARN)
        if res.stat_type == "t":
            np.testing.assert_allclose(res.effect[0], maps["effect_size"], atol=ATOL_NILEARN)
            np.testing.assert_allclose(
                res.variance[0, 0], maps["effect_variance"], atol=ATOL_NILEARN
            )
        else:
            # nilearn stores the whitened effect (c Σ c')^(-1/2) c β and the residual
            # variance σ² for F contrasts.
            x = design.matrix[:, keep]
            ccov = weights @ np.linalg.inv(x.T @ x) @ weights.T
            whitened = np.real(sqrtm(np.linalg.inv(ccov))) @ res.effect
            nilearn_effect = np.moveaxis(np.asarray(out["effect_size"].get_fdata()), -1, 0)
            nilearn_effect = nilearn_effect[:, MASK]
            np.testing.assert_allclose(whitened, nilearn_effect, atol=ATOL_NILEARN)
            sigma2 = res.variance[0, 0] / ccov[0, 0]
            np.testing.assert_allclose(sigma2, maps["effect_variance"], atol=ATOL_NILEARN)


def test_nilearn_rank_deficient_variance() -> None:
    """On the rank-deficient ANOVA design nilearn's variance is ours times (n - r) / (n - p).

    Both use t/F distributions with n - rank(X) degrees of freedom (as statsmodels does), but
    nilearn estimates the residual variance as RSS / (n - p) with p the number of columns.
    """
    pytest.importorskip("nilearn")
    case = _anova()
    n, p = case.design.shape
    r = np.linalg.matrix_rank(case.design.matrix)
    assert (n, p, r) == (45, 14, 13)
    fit = fit_ols(case.data, case.design)
    spec = case.contrasts[0]
    res = compute_contrast(
        fit, contrast_weights(spec, case.design.columns), name="a", label="a", stat_type="t"
    )
    model = _nilearn_model(case.data, case.design.to_frame())
    out = model.compute_contrast(res.weights[0], second_level_stat_type="t", output_type="all")
    np.testing.assert_allclose(out["effect_size"].get_fdata()[MASK], res.effect[0], atol=1e-10)
    np.testing.assert_allclose(
        out["effect_variance"].get_fdata()[MASK],
        res.variance[0, 0] * (n - r) / (n - p),
        rtol=1e-10,
    )
