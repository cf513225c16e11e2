"""Cluster- and set-level RFT p-values and the critical cluster size, against hand formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fixtures.rft_formulas import RESELS, hand_t, hand_z

from glmreport.inference.rft import (
    RandomField,
    cluster_p_values,
    critical_cluster_size,
    expected_clusters,
    set_level_p,
    smoothness_from_fwhm,
)


def test_cluster_p_values_hand():
    v, u = 20.0, 3.5
    field = RandomField(kind="t", dof=v)
    rho = hand_t(u, v)
    ec_hand = sum(r * x for r, x in zip(RESELS, rho, strict=True))
    en_hand = rho[0] / rho[3]  # expected resels per cluster
    beta = (math.gamma(2.5) / en_hand) ** (2 / 3)
    ec, en = expected_clusters(u, RESELS, field)
    assert ec == pytest.approx(ec_hand, rel=1e-9)
    assert en == pytest.approx(en_hand, rel=1e-9)
    k = np.array([0.1, 0.5, 1.0, 3.0])
    p_fwe, p_unc = cluster_p_values(k, u, RESELS, field)
    unc = np.exp(-beta * k ** (2 / 3))
    np.testing.assert_allclose(p_unc, unc, rtol=1e-9)
    np.testing.assert_allclose(p_fwe, 1 - np.exp(-ec_hand * unc), rtol=1e-9)
    assert np.all(np.diff(p_fwe) < 0)


def test_set_level_p_hand():
    field = RandomField(kind="Z")
    u, k = 3.0, 0.2
    rho = hand_z(u)
    ec = sum(r * x for r, x in zip(RESELS, rho, strict=True))
    beta = (math.gamma(2.5) / (rho[0] / rho[3])) ** (2 / 3)
    mean = ec * math.exp(-beta * k ** (2 / 3))
    for c in (1, 3, 8):
        expected = 1 - sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(c))
        assert set_level_p(c, k, u, RESELS, field) == pytest.approx(expected, rel=1e-7)
    assert set_level_p(0, k, u, RESELS, field) == 1.0
    assert set_level_p(3, 0.0, u, RESELS, field) == pytest.approx(
        1 - sum(math.exp(-ec) * ec**i / math.factorial(i) for i in range(3)), rel=1e-7
    )


@pytest.mark.parametrize("tails", [1, 2])
def test_critical_cluster_size(tails):
    mask = np.ones((30, 30, 30), bool)
    smooth = smoothness_from_fwhm(8.0, mask, np.diag([2.0, 2.0, 2.0, 1.0]))
    field = RandomField(kind="t", dof=15.0)
    u = field.isf(0.001)
    k = critical_cluster_size(0.05, u, smooth, field, tails=tails)
    v2r = 1 / smooth.resel_size_voxels

    def p(kv):
        return min(1.0, tails * float(cluster_p_values(kv * v2r, u, smooth.resels, field)[0]))

    assert p(k) <= 0.05 < p(k - 1)
