"""Pearson correlations of every pair of continuous columns, as sdmetrics' Column Pair Trends
takes them: on the rows where both columns of the pair are present, in matrix products.

Columns without gaps share one product of their standardised values. A column with gaps has
its own rows for each partner, so its pairs come from sums over the rows where both are
present: counts, sums and sums of squares of each column on its partner's rows, and the sum
of products, six matrix products over blocks of columns and chunks of rows (bounded memory
whatever the width), standardised first so that the sums hold no large offsets. A pair whose
rows make that formula lose precision (at most two rows together, or a column nearly
constant on them) is scored with ``pearsonr`` on its own, as are the pairs of frames of two
rows or fewer.

Examples
--------
>>> x = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
>>> y = np.array([2.0, 4.1, 6.0, 8.0, np.nan])
>>> corr = PairCorrelations({"x": [x, x], "y": [y, y]})
>>> score, meets, unknown = corr.scores(np.array([0]), np.array([1]), ["x", "y"], 0.5)
>>> round(float(score[0]), 6), bool(meets[0]), bool(unknown[0])
(1.0, True, False)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import pearsonr

__all__ = ["PairCorrelations"]

#: Bytes of the row chunks (standardised values, their squares and the presence marks of
#: every continuous column) behind the sums of columns with gaps.
_CHUNK_BYTES = 64 * 2**20
#: Columns with gaps whose sums against every continuous column are held at once.
_BLOCK = 256
#: A pair's variance on its shared rows below this share of its sum of squares there loses
#: too many digits to cancellation: such a pair is scored on its own.
_CANCELLATION = 1e-4


class PairCorrelations:
    """Pearson correlations of continuous columns in both frames, on the rows where both
    columns of a pair are present.

    Parameters
    ----------
    numbers : dict of str to list of two arrays
        Each continuous column's values in the real and synthetic frame (float64, missing as
        NaN).
    """

    def __init__(self, numbers: dict[str, list[np.ndarray]]) -> None:
        self.numbers = numbers
        names = list(numbers)
        self.pos = {c: k for k, c in enumerate(names)}
        self.constant = {c: any(_nunique(x) == 1 for x in xs) for c, xs in numbers.items()}
        gaps = np.array([any(np.isnan(x).any() for x in numbers[c]) for c in names], dtype=bool)
        self.matrix, self.sure = [], []
        for i in range(2):
            columns = [numbers[c][i] for c in names]
            matrix = np.full((len(names), len(names)), np.nan)
            sure = np.zeros((len(names), len(names)), dtype=bool)
            full = np.flatnonzero(~gaps)
            if len(full):
                matrix[np.ix_(full, full)] = _gapless([columns[k] for k in full])
                sure[np.ix_(full, full)] = True
            _with_gaps(columns, np.flatnonzero(gaps), matrix, sure)
            if names and len(columns[0]) <= 2:
                sure[:] = False  # a frame of two rows or fewer: pearsonr's rules, pair by pair
            self.matrix.append(matrix)
            self.sure.append(sure)

    def _pearson(self, a: str, b: str, i: int) -> float | None:
        """``None`` where fewer than two rows hold both (sdmetrics' error)."""
        x, y = self.numbers[a][i], self.numbers[b][i]
        both = ~(np.isnan(x) | np.isnan(y))
        if both.sum() < 2:
            return None
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a constant input: NaN, as sdmetrics gets
            return float(pearsonr(x[both], y[both])[0])

    def scores(
        self, a: np.ndarray, b: np.ndarray, names: list[str], threshold: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score, whether it meets the threshold, and whether that is unknown (missing), of
        the pairs ``names[a[k]]``, ``names[b[k]]`` of continuous columns: straight from the
        correlation matrices, but for pairs with a constant column or whose shared rows
        the matrices cannot score exactly, which go one at a time (:meth:`score`)."""
        score = np.full(len(a), np.nan)
        meets, unknown = np.zeros(len(a), dtype=bool), np.zeros(len(a), dtype=bool)
        if not len(a):
            return score, meets, unknown
        pos = np.array([self.pos.get(c, -1) for c in names], dtype=np.int64)
        constant = np.array([self.constant.get(c, False) for c in names], dtype=bool)
        pa, pb = pos[a], pos[b]
        fast = self.sure[0][pa, pb] & self.sure[1][pa, pb] & ~constant[a] & ~constant[b]
        k = np.flatnonzero(fast)
        real = self.matrix[0][pa[k], pb[k]]
        synthetic = self.matrix[1][pa[k], pb[k]]
        with np.errstate(invalid="ignore"):
            meets[k] = np.abs(real) > threshold  # a NaN correlation does not meet it
            counted = meets[k] & ~np.isnan(synthetic)
        score[k] = np.where(counted, 1 - np.abs(real - synthetic) / 2, np.nan)
        for j in np.flatnonzero(~fast).tolist():
            score[j], met = self.score(names[a[j]], names[b[j]], threshold)
            meets[j], unknown[j] = bool(met is True), met is pd.NA
        return score, meets, unknown

    def score(self, a: str, b: str, threshold: float) -> tuple[float, Any]:
        """One pair's score and whether it meets the threshold (``pd.NA``: unknown), with
        ``pearsonr`` on the rows where both columns are present."""
        if self.constant[a] or self.constant[b]:
            return np.nan, pd.NA
        real = self._pearson(a, b, 0)
        if real is None:
            return np.nan, pd.NA
        if np.abs(real) <= threshold:
            return np.nan, False
        synthetic = self._pearson(a, b, 1)
        if synthetic is None:
            return np.nan, pd.NA
        meets = not np.isnan(real)
        if np.isnan(real) or np.isnan(synthetic):
            return np.nan, meets
        return 1 - abs(real - synthetic) / 2, meets


def _gapless(columns: list[np.ndarray]) -> np.ndarray:
    """Correlations of columns without gaps: one product of the centred, normalised values
    (NaN for a constant column)."""
    x = np.column_stack(columns)
    x = x - x.mean(axis=0)
    norm = np.linalg.norm(x, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = x / norm
        return np.clip(z.T @ z, -1.0, 1.0)


def _with_gaps(
    columns: list[np.ndarray], gapped: np.ndarray, matrix: np.ndarray, sure: np.ndarray
) -> None:
    """Fill the rows and columns of ``matrix`` (and ``sure``) of the columns ``gapped``: each
    one's correlation with every column on the rows where both are present, and whether the
    sums behind it keep their precision."""
    if not len(gapped):
        return
    n = len(columns[0])
    centre, scale = np.zeros(len(columns)), np.ones(len(columns))
    for k, x in enumerate(columns):  # standardised: the sums hold no large offsets
        present = x[~np.isnan(x)]
        if len(present):
            centre[k] = present.mean()
            spread = np.abs(present - centre[k]).max()
            scale[k] = spread if spread > 0 else 1.0
    step = max(1, _CHUNK_BYTES // (24 * len(columns)))
    for lo in range(0, len(gapped), _BLOCK):
        block = gapped[lo : lo + _BLOCK]
        sums = np.zeros((6, len(block), len(columns)))  # n, sa, sb, saa, sbb, sab
        for start in range(0, n, step):
            z = np.column_stack([x[start : start + step] for x in columns])
            z = (z - centre) / scale
            m = ~np.isnan(z)
            z[~m] = 0.0
            m = m.astype(np.float64)
            z2 = z * z
            za, ma = z[:, block], m[:, block]
            sums[0] += ma.T @ m
            sums[1] += za.T @ m
            sums[2] += ma.T @ z
            sums[3] += (za * za).T @ m
            sums[4] += ma.T @ z2
            sums[5] += za.T @ z
        count, sa, sb, saa, sbb, sab = sums
        with np.errstate(invalid="ignore", divide="ignore"):
            va = saa - sa * sa / count
            vb = sbb - sb * sb / count
            r = np.clip((sab - sa * sb / count) / np.sqrt(va * vb), -1.0, 1.0)
        ok = (count > 2) & (va > _CANCELLATION * saa) & (vb > _CANCELLATION * sbb)
        matrix[block, :], matrix[:, block] = r, r.T
        sure[block, :], sure[:, block] = ok, ok.T


def _nunique(x: np.ndarray) -> int:
    return len(np.unique(x[~np.isnan(x)]))
