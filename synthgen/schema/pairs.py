"""Pairs of columns tested all at once: the inequality search's cheap tests, in numpy.

:func:`synthgen.schema.discover` looks for an order between two columns (``start <= end``) in
every pair of columns of one kind. A wide table has millions of ordered pairs (2,000
number columns: 4 million); tested one at a time in Python they took longer than the rest of
schema inference. :func:`viable_orders` runs the tests that rule most pairs out for every
pair at once and hands back the few left.
"""

from __future__ import annotations

import numpy as np

__all__ = ["viable_orders"]

#: Probe rows compared for every pair of columns at once; the rest of the probe is read only
#: for the pairs these leave (most pairs of unrelated columns break on a few rows).
_FIRST_PROBE_ROWS = 16


def viable_orders(
    grid: np.ndarray | None,
    kinds: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    block: int = 512,
) -> set[tuple[int, int]]:
    """The orders ``(i, j)`` (column ``i`` at most column ``j``, ``i != j``) that an inequality
    rule could still have after its cheap tests: both columns of one kind (``kinds``), their
    ranges overlapping (not ``high[i] <= low[j]``: an order that holds whatever the rows is
    no rule), and no probe row (``grid``, rows by columns) with column ``i`` above column
    ``j`` (a comparison with NaN breaks nothing). Tested for every pair at once, a block of
    ``block`` columns against all at a time (memory ``block`` x columns), instead of a pair
    at a time in Python: 2,000 number columns make 4 million orders.

    Examples
    --------
    >>> grid = np.array([[1.0, 1.5, 0.0], [2.0, 3.0, 5.0]])  # column 0 below column 1
    >>> sorted(viable_orders(grid, np.zeros(3, int), grid.min(0), grid.max(0)))
    [(0, 1)]
    """
    out: set[tuple[int, int]] = set()
    if grid is None:
        return out
    k = grid.shape[1]
    head, rest = grid[:_FIRST_PROBE_ROWS], grid[_FIRST_PROBE_ROWS:]
    for start in range(0, k, block):
        rows = slice(start, min(start + block, k))
        ok = (kinds[rows, None] == kinds[None, :]) & ~(high[rows, None] <= low[None, :])
        for r in head:
            ok &= ~(r[rows, None] > r[None, :])
        i, j = np.nonzero(ok)
        i += start
        i, j = i[i != j], j[i != j]
        for at in range(0, len(i), 4096):  # the rest of the probe, for the pairs left
            a, b = i[at : at + 4096], j[at : at + 4096]
            kept = ~(rest[:, a] > rest[:, b]).any(axis=0)
            out.update(zip(a[kept].tolist(), b[kept].tolist(), strict=True))
    return out
