"""The typed readers of config values: what they accept, refuse and say."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmreport.config.fields import (
    MAX_NAME_CHARS,
    _bool,
    _check_keys,
    _int,
    _list,
    _mapping,
    _name,
    _number,
    _path,
    _str,
    _str_list,
    _unique,
    given,
    short,
)
from glmreport.errors import ConfigError


def test_given_names_the_kind_and_caps_the_value():
    assert given(None) == "nothing (null) (None)"
    assert given("abc") == "a string ('abc')"
    assert given(True).startswith("a boolean")
    long = given("x" * 10_000)
    assert long.startswith("a string (") and len(long) < 80
    assert len(given(list(range(10_000)))) < 80
    assert short("y" * 100, 10) == "yyyyyyy..."


def test_strings_and_choices_suggest_the_nearest():
    assert _str("fdr", "m", choices=("fdr", "ari")) == "fdr"
    with pytest.raises(ConfigError, match=r"^m: expected one of fdr, ari, got 'fdrr'.*'fdr'"):
        _str("fdrr", "m", choices=("fdr", "ari"))
    for bad in ("", "  ", 3, None):
        with pytest.raises(ConfigError, match="non-empty string"):
            _str(bad, "k")
    with pytest.raises(ConfigError, match=f"at most {MAX_NAME_CHARS}"):
        _name("n" * (MAX_NAME_CHARS + 1), "contrasts[0].name")


def test_numbers_bounds_open_and_closed():
    assert _number(1, "x", low=1) == 1.0 and isinstance(_number(1, "x"), float)
    with pytest.raises(ConfigError, match="> 1"):
        _number(1, "x", low=1, low_open=True)
    with pytest.raises(ConfigError, match="<= 2"):
        _number(2.5, "x", high=2)
    with pytest.raises(ConfigError, match="finite"):
        _number(float("inf"), "x")
    with pytest.raises(ConfigError, match="too large"):
        _number(10**400, "x")
    with pytest.raises(ConfigError, match="a number, got a boolean"):
        _number(True, "x")


def test_integers_refuse_booleans_and_floats():
    assert _int(3, "n", low=0, high=3) == 3
    for bad in (True, 3.0, "3"):
        with pytest.raises(ConfigError, match="an integer"):
            _int(bad, "n")
    with pytest.raises(ConfigError, match="<= 5"):
        _int(6, "n", high=5)
    assert _bool(False, "b") is False
    with pytest.raises(ConfigError, match="true or false"):
        _bool(0, "b")


def test_lists_scalars_and_bounds():
    assert _list("a", "l", allow_scalar=True) == ["a"]
    assert _str_list("a", "l") == ("a",) and _str_list(["a", "b"], "l") == ("a", "b")
    with pytest.raises(ConfigError, match="expected a list"):
        _list("a", "l")
    with pytest.raises(ConfigError, match="at most 2 entries"):
        _list([1, 2, 3], "l", most=2)
    with pytest.raises(ConfigError, match=r"l\[1\]: expected a non-empty string"):
        _str_list(["a", 2], "l")


def test_paths_are_taken_from_the_config_folder(tmp_path):
    assert _path("data/x.nii", "p", tmp_path) == tmp_path / "data" / "x.nii"
    assert _path("/abs/x.nii", "p", tmp_path) == Path("/abs/x.nii")
    assert _path("~/x.nii", "p", tmp_path) == Path("~/x.nii").expanduser()


def test_keys_unknown_missing_and_unique():
    raw = _mapping({"alpha": 1, "methd": "fdr"}, "corrections[0]")
    with pytest.raises(ConfigError, match=r"corrections\[0\]\.methd: unknown key.*'method'"):
        _check_keys(raw, "corrections[0]", ("method", "alpha"))
    with pytest.raises(ConfigError, match="missing required key 'method'"):
        _check_keys({"alpha": 1}, "c", ("method", "alpha"), required=("method",))
    with pytest.raises(ConfigError, match="keys must be strings"):
        _mapping({1: "a"}, "m")
    with pytest.raises(ConfigError, match=r"contrasts\[2\]: duplicate name 'a'"):
        _unique(["a", "b", "a"], "contrasts")
