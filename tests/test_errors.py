"""The error types of glmreport.errors: what each one carries and how it reads."""

from __future__ import annotations

import pytest

from glmreport.errors import (
    AtlasError,
    ConfigError,
    ContrastError,
    DesignError,
    GlmReportError,
    InferenceError,
    InputError,
    OutputError,
    UnknownColumnError,
    suggest,
)


def test_config_error_prefixes_the_yaml_path():
    error = ConfigError("expected a number, got 'x'", path="corrections[1].alpha")
    assert str(error) == "corrections[1].alpha: expected a number, got 'x'"
    assert error.path == "corrections[1].alpha"
    assert str(ConfigError("no config")) == "no config"


def test_unknown_column_error_keeps_the_column():
    error = UnknownColumnError("no column 'b'", column="b")
    assert error.column == "b"
    assert isinstance(error, ContrastError)


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (ConfigError, ValueError),
        (InputError, ValueError),
        (DesignError, ValueError),
        (ContrastError, ValueError),
        (InferenceError, ValueError),
        (AtlasError, ValueError),
        (OutputError, OSError),
    ],
)
def test_every_domain_error_is_a_glmreport_error(cls, builtin):
    # the CLI turns GlmReportError into exit 2; the builtin base keeps callers' except clauses
    assert issubclass(cls, GlmReportError)
    assert issubclass(cls, builtin)


def test_suggest_offers_the_closest_choice():
    assert suggest("bonferoni", ["uncorrected", "fdr", "bonferroni"]) == (
        " Did you mean 'bonferroni'?"
    )
    assert suggest("xyz", ["uncorrected", "fdr"]) == ""
    assert suggest(3, ["3", "4"]) == " Did you mean '3'?"
