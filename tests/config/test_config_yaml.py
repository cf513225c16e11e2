"""The bounded safe YAML loader."""

from __future__ import annotations

import pytest

from glmreport.config.yaml import MAX_CONFIG_BYTES, MAX_YAML_DEPTH, load_yaml
from glmreport.errors import ConfigError


def test_yaml_1_2_floats_and_safe_types():
    doc = load_yaml("a: 1e-3\nb: 1E+2\nc: .5\nd: 10\ne: '1e-3'\nf: null\ng: yes\n")
    assert doc == {"a": 0.001, "b": 100.0, "c": 0.5, "d": 10, "e": "1e-3", "f": None, "g": True}
    assert load_yaml("") is None and load_yaml("# only a comment\n") is None
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml("!!python/object/apply:os.system ['true']")


def test_syntax_errors_name_line_and_column():
    with pytest.raises(ConfigError, match="not valid YAML at line 2, column"):
        load_yaml("a: [1, 2\nb: 3\n")


def test_bounds_fail_before_values_are_built():
    with pytest.raises(ConfigError, match="characters; at most"):
        load_yaml("a: 1\n" + " " * MAX_CONFIG_BYTES)
    with pytest.raises(ConfigError, match=f"nested more than {MAX_YAML_DEPTH}"):
        load_yaml("[" * (MAX_YAML_DEPTH + 5) + "]" * (MAX_YAML_DEPTH + 5))
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 8):
        bomb += (
            f"{'b' * i}: &{'b' * i} [*{'b' * (i - 1) if i > 1 else 'a'}"
            + (f", *{'b' * (i - 1) if i > 1 else 'a'}" * 9)
            + "]\n"
        )
    with pytest.raises(ConfigError, match="expands to more than"):
        load_yaml(bomb)
    with pytest.raises(ConfigError, match="4300 digits"):
        load_yaml("n: " + "9" * 5000)
