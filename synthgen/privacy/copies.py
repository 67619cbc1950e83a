"""The copy filter of privacy-safe export: which synthetic rows give a training row away.

A synthetic row is dropped (and export draws another) when it is

- an **exact copy**: equal to a training row, unless it is a *natural duplicate*: several
  training rows share it and the synthetic rows copy training rows no more often than real
  unseen rows (the holdout) equal training rows. A table where 23% of the rows repeat other
  rows keeps its repeats; a generator that reproduces one person's row does not;
- a **near copy**: nearer to a training row than all but ``near_copy_quantile`` of the holdout
  rows are to theirs (closer than real unseen people come by chance). When more than that
  share of holdout rows equal a training row, the limit is 0 and only exact copies count.

Everything is compared as the generator saw it: the synthetic rows against the *protected*
training rows (a generator that reproduces a row whose rare label was merged still copies that
person), and the holdout after the same label merges (``merged_into``); numbers need no such
step, as the distance clips them to the training range. Distances are the mixed-type distance
of :mod:`synthgen.evaluation.distance` (numbers scaled to [0, 1], a category mismatch costs 1).

It is fast on large tables: the training and holdout rows are coded once (their rows grouped
by 64-bit fingerprints, :class:`~synthgen.evaluation.keyed.RowGroups`, their k-d tree built)
and each batch of synthetic rows is coded like them, looked up by binary search among the
fingerprints and compared byte for byte, and near copies are searched with a k-d tree in a
compact space: the numbers, plus **one** coordinate for all categorical columns together,
their combination's number among the training rows' combinations spaced 2 apart (a
combination no training row holds lies 4 before the first). Below a limit of 1, distances
there equal the mixed distances (a near copy matches every category, and a mismatch in any
column is 2 or more away), and the tree has as few dimensions as the table has numbers plus
one. A limit of 1 or more (holdout rows are a category away from the training rows, as when
each person has a label of their own) lets a near copy differ in one category: then each
categorical column ``j`` gets a tree of the numbers plus the combination of the *other*
columns, and a row's distance is the least of its distance in the first tree and, for each
``j``, one mismatch plus its distance in tree ``j`` (exact below sqrt(2), where two
mismatches begin). Only a limit of sqrt(2) or more falls back to a brute-force search of
every training row for every row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from synthgen.evaluation.data import PreparedData, prepare
from synthgen.evaluation.distance import MixedEmbedding, nearest_exact, row_keys
from synthgen.evaluation.keyed import RowGroups
from synthgen.schema import Schema

__all__ = ["CopyFilter", "NearCopies", "near_copy_distances"]

#: Spacing of the categorical combinations in the compact space: any mismatch is farther
#: than any limit < 1.
_CODE_SPACING = 2.0

#: Coordinate of a categorical combination no training row holds (``_CODE_SPACING`` or
#: more from every training row's).
_UNSEEN = -2.0 * _CODE_SPACING

#: What one category mismatch adds to a squared mixed distance (minmax scaling).
_MISMATCH = 1.0

#: Distances below this are exact with the one-category search (two mismatches cost 2).
_ONE_AWAY = float(np.sqrt(2 * _MISMATCH))

#: Training rows times categorical columns up to which the one-category search keeps its
#: trees for every batch (above it, each batch builds them again, one at a time).
_KEPT_TREE_ROWS = 20_000_000


class NearCopies:
    """The near-copy search of one training and holdout frame, set up once for every batch
    of synthetic rows: the limit from the holdout, the training rows' k-d tree.

    ``prep`` holds the training rows (``"real"``) and the holdout; the synthetic rows come as
    ``(num, codes)`` coded like them (:meth:`~synthgen.evaluation.data.PreparedData.encode`:
    a label they do not hold has a code of its own, one past their labels). A numeric column
    gets a missing-value coordinate when any of the three frames misses a value in it, as
    before the search was set up once: a batch with a new missing column gets a space of
    its own.
    """

    def __init__(self, prep: PreparedData, near_copy_quantile: float) -> None:
        self.prep = prep
        base = [prep.num["real"], prep.num["holdout"]]
        self.base_missing = np.isnan(np.concatenate(base)).any(axis=0)
        self._spaces: dict[tuple[bool, ...], tuple[MixedEmbedding, Any]] = {}
        self.limit, self.method = 0.0, "off"
        if near_copy_quantile <= 0:
            return
        self._combos: dict[int | None, _Combinations] = {}
        self._dropped: dict[tuple[tuple[bool, ...], int], Any] = {}
        # Holdout distances below 1 are exact in the compact space; the rest are >= 1.
        hold_d = self._within(*prep.take("holdout"), self.base_missing, 1.0, one_away=False)
        self.method = "kd-tree"
        limit = _quantile(hold_d, near_copy_quantile)
        if not limit < 1.0:
            # Near copies may differ in one category: exact below sqrt(2) with one tree per
            # categorical column (the others' combination as one coordinate).
            hold_d = self._within(*prep.take("holdout"), self.base_missing, _ONE_AWAY)
            self.method, limit = "one category", _quantile(hold_d, near_copy_quantile)
        if not limit < _ONE_AWAY:
            # A limit of sqrt(2) or more lets near copies differ in several categories:
            # search the full space (columns of many labels hashed, their mismatches then
            # costed exactly).
            self.method = "brute force"
            full = self._full(self.base_missing)
            hold_d = nearest_exact(full, prep.take("holdout"), prep.take("real"))[0][:, 0]
            limit = float(np.quantile(hold_d, near_copy_quantile))
        self.limit = limit

    def _combinations(self, drop: int | None) -> _Combinations:
        if drop not in self._combos:
            self._combos[drop] = _Combinations(self.prep.codes["real"], drop)
        return self._combos[drop]

    def _space(self, missing: np.ndarray) -> tuple[MixedEmbedding, Any]:
        key = tuple(bool(m) for m in missing)
        if key not in self._spaces:
            emb = MixedEmbedding(self.prep.num["real"], [], num_missing=missing)
            real = _numbers(emb, self.prep.num["real"])
            self._spaces[key] = emb, cKDTree(_with(real, self._combinations(None).train))
        return self._spaces[key]

    def _tree_without(self, missing: np.ndarray, j: int, emb: MixedEmbedding) -> Any:
        """The k-d tree of the training rows' numbers and their combination without
        categorical column ``j`` (kept for every batch while the trees stay small)."""
        key = (tuple(bool(m) for m in missing), j)
        tree = self._dropped.get(key)
        if tree is None:
            real = _numbers(emb, self.prep.num["real"])
            tree = cKDTree(_with(real, self._combinations(j).train))
            n_trees = len(self.prep.categorical)
            if len(real) * n_trees <= _KEPT_TREE_ROWS:
                self._dropped[key] = tree
        return tree

    def _within(
        self,
        num: np.ndarray,
        codes: np.ndarray,
        missing: np.ndarray,
        bound: float,
        one_away: bool = True,
    ) -> np.ndarray:
        """Each row's distance to its nearest training row, exact below ``bound`` (``inf``
        from there). ``one_away``: also rows one category away (exact for ``bound`` up to
        sqrt(2): two mismatches cost 2); otherwise only rows of the same combination
        (``bound`` up to 1)."""
        emb, tree = self._space(missing)
        x = _numbers(emb, num)
        found, _ = tree.query(
            _with(x, self._combinations(None).coord(codes)), k=1, distance_upper_bound=bound
        )
        best = np.asarray(found, dtype=float) ** 2
        inner = float(np.sqrt(max(bound**2 - _MISMATCH, 0.0)))
        if one_away and inner > 0:
            # A row one category (column j) away: the same combination without j and numbers
            # within sqrt(bound^2 - 1); one that matches j too is found above, nearer.
            for j in range(codes.shape[1]):
                coord = self._combinations(j).coord(codes)
                found, _ = self._tree_without(missing, j, emb).query(
                    _with(x, coord), k=1, distance_upper_bound=inner
                )
                np.minimum(best, np.asarray(found, dtype=float) ** 2 + _MISMATCH, out=best)
        out = np.sqrt(best)
        out[out >= bound] = np.inf
        return out

    def _full(self, missing: np.ndarray) -> MixedEmbedding:
        # one more code per column: the labels the training and holdout rows do not hold
        n_cats = [len(self.prep.categories[c]) + 1 for c in self.prep.categorical]
        return MixedEmbedding(self.prep.num["real"], n_cats, num_missing=missing)

    def distances(self, num: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Each synthetic row's distance to its nearest training row (``inf`` at or above
        the limit where the search stops there)."""
        if self.limit == 0.0:
            return np.full(len(codes), np.inf)
        missing = self.base_missing | np.isnan(num).any(axis=0)
        if self.method == "brute force":
            full = self._full(missing)
            return nearest_exact(full, (num, codes), self.prep.take("real"))[0][:, 0]
        return self._within(num, codes, missing, self.limit, self.method == "one category")


