"""Formatting filters, the labels file and the one Jinja environment."""

from __future__ import annotations

import math

import numpy as np

from glmreport.report import filters


def test_filters():
    assert filters.fmt_p(0.0312) == "0.031"
    assert filters.fmt_p(4e-5) == "4.0e-05"
    assert filters.fmt_p(float("nan")) == "\u2014"
    assert filters.fmt_p(None) == "\u2014"
    assert filters.fmt_stat(-3.14159) == "\u22123.14"
    assert filters.fmt_coord(-0.04) == "0" and filters.fmt_coord(12.5) == "12.5"
    assert filters.fmt_int(237473) == "237\u2009473"
    assert filters.fmt_cell(math.nan, "text") == "\u2014"
    assert filters.fmt_cell("n/a", "text") == "\u2014"
    assert filters.fmt_value([8.4, 8.9, 8.1]) == "8.4, 8.9, 8.1"
    assert filters.fmt_value(True) == "yes"
    assert filters.fmt_seconds(72.4) == "1 min 12 s"
    assert filters.fmt_percent(0.00704) == "0.7%" and filters.fmt_percent(0.433) == "43%"
    assert filters.fmt_percent(0) == "0%" and filters.fmt_percent(None) == "\u2014"
    assert filters.fmt_dims([8.82, 8.8, 8.86]) == "8.8 \u00d7 8.8 \u00d7 8.9"
    assert filters.fmt_num(1899783.9999999995) == "1\u2009899\u2009784"
    assert (
        filters.fmt_detail(True, "yesno") == "yes"
        and filters.fmt_detail([3.0, 4.0], "list") == "3, 4"
    )


def test_labels_file_covers_every_key():
    labels = filters.labels()
    for key, info in labels["details"].items():
        assert info.get("hide") or info.get("label"), key
        assert info.get("kind", "text") in {
            "int",
            "p",
            "stat",
            "num",
            "percent",
            "yesno",
            "list",
            "text",
            "dims",
        }, key
    for key, info in labels["columns"].items():
        assert info.get("header") and info.get("kind"), key
    assert set(labels["short_names"]["by_method"]) >= {
        "uncorrected",
        "fdr",
        "bonferroni",
        "permutation",
        "ari",
        "rft",
    }


def test_one_cached_environment_with_autoescape():
    env = filters.environment()
    assert env is filters.environment()
    assert env.autoescape is True
    for name in ("fmt_p", "fmt_stat", "fmt_cell", "fmt_coord"):
        assert name in env.filters


def test_detail_and_cell_kinds():
    assert filters.fmt_detail(0.0004, "p") == "4.0e-04"
    assert filters.fmt_detail([1, 2], "int") == "1, 2" and filters.fmt_detail(3, "int") == "3"
    assert filters.fmt_detail(None, "yesno") == filters.DASH
    assert filters.fmt_detail([8.82, 8.8, 8.86], "dims") == "8.8 \u00d7 8.8 \u00d7 8.9"
    assert filters.fmt_detail({"a": 1, "b": [2, 3]}, "text") == "a = 1; b = 2, 3"
    assert filters.fmt_cell(0, "ref") == filters.DASH and filters.fmt_cell(3, "ref") == "3"
    assert (
        filters.fmt_cell(0.256, "prop") == "0.26" and filters.fmt_cell(-2.5, "coord") == "\u22122.5"
    )
    assert filters.fmt_num(np.float32(0.000123456)) == "0.0001235"
    assert filters.fmt_num(12345.6) == "12\u2009346" and filters.fmt_num(np.bool_(False)) == "no"
    assert filters.fmt_seconds(5) == "5.0 s" and filters.fmt_seconds(float("nan")) == filters.DASH
    assert (
        filters.is_missing(" N/A ") and filters.is_missing(math.inf) and not filters.is_missing(0)
    )


def test_short_names_and_no_scheme():
    assert filters.short_name("permutation", "permMaxT") == "Perm voxel"
    assert filters.short_name("permutation", "permOther") == "Perm"  # by method
    assert filters.short_name("future", "futureX") == "futureX"  # as labelled
    assert filters.no_scheme("see https://a.org/x and http://b") == "see a.org/x and b"
    assert filters.no_scheme(None) == ""
