"""Provenance: package versions and platform."""

from __future__ import annotations

import sys

import numpy as np

from glmreport._version import __version__
from glmreport.outputs.provenance import PACKAGES, package_versions, platform_info


def test_versions_and_platform():
    versions = package_versions()
    assert list(versions) == list(PACKAGES)
    assert versions["numpy"] == np.__version__
    assert versions["glmreport"] == __version__
    info = platform_info()
    assert info["python"] == sys.version.split()[0] and set(info) == {
        "python",
        "platform",
        "machine",
    }


def test_versions_are_looked_up_once_and_handed_out_as_new_dicts(monkeypatch):
    from importlib import metadata

    first = package_versions()
    first["numpy"] = "changed"
    monkeypatch.setattr(metadata, "version", lambda name: "looked up again")
    assert package_versions()["numpy"] == np.__version__