class _Combinations:
    """The training rows' combinations of categorical codes (all columns, or all but
    ``drop``): each row's coordinate is its combination's number spaced 2 apart (a
    combination no training row holds lies 4 before the first)."""

    def __init__(self, codes: np.ndarray, drop: int | None) -> None:
        self.keep = [j for j in range(codes.shape[1]) if j != drop]
        self.groups = RowGroups(lambda rows: self._keys(codes[rows]), len(codes))

    def _keys(self, codes: np.ndarray) -> np.ndarray:
        """The kept columns' codes as one byte key per row (a constant key without any)."""
        kept = codes[:, self.keep] if self.keep else np.zeros((len(codes), 1))
        kept = np.ascontiguousarray(kept, dtype=np.int64)
        return kept.view(np.dtype((np.void, 8 * kept.shape[1]))).ravel()

    @property
    def train(self) -> np.ndarray:
        """The training rows' coordinates."""
        return self.groups.group * _CODE_SPACING

    def coord(self, codes: np.ndarray) -> np.ndarray:
        """The coordinate of rows coded like the training rows (every column)."""
        found = self.groups.find(self._keys(codes))
        return np.where(found >= 0, found * _CODE_SPACING, _UNSEEN)


def _numbers(emb: MixedEmbedding, num: np.ndarray) -> np.ndarray:
    return emb.transform(num, np.zeros((len(num), 0), dtype=np.int64))


