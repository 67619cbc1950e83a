"""The near-copy search of the copy filter (:mod:`synthgen.privacy.copies`).

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
mismatches begin). On a table of many categorical columns, where nearly every row's
combination is its own and the limit is several categories, a multi-index
(:mod:`synthgen.privacy.multi_index`: the columns dealt into groups, a row compared only
with the training rows that share every label of a group) finds the rows below any limit,
exactly, and serves from a limit of 1 where it compares few rows. Only where it would
compare most rows anyway (fewer categorical columns than the limit's mismatches, or groups
of labels that most rows share) does the search compare every synthetic row with every
training row (brute force).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from synthgen.evaluation.data import PreparedData
from synthgen.evaluation.distance import MixedEmbedding, nearest_exact
from synthgen.evaluation.keyed import RowGroups
from synthgen.privacy.multi_index import MismatchIndex, combination_keys, groups_below

__all__ = ["NearCopies", "near_copy_distances"]

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

#: The multi-index search of several categories serves while a row meets at most this share
#: of the training rows in it (in expectation); above it every pair is compared.
_MOST_CANDIDATES = 0.25

#: Holdout rows that first guess a limit of a category or more.
_SAMPLE_ROWS = 4000

#: The multi-index searches a limit of one category or more where a row meets at most this
#: many training rows per categorical column in it (what one tree per column would search).
_FEW_PER_COLUMN = 8

#: How much the squared bound of the multi-index grows when the holdout's quantile is not
#: below it (and over the sample's limit for the whole holdout: its quantile is close, and
#: each group fewer cuts the rows compared); on the sample, where a search is cheap.
_GROWTH = 1.15
_SAMPLE_GROWTH = 1.5

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
        self._numbers_of: tuple[tuple[bool, ...], MixedEmbedding, np.ndarray] | None = None
        self._index_of: tuple[int, MismatchIndex | None] | None = None
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
            # Near copies may differ in a category or more: where the multi-index meets few
            # rows (many categorical columns), it searches every bound; otherwise one tree
            # per categorical column (the others' combination as one coordinate) is exact
            # below sqrt(2), and the multi-index or brute force serve above.
            n_cats = len(prep.categorical)
            index = self._index(2)
            if index is not None and index.expected() <= _FEW_PER_COLUMN * n_cats:
                limit = self._several(near_copy_quantile, 1.0)
            else:
                hold_d = self._within(*prep.take("holdout"), self.base_missing, _ONE_AWAY)
                self.method, limit = "one category", _quantile(hold_d, near_copy_quantile)
                if not limit < _ONE_AWAY:
                    limit = self._several(near_copy_quantile, _ONE_AWAY**2)
        self.limit = limit

    def _several(self, q: float, least: float) -> float:
        """The limit, known to be at least ``sqrt(least)``, where near copies may differ in
        categories: the holdout searched with a :class:`~.multi_index.MismatchIndex` below
        growing bounds (:func:`growing_limit`); brute force where the index would compare
        most pairs anyway."""
        num, codes = self.prep.take("holdout")
        emb, x_train = self._numeric(self.base_missing)
        x = _numbers(emb, num)

        def below(rows: slice, bound: float) -> np.ndarray | None:
            index = self._index(groups_below(bound))
            return None if index is None else index.within(x_train, x[rows], codes[rows], bound)

        limit = growing_limit(len(codes), q, least, below)
        if limit is None:
            return self._brute_force(q)
        self.method = "multi-index"
        return limit

    def _brute_force(self, q: float) -> float:
        """The limit from every holdout row compared with every training row (the full
        space: columns of many labels hashed, their mismatches then costed exactly)."""
        self.method = "brute force"
        full = self._full(self.base_missing)
        hold_d = nearest_exact(full, self.prep.take("holdout"), self.prep.take("real"))[0][:, 0]
        return float(np.quantile(hold_d, q))

    def _numeric(self, missing: np.ndarray) -> tuple[MixedEmbedding, np.ndarray]:
        """The numbers' embedding and the training rows' numbers in it (the last kept)."""
        key = tuple(bool(m) for m in missing)
        if self._numbers_of is None or self._numbers_of[0] != key:
            emb = MixedEmbedding(self.prep.num["real"], [], num_missing=missing)
            self._numbers_of = key, emb, _numbers(emb, self.prep.num["real"])
        return self._numbers_of[1], self._numbers_of[2]

    def _index(self, groups: int) -> MismatchIndex | None:
        """The training rows' codes indexed in ``groups`` groups of columns (the last one
        kept), or ``None`` where the index cannot find every row below ``sqrt(groups)``
        (fewer columns than groups) or would meet more than :data:`_MOST_CANDIDATES` of
        the training rows per row."""
        if self._index_of is None or self._index_of[0] != groups:
            self._index_of = groups, useful_index(self.prep.codes["real"], groups)
        return self._index_of[1]

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
        if self.method == "multi-index":
            index = self._index(groups_below(self.limit))
            if index is not None:
                emb, x_train = self._numeric(missing)
                return index.within(x_train, _numbers(emb, num), codes, self.limit)
        if self.method in ("brute force", "multi-index"):
            full = self._full(missing)
            return nearest_exact(full, (num, codes), self.prep.take("real"))[0][:, 0]
        return self._within(num, codes, missing, self.limit, self.method == "one category")


class _Combinations:
    """The training rows' combinations of categorical codes (all columns, or all but
    ``drop``): each row's coordinate is its combination's number spaced 2 apart (a
    combination no training row holds lies 4 before the first)."""

    def __init__(self, codes: np.ndarray, drop: int | None) -> None:
        keep = [j for j in range(codes.shape[1]) if j != drop]
        self.keep = keep
        # the key function holds the codes, not ``self``: no reference cycle keeps a
        # partition's codes alive after it is done (export in parts builds one after another)
        self.groups = RowGroups(lambda rows: combination_keys(codes[rows], keep), len(codes))

    def _keys(self, codes: np.ndarray) -> np.ndarray:
        return combination_keys(codes, self.keep)

    @property
    def train(self) -> np.ndarray:
        """The training rows' coordinates."""
        return self.groups.group * _CODE_SPACING

    def coord(self, codes: np.ndarray) -> np.ndarray:
        """The coordinate of rows coded like the training rows (every column)."""
        found = self.groups.find(self._keys(codes))
        return np.where(found >= 0, found * _CODE_SPACING, _UNSEEN)


