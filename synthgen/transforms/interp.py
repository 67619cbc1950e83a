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
    xp, fp = np.atleast_2d(xp), np.atleast_2d(fp)
    ends = xp[:, [0, last]]
    if table is None or (ends == ends[0]).all():  # one pair of ends: scalars, no gathers
        start: np.ndarray | int = 0 if table is None else np.asarray(table, np.intp) * (last + 1)
        lo, hi = ends[0]
    else:
        start = np.asarray(table, dtype=np.intp) * (last + 1)
        lo, hi = ends[:, 0][table], ends[:, 1][table]
    xp, fp = np.ravel(xp), np.ravel(fp)
    with np.errstate(invalid="ignore"):
        guess = (x - lo) * (last / (hi - lo))
    # NaN -> 0 and the rest clipped to [0, last - 1] (fmax and fmin pass over NaN)
    j = np.fmin(np.fmax(guess, 0.0, out=guess), last - 1, out=guess).astype(np.intp)
    k = j + start  # indices into the flat tables
    # the segment numpy's search finds: xp[k] <= x < xp[k + 1] (j within [0, last - 1])
    x0 = xp[k]
    fix = x < x0
    if fix.any():
        fix &= j > 0
        while fix.any():
            j[fix] -= 1
            k[fix] -= 1
            fix &= (x < xp[k]) & (j > 0)
        x0 = xp[k]
    fix = x >= xp[k + 1]
    if fix.any():
        fix &= j < last - 1
        while fix.any():
            j[fix] += 1
            k[fix] += 1
            fix &= (x >= xp[k + 1]) & (j < last - 1)
        x0 = xp[k]
    f0 = fp[k]
    with np.errstate(all="ignore"):
        slope = ((fp[1:] - fp[:-1]) / (xp[1:] - xp[:-1]))[k]  # never across two tables
        y = slope * (x - x0) + f0
        bad = np.isnan(y)
        if bad.any():  # as numpy: from the right end, then the flat value
            y[bad] = (slope * (x - xp[k + 1]) + fp[k + 1])[bad]
            flat = bad & np.isnan(y) & (f0 == fp[k + 1])
            y[flat] = f0[flat]
    np.copyto(y, f0, where=x == x0)
    for outside, end in ((x >= hi, last), (x < lo, 0)):
        rows = np.flatnonzero(outside)
        if len(rows):
            y[rows] = fp[(start if np.isscalar(start) else start[rows]) + end]
    missing = np.flatnonzero(np.isnan(x))
    y[missing] = x[missing]
    return y
