"""Near copies that may differ in several categories: a multi-index search, exact.

In the copy filter's space (numbers min-max scaled, one category mismatch costing 1 in the
squared distance) a row within distance ``bound`` of a training row differs from it in fewer
than ``bound**2`` categorical columns. Split the categorical columns into
``ceil(bound**2)`` groups: by the pigeonhole principle the two rows then agree on every
column of at least one group. So the candidates of a row are the training rows that share
all of one group's labels with it (each group's combinations looked up by fingerprint,
:class:`~synthgen.evaluation.keyed.RowGroups`), and only they are compared in full: their
mismatches counted first, the numbers only for those with fewer mismatches than the bound.
The distances found below the bound are exact; the rest are ``inf``.

On a table of many categorical columns (where almost every row's combination is its own, so
the holdout's near-copy limit is several categories) this replaces comparing every synthetic
row with every training row: the work grows with the rows times the training rows that
share a group's labels with them, not with the rows squared. Columns are dealt into groups
so that their label entropies are balanced (no group of columns that most rows share).
:meth:`MismatchIndex.expected` estimates the work first; where it is not much less than
comparing every pair, the caller compares every pair instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from synthgen.evaluation.keyed import RowGroups

__all__ = ["MismatchIndex", "balanced_groups", "combination_keys", "groups_below"]

#: Synthetic rows looked up at once.
QUERY_ROWS = 4096

#: Candidate pairs compared at once (their codes and numbers gathered: a few hundred MB at
#: 200 columns).
PAIR_CHUNK = 1 << 18


def combination_keys(codes: np.ndarray, keep: list[int]) -> np.ndarray:
    """The ``keep`` columns' codes as one byte key per row (a constant key without any).

    Examples
    --------
    >>> codes = np.array([[1, 2, 3], [1, 5, 3]])
    >>> keys = combination_keys(codes, [0, 2])
    >>> middle = combination_keys(codes, [1])
    >>> bool(keys[0] == keys[1]), bool(middle[0] == middle[1])
    (True, False)
    """
    kept = codes[:, keep] if keep else np.zeros((len(codes), 1))
    kept = np.ascontiguousarray(kept, dtype=np.int64)
    return kept.view(np.dtype((np.void, 8 * kept.shape[1]))).ravel()


def groups_below(bound: float) -> int:
    """Groups of columns that find every row below ``bound``: the fewest mismatches ``m``
    whose distance ``sqrt(m)`` is not below ``bound`` in floating point (a row below it
    differs in fewer, so it agrees on a whole group).

    Examples
    --------
    >>> groups_below(1.0), groups_below(np.sqrt(2)), groups_below(1.5), groups_below(3.0)
    (1, 2, 3, 9)
    """
    m = max(1, math.ceil(bound * bound))
    while m > 1 and math.sqrt(m - 1) >= bound:
        m -= 1
    while math.sqrt(m) < bound:
        m += 1
    return m


def balanced_groups(codes: np.ndarray, n_groups: int) -> list[list[int]]:
    """The categorical columns of ``codes`` dealt into ``n_groups`` groups of about equal
    label entropy (the most informative column first, each to the group with the least so
    far; ties to the first such group). Empty groups are left out.

    Examples
    --------
    >>> codes = np.array([[0, 0, 0, 1], [1, 0, 1, 2], [2, 0, 0, 3], [3, 1, 1, 4]])
    >>> balanced_groups(codes, 2)
    [[0, 2], [3, 1]]
    """
    entropy = [_entropy(codes[:, j]) for j in range(codes.shape[1])]
    order = sorted(range(codes.shape[1]), key=lambda j: (-entropy[j], j))
    groups: list[list[int]] = [[] for _ in range(n_groups)]
    totals = [0.0] * n_groups
    for j in order:
        g = int(np.argmin(totals))
        groups[g].append(j)
        totals[g] += entropy[j]
    return [g for g in groups if g]


def _entropy(column: np.ndarray) -> float:
    counts = np.unique(column, return_counts=True)[1]
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


class MismatchIndex:
    """The training rows' categorical codes indexed by ``n_groups`` groups of columns, for
    :meth:`within` searches below a bound of at most ``sqrt(n_groups)``.

    Parameters
    ----------
    codes : ndarray of int
        The training rows' codes ``(n, columns)``.
    n_groups : int
        Groups of columns (at least 1; at most the columns).
    groups : list of list of int, optional
        The groups of columns, given instead of dealt (:func:`balanced_groups`): the index
        of some of the groups of a search (:mod:`synthgen.privacy.spilled_near` searches
        each group of a partition in turn); :meth:`within` then finds the rows below the
        bound that share one of *these* groups' labels.

    Examples
    --------
    >>> codes = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2]])
    >>> x = np.array([[0.0], [0.5], [1.0]])
    >>> index = MismatchIndex(codes, 3)
    >>> queries = np.array([[0, 0, 5], [9, 9, 2], [9, 9, 9]])
    >>> d = index.within(x, np.array([[0.0], [0.9], [0.0]]), queries, 1.5)
    >>> d.round(3).tolist()  # 1 mismatch; 2 mismatches and 0.1 apart; 3 mismatches
    [1.0, 1.418, inf]
    """

    def __init__(
        self, codes: np.ndarray, n_groups: int, groups: list[list[int]] | None = None
    ) -> None:
        n = len(codes)
        self.partial = groups is not None
        top = int(codes.max()) + 1 if codes.size else 1
        # the smallest type of the codes (a byte for most columns); query codes are capped
        # at ``top``, which no training row holds
        negative = bool(codes.size) and int(codes.min()) < 0
        self.code_dtype = np.dtype(np.int64) if negative else np.min_scalar_type(top)
        self.top = top
        self.codes = np.ascontiguousarray(codes, dtype=self.code_dtype)
        self.n_rows = n
        self.count_dtype = np.uint16 if codes.shape[1] < 2**16 else np.int64
        index_dtype = np.int32 if n < 2**31 else np.int64
        self.groups: list[tuple[list[int], RowGroups, np.ndarray, np.ndarray]] = []
        for cols in balanced_groups(self.codes, n_groups) if groups is None else groups:
            # The key function holds the codes, not ``self`` (no reference cycle).
            held = self.codes
            rows = RowGroups(lambda r, h=held, c=cols: combination_keys(h[r], c), n)
            members = np.argsort(rows.group, kind="stable").astype(index_dtype)
            starts = np.concatenate([[0], np.cumsum(rows.counts)]).astype(np.int64)
            self.groups.append((cols, rows, members, starts))

    def expected(self) -> float:
        """Training rows a row like the training rows meets, on average, over the groups
        (each combination's share of the rows times its rows, summed): the pairs
        :meth:`within` compares per row.

        Examples
        --------
        >>> codes = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
        >>> MismatchIndex(codes, 1).expected(), MismatchIndex(codes, 2).expected()
        (1.0, 4.0)
        """
        n = max(self.n_rows, 1)
        return float(sum((g[1].counts.astype(np.float64) ** 2).sum() / n for g in self.groups))

    def within(
        self, x_train: np.ndarray, x: np.ndarray, codes: np.ndarray, bound: float
    ) -> np.ndarray:
        """Each row's distance to its nearest training row, exact below ``bound`` (``inf``
        from there): numbers ``x`` against ``x_train`` (the training rows' numbers, already
        scaled) plus one per category mismatch. The index must have at least
        :func:`groups_below` ``(bound)`` groups (a near row then shares a whole group),
        unless its ``groups`` were given."""
        enough = groups_below(bound)
        if len(self.groups) < enough and not self.partial:
            raise ValueError(
                f"an index of {len(self.groups)} groups finds the rows below "
                f"sqrt({len(self.groups)}), not {bound}"
            )
        codes = np.minimum(codes, self.top).astype(self.code_dtype)
        best = np.full(len(codes), np.inf)
        for lo in range(0, len(codes), QUERY_ROWS):
            part = slice(lo, lo + QUERY_ROWS)
            for q, t in self._pairs(codes[part]):
                # (a sum of the bytes of the comparison: twice as quick as count_nonzero)
                unequal = self.codes[t] != codes[part][q]
                mism = unequal.view(np.uint8).sum(axis=1, dtype=self.count_dtype)
                close = mism < enough
                q, t = q[close], t[close]
                diff = x_train[t] - x[part][q]
                d2 = np.einsum("ij,ij->i", diff, diff) + mism[close]
                np.minimum.at(best[part], q, d2)
        out = np.sqrt(best)
        out[out >= bound] = np.inf
        return out

    def _pairs(self, codes: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(row, training row) pairs that share every label of a group, in chunks of at
        most :data:`PAIR_CHUNK` (a pair shared by several groups comes once per group)."""
        for cols, rows, members, starts in self.groups:
            found = rows.find(combination_keys(codes, cols))
            hit = np.flatnonzero(found >= 0)
            g = found[hit]
            sizes = rows.counts[g].astype(np.int64)
            ends = np.cumsum(sizes)
            total = int(ends[-1]) if len(ends) else 0
            for a in range(0, total, PAIR_CHUNK):
                pos = np.arange(a, min(a + PAIR_CHUNK, total), dtype=np.int64)
                k = np.searchsorted(ends, pos, side="right")
                offset = pos - (ends[k] - sizes[k])
                yield hit[k], members[starts[g[k]] + offset]