def _with(x: np.ndarray, coord: np.ndarray) -> np.ndarray:
    return np.hstack([x, coord[:, None]])


def _quantile(distances: np.ndarray, q: float) -> float:
    with np.errstate(invalid="ignore"):  # a quantile among the infinities is not finite
        limit = float(np.quantile(distances, q))
    return limit if np.isfinite(limit) else np.inf


def near_copy_distances(
    prep: PreparedData, near_copy_quantile: float
) -> tuple[float, np.ndarray, str]:
    """The near-copy limit and each synthetic row's distance to its nearest training row.

    Returns ``(limit, distances, method)``. Distances at or above the limit may be reported
    as ``inf`` (the search stops there); ``method`` is ``"kd-tree"``, ``"one category"``,
    ``"brute force"`` or ``"off"`` (a quantile of 0). :class:`NearCopies` does it for batch
    after batch.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("ab"), 600)})
    >>> prep = prepare(df.iloc[:400], df.iloc[:50], df.iloc[400:])  # synthetic = 50 train rows
    >>> limit, d, how = near_copy_distances(prep, 0.05)
    >>> bool(0 < limit < 1), bool((d == 0).all()), how
    (True, True, 'kd-tree')
    """
    near = NearCopies(prep, near_copy_quantile)
    return near.limit, near.distances(*prep.take("synthetic")), near.method


