"""The copy filter of a table larger than memory: coded rows spilled to disk by partition.

:class:`~synthgen.privacy.copies.CopyFilter` holds every training row coded, grouped and in
a k-d tree: about 250 bytes a training row on a table of twenty columns. Export in parts
(:func:`~synthgen.safe_export.parts.export_parts`) instead appends the coded training rows
to files on disk (:class:`~synthgen.privacy.spilled_rows.SpilledRows`), one set per
*partition*: a hash of the row's categorical combination. Below a near-copy limit of 1 a
copy (exact or near) matches every category of the row it copies
(:mod:`synthgen.privacy.copies`), so it lies in the same partition: :class:`SpilledCopyFilter`
first measures the holdout a partition at a time (its duplicate rate and the near-copy
limit), then checks a whole round of synthetic rows, spilled alike, one partition at a time
(its training rows' groups and k-d tree, searched up to the limit), and holds one partition
and five bytes per synthetic row of the round.

A limit of 1 or more (a near copy may differ in categories) is served by keys
(:mod:`synthgen.privacy.spilled_near`): the rows spilled again by the codes of the columns a
near copy must share, one category away or in groups, as the filter in memory searches.
Only where those groups would meet most training rows (the filter in memory then compares
every pair) is the filter's ``partitioned`` ``False``: export then checks in memory.

The counts and distances are those of :class:`~synthgen.privacy.copies.CopyFilter` (the same
scaling, from every training row's extremes; the same exact search), and
:func:`~synthgen.privacy.copies.copy_decision` turns them into the rows to drop.

Memory is one partition at a time: the largest categorical combination's (or key's) share of
the rows bounds it (a table without categorical columns is one partition).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from synthgen.evaluation.distance import MixedEmbedding, row_keys
from synthgen.evaluation.keyed import RowGroups
from synthgen.privacy.copies import new_copy_stats
from synthgen.privacy.near import _Combinations, _numbers, _quantile, _with
from synthgen.privacy.spilled_near import Keys, beyond_one, keyed_distances, keys_at
from synthgen.privacy.spilled_rows import PART_ROWS, SpilledRows, narrowed, partition_of

__all__ = ["PART_ROWS", "SpilledCopyFilter", "SpilledRows", "partition_of"]

#: A bound on the distances measured first: holdout distances of 1 or more mean a limit the
#: partitions of the whole combination cannot serve alone (:mod:`.spilled_near` serves it).
_BOUND = 1.0


class SpilledCopyFilter:
    """Copies of spilled training rows among rounds of spilled synthetic rows.

    Parameters
    ----------
    train : SpilledRows
        Every (protected) training row.
    holdout : tuple of ndarray
        The holdout's ``(num, codes)``, coded like the training rows (labels merged as the
        training rows' were).
    near_copy_quantile : float
        As :class:`~synthgen.privacy.copies.CopyFilter`'s.

    Attributes
    ----------
    stats : dict
        As :class:`~synthgen.privacy.copies.CopyFilter`'s, the limit, the holdout's rate
        and the search ``method`` set by :meth:`settle`.
    partitioned : bool
        Whether the partitions serve the limit (everywhere but where the groups of a limit
        of several categories would meet most training rows); ``None`` before
        :meth:`settle`.
    """

    def __init__(
        self, train: SpilledRows, holdout: tuple[np.ndarray, np.ndarray], near_copy_quantile: float
    ) -> None:
        self.train, self.holdout = train, holdout
        self.quantile = float(near_copy_quantile)
        self.stats: dict[str, Any] = new_copy_stats()
        self.limit = 0.0
        self.method = "off"
        self.partitioned: bool | None = None

    def _embedding(self, query: SpilledRows | None) -> MixedEmbedding:
        """The training rows' scaling (their extremes) with a missing-value coordinate for
        every numeric column missing anywhere: distances as the filter in memory measures
        them (a coordinate no row misses changes no distance)."""
        missing = self.train.missing | np.isnan(self.holdout[0]).any(axis=0)
        if query is not None:
            missing = missing | query.missing
        ref = np.vstack([self.train.low, self.train.high])
        with np.errstate(invalid="ignore"):
            return MixedEmbedding(ref, [], num_missing=missing)

    def _keys(self) -> Keys | None:
        """The keys of the search beyond one category at the limit (``None`` below 1)."""
        if self.method not in ("one category", "multi-index"):
            return None
        sample, n_cat = self.train.sample, self.train.widths["codes"]
        return keys_at(self.method, n_cat, sample, self.limit)

    def measure(self, query: SpilledRows) -> tuple[np.ndarray, np.ndarray]:
        """Each query row's count of equal training rows and whether it is a near copy
        (nearer than the limit to a training row), a partition at a time. The holdout is
        measured first (:meth:`settle`); where the partitions cannot serve its limit
        (:attr:`partitioned` ``False``) nothing is measured."""
        if not self.settle():
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=bool)
        emb, keys = self._embedding(query), self._keys()
        # the limit bounds the search: a near copy lies within it (four bytes and one a row)
        bound = self.limit if self.quantile > 0 else 0.0
        if keys is None:
            return self._pass(emb, query.load, query.n_rows, bound, near=True)
        # beyond one category: the whole combination's partitions count the equal rows (and
        # find the rows of the same combination below sqrt(2)), the keys the near ones
        same = bound if keys.method == "one category" else 0.0
        counts, dist = self._pass(emb, query.load, query.n_rows, same)
        dist = np.minimum(dist, self._by_keys(keys, emb, query))
        return counts, dist < self.limit

    def _by_keys(self, keys: Keys, emb: MixedEmbedding, query: SpilledRows) -> np.ndarray:
        if not self.train.spilled_by(keys.keys):
            self.train.forget_keys()  # the training rows spilled by the search's keys only
        try:
            return keyed_distances(
                self.train, keys, emb, lambda key: query.by_key(key).load, query.n_rows, self.limit
            )
        finally:
            query.forget_keys()

    def settle(self) -> bool:
        """Measure the holdout (once): its duplicate rate and the near-copy limit; returns
        :attr:`partitioned`."""
        if self.partitioned is None:
            h_num, h_codes = self.holdout
            part = partition_of(h_codes, self.train.n_parts)

            def held(p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                rows = np.flatnonzero(part == p)
                return h_num[rows], h_codes[rows], rows

            emb = self._embedding(None)
            # without categorical columns every row shares one partition: any bound serves
            first = _BOUND if h_codes.shape[1] else np.inf
            counts, dist = self._pass(emb, held, len(h_codes), first)
            self._settle(counts, dist)
            if self.quantile > 0 and not self.limit < first:
                found = beyond_one(
                    self.train,
                    self.holdout,
                    emb,
                    self.quantile,
                    lambda bound: self._pass(emb, held, len(h_codes), bound)[1],
                )
                self.partitioned = found is not None
                if found is not None:
                    self.limit, self.method = found
            self.stats["near_copy_distance"], self.stats["method"] = self.limit, self.method
        return bool(self.partitioned)

    def _pass(
        self,
        emb: MixedEmbedding,
        rows_of: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]],
        n_rows: int,
        bound: float,
        near: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Counts and distances (``inf`` at ``bound`` or beyond; with ``near``, whether
        below it) of ``n_rows`` rows, those of partition ``p`` given by ``rows_of(p)`` as
        ``(num, codes, index)``."""
        counts = np.zeros(n_rows, dtype=np.int32)
        dist = np.zeros(n_rows, dtype=bool) if near else np.full(n_rows, np.inf)
        for p in range(self.train.n_parts):
            q_num, q_codes, q_index = rows_of(p)
            if len(q_index) == 0 or self.train.sizes[p] == 0:
                continue
            # few rows to check (a round of redraws): only the training rows of their
            # combinations can be copies
            t_num, t_codes = narrowed(*self.train.load(p)[:2], q_codes)
            if len(t_codes) == 0:
                continue  # no row of theirs: no copy
            part = _Partition(t_num, t_codes, emb, bound)
            del t_num, t_codes
            n, d = part.measure(q_num, q_codes)
            del part  # one partition at a time
            counts[q_index], dist[q_index] = n, (np.isfinite(d) if near else d)
        return counts, dist

    def _settle(self, h_counts: np.ndarray, h_dist: np.ndarray) -> None:
        self.stats["base_rate"] = float(np.mean(h_counts > 0)) if len(h_counts) else 0.0
        if self.quantile <= 0:
            self.limit, self.method = 0.0, "off"
        else:
            self.limit, self.method = _quantile(h_dist, self.quantile), "kd-tree"
        self.partitioned = True


class _Partition:
    """One partition's training rows: their groups of equal rows and, for near copies
    (``bound`` above 0), their k-d tree (numbers plus the combination's coordinate)."""

    def __init__(self, num: np.ndarray, codes: np.ndarray, emb: MixedEmbedding, bound: float):
        self.groups = RowGroups(lambda rows: row_keys(num[rows], codes[rows]), len(codes))
        self.emb, self.bound, self.tree = emb, bound, None
        if bound > 0:
            self.combos = _Combinations(codes, None)
            self.tree = cKDTree(_with(_numbers(emb, num), self.combos.train))

    def measure(self, num: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        counts = self.groups.count_of(row_keys(num, codes))
        if self.tree is None or len(codes) == 0:
            return counts, np.full(len(codes), np.inf)
        x = _with(_numbers(self.emb, num), self.combos.coord(codes))
        d, _ = self.tree.query(x, k=1, distance_upper_bound=self.bound)
        d = np.sqrt(np.asarray(d, dtype=float) ** 2)  # as the filter in memory computes it
        d[d >= self.bound] = np.inf
        return counts, d
