"""Normal scores to slices of a cumulative frequency table, equal to the formula, quicker.

:class:`~.discrete.Frequency` decodes a score ``z`` to the slice of [0, 1] that holds
``ndtr(z)``: ``searchsorted(upper, ndtr(z), side="right")`` over the slices' upper ends.
``ndtr`` and the binary search each cost about as much as the rest of a label column's
decoding together. :class:`ScoreBins` splits ``[-REACH, REACH]`` into ``BINS`` even bins
of ``z`` and keeps, for each bin that no slice boundary comes near, the slice all of its
scores fall in: a score's bin is one multiply-add, its slice one lookup. Scores in the
other bins (those within a quarter bin of a boundary: a few percent of the scores for a
column of a dozen labels), beyond ``REACH``, infinite or NaN take the formula itself.

The answer is the formula's, not close to it: a bin is kept only when the formula gives
the same slice a quarter bin beyond both of its ends, so every score inside it lies at
least ``phi(REACH) / 4`` bins' worth of probability (about ``4e-12``) from every slice
boundary, four orders of magnitude more than ``ndtr``'s rounding error, and its slice
cannot differ from theirs. The bins and the margin only decide which scores may take the
quick path.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["BINS", "REACH", "ScoreBins", "search"]

#: Scores beyond this many standard deviations (2 in a billion) take the formula.
REACH = 6.0
#: Even bins of ``z`` over ``[-REACH, REACH]``.
BINS = 4096
#: Where the bins that take the formula hold more of the scores than this (a column of
#: hundreds of labels), every score takes the formula: the lookup would only add work.
MAX_FORMULA_SHARE = 0.25


def search(upper: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The slice of each score: ``searchsorted(upper, ndtr(z), side="right")``, at most
    the last slice (so a score above the last end, or NaN, falls in the last slice).

    Examples
    --------
    >>> search(np.array([0.5, 1.0]), np.array([-1.0, 0.0, 3.0, np.nan])).tolist()
    [0, 1, 1, 1]
    """
    return np.minimum(np.searchsorted(upper, ndtr(z), side="right"), len(upper) - 1)


class ScoreBins:
    """:func:`search` for one table of slice ends, by bins of the score.

    Parameters
    ----------
    upper : ndarray of float
        The slices' upper ends: non-decreasing shares of [0, 1] (a cumulative sum of
        frequencies).

    Examples
    --------
    >>> upper = np.cumsum([0.2, 0.5, 0.3])
    >>> bins = ScoreBins(upper)
    >>> z = np.array([-3.0, -0.5, 0.0, 0.6, 9.0, -np.inf, np.nan])
    >>> bins(z).tolist(), search(upper, z).tolist()
    ([0, 1, 1, 2, 2, 0, 2], [0, 1, 1, 2, 2, 0, 2])
    >>> bool(bins.quick)
    True
    """

    def __init__(self, upper: np.ndarray) -> None:
        self.upper = np.asarray(upper, dtype=float)
        width = 2.0 * REACH / BINS
        edges = -REACH + width * np.arange(BINS + 1)
        below = search(self.upper, edges[:-1] - width / 4)
        above = search(self.upper, edges[1:] + width / 4)
        kept = below == above
        # index 0: below the bins (and NaN); BINS + 1: above them; -1: take the formula
        self.table = np.full(BINS + 2, -1, dtype=np.intp)
        self.table[1:-1][kept] = below[kept]
        formula_share = float(np.diff(ndtr(edges))[~kept].sum())
        self.quick = formula_share <= MAX_FORMULA_SHARE
        self._scale = BINS / (2.0 * REACH)
        self._offset = REACH * self._scale + 1.0

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """The slice of each score of ``z`` (float), as :func:`search` gives it."""
        if not self.quick:
            return search(self.upper, z)
        guess = z * self._scale
        guess += self._offset
        # NaN -> 0 (fmax and fmin pass over NaN), the rest clipped to the table
        np.fmin(np.fmax(guess, 0.0, out=guess), BINS + 1, out=guess)
        position = self.table[guess.astype(np.intp)]
        rest = np.flatnonzero(position < 0)
        if len(rest):
            position[rest] = search(self.upper, z[rest])
        return position
