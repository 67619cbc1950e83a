"""Linear interpolation on an evenly spaced grid, bit for bit ``np.interp``, without a search.

Decoding a quantile table maps millions of probabilities through ``np.interp`` on a grid of
levels made by ``np.linspace``. ``np.interp`` finds each segment by a binary search (about
ten unpredictable branches per value with a thousand levels); on an even grid the segment
is the scaled value rounded down, corrected by at most a step where rounding differs. The
rest is numpy's own arithmetic, so the results are equal, not close.
"""

from __future__ import annotations

import numpy as np

__all__ = ["grid_interp"]


def grid_interp(
    x: np.ndarray, xp: np.ndarray, fp: np.ndarray, table: np.ndarray | None = None
) -> np.ndarray:
    """``np.interp(x, xp, fp)`` for an increasing, (nearly) evenly spaced ``xp``.

    Parameters
    ----------
    x : ndarray of float
        Where to interpolate (any values: below ``xp[0]`` gives ``fp[0]``, above ``xp[-1]``
        gives ``fp[-1]``, NaN gives NaN, as ``np.interp``).
    xp : ndarray of float
        Strictly increasing grid, at least two points, close to ``np.linspace(xp[0],
        xp[-1], len(xp))`` (any strictly increasing grid gives the right answer; an uneven
        one only costs more correction steps). Or several grids of one length, one per row
        of a 2-D array, with ``table`` saying which one each value uses.
    fp : ndarray of float
        Values at the grid points (equal neighbours allowed), shaped as ``xp``.
    table : ndarray of int, optional
        With 2-D ``xp`` and ``fp``: the row of the grid for each value of ``x``.

    Returns
    -------
    ndarray
        Equal, element for element, to ``np.interp(x, xp, fp)`` (or ``np.interp(x[i],
        xp[table[i]], fp[table[i]])``).

    Examples
    --------
    >>> xp = np.linspace(0.0, 1.0, 5)
    >>> fp = np.array([0.0, 1.0, 1.0, 4.0, 10.0])
    >>> x = np.array([-1.0, 0.0, 0.1, 0.25, 0.6, 0.999, 1.0, 2.0, np.nan])
    >>> bool(np.array_equal(grid_interp(x, xp, fp), np.interp(x, xp, fp), equal_nan=True))
    True
    >>> two = grid_interp(x, np.stack([xp, xp]), np.stack([fp, -fp]), np.arange(9) % 2)
    >>> bool(np.array_equal(two[1::2], -np.interp(x[1::2], xp, fp), equal_nan=True))
    True
    """
    x = np.asarray(x, dtype=float)
    last = np.shape(xp)[-1] - 1
    if table is None:
        start = np.zeros(len(x), dtype=np.intp)
        lo, hi = xp[0], xp[last]
    else:
        start = np.asarray(table, dtype=np.intp) * (last + 1)
        lo, hi = xp[:, 0][table], xp[:, last][table]
    xp, fp = np.ravel(xp), np.ravel(fp)
    with np.errstate(invalid="ignore"):
        guess = np.nan_to_num((x - lo) * (last / (hi - lo)), nan=0.0)
    j = np.clip(guess, 0, last - 1).astype(np.intp)
    # the segment numpy's search finds: xp[j] <= x < xp[j + 1] (j within [0, last - 1])
    fix = (x < xp[start + j]) & (j > 0)
    while fix.any():
        j[fix] -= 1
        fix &= (x < xp[start + j]) & (j > 0)
    fix = (x >= xp[start + j + 1]) & (j < last - 1)
    while fix.any():
        j[fix] += 1
        fix &= (x >= xp[start + j + 1]) & (j < last - 1)
    j += start  # from here on, indices into the flat tables
    x0, f0 = xp[j], fp[j]
    with np.errstate(all="ignore"):
        slope = ((fp[1:] - fp[:-1]) / (xp[1:] - xp[:-1]))[j]  # never across two tables
        y = slope * (x - x0) + f0
        bad = np.isnan(y)
        if bad.any():  # as numpy: from the right end, then the flat value
            y[bad] = (slope * (x - xp[j + 1]) + fp[j + 1])[bad]
            flat = bad & np.isnan(y) & (f0 == fp[j + 1])
            y[flat] = f0[flat]
    on = x == x0
    y[on] = f0[on]
    top = x >= hi
    y[top] = fp[start + last][top]
    below = x < lo
    y[below] = fp[start][below]
    missing = np.isnan(x)
    y[missing] = x[missing]
    return y