def useful_index(codes: np.ndarray, groups: int) -> MismatchIndex | None:
    """The training rows' ``codes`` indexed in ``groups`` groups of columns, or ``None``
    where the index cannot find every row below ``sqrt(groups)`` (fewer columns than groups)
    or would meet more than :data:`_MOST_CANDIDATES` of the rows per row.

    Examples
    --------
    >>> codes = np.random.default_rng(0).integers(0, 50, size=(200, 4))
    >>> useful_index(codes, 2) is not None, useful_index(codes % 2, 2), useful_index(codes, 5)
    (True, None, None)
    """
    if groups > codes.shape[1] or len(codes) == 0:
        return None
    index = MismatchIndex(codes, groups)
    return None if index.expected() > _MOST_CANDIDATES * len(codes) else index


def growing_limit(
    n_rows: int,
    q: float,
    least: float,
    below: Callable[[slice, float], np.ndarray | None],
) -> float | None:
    """The ``q`` quantile of ``n_rows`` holdout rows' distances, known to be at least
    ``sqrt(least)``, from searches below growing bounds: ``below(rows, bound)`` gives the
    distances of ``rows`` exact below ``bound`` (``None``: no search serves that bound).
    A sample of the rows first guesses the bound (growing by :data:`_SAMPLE_GROWTH`); then
    every row is searched a little over the sample's limit (growing by :data:`_GROWTH`)
    until the quantile lies below the bound. ``None`` where a bound is not served.

    Examples
    --------
    >>> d = np.linspace(1.0, 3.0, 101)
    >>> exact = lambda rows, bound: np.where(d[rows] < bound, d[rows], np.inf)
    >>> growing_limit(101, 0.5, 1.0, exact)
    2.0
    """
    bound2, step = 2.0 * least, max(1, n_rows // _SAMPLE_ROWS)
    for rows in [slice(None, None, step)] * (step > 1) + [slice(None)]:
        sample = rows.step is not None
        while True:
            d = below(rows, math.sqrt(bound2))
            if d is None:
                return None
            limit = _quantile(d, q)
            if limit < math.sqrt(bound2):
                break
            bound2 *= _SAMPLE_GROWTH if sample else _GROWTH
        # the whole holdout's bound: a little over the sample's limit
        bound2 = max(least, _GROWTH * limit**2)
    return limit


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
    ``"multi-index"``, ``"brute force"`` or ``"off"`` (a quantile of 0).
    :class:`NearCopies` does it for batch after batch.

    Examples
    --------
    >>> import pandas as pd
    >>> from synthgen.evaluation.data import prepare
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("ab"), 600)})
    >>> prep = prepare(df.iloc[:400], df.iloc[:50], df.iloc[400:])  # synthetic = 50 train rows
    >>> limit, d, how = near_copy_distances(prep, 0.05)
    >>> bool(0 < limit < 1), bool((d == 0).all()), how
    (True, True, 'kd-tree')
    """
    near = NearCopies(prep, near_copy_quantile)
    return near.limit, near.distances(*prep.take("synthetic")), near.method
