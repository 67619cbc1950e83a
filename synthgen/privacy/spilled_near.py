"""Near copies a category or more away, in the copy filter spilled to disk.

Below a near-copy limit of 1 a copy shares every category of the row it copies, so the
partitions of :mod:`synthgen.privacy.spilled` (a hash of the whole combination) find it. From
1 a near copy may differ in categories, but it still shares every label of some *key*, a set
of categorical columns:

- below ``sqrt(2)`` it differs in one column at most, so it shares all the others: one key
  per categorical column ``j``, every column but ``j`` (the filter in memory's
  ``"one category"`` search, :mod:`synthgen.privacy.near`);
- below ``sqrt(m)`` it differs in fewer than ``m`` columns, so it shares a whole group when
  the columns are dealt into ``m`` groups (the pigeonhole principle; the filter in memory's
  ``"multi-index"``, :mod:`synthgen.privacy.multi_index`).

For each key the training rows are spilled again, by a hash of the key's codes
(:meth:`~synthgen.privacy.spilled.SpilledRows.by_key`, once per key), and the rows checked
alike; then, a partition at a time, each row meets the training rows of its partition that
share its key: a k-d tree over the numbers and the other columns' combination (one category
away), or the multi-index's counted mismatches (a group). A row's distance is the least over
the keys (and the whole combination's partitions), exact below the bound: the same limit and
the same near copies as the filter in memory. Disk holds one more copy of the coded training
rows per key (as many as categorical columns for one category, ``m`` for groups); memory
one partition (a table of one categorical column searched one category away has an empty
key: its one partition holds every training row's numbers). Where the groups would meet
most training rows anyway (the filter in memory then compares every pair),
:func:`beyond_one` gives up and export in parts checks in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from synthgen.evaluation.distance import MixedEmbedding
from synthgen.privacy.multi_index import MismatchIndex, groups_below
from synthgen.privacy.near import (
    _FEW_PER_COLUMN,
    _MISMATCH,
    _ONE_AWAY,
    _Combinations,
    _numbers,
    _quantile,
    _with,
    growing_limit,
    useful_index,
)
from synthgen.privacy.spilled_rows import SpilledRows, narrowed, partition_of

__all__ = ["Keys", "beyond_one", "keyed_distances", "keys_at"]

#: ``rows_of(p)``: the rows checked that lie in partition ``p`` of a key, ``(num, codes,
#: index)``; ``RowsOf(key)`` gives it for a key.
RowsOf = Callable[[list[int]], Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]]


@dataclass
class Keys:
    """The keys of a search beyond one category: ``method`` ``"one category"`` (key ``j``:
    every categorical column but ``j``) or ``"multi-index"`` (each key a group)."""

    method: str
    keys: list[list[int]]


def keys_at(method: str, n_cat: int, sample: np.ndarray, bound: float) -> Keys | None:
    """The keys that find every row below ``bound`` by ``method``; for the multi-index the
    groups :class:`~synthgen.privacy.multi_index.MismatchIndex` deals from the training
    rows' ``sample`` of codes (``None`` where it cannot: fewer columns than groups, or
    groups most rows share).

    Examples
    --------
    >>> keys_at("one category", 3, np.zeros((5, 3), dtype=int), 1.2).keys
    [[1, 2], [0, 2], [0, 1]]
    >>> codes = np.random.default_rng(0).integers(0, 50, size=(200, 4))
    >>> sorted(keys_at("multi-index", 4, codes, 1.9).keys)  # below sqrt(4): groups of one
    [[0], [1], [2], [3]]
    >>> keys_at("multi-index", 4, codes % 2, 1.9) is None  # rows share most groups
    True
    """
    if method == "one category":
        return Keys(method, [[k for k in range(n_cat) if k != j] for j in range(n_cat)])
    index = useful_index(sample, groups_below(bound))
    return None if index is None else Keys(method, [g[0] for g in index.groups])


def keyed_distances(
    train: SpilledRows,
    keys: Keys,
    emb: MixedEmbedding,
    rows_of: RowsOf,
    n_rows: int,
    bound: float,
) -> np.ndarray:
    """Each of ``n_rows`` rows' distance to its nearest training row among those sharing
    one of the ``keys`` (exact below ``bound`` for a row that lies there; ``inf`` from
    ``bound``), a key and a partition at a time."""
    best = np.full(n_rows, np.inf)
    for key in keys.keys:
        by_key, rows_in = train.by_key(key), rows_of(key)
        for p in range(train.n_parts):
            q_num, q_codes, q_index = rows_in(p)
            if len(q_index) == 0 or by_key.sizes[p] == 0:
                continue
            t_num, t_codes = narrowed(*by_key.load(p)[:2], q_codes, key)
            if len(t_codes) == 0:
                continue
            d = _partition_distances(
                keys.method, key, (t_num, t_codes), (q_num, q_codes), emb, bound
            )
            best[q_index] = np.minimum(best[q_index], d)
    return best


def _partition_distances(
    method: str,
    key: list[int],
    train: tuple[np.ndarray, np.ndarray],
    rows: tuple[np.ndarray, np.ndarray],
    emb: MixedEmbedding,
    bound: float,
) -> np.ndarray:
    """Distances below ``bound`` of ``rows`` to the ``train`` rows sharing ``key``."""
    (t_num, t_codes), (q_num, q_codes) = train, rows
    x_train, x = _numbers(emb, t_num), _numbers(emb, q_num)
    if method == "multi-index":
        index = MismatchIndex(t_codes, 1, groups=[key])
        return index.within(x_train, x, q_codes, bound)
    # one category away (every column but j shared): the numbers within what is left of
    # the bound after one mismatch
    drop = next(j for j in range(t_codes.shape[1]) if j not in key)
    combos = _Combinations(t_codes, drop)
    inner = math.sqrt(max(bound**2 - _MISMATCH, 0.0))
    if inner == 0.0:
        return np.full(len(q_codes), np.inf)
    tree = cKDTree(_with(x_train, combos.train))
    found, _ = tree.query(_with(x, combos.coord(q_codes)), k=1, distance_upper_bound=inner)
    out = np.sqrt(np.asarray(found, dtype=float) ** 2 + _MISMATCH)
    out[out >= bound] = np.inf
    return out


def beyond_one(
    train: SpilledRows,
    holdout: tuple[np.ndarray, np.ndarray],
    emb: MixedEmbedding,
    quantile: float,
    full: Callable[[float], np.ndarray],
) -> tuple[float, str] | None:
    """The near-copy limit where the holdout's is 1 or more, and the search that serves it
    (``"one category"`` or ``"multi-index"``, chosen as the filter in memory chooses from
    the training rows' sample of codes); ``None`` where neither serves.

    ``full(bound)`` gives the holdout's distances within the whole combination's partitions
    below ``bound`` (the rows sharing every category)."""
    h_num, h_codes = holdout
    n_cat, sample = h_codes.shape[1], train.sample
    scale = train.n_rows / max(len(sample), 1)

    def rows_of(rows: np.ndarray) -> RowsOf:
        num, codes = h_num[rows], h_codes[rows]

        def by_key(key: list[int]) -> Callable[[int], tuple[np.ndarray, ...]]:
            part = partition_of(codes, train.n_parts, key)

            def held(p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                at = np.flatnonzero(part == p)
                return num[at], codes[at], at

            return held

        return by_key

    def search(keys: Keys, rows: np.ndarray, bound: float) -> np.ndarray:
        if not train.spilled_by(keys.keys):
            train.forget_keys()  # one search's copies on disk at a time
        return keyed_distances(train, keys, emb, rows_of(rows), len(rows), bound)

    every = np.arange(len(h_codes))
    index = useful_index(sample, 2)
    if index is None or index.expected() * scale > _FEW_PER_COLUMN * n_cat:
        keys = keys_at("one category", n_cat, sample, _ONE_AWAY)
        assert keys is not None
        d = np.minimum(full(_ONE_AWAY), search(keys, every, _ONE_AWAY))
        limit = _quantile(d, quantile)
        if limit < _ONE_AWAY:
            return limit, "one category"
        least = _ONE_AWAY**2
    else:
        least = 1.0

    def groups_below_bound(rows: slice, bound: float) -> np.ndarray | None:
        keys = keys_at("multi-index", n_cat, sample, bound)
        return None if keys is None else search(keys, every[rows], bound)

    found = growing_limit(len(h_codes), quantile, least, groups_below_bound)
    return None if found is None else (found, "multi-index")
