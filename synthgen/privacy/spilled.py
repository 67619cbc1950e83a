"""The copy filter of a table larger than memory: coded rows spilled to disk by partition.

:class:`~synthgen.privacy.copies.CopyFilter` holds every training row coded, grouped and in
a k-d tree: about 250 bytes a training row on a table of twenty columns. Export in parts
(:func:`~synthgen.safe_export.parts.export_parts`) instead appends the coded training rows
to files on disk (:class:`SpilledRows`), one pair per *partition*: a hash of the row's
categorical combination. Below a near-copy limit of 1 a copy (exact or near) matches every
category of the row it copies (:mod:`synthgen.privacy.copies`), so it lies in the same
partition: :class:`SpilledCopyFilter` first measures the holdout a partition at a time (its
duplicate rate and the near-copy limit), then checks a whole round of synthetic rows,
spilled alike, one partition at a time (its training rows' groups and k-d tree, searched up
to the limit), and holds one partition and five bytes per synthetic row of the round.

The counts and distances are those of :class:`~synthgen.privacy.copies.CopyFilter` (the same
scaling, from every training row's extremes; the same exact search), and
:func:`~synthgen.privacy.copies.copy_decision` turns them into the rows to drop. A limit of
1 or more (a near copy may differ in a category) is not partitioned: the filter's
``partitioned`` is then ``False`` and export falls back to the filter in memory.

Memory is one partition at a time: the largest categorical combination's share of the rows
bounds it (a table without categorical columns is one partition).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from synthgen.evaluation.distance import MixedEmbedding, row_keys
from synthgen.evaluation.keyed import RowGroups, fingerprints
from synthgen.privacy.copies import new_copy_stats
from synthgen.privacy.multi_index import combination_keys
from synthgen.privacy.near import _Combinations, _numbers, _quantile, _with

__all__ = ["PART_ROWS", "SpilledCopyFilter", "SpilledRows", "partition_of"]

#: Training rows per partition on average (what the filter holds at a time).
PART_ROWS = 1_000_000

#: A bound on the distances measured: holdout distances of 1 or more mean a limit the
#: partitions cannot serve.
_BOUND = 1.0

#: A partition's training rows are first narrowed to the combinations of the rows checked
#: when they are this many times as many (a round of redraws).
_FEW = 4


def partition_of(codes: np.ndarray, n_parts: int) -> np.ndarray:
    """Each row's partition: a hash of its categorical codes modulo ``n_parts``.

    Examples
    --------
    >>> p = partition_of(np.array([[1, 2], [3, 4], [1, 2]]), 8)
    >>> bool(p[0] == p[2]), bool(((0 <= p) & (p < 8)).all())
    (True, True)
    """
    if n_parts <= 1 or codes.shape[1] == 0:
        return np.zeros(len(codes), dtype=np.int64)
    return (_combination_prints(codes) % np.uint64(n_parts)).astype(np.int64)


def _combination_prints(codes: np.ndarray) -> np.ndarray:
    """A 64-bit fingerprint of each row's categorical combination."""
    return fingerprints(combination_keys(codes, list(range(codes.shape[1]))))


