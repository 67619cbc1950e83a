"""Rows grouped by fingerprints: the groups of the byte keys, whatever the fingerprints."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.evaluation import keyed
from synthgen.evaluation.distance import row_keys
from synthgen.evaluation.keyed import RowGroups


@pytest.mark.parametrize("collide", [False, True])
def test_groups_and_lookups_equal_those_of_the_byte_keys(monkeypatch, collide):
    rng = np.random.default_rng(0)
    num = rng.integers(0, 3, (3000, 2)).astype(float)
    num[rng.random(num.shape) < 0.2] = np.nan
    codes = rng.integers(0, 4, (3000, 3))
    monkeypatch.setattr(keyed, "CHUNK_ROWS", 700)  # keys made and checked in chunks
    if collide:  # four fingerprints for every key: the groups must come from the keys
        real_prints = keyed.fingerprints
        monkeypatch.setattr(keyed, "fingerprints", lambda k: real_prints(k) % np.uint64(4))
    groups = RowGroups(lambda rows: row_keys(num[rows], codes[rows]), len(codes))
    keys = row_keys(num, codes)
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    assert len(groups.counts) == len(unique)
    np.testing.assert_array_equal(groups.counts[groups.group], counts[inverse.ravel()])
    same = groups.group[:, None] == groups.group[None, :200]
    np.testing.assert_array_equal(same, (keys[:, None] == keys[None, :200]))
    query_num = np.vstack([num[:50], np.full((20, 2), 7.0)])
    query_codes = np.vstack([codes[:50], codes[:20]])
    found = groups.find(row_keys(query_num, query_codes))
    np.testing.assert_array_equal(found[:50], groups.group[:50])
    assert (found[50:] == -1).all()  # numbers no training row holds
