"""Family-wise error rate of every permutation route under the null hypothesis.

300 seeded datasets of smooth Gaussian noise (no signal), 10 subjects, one-sample two-sided
test with 200 random sign flips each. A route commits a family-wise error when the observed
maximum (of |t|, cluster size, cluster mass or |TFCE|) has FWE p < 0.05. With the identity
counted among the 200 resamples the expected rate is 9 / 200 = 0.045 (the largest count of
exceedances with p < 0.05 is 9); the binomial standard error over 300 datasets is 0.012, so
[0.02, 0.08] is a band of more than two standard errors on each side.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from glmreport.inference.permutation import (
    NullSettings,
    cluster_forming_threshold,
    fwe_p_values,
    permutation_null,
)

N_DATASETS = 300
N_PERM = 200
N_SUBJECTS = 10
SHAPE = (14, 14, 14)
ALPHA = 0.05


@pytest.mark.slow
def test_family_wise_error_rate_under_null():
    mask = np.ones(SHAPE, bool)
    x = np.ones((N_SUBJECTS, 1))
    threshold = cluster_forming_threshold(0.01, "t", N_SUBJECTS - 1, two_sided=True)
    errors = np.zeros(4)
    for d in range(N_DATASETS):
        rng = np.random.default_rng(10_000 + d)
        noise = rng.standard_normal((N_SUBJECTS, *SHAPE))
        data = ndimage.gaussian_filter(noise, (0, 1.5, 1.5, 1.5)).reshape(N_SUBJECTS, -1)
        null = permutation_null(
            data,
            x,
            [[1.0]],
            NullSettings(
                n_perm=N_PERM, seed=d, two_sided=True, cluster_threshold=threshold, tfce=True
            ),
            mask=mask,
        )
        assert null.n_perm == N_PERM and not null.exact
        for i, values in enumerate((null.max_stat, null.max_size, null.max_mass, null.max_tfce)):
            errors[i] += fwe_p_values(values[:1], values)[0] < ALPHA
    routes = ("max-T", "cluster size", "cluster mass", "TFCE")
    rates = dict(zip(routes, errors / N_DATASETS, strict=True))
    for route, rate in rates.items():
        assert 0.02 <= rate <= 0.08, (route, rates)
