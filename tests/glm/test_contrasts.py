"""Contrast parsing, estimability, t/F statistics, tail precision and labels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from glmreport.config.specs import ContrastSpec
from glmreport.errors import ContrastError
from glmreport.glm.contrasts import (
    check_estimable,
    compute_contrast,
    contrast_weights,
    estimate_contrast,
    make_label,
)
from glmreport.glm.ols import fit_ols
from glmreport.glm.pvalues import z_from_logp
from glmreport.glm.results import DesignMatrix, GLMFit

COLUMNS = ("left", "right", "a", "b", "c", "intercept", "age")


def _w(definition: object, stat_type: str = "t", columns=COLUMNS) -> np.ndarray:
    spec = ContrastSpec(name="x", stat_type=stat_type, definition=definition, where="contrasts[0]")
    return contrast_weights(spec, columns)


# ---------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("left - right", [1, -1, 0, 0, 0, 0, 0]),
        ("0.5*a + 0.5*b - c", [0, 0, 0.5, 0.5, -1, 0, 0]),
        ("(a + b)/2 - c", [0, 0, 0.5, 0.5, -1, 0, 0]),
        ("intercept", [0, 0, 0, 0, 0, 1, 0]),
        ("-age", [0, 0, 0, 0, 0, 0, -1]),
        ("2*(left - right) + right", [2, -1, 0, 0, 0, 0, 0]),
        ("left*3 - 1.5e0*right", [3, -1.5, 0, 0, 0, 0, 0]),
        ("a + a", [0, 0, 2, 0, 0, 0, 0]),
        ("-(a - b) / 4", [0, 0, -0.25, 0.25, 0, 0, 0]),
    ],
)
def test_expressions(expression: str, expected: list[float]) -> None:
    weights = _w(expression)
    assert weights.shape == (1, len(COLUMNS))
    np.testing.assert_allclose(weights[0], expected, rtol=0, atol=1e-15)


def test_names_with_spaces_brackets_and_dashes() -> None:
    columns = ("vertical vs horizontal", "rest", "group[T.b]", "sub-01", "sub-02", "sub-1")
    np.testing.assert_array_equal(
        _w("`vertical vs horizontal` - rest", columns=columns)[0], [1, -1, 0, 0, 0, 0]
    )
    np.testing.assert_array_equal(
        _w("vertical vs horizontal - rest", columns=columns)[0], [1, -1, 0, 0, 0, 0]
    )
    np.testing.assert_array_equal(_w("-group[T.b]", columns=columns)[0], [0, 0, -1, 0, 0, 0])
    np.testing.assert_array_equal(_w("sub-01 - sub-02", columns=columns)[0], [0, 0, 0, 1, -1, 0])
    # longest name first: "sub-1" does not swallow the start of "sub-10"-like names
    np.testing.assert_array_equal(_w("sub-1", columns=columns)[0], [0, 0, 0, 0, 0, 1])


def test_mapping_vector_and_matrix() -> None:
    np.testing.assert_array_equal(_w({"left": 1, "right": -1})[0], [1, -1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(_w([1, 0, 0, 0, 0, 0, -1])[0], [1, 0, 0, 0, 0, 0, -1])
    f = _w(["left - right", "a - b"], "F")
    np.testing.assert_array_equal(f, [[1, -1, 0, 0, 0, 0, 0], [0, 0, 1, -1, 0, 0, 0]])
    m = _w([[1, 0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0]], "F")
    assert m.shape == (2, 7)
    f2 = _w([{"a": 1}, {"b": 1}], "F")
    np.testing.assert_array_equal(f2[:, 2:4], np.eye(2))


def test_wrong_width_is_refused_never_padded() -> None:
    with pytest.raises(
        ContrastError,
        match=r"contrasts\[0\]: contrast 'x': has 2 weight\(s\) but the design has 7 column\(s\)"
        r".*never padded",
    ):
        _w([1, -1])
    with pytest.raises(ContrastError, match=r"row 2 has 3 weight"):
        _w([[1, 0, 0, 0, 0, 0, 0], [1, 0, 0]], "F")


def test_unknown_column_suggests() -> None:
    with pytest.raises(ContrastError, match=r"unknown column 'lefft'.*Did you mean 'left'\?"):
        _w("lefft - right")
    with pytest.raises(ContrastError, match=r"unknown column 'rigth'.*Did you mean 'right'\?"):
        _w({"rigth": 1})
    with pytest.raises(ContrastError, match=r"unknown column 'ag e'"):
        _w("`ag e`")


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("left - left", "all zero"),
        ("left + 1", "constant term"),
        ("left * right", "product of two columns"),
        ("left / right", "division by a column"),
        ("left / 0", "division by zero"),
        ("(left - right", "missing '\\)'"),
        ("left -", "ends too early"),
        ("left right", "unexpected 'right' at position 6"),
        ("left $ right", "unexpected character '\\$'"),
        ("", "empty"),
        ([True, False, 0, 0, 0, 0, 0], "cannot read"),
        ([1, 0, 0, 0, 0, 0, float("nan")], "finite"),
    ],
)
def test_malformed(definition: object, message: str) -> None:
    with pytest.raises(ContrastError, match=message):
        _w(definition)


def test_t_with_several_rows_is_refused() -> None:
    with pytest.raises(ContrastError, match="a t contrast is a single row; got 2 rows"):
        _w(["left", "right"], "t")


# ---------------------------------------------------------------------------- estimability


def test_estimability_paired_and_anova() -> None:
    # paired: condition indicator + 3 subject columns (full rank here)
    paired = np.array(
        [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 0], [1, 0, 0, 1], [0, 0, 0, 1.0]]
    )
    check_estimable(np.array([[1.0, 0, 0, 0]]), paired)
    # cell means + subjects: a single cell mean is confounded with the subject means
    cells = np.kron(np.ones((3, 1)), np.eye(2))
    subjects = np.kron(np.eye(3), np.ones((2, 1)))
    anova = np.hstack([cells, subjects])
    check_estimable(np.array([[1.0, -1, 0, 0, 0]]), anova)
    with pytest.raises(ContrastError, match="contrast 'cell': not estimable on this design"):
        check_estimable(np.array([[1.0, 0, 0, 0, 0]]), anova, name="cell")
    with pytest.raises(ContrastError, match=r"row\(s\) 2 are not"):
        check_estimable(np.array([[1.0, -1, 0, 0, 0], [0, 0, 1, 0, 0]]), anova)


def test_compute_contrast_checks_estimability() -> None:
    cells = np.kron(np.ones((3, 1)), np.eye(2))
    subjects = np.kron(np.eye(3), np.ones((2, 1)))
    design = DesignMatrix(matrix=np.hstack([cells, subjects]), columns=("x", "y", "s1", "s2", "s3"))
    fit = fit_ols(np.random.default_rng(0).standard_normal((6, 4)), design)
    with pytest.raises(ContrastError, match="'only x': not estimable"):
        compute_contrast(
            fit, np.array([[1.0, 0, 0, 0, 0]]), name="only x", label="x", stat_type="t"
        )


# ------------------------------------------------------------------------------ statistics


def test_one_sample_t_by_hand() -> None:
    rng = np.random.default_rng(3)
    y = rng.standard_normal((12, 40)) + 0.5
    fit = fit_ols(y, DesignMatrix(matrix=np.ones((12, 1)), columns=("intercept",)))
    res = compute_contrast(fit, np.array([[1.0]]), name="mean", label="mean", stat_type="t")
    mean, sd = y.mean(0), y.std(0, ddof=1)
    t = mean / (sd / np.sqrt(12))
    np.testing.assert_allclose(res.effect[0], mean, rtol=1e-12)
    np.testing.assert_allclose(res.variance[0, 0], sd**2 / 12, rtol=1e-12)
    np.testing.assert_allclose(res.stat, t, rtol=1e-12)
    np.testing.assert_allclose(res.p, stats.t.sf(t, 11), rtol=1e-10)
    np.testing.assert_allclose(res.z, stats.norm.isf(stats.t.sf(t, 11)), rtol=1e-9, atol=1e-12)
    assert res.effect.shape == (1, 40) and res.variance.shape == (1, 1, 40)
    assert res.dof == 11.0 and res.df_num == 1 and res.columns == ("intercept",)


def test_f_of_one_row_is_t_squared() -> None:
    rng = np.random.default_rng(4)
    x = np.column_stack([np.ones(15), rng.standard_normal(15)])
    y = rng.standard_normal((15, 25))
    fit = fit_ols(y, DesignMatrix(matrix=x, columns=("intercept", "age")))
    c = np.array([[0.0, 1.0]])
    t = compute_contrast(fit, c, name="a", label="a", stat_type="t")
    f = compute_contrast(fit, c, name="a", label="a", stat_type="F")
    np.testing.assert_allclose(f.stat, t.stat**2, rtol=1e-12)
    # two-sided t p equals F p
    np.testing.assert_allclose(f.p, 2 * stats.t.sf(np.abs(t.stat), 13), rtol=1e-10)


def test_f_with_redundant_rows_uses_rank() -> None:
    rng = np.random.default_rng(5)
    x = np.kron(np.eye(3), np.ones((5, 1)))
    y = rng.standard_normal((15, 30))
    fit = fit_ols(y, DesignMatrix(matrix=x, columns=("a", "b", "c")))
    two = np.array([[1.0, -1, 0], [0, 1, -1]])
    three = np.vstack([two, [[1.0, 0, -1]]])
    r2 = compute_contrast(fit, two, name="f", label="f", stat_type="F")
    r3 = compute_contrast(fit, three, name="f", label="f", stat_type="F")
    assert r3.df_num == 2
    np.testing.assert_allclose(r3.stat, r2.stat, rtol=1e-10)
    # one-way ANOVA F statistic
    ref = stats.f_oneway(y[:5], y[5:10], y[10:])
    np.testing.assert_allclose(r2.stat, ref.statistic, rtol=1e-10)
    np.testing.assert_allclose(r2.p, ref.pvalue, rtol=1e-8)


def test_several_voxel_groups() -> None:
    rng = np.random.default_rng(6)
    p, v = 3, 40
    betas = rng.standard_normal((p, v))
    sigma2 = rng.uniform(0.5, 2.0, v)
    a = rng.standard_normal((2, 6, p))
    cov = np.einsum("gni,gnj->gij", a, a)  # two positive-definite groups
    cov = np.linalg.inv(cov)
    groups = rng.integers(0, 2, v)
    design = DesignMatrix(matrix=rng.standard_normal((10, p)), columns=("x", "y", "z"))
    fit = GLMFit(
        design=design, betas=betas, sigma2=sigma2, dof=7.0, cov_unscaled=cov, groups=groups
    )
    c = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    t = compute_contrast(fit, c[:1], name="t", label="t", stat_type="t")
    f = compute_contrast(fit, c, name="f", label="f", stat_type="F")
    for k in range(v):
        s = cov[groups[k]]
        e = c @ betas[:, k]
        var = c @ s @ c.T * sigma2[k]
        np.testing.assert_allclose(f.variance[:, :, k], var, rtol=1e-12)
        np.testing.assert_allclose(f.stat[k], e @ np.linalg.solve(var, e) / 2, rtol=1e-10)
        np.testing.assert_allclose(t.stat[k], e[0] / np.sqrt(var[0, 0]), rtol=1e-12)
    np.testing.assert_allclose(f.p, stats.f.sf(f.stat, 2, 7), rtol=1e-9)


def test_estimate_contrast_is_compute_contrast_without_statistics() -> None:
    rng = np.random.default_rng(16)
    p, v = 3, 30
    a = rng.standard_normal((3, 6, p))
    cov = np.linalg.inv(np.einsum("gni,gnj->gij", a, a))
    design = DesignMatrix(matrix=rng.standard_normal((10, p)), columns=("x", "y", "z"))
    for groups in (rng.integers(0, 3, v), None):
        fit = GLMFit(
            design=design,
            betas=rng.standard_normal((p, v)),
            sigma2=rng.uniform(0.5, 2.0, v),
            dof=7.0,
            cov_unscaled=cov if groups is not None else cov[:1],
            groups=groups,
        )
        for c, stat_type in (([[1.0, -1.0, 0.0]], "t"), ([[1.0, 0, 0], [0, 0, 1.0]], "F")):
            full = compute_contrast(fit, np.array(c), name="c", label="c", stat_type=stat_type)
            est = estimate_contrast(fit, np.array(c), name="c", label="c", stat_type=stat_type)
            np.testing.assert_array_equal(est.effect, full.effect)
            np.testing.assert_array_equal(est.variance, full.variance)
            np.testing.assert_array_equal(est.weights, full.weights)
            assert (est.name, est.label, est.stat_type, est.columns, est.dof) == (
                full.name,
                full.label,
                full.stat_type,
                full.columns,
                full.dof,
            )
    with pytest.raises(ContrastError, match="not estimable|weight"):
        estimate_contrast(fit, np.array([[1.0, 0.0]]), name="c", label="c", stat_type="t")


def test_zero_variance_voxels() -> None:
    y = np.zeros((6, 3))
    y[:, 1] = 2.0
    y[:, 2] = [0.1, 0.5, -0.2, 0.3, 0.4, 0.2]
    fit = fit_ols(y, DesignMatrix(matrix=np.ones((6, 1)), columns=("intercept",)))
    for stat_type in ("t", "F"):
        res = compute_contrast(fit, np.array([[1.0]]), name="m", label="m", stat_type=stat_type)
        np.testing.assert_array_equal(res.stat[:2], 0.0)
        np.testing.assert_array_equal(res.p[:2], 1.0)
        np.testing.assert_array_equal(res.z[:2], 0.0)
        assert res.stat[2] > 0 and np.isfinite(res.z[2])


def test_far_tails_beyond_50() -> None:
    # t = 1e150 with dof 15: z = 101.56038609348725 (60-digit reference), p underflows to 0
    res = compute_contrast(
        _one_sample_fit(np.array([1e150, 0.0])),
        np.array([[1.0]]),
        name="m",
        label="m",
        stat_type="t",
    )
    np.testing.assert_allclose(res.z[0], 101.56038609348725, rtol=1e-12)
    assert res.p[0] == 0.0
    assert res.z[1] == 0.0 and res.p[1] == 0.5
    f = compute_contrast(
        _one_sample_fit(np.array([0.0])), np.array([[1.0]]), name="f", label="f", stat_type="F"
    )
    assert f.stat[0] == 0.0 and f.p[0] == 1.0 and f.z[0] == 0.0


def test_wrong_width_in_compute_contrast() -> None:
    fit = fit_ols(
        np.ones((4, 2)) + np.arange(4)[:, None],
        DesignMatrix(matrix=np.ones((4, 1)), columns=("intercept",)),
    )
    with pytest.raises(ContrastError, match="2 weight"):
        compute_contrast(fit, np.array([[1.0, 0.0]]), name="w", label="w", stat_type="t")


# ----------------------------------------------------------------------------- tail precision

# Reference z values computed with 60-digit arithmetic (mpmath: regularized incomplete beta,
# then the normal quantile of the same tail probability).
T_TAILS = [
    (200.0, 10.784358341305098),
    (1e21, 37.489993944318785),
    (-1e21, -37.489993944318785),
    (1e25, 41.007690972250749),
    (-40.0, -8.2862178027960981),
]


def _one_sample_fit(betas: np.ndarray) -> GLMFit:
    """A one-sample fit with n = 16 (dof 15) where t equals the beta."""
    design = DesignMatrix(matrix=np.ones((16, 1)), columns=("intercept",))
    return GLMFit(
        design=design,
        betas=np.asarray(betas, dtype=float)[None, :],
        sigma2=np.full(len(betas), 16.0),
        dof=15.0,
        cov_unscaled=np.full((1, 1, 1), 1 / 16),
    )


def test_t_z_in_the_tails() -> None:
    values = np.array([t for t, _ in T_TAILS])
    res = compute_contrast(
        _one_sample_fit(values), np.array([[1.0]]), name="m", label="m", stat_type="t"
    )
    np.testing.assert_allclose(res.stat, values, rtol=1e-15)
    np.testing.assert_allclose(res.z, [z for _, z in T_TAILS], rtol=1e-12)
    assert np.all(np.isfinite(res.z))
    np.testing.assert_allclose(res.p[0], stats.t.sf(200.0, 15), rtol=1e-10)
    assert res.p[3] == 0.0  # p underflows; z does not


def test_f_z_in_the_tails() -> None:
    # three orthogonal indicator columns, 6 rows each: X'X = 6 I, dof 15; with sigma2 = 2,
    # F = |c beta|^2 for c = I.
    design = DesignMatrix(matrix=np.kron(np.eye(3), np.ones((6, 1))), columns=("a", "b", "c"))
    betas = np.zeros((3, 3))
    betas[0] = [1e20, 1e-15, np.sqrt(2.5)]
    fit = GLMFit(
        design=design,
        betas=betas,
        sigma2=np.full(3, 2.0),
        dof=15.0,
        cov_unscaled=np.eye(3)[None] / 6,
    )
    res = compute_contrast(fit, np.eye(3), name="f", label="f", stat_type="F")
    np.testing.assert_allclose(res.stat, [1e40, 1e-30, 2.5], rtol=1e-12)
    np.testing.assert_allclose(
        res.z, [36.688049675569492, -14.119030644845004, 1.2868004557224222], rtol=1e-12
    )


def test_z_from_logp() -> None:
    np.testing.assert_allclose(z_from_logp(np.log(stats.norm.sf(5.0))), 5.0, rtol=1e-13)
    np.testing.assert_allclose(z_from_logp(np.log(0.5)), 0.0, atol=1e-15)
    # far beyond double precision p: log p = -1000 -> z ~ 44.5
    z = z_from_logp(np.array([-1000.0]))
    np.testing.assert_allclose(stats.norm.logsf(z), -1000.0, rtol=1e-12)
    # lower tail from log(1 - p)
    low = stats.norm.logcdf(-30.0)
    z = z_from_logp(np.log1p(-np.exp(low)), log1mp=low)
    np.testing.assert_allclose(z, -30.0, rtol=1e-13)


# ---------------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("left vs right", "leftVsRight"),
        ("Button press", "buttonPress"),
        ("faces > houses", "facesHouses"),
        ("BOLD effect", "BOLDEffect"),
        ("group[T.b]", "groupTB"),
        ("café-au-lait", "cafeAuLait"),
        ("***", "contrast"),
    ],
)
def test_make_label(name: str, label: str) -> None:
    assert make_label(name, set()) == label


def test_make_label_unique() -> None:
    taken = {"leftVsRight", "leftvsright2"}
    assert make_label("left vs right", taken) == "leftVsRight3"
    assert taken == {"leftVsRight", "leftvsright2"}
