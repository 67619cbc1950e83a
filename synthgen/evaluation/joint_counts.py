"""Joint counts of a table's codes for :mod:`~synthgen.evaluation.pair_trends`: every pair's
contingency table out of matrix products of the rows' one-hot codes, and its score.

Each column's codes (labels, or a continuous column's bins) sit side by side in a one-hot row.
The counts of a block of discrete columns' codes against every code are one matrix product
over the rows, a chunk at a time. A code no row of either frame holds, and each column's last
code, stay out of the product (fewer and smaller products): the first counts nothing, the
second's counts are the column's rows less its other codes' (:func:`whole_tables`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_ROWS",
    "COUNTS_BYTES",
    "blocks",
    "contingency",
    "held_codes",
    "joint_counts",
    "product_places",
    "whole_tables",
]

#: Rows one-hot coded at once for the contingency tables: at most this many, and at most
#: ``CHUNK_BYTES`` of float32 codes (a few hundred rows of a table of thousands of columns).
CHUNK_ROWS = 8192
CHUNK_BYTES = 64 * 2**20
#: Bytes of a frame's joint counts held at once: the counts of every code against a block of
#: discrete columns' codes (all of them at once would grow with the square of the width).
COUNTS_BYTES = 128 * 2**20


def blocks(discrete: list[str], width: dict[str, int], total: int) -> list[list[str]]:
    """Consecutive runs of the discrete columns whose joint counts with every code take at
    most ``COUNTS_BYTES`` a frame (at least one column a run)."""
    most = max(1, COUNTS_BYTES // (8 * max(total, 1)))
    blocks: list[list[str]] = []
    held = 0
    for c in discrete:
        if blocks and held + width[c] <= most:
            blocks[-1].append(c)
            held += width[c]
        else:
            blocks.append([c])
            held = width[c]
    return blocks


Codes = Mapping[str, np.ndarray]  # each column's code per row


def held_codes(codes: Codes, layout: Sequence[str], width: Mapping[str, int]) -> np.ndarray:
    """How many rows of a frame hold each code, by the code's offset in ``layout``."""
    if not layout:
        return np.zeros(0)
    return np.concatenate([np.bincount(codes[c], minlength=width[c]) for c in layout]).astype(
        np.float64
    )


def product_places(
    held: Sequence[np.ndarray],
    layout: Sequence[str],
    width: Mapping[str, int],
    offsets: Mapping[str, int],
) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
    """Where each code (by its offset in ``layout``) sits in the one-hot rows multiplied in
    :func:`joint_counts`: the codes some row of either frame holds, but each column's last,
    consecutive in ``layout`` order; the others at one place past them, the sink (their
    counts are zero, or the rest: :func:`whole_tables`). Also each column's span of places.

    Examples
    --------
    >>> held = [np.array([2.0, 0.0, 1.0, 0.0, 3.0]), np.array([1.0, 0.0, 2.0, 1.0, 2.0])]
    >>> target, places = product_places(held, ["a", "b"], {"a": 3, "b": 2}, {"a": 0, "b": 3})
    >>> target.tolist(), places
    ([0, 2, 2, 1, 2], {'a': (0, 1), 'b': (1, 2)})
    """
    some = (held[0] > 0) | (held[1] > 0)
    for c in layout:
        some[offsets[c] + width[c] - 1] = False  # counted as the rest
    ends = np.cumsum(some)  # places up to and including each code
    target = ends - 1
    places = {
        c: (int(ends[offsets[c]] - some[offsets[c]]), int(ends[offsets[c] + width[c] - 1]))
        for c in layout
    }
    target[~some] = int(some.sum())
    return target, places


def joint_counts(
    codes: Codes,
    layout: Sequence[str],
    block: Sequence[str],
    span: tuple[int, int],
    target: np.ndarray,
    offsets: Mapping[str, int],
    split: int,
) -> np.ndarray:
    """How many rows of a frame hold each code of the discrete columns ``block``
    (consecutive in ``layout``, which puts the discrete columns first, their codes before
    ``split``) together with each code of every column: one matrix product of one-hot rows,
    a chunk of rows at a time; exact counts. Pairs of two continuous columns need none.

    Only the codes with a place in ``target`` (:func:`product_places`; the block's places
    ``span``) enter the product, a row and a column each; the last row and column are the
    codes out of it (zeros, filled in by :func:`whole_tables`): no row holds them, or they
    are a column's last, whose counts are its rows less its other codes' (half the product
    for two-label columns). The discrete columns after the block are left out (NaN): a pair of
    two discrete columns is counted in the later one's block, so its table is counted once.
    """
    (lo, hi), sink = span, len(target) and int(target.max())
    after = int(np.count_nonzero(target[:split] != sink))  # the continuous columns' places
    n = len(next(iter(codes.values()))) if layout else 0
    counts = np.zeros((hi - lo + 1, sink + 1))
    product = counts[:-1]
    used = [c for c in layout if not offsets[block[-1]] < offsets[c] < split]
    step = max(1, min(CHUNK_ROWS, CHUNK_BYTES // (4 * (sink + 1))))
    for start in range(0, n, step):
        stop = min(start + step, n)
        hot = np.zeros((stop - start, sink + 1), dtype=np.float32)
        rows = np.arange(stop - start)
        for c in used:
            hot[rows, target[offsets[c] + codes[c][start:stop]]] = 1.0
        block_hot = hot[:, lo:hi].T
        # float32 counts of at most 8,192 rows are exact
        product[:, :hi] += block_hot @ hot[:, :hi]
        product[:, after:sink] += block_hot @ hot[:, after:sink]
    product[:, hi:after] = np.nan  # not counted: never read
    return counts


def whole_tables(counts: np.ndarray, held_x: np.ndarray, held_d: np.ndarray) -> np.ndarray:
    """Pairs' joint tables ``(pairs, x codes, d codes)`` from their counts in the product
    (zeros for the codes out of it) and the rows holding each code of either column: each row
    holds one code of a column, so a column's last code's counts are the rest."""
    counts[:, :-1, -1] = held_x[:, :-1] - counts[:, :-1, :-1].sum(axis=2)
    counts[:, -1, :] = held_d - counts[:, :-1, :].sum(axis=1)
    return counts


def contingency(
    real: np.ndarray,
    synthetic: np.ndarray,
    sizes: tuple[int, int],
    threshold: float,
    margins: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """The contingency similarity of pairs from their joint counts ``(pairs, rows, cols)``
    in both frames (NaN where the real association does not count), and whether it counts:
    sdmetrics' rules (a real table of at least two labels each way whose Cramer's V, on the
    labels the real rows hold, passes ``threshold``). ``margins``: the real tables' sums over
    their columns and over their rows."""
    by_row, by_col = margins
    total = by_row.sum(axis=1)
    dims = np.minimum((by_row > 0).sum(axis=1), (by_col > 0).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = by_row[:, :, None] * by_col[:, None, :] / total[:, None, None]
        # labels no real row holds have no expected count: sdmetrics' table leaves them out
        terms = np.where(expected > 0, (real - expected) ** 2 / expected, 0.0)
        cramer = np.sqrt(terms.sum(axis=(1, 2)) / total / (dims - 1))
    meets = (total > 0) & (dims >= 2) & (cramer > threshold)
    variation = np.abs(real / sizes[0] - synthetic / sizes[1]).sum(axis=(1, 2)) / 2
    return np.where(meets, 1 - variation, np.nan), meets
