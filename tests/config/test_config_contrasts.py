"""The contrasts section: t, F and weights forms, checked for form only."""

from __future__ import annotations

import pytest

from glmreport.config.contrasts import MAX_CONTRASTS, MAX_EXPRESSION_CHARS, _contrasts
from glmreport.errors import ConfigError


def test_kinds_and_stat_types():
    specs = _contrasts(
        [
            {"name": "a", "t": "x - y"},
            {"name": "b", "F": ["x", "y"]},
            {"name": "c", "weights": [[1, 0]]},  # one row: a t contrast
            {"name": "d", "weights": [[1, 0], [0, 1]]},
            {"name": "e", "weights": {"x": 1}},
        ]
    )
    assert [s.stat_type for s in specs] == ["t", "F", "t", "F", "t"]
    assert specs[2].definition == [1, 0] and specs[0].where == "contrasts[0].t"
    assert specs[4].definition == {"x": 1} and type(specs[4].definition) is dict


def test_bad_contrasts_name_their_entry():
    with pytest.raises(ConfigError, match=r"contrasts\[0\]: give exactly one of"):
        _contrasts([{"name": "a", "t": "x", "F": ["x"]}])
    with pytest.raises(ConfigError, match=r"contrasts\[0\]\.t\[1\]: expected a number"):
        _contrasts([{"name": "a", "t": [1, None]}])
    with pytest.raises(ConfigError, match=r"contrasts\[0\]\.weights\.x: expected a number"):
        _contrasts([{"name": "a", "weights": {"x": "one"}}])
    with pytest.raises(ConfigError, match=f"at most {MAX_EXPRESSION_CHARS:,}"):
        _contrasts([{"name": "a", "t": "x+" * MAX_EXPRESSION_CHARS}])
    with pytest.raises(ConfigError, match="at least one contrast"):
        _contrasts([])
    with pytest.raises(ConfigError, match=f"at most {MAX_CONTRASTS} entries"):
        _contrasts([{"name": f"c{i}", "t": "x"} for i in range(MAX_CONTRASTS + 1)])
    with pytest.raises(ConfigError, match=r"contrasts\[1\]: duplicate name"):
        _contrasts([{"name": "a", "t": "x"}, {"name": "a", "t": "y"}])


def test_conjunctions_name_t_contrasts_of_the_config():
    specs = _contrasts(
        [
            {"name": "a", "t": "x - y"},
            {"name": "b", "t": "y"},
            {"name": "both", "conjunction": ["a", "b"]},
        ]
    )
    both = specs[2]
    assert both.conjunction == ("a", "b") and both.stat_type == "t"
    assert both.where == "contrasts[2].conjunction" and not specs[0].conjunction


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            [{"name": "j", "conjunction": ["a"]}],
            r"contrasts\[1\]\.conjunction: a conjunction joins",
        ),
        ([{"name": "j", "conjunction": ["a", "a"]}], "at least two different"),
        ([{"name": "j", "conjunction": ["a", "zz"]}], r"conjunction\[1\]: no contrast is named"),
        ([{"name": "j", "conjunction": ["a", "f"]}], r"conjunction\[1\]: 'f' is an F contrast"),
        (
            [{"name": "j", "conjunction": ["a", "b"]}, {"name": "k", "conjunction": ["a", "j"]}],
            r"contrasts\[2\]\.conjunction\[1\]: 'j' is itself a conjunction",
        ),
        ([{"name": "j", "conjunction": "a"}], "expected a list"),
        ([{"name": "j", "conjunction": [f"c{i}" for i in range(11)]}], "at most 10 entries"),
    ],
)
def test_bad_conjunctions_name_their_entry(items, message):
    base = [{"name": "a", "t": "x"}, {"name": "b", "t": "y"}, {"name": "f", "F": ["x", "y"]}]
    base = base[:1] + items + base[1:]
    with pytest.raises(ConfigError, match=message):
        _contrasts(base)
