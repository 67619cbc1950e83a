"""Rows grouped by equal keys, held as 64-bit fingerprints: at most 28 bytes a row, exact.

`sg.evaluate` looks for copies of real rows among the synthetic and holdout rows
(:func:`~synthgen.evaluation.rowcap.find_copies`); export's copy filter counts how many
training rows equal each synthetic row, and numbers the training rows' combinations of
categorical codes. Holding every training row's byte key
(:func:`~synthgen.evaluation.distance.row_keys`: 8 bytes a column) and sorting them took
about twice 150 bytes a row at 15 columns (2.4 GB for ten million rows). :class:`RowGroups`
holds one fingerprint, one count and one row index per *group* of equal rows (24 bytes) plus
a group number per row (4 bytes), and stays exact: every row of a group is checked byte for
byte against the group's first row once, when the groups are made (keys computed a chunk at
a time), and a row looked up must equal its group's first row byte for byte. In the
astronomically rare case that two different keys share a fingerprint, the groups are made
from the byte keys instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["RowGroups", "fingerprints"]

#: Rows whose keys are computed at once.
CHUNK_ROWS = 500_000

KeyOf = Callable[[np.ndarray], np.ndarray]


def fingerprints(keys: np.ndarray) -> np.ndarray:
    """A 64-bit number per key of :func:`~synthgen.evaluation.distance.row_keys` (equal keys,
    equal numbers; a mix of splitmix64's over the key's 8-byte words): searched as numbers
    instead of comparing the keys' bytes.

    Examples
    --------
    >>> from synthgen.evaluation.distance import row_keys
    >>> keys = row_keys(np.array([[1.0], [2.0], [1.0]]), np.zeros((3, 0)))
    >>> f = fingerprints(keys)
    >>> bool(f[0] == f[2]), bool(f[0] == f[1])
    (True, False)
    """
    words = np.ascontiguousarray(keys).view(np.uint64).reshape(len(keys), -1)
    out = np.full(len(keys), 0x9E3779B97F4A7C15, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(words.shape[1]):
            out ^= words[:, j]
            out *= np.uint64(0xBF58476D1CE4E5B9)
            out ^= out >> np.uint64(31)
    return out


class RowGroups:
    """The groups of equal rows among ``n_rows`` rows whose byte keys ``key_of(index)``
    gives for any row indices.

    Attributes
    ----------
    counts : ndarray
        Rows in each group.
    first : ndarray
        A row of each group (its first).
    group : ndarray
        Each row's group.

    Examples
    --------
    >>> from synthgen.evaluation.distance import row_keys
    >>> codes = np.array([[1, 2], [3, 4], [1, 2]])
    >>> groups = RowGroups(lambda i: row_keys(np.zeros((len(i), 0)), codes[i]), 3)
    >>> groups.counts[groups.group].tolist()
    [2, 1, 2]
    >>> found = groups.find(row_keys(np.zeros((2, 0)), np.array([[3, 4], [9, 9]])))
    >>> bool(found[0] == groups.group[1]), int(found[1])
    (True, -1)
    """

    def __init__(self, key_of: KeyOf, n_rows: int) -> None:
        self.key_of = key_of
        chunks = (np.arange(a, min(a + CHUNK_ROWS, n_rows)) for a in range(0, n_rows, CHUNK_ROWS))
        prints = [fingerprints(key_of(rows)) for rows in chunks]
        self._keys: np.ndarray | None = None  # the byte keys, after a shared fingerprint
        self._make(np.concatenate(prints) if prints else np.zeros(0, dtype=np.uint64))
        del prints
        if not self._exact():
            self._keys = key_of(np.arange(n_rows))
            self._make(self._keys)
        del self._order, self._rank

    def _make(self, values: np.ndarray) -> None:
        order = np.argsort(values, kind="stable")
        ranked = values[order]
        new = np.ones(len(ranked), dtype=bool)
        new[1:] = ranked[1:] != ranked[:-1]
        begin = np.flatnonzero(new)
        self._values = ranked[begin]
        self.counts = np.diff(np.append(begin, len(ranked)))
        self.first = order[begin]
        self._order, self._rank = order, np.repeat(np.arange(len(begin)), self.counts)
        self.group = np.empty(len(order), dtype=np.int32 if len(begin) < 2**31 else np.int64)
        self.group[order] = self._rank

    def _exact(self) -> bool:
        """Every row of a group shares its first row's key (checked a chunk at a time)."""
        shared = np.flatnonzero(self.counts[self._rank] > 1)
        for a in range(0, len(shared), CHUNK_ROWS):
            pos = shared[a : a + CHUNK_ROWS]
            rows, firsts = self._order[pos], self.first[self._rank[pos]]
            if not bool((self.key_of(rows) == self.key_of(firsts)).all()):
                return False
        return True

    def count_of(self, keys: np.ndarray) -> np.ndarray:
        """How many of the rows equal each key (0 for none)."""
        found = self.find(keys)
        return np.where(found >= 0, self.counts[np.maximum(found, 0)], 0)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The group of each key (its row equal to the group's rows), ``-1`` for none."""
        out = np.full(len(keys), -1, dtype=np.int64)
        if len(self._values) == 0:
            return out
        values = keys if self._keys is not None else fingerprints(keys)
        pos = np.minimum(np.searchsorted(self._values, values), len(self._values) - 1)
        hit = np.flatnonzero(self._values[pos] == values)
        same = keys[hit] == self.key_of(self.first[pos[hit]])
        out[hit[same]] = pos[hit[same]]
        return out
