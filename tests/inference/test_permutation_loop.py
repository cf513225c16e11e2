"""The resampling loop cut into chunks of resamples gives the nulls of one call, bit for bit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from fixtures.group_data import smooth_noise, two_group

from glmreport.inference.permutation import (
    NullSettings,
    cluster_forming_threshold,
    permutation_null,
)
from glmreport.inference.permutation.loop import (
    BATCH,
    MAP_BATCH,
    NullMaxima,
    NullWork,
    chunk_bounds,
    join_maxima,
    null_maxima,
)

N = 14
NULLS = ("max_stat", "max_size", "max_mass", "max_tfce")


def _case(name: str):
    """Data, design, contrast, settings and mask of one measure."""
    data, mask = smooth_noise(N, 3)
    data = data + 0.2
    ones = np.ones((N, 1))
    cft = cluster_forming_threshold(0.01, "t", N - 1, two_sided=True)
    cases = {
        # max-T, sign flips, 700 resamples: three batches of the max-only loop
        "max-T": (ones, [[1.0]], NullSettings(n_perm=700, seed=4, two_sided=True)),
        # max-T, Freedman-Lane permutations with a nuisance covariate
        "max-T nuisance": (
            np.column_stack([two_group(N), np.arange(N, dtype=float)]),
            [[1.0, -1.0, 0.0]],
            NullSettings(n_perm=600, seed=5),
        ),
        # F contrast with cluster nulls
        "F clusters": (
            np.column_stack([two_group(N), np.arange(N) % 5.0]),
            [[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]],
            NullSettings(n_perm=150, seed=6, stat_type="F", cluster_threshold=3.0),
        ),
        # cluster size, cluster mass and TFCE, two-sided t
        "clusters and TFCE": (
            ones,
            [[1.0]],
            NullSettings(n_perm=150, seed=7, two_sided=True, tfce=True, cluster_threshold=cft),
        ),
    }
    x, weights, settings = cases[name]
    return data, x, weights, settings, mask


def _work(name: str) -> tuple[NullWork, object]:
    """The NullWork that permutation_null hands a runner, and the in-process null."""
    data, x, weights, settings, mask = _case(name)
    seen: list[NullWork] = []

    def runner(work: NullWork) -> NullMaxima:
        seen.append(work)
        return null_maxima(work, n_jobs=2)

    permutation_null(data, x, weights, settings, mask=mask, runner=runner)
    return seen[0], permutation_null(data, x, weights, settings, mask=mask)


CASES = ["max-T", "max-T nuisance", "F clusters", "clusters and TFCE"]


@pytest.mark.parametrize("name", CASES)
def test_chunked_null_equals_one_call_exactly(name: str):
    work, whole = _work(name)
    one = null_maxima(work, n_jobs=1)
    for n_chunks in (1, 2, 3, 7, 1000):
        bounds = chunk_bounds(work, n_chunks)
        parts = [null_maxima(work, a, b, n_jobs=1) for a, b in reversed(bounds)]
        joined = join_maxima(work, parts)
        for attr in NULLS:
            expected, got = getattr(one, attr), getattr(joined, attr)
            if expected is None:
                assert got is None
                continue
            assert got.dtype == expected.dtype and got.shape == (work.n_perm,)
            np.testing.assert_array_equal(got, expected, err_msg=f"{attr}, {n_chunks} chunks")
    # the null of permutation_null is one call's maxima with the observed entries at 0
    for attr in NULLS:
        expected = getattr(whole, attr)
        if expected is not None:
            np.testing.assert_array_equal(expected[1:], getattr(one, attr)[1:], err_msg=attr)


@pytest.mark.parametrize("name", CASES)
def test_runner_gives_the_in_process_null(name: str):
    data, x, weights, settings, mask = _case(name)
    here = permutation_null(data, x, weights, settings, mask=mask)

    def chunked(work: NullWork) -> NullMaxima:
        parts = [null_maxima(work, a, b, n_jobs=1) for a, b in chunk_bounds(work, 5)]
        return join_maxima(work, parts)

    there = permutation_null(data, x, weights, settings, mask=mask, runner=chunked)
    for attr in (*NULLS, "stat", "tfce", "resamples"):
        a, b = getattr(here, attr), getattr(there, attr)
        assert (a is None) == (b is None), attr
        if a is not None:
            np.testing.assert_array_equal(a, b, err_msg=attr)
    assert (here.n_perm, here.exact, here.scheme) == (there.n_perm, there.exact, there.scheme)


def test_chunk_bounds_start_on_batches_and_cover_every_resample():
    work, _ = _work("max-T")
    assert work.batch == BATCH and work.n_perm == 700
    assert chunk_bounds(work, 1) == [(0, 700)]
    assert chunk_bounds(work, 2) == [(0, 512), (512, 700)]
    assert chunk_bounds(work, 100) == [(0, 256), (256, 512), (512, 700)]
    maps, _ = _work("clusters and TFCE")
    assert maps.batch == MAP_BATCH and maps.n_perm == 150
    assert chunk_bounds(maps, 3) == [(0, 64), (64, 128), (128, 150)]
    assert chunk_bounds(maps, 0) == [(0, 150)]


def test_ranges_off_the_batches_and_gaps_are_refused():
    work, _ = _work("clusters and TFCE")
    with pytest.raises(ValueError, match="starting on a multiple of 32"):
        null_maxima(work, 10, 40)
    with pytest.raises(ValueError, match="not a range"):
        null_maxima(work, 0, 151)
    first, last = null_maxima(work, 0, 32, n_jobs=1), null_maxima(work, 64, 150, n_jobs=1)
    with pytest.raises(ValueError, match="resamples 32 to 64 are missing"):
        join_maxima(work, [first, last])
    with pytest.raises(ValueError, match="cover 32 of 150"):
        join_maxima(work, [first])


def test_a_runner_returning_too_few_resamples_is_refused():
    data, x, weights, settings, mask = _case("max-T")

    def short(work: NullWork) -> NullMaxima:
        return null_maxima(work, 0, 256, n_jobs=1)

    with pytest.raises(ValueError, match="cover 256 of 700"):
        permutation_null(data, x, weights, replace(settings, n_jobs=1), runner=short)