@dataclass
class CopyFilter:
    """Finds copies of training rows in batches of synthetic rows (see the module docstring).

    Parameters
    ----------
    train, holdout : DataFrame
        The training rows the generator learned from (after the protections) and the real rows
        it never saw.
    schema : Schema
        Column kinds of ``train``.
    near_copy_quantile : float
        Share of holdout rows allowed to be nearer to a training row than a kept synthetic row
        (0: exact copies only).
    n_rows : int
        Rows export will keep in all: with the holdout's duplicate rate it sets how many natural
        duplicates may be kept.
    merged_into : dict, optional
        Column -> the label rare labels were merged into; holdout labels missing from ``train``
        are mapped to it, so the holdout is judged as the generator saw the training rows.
    prepared : PreparedData, optional
        The training rows (``"real"``) and the holdout already coded (a table read in parts:
        :func:`synthgen.safe_export.passes.prepare_parts`); ``train`` and ``holdout`` are then
        not read.

    Attributes
    ----------
    stats : dict
        Running counts: ``exact_copies`` and ``near_copies`` dropped, ``natural_duplicates``
        kept, ``checked`` rows, the holdout's ``base_rate``, the first batch's ``copy_rate``,
        the ``near_copy_distance`` limit and the search ``method``.

    Examples
    --------
    >>> df = pd.DataFrame({"c": list("ab") * 100, "x": np.arange(200) % 7})
    >>> f = CopyFilter(df.iloc[:150], df.iloc[150:], Schema.infer(df), 0.01, n_rows=50)
    >>> drop = f.check(df.iloc[:50])  # every row repeats: natural duplicates, none dropped
    >>> int(drop.sum()), f.stats["natural_duplicates"], f.stats["base_rate"]
    (0, 50, 1.0)
    """

    train: pd.DataFrame
    holdout: pd.DataFrame
    schema: Schema
    near_copy_quantile: float
    n_rows: int
    merged_into: dict[str, Any] = field(default_factory=dict)
    prepared: PreparedData | None = field(default=None, repr=False)
    stats: dict[str, Any] = field(default_factory=dict)
    _prep: PreparedData | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.stats = {
            "checked": 0,
            "exact_copies": 0,
            "near_copies": 0,
            "natural_duplicates": 0,
            "base_rate": None,
            "copy_rate": None,
            "near_copy_distance": None,
            "method": None,
        }

    def _setup(self) -> None:
        """The training and holdout rows coded once, for every batch: their keys, the
        holdout's duplicate rate and the near-copy search."""
        prep = self.prepared
        self.prepared = None  # held once, as ``_prep``
        if prep is None:
            # the holdout's first row stands in for the synthetic rows (coded per batch)
            prep = prepare(self.train, self.holdout.iloc[:1], self.holdout, schema=self.schema)
        self._merge_holdout_labels(prep)
        self._prep = prep
        num, codes = prep.take("real")
        self._train = RowGroups(lambda rows: row_keys(num[rows], codes[rows]), len(codes))
        self.stats["base_rate"] = float(np.mean(self._counts(*prep.take("holdout")) > 0))
        self._near = NearCopies(prep, self.near_copy_quantile)

    def _counts(self, num: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """How many training rows equal each of these rows."""
        found = self._train.find(row_keys(num, codes))
        return np.where(found >= 0, self._train.counts[np.maximum(found, 0)], 0)

    def check(self, synthetic: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of ``synthetic`` to drop; updates :attr:`stats`."""
        if self._prep is None:
            self._setup()
        num, codes = self._prep.encode(synthetic, "synthetic rows")
        counts = self._counts(num, codes)
        st = self.stats
        if st["copy_rate"] is None:
            st["copy_rate"] = float(np.mean(counts > 0))
        # Natural duplicates: copies of rows several training rows share, the most shared first,
        # as long as the copy rate stays within the holdout's own rate.
        room = int(np.floor(st["base_rate"] * self.n_rows)) - st["natural_duplicates"]
        shared = np.flatnonzero(counts >= 2)
        keep = shared[np.argsort(-counts[shared], kind="stable")][: max(room, 0)]
        is_copy = counts > 0
        allowed = np.zeros(len(counts), dtype=bool)
        allowed[keep] = True
        near = (self._near.distances(num, codes) < self._near.limit) & ~is_copy
        exact = is_copy & ~allowed
        st["checked"] += len(counts)
        st["exact_copies"] += int(exact.sum())
        st["near_copies"] += int(near.sum())
        st["natural_duplicates"] += len(keep)
        st["near_copy_distance"], st["method"] = self._near.limit, self._near.method
        return exact | near

    def _merge_holdout_labels(self, prep: PreparedData) -> None:
        for name, label in self.merged_into.items():
            if name not in prep.categorical or label not in prep.categories[name]:
                continue
            j = prep.categorical.index(name)
            labels = prep.categories[name]
            known = np.zeros(len(labels), dtype=bool)
            known[np.unique(prep.codes["real"][:, j])] = True
            known[[k for k, v in enumerate(labels) if v is None]] = True  # missing stays missing
            codes = prep.codes["holdout"][:, j]
            prep.codes["holdout"][:, j] = np.where(known[codes], codes, labels.index(label))
