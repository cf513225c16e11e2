"""Second-level design matrices: column names, coding and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glmreport.config.specs import DesignSpec
from glmreport.errors import DesignError
from glmreport.glm.design import build_design


def _paths(n: int) -> list[str]:
    return [f"/data/img-{i:02d}.nii.gz" for i in range(n)]


@pytest.fixture
def two_group_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": _paths(6),
            "group": ["patient", "control", "patient", "control", "patient", "control"],
            "age": [20.0, 30.0, 40.0, 25.0, 35.0, 30.0],
            "site": ["a", "b", "a", "b", "a", "b"],
        }
    )


@pytest.fixture
def paired_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": _paths(6),
            "sub": ["01", "01", "02", "02", "03", "03"],
            "cond": ["pre", "post", "post", "pre", "pre", "post"],
        }
    )


def test_one_sample(two_group_table: pd.DataFrame) -> None:
    design = build_design(two_group_table, DesignSpec(kind="one-sample"))
    assert design.columns == ("intercept",)
    assert design.matrix.dtype == np.float64
    np.testing.assert_array_equal(design.matrix, np.ones((6, 1)))
    assert design.row_labels[0] == "img-00.nii.gz"
    assert design.nuisance == ()
    assert design.description == "one-sample t-test"


def test_two_sample_default_levels(two_group_table: pd.DataFrame) -> None:
    design = build_design(two_group_table, DesignSpec(kind="two-sample", group="group"))
    assert design.columns == ("intercept", "group")
    # sorted levels: control first -> coded 1
    np.testing.assert_array_equal(design.matrix[:, 1], [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(design.matrix[:, 0], np.ones(6))


def test_two_sample_explicit_levels(two_group_table: pd.DataFrame) -> None:
    spec = DesignSpec(kind="two-sample", group="group", levels=("patient", "control"))
    design = build_design(two_group_table, spec)
    np.testing.assert_array_equal(design.matrix[:, 1], [1, 0, 1, 0, 1, 0])
    assert "patient vs control" in design.description


def test_two_sample_needs_two_levels(two_group_table: pd.DataFrame) -> None:
    table = two_group_table.assign(group=["a", "b", "c", "a", "b", "c"])
    with pytest.raises(DesignError, match=r"exactly 2 levels; found 3: \['a', 'b', 'c'\]"):
        build_design(table, DesignSpec(kind="two-sample", group="group"))


def test_two_sample_levels_must_cover_values(two_group_table: pd.DataFrame) -> None:
    spec = DesignSpec(kind="two-sample", group="group", levels=("patient", "contrl"))
    with pytest.raises(DesignError, match="outside levels"):
        build_design(two_group_table, spec)


def test_unknown_group_column_suggests(two_group_table: pd.DataFrame) -> None:
    with pytest.raises(DesignError, match=r"'grup'.*available columns.*Did you mean 'group'\?"):
        build_design(two_group_table, DesignSpec(kind="two-sample", group="grup"))


def test_paired(paired_table: pd.DataFrame) -> None:
    spec = DesignSpec(kind="paired", condition="cond", subject="sub", levels=("post", "pre"))
    design = build_design(paired_table, spec)
    assert design.columns == ("cond", "sub-01", "sub-02", "sub-03")
    assert design.nuisance == ("sub-01", "sub-02", "sub-03")
    np.testing.assert_array_equal(design.matrix[:, 0], [0, 1, 1, 0, 0, 1])
    np.testing.assert_array_equal(design.matrix[:, 1:].sum(axis=1), np.ones(6))
    np.testing.assert_array_equal(design.matrix[:, 2], [0, 0, 1, 1, 0, 0])


def test_paired_unbalanced_names_subject(paired_table: pd.DataFrame) -> None:
    table = paired_table.assign(cond=["pre", "post", "post", "post", "pre", "post"])
    spec = DesignSpec(kind="paired", condition="cond", subject="sub")
    with pytest.raises(DesignError, match=r"subject '02'.*0 input\(s\) for 'post'|subject '02'"):
        build_design(table, spec)


def test_paired_unknown_subject_column(paired_table: pd.DataFrame) -> None:
    spec = DesignSpec(kind="paired", condition="cond", subject="subject")
    with pytest.raises(DesignError, match=r"subject column 'subject'.*Did you mean 'sub'\?"):
        build_design(paired_table, spec)


def test_anova_within_subject_columns() -> None:
    rows = [
        {"path": f"s{s}_{a}_{b}", "subj": s, "A": a, "B": b}
        for s in (1, 2)
        for a in ("x", "y")
        for b in ("lo", "hi", "mid")
    ]
    table = pd.DataFrame(rows)
    design = build_design(table, DesignSpec(kind="anova", factors=("A", "B"), subject="subj"))
    assert design.columns == (
        "x_hi",
        "x_lo",
        "x_mid",
        "y_hi",
        "y_lo",
        "y_mid",
        "subj-1",
        "subj-2",
    )
    assert design.nuisance == ("subj-1", "subj-2")
    # each row has exactly one cell and one subject
    np.testing.assert_array_equal(design.matrix[:, :6].sum(axis=1), np.ones(12))
    np.testing.assert_array_equal(design.matrix[:, 6:].sum(axis=1), np.ones(12))
    assert design.matrix[table.index[(table.A == "y") & (table.B == "mid")][0], 5] == 1.0
    assert np.linalg.matrix_rank(design.matrix) == 7  # cells + subjects - 1


def test_anova_empty_cell() -> None:
    table = pd.DataFrame({"path": _paths(3), "A": ["x", "x", "y"], "B": ["1", "2", "1"]})
    with pytest.raises(DesignError, match=r"cell y_2 \(A=y, B=2\) has no inputs"):
        build_design(table, DesignSpec(kind="anova", factors=("A", "B")))


def test_formula(two_group_table: pd.DataFrame) -> None:
    design = build_design(two_group_table, DesignSpec(kind="formula", formula="group + age"))
    assert design.columns == ("Intercept", "group[T.patient]", "age")
    np.testing.assert_array_equal(design.matrix[:, 1], [1, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(design.matrix[:, 2], two_group_table["age"])


def test_formula_error(two_group_table: pd.DataFrame) -> None:
    with pytest.raises(DesignError, match="formula 'group \\+ weight'"):
        build_design(two_group_table, DesignSpec(kind="formula", formula="group + weight"))


def test_formula_missing_values_are_refused(two_group_table: pd.DataFrame) -> None:
    table = two_group_table.assign(age=[20.0, np.nan, 40.0, 25.0, 35.0, 30.0])
    with pytest.raises(DesignError):
        build_design(table, DesignSpec(kind="formula", formula="age"))


def test_matrix(two_group_table: pd.DataFrame) -> None:
    given = pd.DataFrame({"a": [1, 1, 1, 0, 0, 0], "b": [0, 0, 0, 1, 1, 1]})
    design = build_design(two_group_table, DesignSpec(kind="matrix", matrix=given))
    assert design.columns == ("a", "b")
    np.testing.assert_array_equal(design.matrix, given.to_numpy(dtype=float))


def test_matrix_row_count(two_group_table: pd.DataFrame) -> None:
    given = pd.DataFrame({"a": [1.0, 1.0, 1.0]})
    with pytest.raises(DesignError, match="3 rows but there are 6 inputs"):
        build_design(two_group_table, DesignSpec(kind="matrix", matrix=given))


@pytest.mark.parametrize(
    ("column", "message"),
    [(["x", "y", "x", "y", "x", "y"], "not numeric"), ([1, 2, np.nan, 1, 2, 1], "missing")],
)
def test_matrix_bad_values(two_group_table: pd.DataFrame, column: list, message: str) -> None:
    given = pd.DataFrame({"a": column})
    with pytest.raises(DesignError, match=message):
        build_design(two_group_table, DesignSpec(kind="matrix", matrix=given))


def test_covariates_centred(two_group_table: pd.DataFrame) -> None:
    spec = DesignSpec(kind="two-sample", group="group", covariates=("age",))
    design = build_design(two_group_table, spec)
    assert design.columns == ("intercept", "group", "age")
    age = two_group_table["age"].to_numpy()
    np.testing.assert_allclose(design.matrix[:, 2], age - age.mean(), atol=1e-12)
    raw = build_design(
        two_group_table,
        DesignSpec(kind="one-sample", covariates=("age",), center_covariates=False),
    )
    np.testing.assert_array_equal(raw.matrix[:, 1], age)


def test_covariate_unknown_and_non_numeric(two_group_table: pd.DataFrame) -> None:
    with pytest.raises(DesignError, match=r"covariate column 'agee'.*Did you mean 'age'\?"):
        build_design(two_group_table, DesignSpec(kind="one-sample", covariates=("agee",)))
    with pytest.raises(DesignError, match=r"covariate 'site' is not numeric.*\['age'\]"):
        build_design(two_group_table, DesignSpec(kind="one-sample", covariates=("site",)))


def test_duplicate_names_refused(two_group_table: pd.DataFrame) -> None:
    given = pd.DataFrame({"age": np.ones(6)})
    spec = DesignSpec(kind="matrix", matrix=given, covariates=("age",))
    with pytest.raises(DesignError, match="duplicate design column"):
        build_design(two_group_table, spec)


def test_unknown_kind(two_group_table: pd.DataFrame) -> None:
    with pytest.raises(DesignError, match="Did you mean 'one-sample'"):
        build_design(two_group_table, DesignSpec(kind="one-sampel"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "formula",
    [
        "group + age",
        "1 + C(site) * age",
        "0 + group:site",
        "-1 + group + center(age)",
        "scale(age) + C(group)",
        "(group + site):age - 1",
        "~ `age` + group",
    ],
)
def test_formula_matches_formulaic(two_group_table: pd.DataFrame, formula: str) -> None:
    # the allowed grammar gives formulaic's own columns and names, without formulaic
    # evaluating any of the formula's text
    import formulaic

    reference = formulaic.model_matrix(formula.lstrip("~ "), two_group_table, na_action="raise")
    design = build_design(two_group_table, DesignSpec(kind="formula", formula=formula))
    assert design.columns == tuple(reference.columns)
    np.testing.assert_allclose(design.matrix, np.asarray(reference, float), rtol=1e-12)


def test_formula_transforms(two_group_table: pd.DataFrame) -> None:
    age = two_group_table["age"].to_numpy()
    design = build_design(
        two_group_table, DesignSpec(kind="formula", formula="center(age) + scale(age) + log(age)")
    )
    assert design.columns == ("Intercept", "center(age)", "scale(age)", "log(age)")
    np.testing.assert_allclose(design.matrix[:, 1], age - age.mean())
    np.testing.assert_allclose(design.matrix[:, 2], (age - age.mean()) / age.std(ddof=1))
    np.testing.assert_allclose(design.matrix[:, 3], np.log(age))
    table = two_group_table.assign(age=[20.0, 0.0, 40.0, 25.0, 35.0, 30.0])
    with pytest.raises(DesignError, match=r"log\(age\) needs values > 0; row 2 \(/data/img-01"):
        build_design(table, DesignSpec(kind="formula", formula="log(age)"))
    with pytest.raises(DesignError, match=r"center\(\) needs a numeric column; 'group' holds"):
        build_design(two_group_table, DesignSpec(kind="formula", formula="center(group)"))


@pytest.mark.parametrize(
    ("formula", "fragment"),
    [
        ("1 + I(__import__('os').system('id') + age)", "unknown function 'I'"),
        ("age.__class__", "double underscores"),
        ("{age.real}", "attribute"),
        ("{lambda: 1}", "lambda"),
        ("age[0]", "subscript"),
        ("np.log(age)", "term 'np.log(age)'"),
        ("center(age, 2)", "takes exactly one column name"),
        ("C(group, levels=['a'])", "takes exactly one column name"),
        ("'age'", "a literal value"),
        ("age ** 2", "operator '**'"),
        ("a | b", "operator '|'"),
        ("2 + age", "term '2' is not allowed (a literal value)"),
        ("lambda x: x", "cannot be parsed"),
    ],
)
def test_formula_outside_grammar_is_refused(formula: str, fragment: str) -> None:
    from glmreport.config.formula import parse_formula

    with pytest.raises(DesignError) as info:
        parse_formula(formula)
    assert fragment in str(info.value)


def test_missing_values_name_the_row(two_group_table: pd.DataFrame) -> None:
    table = two_group_table.assign(
        age=[20.0, 30.0, np.nan, 25.0, 35.0, 30.0], group=["a", "b", "a", None, "a", "b"]
    )
    with pytest.raises(DesignError, match=r"column 'age' has a missing value \(n/a\) in row 3 "):
        build_design(table, DesignSpec(kind="formula", formula="1 + age"))
    with pytest.raises(DesignError, match=r"covariate 'age' .* row 3 \(/data/img-02.nii.gz\)"):
        build_design(table, DesignSpec(kind="one-sample", covariates=("age",)))
    with pytest.raises(DesignError, match=r"group column 'group' .* row 4 \(/data/img-03"):
        build_design(table, DesignSpec(kind="two-sample", group="group"))
    # a missing value never becomes a level of a factor
    with pytest.raises(DesignError, match="column 'group' has a missing value"):
        build_design(table, DesignSpec(kind="formula", formula="C(group)"))
