"""The rows an attack sees, and the numeric space the attacks work in.

:class:`Rows` holds rows as the evaluation prepared them (numbers, joint category codes, and the
original frame where a shadow generator must be refitted on it). :class:`AttackSpace` turns them
into the two matrices the attacks use, fitted on the attacker's own data only (synthetic and
reference rows):

* :meth:`AttackSpace.embed`: the mixed-type embedding of the distance metrics
  (:class:`~synthgen.evaluation.distance.MixedEmbedding`: min-max numbers, one-hot categories
  at weight ``1/sqrt(2)``), for distances and densities;
* :meth:`AttackSpace.matrix`: numbers (missing kept as NaN) and category codes, for the
  gradient-boosting classifiers (categories as native categorical features).

Memory stays bounded whatever the cardinality: a categorical column keeps its own code only for
its most frequent ``max_width - n_hash`` labels (frequency rank, in the attacker's data); the
other labels, and labels the attacker never saw, share ``n_hash`` hashed buckets. So the
embedding is at most ``max_width`` wide per column, never as wide as the table is long.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgen.evaluation.data import PreparedData
from synthgen.evaluation.distance import MixedEmbedding, nearest

__all__ = ["AttackSpace", "Rows"]


@dataclass(frozen=True)
class Rows:
    """Rows seen by an attack: numeric values, category codes, optionally the original frame.

    Examples
    --------
    >>> r = Rows(np.zeros((3, 1)), np.zeros((3, 0), dtype=int))
    >>> len(r), len(r.take(np.array([0, 2])))
    (3, 2)
    """

    num: np.ndarray
    codes: np.ndarray
    frame: pd.DataFrame | None = None

    def __len__(self) -> int:
        return int(self.num.shape[0])

    def take(self, idx: np.ndarray) -> Rows:
        """The rows at positions ``idx``."""
        frame = None if self.frame is None else self.frame.iloc[idx].reset_index(drop=True)
        return Rows(self.num[idx], self.codes[idx], frame)

    @classmethod
    def of(
        cls,
        prep: PreparedData,
        name: str,
        idx: np.ndarray | None = None,
        frame: pd.DataFrame | None = None,
    ) -> Rows:
        """Rows of the prepared frame ``name`` (``frame``: the original rows, same order)."""
        num, codes = prep.take(name, idx)
        if frame is not None:
            frame = frame.reset_index(drop=True)
            frame = frame if idx is None else frame.iloc[idx].reset_index(drop=True)
        return cls(num, codes, frame)

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        """The rows of ``parts`` one after the other (frames kept only if all have one)."""
        frames = [p.frame for p in parts]
        frame = None
        if all(f is not None for f in frames):
            frame = pd.concat(frames, ignore_index=True)
        return Rows(
            np.concatenate([p.num for p in parts]),
            np.concatenate([p.codes for p in parts]),
            frame,
        )


def _bucket(codes: np.ndarray, n_hash: int) -> np.ndarray:
    # Knuth's multiplicative hash: spreads neighbouring codes over the buckets
    return ((codes.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)) % n_hash


class AttackSpace:
    """Encoding shared by the attacks, fitted on the attacker's data.

    Parameters
    ----------
    n_categories : list of int
        Number of labels of each categorical column (codes ``>= n`` are labels not in the
        prepared frames).
    max_width : int
        Most coordinates (and codes) per categorical column.
    n_hash : int
        Buckets shared by the rarer labels of a column wider than ``max_width``.
    num_missing : ndarray of bool, optional
        Numeric columns that get a missing-value indicator.

    Examples
    --------
    >>> rows = Rows(np.array([[0.0], [2.0]]), np.array([[0], [999]]))
    >>> space = AttackSpace([1000], max_width=4, n_hash=2).fit(rows)
    >>> space.embed(rows).shape, space.matrix(rows).shape
    ((2, 5), (2, 2))
    """

    def __init__(
        self,
        n_categories: list[int],
        *,
        max_width: int = 32,
        n_hash: int = 8,
        num_missing: np.ndarray | None = None,
    ) -> None:
        if not 0 < n_hash < max_width:
            raise ValueError("n_hash must lie between 0 and max_width")
        self.n_categories = [int(n) + 1 for n in n_categories]  # + the "not seen" code
        self.max_width = max_width
        self.n_hash = n_hash
        self.num_missing = num_missing
        self._embedded: dict[int, tuple[Rows, np.ndarray]] = {}
        self._neighbours: dict[tuple[int, int], tuple] = {}

    def fit(self, *known: Rows) -> AttackSpace:
        """Learn scales and frequency ranks from the attacker's rows."""
        rows = Rows.concat(list(known))
        self.maps_: list[np.ndarray] = []
        widths = []
        for j, n in enumerate(self.n_categories):
            if n <= self.max_width:
                self.maps_.append(np.arange(n))
                widths.append(n)
                continue
            kept = self.max_width - self.n_hash
            counts = np.bincount(np.clip(rows.codes[:, j], 0, n - 1), minlength=n)
            order = np.argsort(-counts, kind="stable")
            mapping = kept + _bucket(np.arange(n), self.n_hash).astype(np.int64)
            top = order[:kept][counts[order[:kept]] > 0]
            mapping[top] = np.arange(len(top))
            self.maps_.append(mapping)
            widths.append(self.max_width)
        num_missing = self.num_missing
        if num_missing is None:
            num_missing = np.isnan(rows.num).any(axis=0)
        self.embedding_ = MixedEmbedding(rows.num, widths, num_missing=num_missing)
        self.widths_ = widths
        self._embedded.clear()
        self._neighbours.clear()
        return self

    def codes(self, rows: Rows) -> np.ndarray:
        """Category codes after the frequency-rank / hash mapping."""
        out = np.empty_like(rows.codes)
        for j, mapping in enumerate(self.maps_):
            out[:, j] = mapping[np.clip(rows.codes[:, j], 0, len(mapping) - 1)]
        return out

    def embed(self, rows: Rows) -> np.ndarray:
        """Mixed-type embedding (Euclidean distance = mixed distance), float32 (twice the
        speed of the neighbour searches; an exact copy is still at distance 0).

        The same :class:`Rows` object gives the same (cached, read-only) array, so that
        attacks sharing rows share their neighbour searches (:meth:`nearest`).
        """
        key = id(rows)
        hit = self._embedded.get(key)
        if hit is not None and hit[0] is rows:
            return hit[1]
        X = self.embedding_.transform(rows.num, self.codes(rows)).astype(np.float32)
        X.flags.writeable = False
        self._embedded[key] = (rows, X)  # holding ``rows`` keeps its id from being reused
        return X

    def nearest(self, query: Rows, reference: Rows, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices of the ``k`` nearest ``reference`` rows of each ``query`` row
        (see :func:`~synthgen.evaluation.distance.nearest`), computed once per pair of row sets
        for the largest ``k`` asked so far (the density, distance and shadow attacks all search
        the candidates' neighbours among the synthetic rows)."""
        key = (id(query), id(reference))
        hit = self._neighbours.get(key)
        if hit is None or hit[0] < k or hit[1] is not query or hit[2] is not reference:
            dist, idx = nearest(self.embed(query), self.embed(reference), k=k)
            hit = (k, query, reference, dist, idx)
            self._neighbours[key] = hit
        return hit[3][:, :k], hit[4][:, :k]

    def matrix(self, rows: Rows) -> np.ndarray:
        """Numbers then mapped codes, as floats (for gradient boosting)."""
        return np.concatenate([rows.num, self.codes(rows).astype(float)], axis=1)

    @property
    def categorical_mask(self) -> np.ndarray:
        """Which columns of :meth:`matrix` are categorical."""
        n_num = len(self.embedding_.num_blocks)
        return np.r_[np.zeros(n_num, dtype=bool), np.ones(len(self.maps_), dtype=bool)]
