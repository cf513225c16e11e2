"""Resamples: exact enumeration, seeded draws, exchangeability blocks and the size bounds."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.group_data import two_group

from glmreport.errors import InferenceError
from glmreport.inference.permutation import (
    count_resamples,
    make_resamples,
    partition_design,
)


def test_exact_sign_flips():
    flips, exact = make_resamples("sign-flip", 6, 10000, seed=0)
    assert exact and flips.shape == (64, 6)
    assert np.all(flips[0] == 1)
    assert np.unique(flips, axis=0).shape[0] == 64
    assert count_resamples("sign-flip", 6) == 64


def test_random_resamples_seeded():
    a, exact = make_resamples("sign-flip", 20, 500, seed=7)
    b, _ = make_resamples("sign-flip", 20, 500, seed=7)
    c, _ = make_resamples("sign-flip", 20, 500, seed=8)
    assert not exact and a.shape == (500, 20)
    assert np.all(a[0] == 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    perms, exact = make_resamples("freedman-lane", 12, 300, seed=1)
    assert not exact and perms.shape == (300, 12)
    np.testing.assert_array_equal(perms[0], np.arange(12))
    np.testing.assert_array_equal(np.sort(perms, axis=1), np.tile(np.arange(12), (300, 1)))


def test_exact_permutations_count_distinct_rearrangements():
    x = two_group(8)  # 4 + 4: 70 distinct group labellings
    model = partition_design(x, np.array([[1.0, -1.0]]))
    assert count_resamples("freedman-lane", 8, row_labels=model.row_labels) == 70
    perms, exact = make_resamples("freedman-lane", 8, 1000, seed=0, row_labels=model.row_labels)
    assert exact and perms.shape == (70, 8)
    np.testing.assert_array_equal(perms[0], np.arange(8))
    # distinct designs seen by the data: row i of the data is paired with design row inv[i]
    inverse = np.argsort(perms, axis=1)
    labels = model.row_labels[inverse]
    assert np.unique(labels, axis=0).shape[0] == 70


def test_blocks_keep_rows_within_blocks():
    blocks = np.repeat(["s1", "s2", "s3", "s4"], 3)
    perms, exact = make_resamples("freedman-lane", 12, 200, seed=2, blocks=blocks)
    assert not exact  # 6**4 = 1296 > 200
    assert np.all(blocks[perms] == blocks[None, :])
    assert len({tuple(p) for p in perms}) > 150
    assert count_resamples("freedman-lane", 12, blocks=blocks) == 6**4
    # small enough to enumerate: two blocks of three distinct rows -> 36
    perms, exact = make_resamples("freedman-lane", 6, 100, blocks=blocks[:6])
    assert exact and perms.shape == (36, 6)
    assert np.all(blocks[:6][perms] == blocks[None, :6])
    assert len({tuple(p) for p in perms}) == 36
    # sign flips ignore blocks
    flips, exact = make_resamples("sign-flip", 6, 100, blocks=blocks[:6])
    assert exact and flips.shape == (64, 6)


def test_resample_count_is_arithmetic_and_bounded():
    from glmreport.config.vocabulary import MAX_RESAMPLES
    from glmreport.inference.permutation import check_resample_table

    # 12 distinct rows (a covariate) have 12! rearrangements: counted, never listed
    assert count_resamples("freedman-lane", 12) == 479_001_600
    assert count_resamples("sign-flip", 40) == 2**40
    perms, exact = make_resamples("freedman-lane", 12, 2000, seed=3)
    assert not exact and perms.shape == (2000, 12)
    np.testing.assert_array_equal(np.sort(perms, axis=1), np.tile(np.arange(12), (2000, 1)))
    # two blocks of 3: 3! * 3! = 36 distinct rearrangements, all listed once
    blocks = np.array([0, 0, 0, 1, 1, 1])
    perms, exact = make_resamples("freedman-lane", 6, 1000, blocks=blocks)
    assert exact and perms.shape == (36, 6) and len({tuple(p) for p in perms}) == 36
    with pytest.raises(ValueError, match="between 1 and 1,000,000"):
        make_resamples("sign-flip", 5, MAX_RESAMPLES + 1)
    check_resample_table(10_000, 1000)  # 1e7 entries: fine
    with pytest.raises(InferenceError, match=r"use n_perm <= 268,435"):
        check_resample_table(MAX_RESAMPLES, 1000)
