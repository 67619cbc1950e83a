"""The multi-index search of near copies that differ in several categories."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthgen.privacy import multi_index
from synthgen.privacy.multi_index import MismatchIndex, balanced_groups, groups_below


def _naive(x_train, codes_train, x, codes, bound):
    d2 = ((x[:, None] - x_train[None]) ** 2).sum(2) + (codes[:, None] != codes_train[None]).sum(2)
    d = np.sqrt(d2.min(axis=1))
    return np.where(d < bound, d, np.inf)


def _rows(n, n_cols, seed, labels=3):
    rng = np.random.default_rng(seed)
    return rng.random((n, 2)), rng.integers(0, labels, size=(n, n_cols))


@given(st.floats(min_value=0.01, max_value=40.0))
def test_groups_below_a_bound_are_the_fewest_mismatches_not_below_it(bound):
    m = groups_below(bound)
    assert math.sqrt(m) >= bound
    assert m == 1 or math.sqrt(m - 1) < bound


@pytest.mark.parametrize("bound", [1.0, np.sqrt(2), 1.9, 2.6, 3.2])
def test_the_index_finds_exactly_the_rows_every_pair_finds(bound, monkeypatch):
    # few queries and pairs at once: the chunking is exercised too
    monkeypatch.setattr(multi_index, "QUERY_ROWS", 37)
    monkeypatch.setattr(multi_index, "PAIR_CHUNK", 101)
    x_train, codes_train = _rows(400, 12, 0)
    x, codes = _rows(150, 12, 1)
    # some rows a few labels and a small step from a training row
    x[:60] = x_train[:60] + 0.01
    codes[:60] = codes_train[:60]
    codes[np.arange(60), np.arange(60) % 12] = 7  # a label no training row holds
    codes[np.arange(0, 60, 2), (np.arange(0, 60, 2) + 5) % 12] += 1
    index = MismatchIndex(codes_train, groups_below(bound))
    got = index.within(x_train, x, codes, bound)
    want = _naive(x_train, codes_train, x, codes, bound)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    np.testing.assert_allclose(got[np.isfinite(got)], want[np.isfinite(want)], atol=1e-12)
    if bound > 1.5:  # the copies with one or two labels changed
        assert np.isfinite(got[:60]).sum() >= 30


def test_an_index_of_too_few_groups_refuses_a_bound_it_could_miss_rows_below():
    x_train, codes_train = _rows(50, 6, 0)
    index = MismatchIndex(codes_train, 2)
    with pytest.raises(ValueError, match="2 groups"):
        index.within(x_train, x_train, codes_train, 1.5)


def test_columns_are_dealt_so_that_no_group_is_all_low_entropy_columns():
    rng = np.random.default_rng(0)
    high = rng.integers(0, 50, size=(2000, 2))
    low = rng.integers(0, 2, size=(2000, 4))
    groups = balanced_groups(np.hstack([high, low]), 2)
    assert sorted(g[0] for g in groups) == [0, 1]  # each group leads with a many-label column
    assert sorted(len(g) for g in groups) == [3, 3]
    # about 2000 / 200 rows share a group's labels with a row (the two many-label columns
    # together, the four binary ones together, would make it about 125)
    assert MismatchIndex(np.hstack([high, low]), 2).expected() < 30
