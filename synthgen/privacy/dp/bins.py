"""The fixed buckets and fine bins of a private numeric histogram, and what decides its support.

Bounds come from noisy counts over fixed, data-independent buckets (zero, then
``[2**k, 2**(k+1))`` on either side); a fine histogram inside them decides which bins are kept
(:func:`kept_bins`). For a column of whole numbers with one bin per value, each bucket inside
the range is the sum of its bins, so the two noisy histograms measure the same rows twice:
:func:`pool_buckets` combines them (generalised least squares), which sharpens most the
buckets of one value (0, 1 and -1, often a column's rare extreme).
"""

from __future__ import annotations

import numpy as np

__all__ = ["bucket_edges", "bucket_index", "kept_bins", "pool_buckets", "widen"]

#: Exponents of the fixed buckets used to find bounds: [2**k, 2**(k+1)) for k in this range.
_EXP = np.arange(-32, 65)


def bucket_index(x: np.ndarray) -> np.ndarray:
    """Index into [negative buckets (largest magnitude first), zero, positive buckets]."""
    n_exp = len(_EXP)
    out = np.full(len(x), n_exp, dtype=np.int64)  # zero bucket
    nz = x != 0
    k = np.clip(np.floor(np.log2(np.abs(x[nz]))), _EXP[0], _EXP[-1]).astype(np.int64) - _EXP[0]
    out[nz] = np.where(x[nz] > 0, n_exp + 1 + k, n_exp - 1 - k)
    return out


def bucket_edges(i: int) -> tuple[float, float]:
    n_exp = len(_EXP)
    if i == n_exp:
        return 0.0, 0.0
    if i > n_exp:
        k = _EXP[i - n_exp - 1]
        return float(2.0**k), float(2.0 ** (k + 1))
    k = _EXP[n_exp - 1 - i]
    return -float(2.0 ** (k + 1)), -float(2.0**k)


def kept_bins(
    counts: np.ndarray,
    n_fine: int,
    sigma: float | np.ndarray,
    far: float,
    near: float | None,
    floor: float = 0.0,
) -> np.ndarray:
    """Which noisy bin counts are kept: any bin reaching ``far`` noise standard deviations
    above the count of one person; with ``near``, also bins reaching that lower bar inside the
    range of kept bins or next to it (walking outwards bin by bin), so that among many empty
    bins a false one is rare while a true extreme next to the bulk still shows. A bin held by
    one person passes with the chance of that many standard deviations of noise (4.5: three
    in a million). Bins past ``n_fine`` (the exact-zero bin) need ``near`` (a single
    candidate). No bin is kept under ``floor`` noisy rows (``min_category_count``).

    Examples
    --------
    >>> counts = np.array([0.0, 4.5, 0.0, 9.0, 8.0, 4.2, 4.5, 0.0, 4.9])
    >>> kept_bins(counts, 9, 1.0, 4.0, None).astype(int).tolist()
    [0, 0, 0, 1, 1, 0, 0, 0, 0]
    >>> kept_bins(counts, 9, 1.0, 4.0, 3.0).astype(int).tolist()
    [0, 0, 0, 1, 1, 1, 1, 0, 0]
    >>> kept_bins(counts, 9, 1.0, 4.0, 3.0, floor=8.5).astype(int).tolist()
    [0, 0, 0, 1, 0, 0, 0, 0, 0]
    """
    keep = counts >= np.maximum(1.0 + far * np.asarray(sigma), floor)
    if near is None:
        return keep
    ok = counts >= np.maximum(1.0 + near * np.asarray(sigma), floor)
    keep[n_fine:] = ok[n_fine:]
    core = np.flatnonzero(keep[:n_fine])
    if len(core):
        lo, hi = int(core[0]), int(core[-1])
        while lo > 0 and ok[lo - 1]:
            lo -= 1
        while hi < n_fine - 1 and ok[hi + 1]:
            hi += 1
        keep[lo : hi + 1] |= ok[lo : hi + 1]
    return keep


def widen(first: int, last: int, extra: int) -> tuple[int, int]:
    """Bucket range ``first..last`` widened by ``extra`` buckets on either side, never across
    zero (a column whose smallest cleared bucket is zero or positive stays non-negative).

    Examples
    --------
    >>> zero = len(_EXP)
    >>> widen(zero + 34, zero + 38, 1) == (zero + 33, zero + 39)  # [2, 4)..[32, 64) -> [1, 128)
    True
    >>> widen(zero, zero + 38, 1) == (zero, zero + 39)  # from zero: not into the negatives
    True
    """
    zero = len(_EXP)
    floor = 0 if first < zero else (zero if first == zero else zero + 1)
    ceiling = 2 * zero if last > zero else (zero if last == zero else zero - 1)
    return max(first - extra, floor), min(last + extra, ceiling)


def pool_buckets(
    fine: np.ndarray, values: np.ndarray, sigma: float, buckets: np.ndarray, sigma_b: float
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-bin noisy counts ``fine`` (bin ``i`` holds the whole number ``values[i]``, noise
    ``sigma``) combined with the noisy bucket counts ``buckets`` (noise ``sigma_b``) of every
    bucket whose whole numbers all have a bin: the generalised least-squares estimate under
    "a bucket is the sum of its bins" (post-processing: no further budget). Returns the
    estimates and their noise standard deviations (``sigma`` for bins left alone).

    Examples
    --------
    >>> values = np.arange(1.0, 4.0)  # buckets [1, 2) and [2, 4)
    >>> buckets = np.zeros(2 * len(_EXP) + 1)
    >>> buckets[bucket_index(np.array([1.0, 2.0]))] = [40.0, 100.0]
    >>> est, sd = pool_buckets(np.array([30.0, 45.0, 45.0]), values, 1.0, buckets, 1.0)
    >>> est.round(2).tolist(), sd.round(3).tolist()  # the one-value bucket: the mean of both
    ([35.0, 48.33, 48.33], [0.707, 0.816, 0.816])
    """
    fine = np.asarray(fine, dtype=float)
    est, sd = fine.copy(), np.full(len(fine), float(sigma))
    index = bucket_index(np.asarray(values, dtype=float))
    n_bins = np.bincount(index, minlength=len(buckets))
    k = np.abs(index - len(_EXP)) - 1  # bucket exponent position (-1: the zero bucket)
    size = np.where(k < 0, 1.0, 2.0 ** _EXP[np.maximum(k, 0)])
    whole = n_bins[index] == size  # every whole number of the bucket has its bin
    m = n_bins[index].astype(float)
    gain = sigma**2 / (m * sigma**2 + sigma_b**2)
    residual = buckets[index] - np.bincount(index, weights=fine, minlength=len(buckets))[index]
    est = np.where(whole, fine + gain * residual, est)
    sd = np.where(whole, sigma * np.sqrt(1.0 - gain), sd)
    return est, sd
