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