class SpilledRows:
    """Coded rows appended to raw files in ``folder``, one set per partition, with each
    row's position among the rows added (its ``index``, unless ``indexed`` is false).

    Attributes
    ----------
    n_rows : int
        Rows added.
    missing : ndarray of bool
        Numeric columns with a missing value.
    low, high : ndarray
        Each numeric column's least and greatest value (NaN when it has none).

    Examples
    --------
    >>> import tempfile
    >>> rows = SpilledRows(Path(tempfile.mkdtemp()), 4, 1, 1)
    >>> rows.add(np.array([[1.0], [np.nan], [3.0]]), np.array([[0], [1], [0]]))
    >>> sorted(int(i) for p in range(4) for i in rows.load(p)[2])
    [0, 1, 2]
    >>> rows.low.tolist(), rows.high.tolist(), rows.missing.tolist()
    ([1.0], [3.0], [True])
    """

    def __init__(
        self, folder: Path, n_parts: int, n_num: int, n_cat: int, indexed: bool = True
    ) -> None:
        self.folder, self.n_parts = Path(folder), max(int(n_parts), 1)
        self.widths = {"num": n_num, "codes": n_cat, "index": int(indexed)}
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sizes = np.zeros(self.n_parts, dtype=np.int64)
        self.n_rows = 0
        self.missing = np.zeros(n_num, dtype=bool)
        self.low, self.high = np.full(n_num, np.nan), np.full(n_num, np.nan)

    def _path(self, p: int, what: str) -> Path:
        return self.folder / f"{p:05d}.{what}"

    def add(self, num: np.ndarray, codes: np.ndarray) -> None:
        """Append rows coded like the training rows."""
        if len(codes) == 0:
            return
        part = partition_of(codes, self.n_parts)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self.n_parts + 1))
        arrays = {
            "num": np.ascontiguousarray(num, dtype=np.float64),
            "codes": np.ascontiguousarray(codes, dtype=np.int64),
            "index": np.arange(self.n_rows, self.n_rows + len(codes), dtype=np.int64),
        }
        for p in np.flatnonzero(np.diff(bounds)):
            rows = order[bounds[p] : bounds[p + 1]]
            for what, values in arrays.items():
                if self.widths[what]:
                    with open(self._path(int(p), what), "ab") as f:
                        f.write(values[rows].tobytes())
            self.sizes[p] += len(rows)
        self.n_rows += len(codes)
        if num.shape[1]:
            self.missing |= np.isnan(num).any(axis=0)
            self.low = np.fmin(self.low, np.fmin.reduce(num, axis=0))
            self.high = np.fmax(self.high, np.fmax.reduce(num, axis=0))

    def load(self, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Partition ``p``'s rows: ``(num, codes, index)``."""
        out = []
        for what, dtype in (("num", np.float64), ("codes", np.int64), ("index", np.int64)):
            width, n = self.widths[what], int(self.sizes[p])
            if width == 0 or n == 0:
                out.append(np.empty((n, width), dtype=dtype))
                continue
            out.append(np.fromfile(self._path(p, what), dtype=dtype).reshape(n, width))
        return out[0], out[1], out[2].reshape(-1)  # no index: empty

    def remove(self) -> None:
        """Delete the files."""
        shutil.rmtree(self.folder, ignore_errors=True)


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
        As :class:`~synthgen.privacy.copies.CopyFilter`'s, the limit and the holdout's rate
        set by :meth:`settle`.
    partitioned : bool
        Whether the limit lets the partitions find every copy (below 1); ``None`` before
        :meth:`settle`.
    """

    def __init__(
        self, train: SpilledRows, holdout: tuple[np.ndarray, np.ndarray], near_copy_quantile: float
    ) -> None:
        self.train, self.holdout = train, holdout
        self.quantile = float(near_copy_quantile)
        self.stats: dict[str, Any] = new_copy_stats()
        self.limit = 0.0
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

    def measure(self, query: SpilledRows) -> tuple[np.ndarray, np.ndarray]:
        """Each query row's count of equal training rows and whether it is a near copy
        (nearer than the limit to a training row of its combination), a partition at a
        time. The holdout is measured first (:meth:`settle`); when its limit is 1 or more
        (:attr:`partitioned` ``False``) nothing is measured."""
        if not self.settle():
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=bool)
        # the limit bounds the search: a near copy lies within it (four bytes and one a row)
        bound = self.limit if self.quantile > 0 else 0.0
        return self._pass(self._embedding(query), query.load, query.n_rows, bound, near=True)

    def settle(self) -> bool:
        """Measure the holdout (once): its duplicate rate and the near-copy limit; returns
        :attr:`partitioned`."""
        if self.partitioned is None:
            h_num, h_codes = self.holdout
            part = partition_of(h_codes, self.train.n_parts)

            def held(p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                rows = np.flatnonzero(part == p)
                return h_num[rows], h_codes[rows], rows

            self._settle(*self._pass(self._embedding(None), held, len(h_codes), _BOUND))
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
            t_num, t_codes, _ = self.train.load(p)
            if _FEW * len(q_index) < len(t_codes):
                # few rows to check (a round of redraws): only the training rows of their
                # combinations can be copies
                same = _combination_in(t_codes, q_codes)
                t_num, t_codes = t_num[same], t_codes[same]
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
            self.limit, method = 0.0, "off"
        else:
            self.limit, method = _quantile(h_dist, self.quantile), "kd-tree"
        self.partitioned = self.limit < _BOUND
        self.stats["near_copy_distance"], self.stats["method"] = self.limit, method


def _combination_in(codes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Which rows of ``codes`` share their categorical combination with a row of ``others``."""
    if codes.shape[1] == 0:
        return np.ones(len(codes), dtype=bool)
    return np.isin(_combination_prints(codes), _combination_prints(others))


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
