"""Statistics a fitted model may store without storing a person's value.

A model file is shared; what it stores must not be any one training row's value. The rule
used everywhere (schema bounds, quantile tables, mixture modes, fill values): a stored number
is either a value held by at least ``min_count`` rows (a common value such as 0 or 40 is
nobody's secret) or a value no training row holds.

- bounds lie halfway between the ``min_count``-th and the next smallest (largest) values,
  not at the minimum (maximum): the ``min_count - 1`` most extreme values do not move them;
- quantile tables have at most one entry per ``min_count`` rows and are interpolated
  between order statistics, their ends being the bounds above;
- any stored number that happens to equal a value held by fewer than ``min_count`` rows is
  moved to the middle of the gap to the next distinct value, a value no row holds.

``min_count=1`` turns all of this off (exact minimum, maximum and quantiles).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DEFAULT_MIN_COUNT", "avoid_rare", "safe_bounds", "safe_quantiles"]

#: Values and labels held by fewer rows are never stored in a model.
DEFAULT_MIN_COUNT = 5


def _coarse(value: float) -> float:
    """One significant digit, away from zero: the last resort when there is no other value."""
    if value == 0 or not math.isfinite(value):
        return value
    step = 10.0 ** math.floor(math.log10(abs(value)))
    return math.copysign(math.ceil(abs(value) / step) * step, value)


def _step_off(values: np.ndarray, counts: np.ndarray, j: int, up: bool, min_count: int,
              integer: bool) -> float | None:  # fmt: skip
    """From distinct value ``values[j]`` (held by too few rows), the nearest value in the
    direction ``up`` that no row holds (a whole number when ``integer``) or that at least
    ``min_count`` rows hold; ``None`` when the data ends first."""
    step = 1 if up else -1
    while 0 <= j + step < len(values):
        a, b = values[j], values[j + step]
        if not integer:
            return float((a + b) / 2.0)
        lo, hi = min(a, b), max(a, b)
        if hi - lo >= 2:  # a whole number strictly inside the gap
            mid = math.floor((lo + hi) / 2.0)
            return float(min(max(mid, lo + 1), hi - 1))
        j += step
        if counts[j] >= min_count:
            return float(values[j])
    return None


def avoid_rare(
    stored: np.ndarray,
    data: np.ndarray,
    min_count: int,
    *,
    inward: np.ndarray | None = None,
    integer: bool = False,
) -> np.ndarray:
    """``stored`` with every entry that equals a value held by fewer than ``min_count`` rows
    of ``data`` moved off it: to the middle of the gap to a neighbouring distinct value (a
    value no row holds), or, with ``integer``, to a whole number inside a gap or to the first
    value held by ``min_count`` rows.

    Parameters
    ----------
    stored : array
        Numbers about to be stored.
    data : array
        The training values (NaN ignored).
    min_count : int
        Values held by at least this many rows may be stored as they are.
    inward : array of bool, optional
        Per entry, move towards larger values (True) or smaller ones (False). Default:
        towards larger values, or smaller ones where there are none.
    integer : bool
        Only whole numbers may be stored (the column holds whole numbers).

    Examples
    --------
    >>> data = np.array([1.0, 2.0, 2.0, 2.0, 9.0])
    >>> avoid_rare(np.array([1.0, 2.0, 9.0, 5.0]), data, 3).tolist()
    [1.5, 2.0, 5.5, 5.0]
    >>> avoid_rare(np.array([9.0]), data, 3, integer=True).tolist()
    [5.0]
    """
    stored = np.array(stored, dtype=float)
    if min_count <= 1 or stored.size == 0:
        return stored
    values, counts = np.unique(data[~np.isnan(data)], return_counts=True)
    return _moved_off(stored, values, counts, min_count, inward, integer)


def _distinct(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of sorted ``x`` (no NaN) and their counts: ``np.unique(x,
    return_counts=True)`` without sorting ``x`` again."""
    if len(x) == 0:
        return x, np.zeros(0, dtype=np.intp)
    first = np.empty(len(x), dtype=bool)
    first[0] = True
    np.not_equal(x[1:], x[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return x[starts], np.diff(np.append(starts, len(x)))


def _moved_off(
    stored: np.ndarray,
    values: np.ndarray,
    counts: np.ndarray,
    min_count: int,
    inward: np.ndarray | None,
    integer: bool,
) -> np.ndarray:
    """:func:`avoid_rare` on the data's distinct ``values`` (sorted) and their ``counts``
    (``stored`` is changed in place and returned)."""
    if len(values) == 0:
        return stored
    pos = np.clip(np.searchsorted(values, stored), 0, len(values) - 1)
    hit = (values[pos] == stored) & (counts[pos] < min_count)
    for i in np.flatnonzero(hit):
        j = int(pos[i])
        up = bool(inward[i]) if inward is not None else j + 1 < len(values)
        moved = _step_off(values, counts, j, up, min_count, integer)
        if moved is None:
            moved = _step_off(values, counts, j, not up, min_count, integer)
        # One distinct value, held by fewer than min_count rows: nothing to lean on.
        stored[i] = _coarse(float(values[j])) if moved is None else moved
    return stored


def safe_bounds(data: np.ndarray, min_count: int, *, integer: bool = False) -> tuple[float, float]:
    """Lower and upper bound of ``data`` that no single row sets.

    Halfway between the ``min_count``-th and the next smallest (largest) values: the
    ``min_count - 1`` most extreme values have no influence at all, and the bound is moved
    off any value held by fewer than ``min_count`` rows (see :func:`avoid_rare`). A value
    held by at least ``min_count`` rows at the edge (a cap such as 99999 or an age of 90)
    stays the bound exactly. With ``integer``, the bounds are whole numbers.

    Examples
    --------
    >>> x = np.array([0.0] * 10 + [3.0, 40.0, 41.0, 60.0, 70.0, 77777.0])
    >>> safe_bounds(x, 5)  # 0 is held by ten rows: a safe bound as it is
    (0.0, 21.5)
    >>> safe_bounds(x, 5, integer=True)
    (0.0, 21.0)
    >>> safe_bounds(np.array([1.0, 2.0, 3.0]), 1)
    (1.0, 3.0)
    """
    x = np.sort(data[~np.isnan(data)])
    return _sorted_bounds(x, min_count, integer, _distinct(x) if min_count > 1 else None)


def _sorted_bounds(
    x: np.ndarray,
    min_count: int,
    integer: bool,
    distinct: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[float, float]:
    """:func:`safe_bounds` of sorted ``x`` (no NaN), with its ``distinct`` values and
    counts (:func:`_distinct`; unused when ``min_count <= 1``)."""
    n = len(x)
    if n == 0:
        return 0.0, 0.0
    if min_count <= 1:
        return float(x[0]), float(x[-1])
    if n > min_count:
        low = (x[min_count - 1] + x[min_count]) / 2.0
        high = (x[n - min_count] + x[n - min_count - 1]) / 2.0
    else:  # fewer rows than min_count: every value is rare; the middle is the least telling
        low = high = float(np.median(x))
    if integer:
        low, high = math.ceil(low), math.floor(high)
    low, high = _moved_off(
        np.array([low, high], dtype=float), *distinct, min_count, np.array([True, False]), integer
    )
    return float(low), float(max(low, high))


def safe_quantiles(data: np.ndarray, n_quantiles: int, min_count: int) -> np.ndarray:
    """A quantile table of ``data`` (levels evenly spaced on [0, 1]) that is not the data.

    At most ``len(data) // min_count + 1`` entries (so each step spans about ``min_count``
    rows), linearly interpolated between order statistics (a value held by many rows, a
    point mass, comes out exactly), ends at :func:`safe_bounds` (so the ``min_count - 1``
    most extreme values at either end do not show), and no entry equal to a value held by
    fewer than ``min_count`` rows. ``min_count=1`` gives the exact empirical table.

    Examples
    --------
    >>> x = np.arange(1.0, 21.0)
    >>> safe_quantiles(x, 1000, 1)[:3].tolist()
    [1.0, 2.0, 3.0]
    >>> q = safe_quantiles(x, 1000, 5)
    >>> len(q), float(q[0]), float(q[-1]), bool(np.isin(q, x).any())
    (5, 5.5, 15.5, False)
    """
    x = np.sort(data[~np.isnan(data)])
    n = len(x)
    if n == 0:
        return np.zeros(2)
    if min_count <= 1:
        return np.quantile(x, np.linspace(0.0, 1.0, int(min(n_quantiles, max(n, 2)))))
    m = int(min(n_quantiles, max(2, n // min_count + 1)))
    q = np.quantile(x, np.linspace(0.0, 1.0, m))
    distinct = _distinct(x)  # x is sorted: no second sort for the bounds or the counts
    low, high = _sorted_bounds(x, min_count, False, distinct)
    q[0], q[-1] = low, high
    q = _moved_off(np.clip(q, low, high), *distinct, min_count, None, False)
    return np.clip(np.maximum.accumulate(q), low, high)
