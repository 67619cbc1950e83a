"""What the DP preprocessing releases per column, and the mechanisms that release it.

:class:`ColumnRelease` holds one column's released facts; :class:`ReleaseMechanisms` (a mixin
of :class:`~synthgen.privacy.dp.preprocess.DPPreprocessor`) releases label lists and numeric
bounds and histograms from Gaussian noisy counts.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from synthgen.privacy.dp.bins import (
    _EXP,
    bucket_edges,
    bucket_index,
    kept_bins,
    pool_buckets,
    widen,
)
from synthgen.schema import ColumnSpec, is_duration, numeric_values
from synthgen.schema.dates import as_datetimes, restore_dates, to_epoch
from synthgen.utils import json_ready

__all__ = [
    "OTHER_LABEL",
    "PRESENT_LABEL",
    "ColumnRelease",
    "ReleaseMechanisms",
    "from_float",
    "is_public",
    "to_float",
    "unit_scale",
]

#: Label that replaces rare string labels (as the non-private protections do).
OTHER_LABEL = "(other)"
#: What a present cell of a semantic column becomes before any count is taken.
PRESENT_LABEL = "(value)"
_UNIT_NS = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def is_public(spec: ColumnSpec) -> bool:
    return bool((spec.extra or {}).get("public", False))


def unit_scale(spec: ColumnSpec) -> int:
    return _UNIT_NS[spec.datetime_unit or "ns"] if spec.kind == "datetime" else 1


def to_float(col: pd.Series, spec: ColumnSpec) -> np.ndarray:
    """Numbers as floats; datetimes as their unit since the epoch; NaN where missing."""
    if is_duration(spec):
        return numeric_values(col)
    if spec.kind != "datetime":
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return to_epoch(as_datetimes(col, spec), spec.datetime_unit or "ns")


def from_float(x: np.ndarray, spec: ColumnSpec, like: pd.Series | None = None) -> pd.Series:
    """Inverse of :func:`to_float`, in the column's dtype (rounded as the spec says)."""
    x = np.asarray(x, dtype=float)
    missing = np.isnan(x)
    if spec.kind == "datetime":
        values = restore_dates(np.round(x), spec)
        if pd.api.types.is_numeric_dtype(values.dtype) and not missing.any():
            return values.astype(spec.dtype)  # integer dates (20240131)
        if pd.api.types.is_numeric_dtype(values.dtype) and "int" in spec.dtype:
            return values.astype(spec.dtype.replace("int", "Int").replace("uInt", "UInt"))
        return values
    if is_duration(spec):
        ns = np.where(missing, 0, np.round(x)).astype("int64")
        durations = pd.Series(pd.to_timedelta(ns, unit="ns"))
        durations[missing] = pd.NaT
        return durations.astype(spec.dtype)
    if spec.integer:
        x = np.round(x)
    elif spec.decimals is not None:
        x = np.round(x, spec.decimals)
    values = pd.Series(x)
    dtype = spec.dtype if like is None else str(like.dtype)
    if missing.any() and dtype in ("int8", "int16", "int32", "int64", "uint8", "uint16"):
        dtype = dtype.replace("int", "Int").replace("uInt", "UInt")
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values


@dataclasses.dataclass
class ColumnRelease:
    """What the preprocessor released about one column (all of it differentially private).

    Attributes
    ----------
    name, kind : str
        The column and its kind.
    labels : list
        Kept labels (categorical/text/constant), in the schema's order.
    counts : list of float
        Non-negative noisy counts: one per label, or one per fine bin of a numeric column
        (the exact-zero bin last when ``zero_bin``).
    edges : list of float
        Fine bin edges of a numeric column, in the unit of :func:`to_float`.
    zero_bin : bool
        The last count belongs to the exact value 0.
    low, high : float
        Released bounds of a numeric column.
    missing : float
        Noisy count of missing cells (0 when the column gets no missing values).
    has_missing : bool
        Whether the synthetic column may have missing cells.
    fold_to : Any
        Where rows with a dropped label, or an unreleased missing cell, go.
    total : float
        Noisy number of rows.
    """

    name: str
    kind: str
    labels: list[Any] = dataclasses.field(default_factory=list)
    counts: list[float] = dataclasses.field(default_factory=list)
    edges: list[float] = dataclasses.field(default_factory=list)
    zero_bin: bool = False
    low: float = 0.0
    high: float = 0.0
    missing: float = 0.0
    has_missing: bool = False
    fold_to: Any = None
    total: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return json_ready(dataclasses.asdict(self))

    @property
    def weights(self) -> np.ndarray:
        """Probabilities of the fine bins (numeric) or labels, missing cell last."""
        w = np.append(np.asarray(self.counts, dtype=float), self.missing if self.has_missing else 0)
        return w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))


def _noisy(counts: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.asarray(counts, dtype=float) + rng.normal(0.0, sigma, np.shape(counts))


class ReleaseMechanisms:
    """Label and numeric releases (a mixin of the preprocessor, which sets the budgets)."""

    rho_column_: float
    delta_column_: float
    #: column -> noise standard deviation of each released count (missing cell last); kept
    #: only on a freshly fitted preprocessor, for a model that pools its own counts with them
    noise_: dict[str, np.ndarray]
    delta_threshold: float
    min_category_count: int
    n_bins: int
    bucket_share: float
    edge_buckets: int
    edge_sigmas: float
    near_sigmas: float | None

    def _labels(self, col: pd.Series, spec: ColumnSpec, rng: np.random.Generator) -> ColumnRelease:
        rho = self.rho_column_
        string_labels = spec.dtype in ("object", "category", "string", "str")
        discover = self._discovers(spec)
        fold_query = discover and string_labels and spec.kind != "text"
        rho_main = rho * (0.75 if fold_query else 1.0)
        sigma = math.sqrt(1.0 / (2.0 * rho_main))
        observed = col.value_counts(dropna=True)
        if discover:
            candidates = list(observed.index)
        elif spec.dtype in ("bool", "boolean"):
            candidates = [False, True]
        elif spec.kind == "constant":
            candidates = [spec.value]
        else:
            candidates = list(spec.categories or [])
        true = np.array([observed.get(c, 0) for c in candidates], dtype=float)
        n_missing = float(col.isna().sum())
        noisy = _noisy(np.append(true, n_missing), sigma, rng)
        noisy_labels, noisy_missing = noisy[:-1], float(noisy[-1])
        if discover:
            keep = noisy_labels >= self._threshold(sigma)
            order = {c: i for i, c in enumerate(spec.categories or [])}
            kept = sorted(
                (c for c, k in zip(candidates, keep, strict=True) if k),
                key=lambda c: (order.get(c, len(order)), str(c)),
            )
        else:
            kept = list(candidates)
        counts = {c: max(float(v), 0.0) for c, v in zip(candidates, noisy_labels, strict=True)}
        kept_counts = [counts[c] for c in kept]
        release = ColumnRelease(spec.name, spec.kind, labels=kept, counts=kept_counts)
        release.fold_to = kept[int(np.argmax(kept_counts))] if kept else None
        sigma_o = sigma
        if fold_query:
            # A second, adaptive count: how many rows hold a label that was not kept.
            sigma_o = math.sqrt(1.0 / (2.0 * (rho - rho_main)))
            dropped = float((~col.isin(kept) & col.notna()).sum())
            other = float(_noisy(np.array([dropped]), sigma_o, rng)[0])
            if other >= max(float(self.min_category_count), 3.0 * sigma_o) or not kept:
                release.labels = [*kept, OTHER_LABEL]
                release.counts = [*kept_counts, max(other, 0.0)]
                release.fold_to = OTHER_LABEL
        if is_public(spec):
            release.has_missing = spec.has_missing
        else:
            release.has_missing = noisy_missing >= max(float(self.min_category_count), 2 * sigma)
        release.missing = max(noisy_missing, 0.0) if release.has_missing else 0.0
        if not release.labels:
            release.has_missing, release.missing = True, max(noisy_missing, 1.0)
        release.total = max(float(noisy.sum()), 1.0)
        scales = [sigma] * len(kept) + [sigma_o] * (len(release.labels) - len(kept))
        self.noise_[spec.name] = np.array([*scales, sigma])
        return release

    def _numeric(self, col: pd.Series, spec: ColumnSpec, rng: np.random.Generator) -> ColumnRelease:
        x = to_float(col, spec)
        observed = x[~np.isnan(x)]
        public = is_public(spec) and spec.minimum is not None and spec.maximum is not None
        rho_column = self.rho_column_ * self._weight(spec)
        rho_hist = rho_column if public else rho_column * (1.0 - self.bucket_share)
        if public:
            scale = unit_scale(spec) if spec.kind == "datetime" else 1
            low, high = float(spec.minimum) / scale, float(spec.maximum) / scale
        else:
            sigma_b = math.sqrt(1.0 / (2.0 * (rho_column - rho_hist)))
            n_buckets = 2 * len(_EXP) + 1
            buckets = np.bincount(bucket_index(observed), minlength=n_buckets)
            noisy_b = _noisy(buckets, sigma_b, rng)
            # The range spans the outermost buckets whose noisy count clears 4.5 sigma. Among
            # ~130 empty buckets a 3-sigma bar lets one through in about one column out of six,
            # stretching the range to +-2**47 and wrecking the column (seen on Adult); at 4.5
            # sigma that happens once in a few thousand columns, at the cost of clipping
            # extreme buckets held by very few rows (which the privacy protections clip anyway).
            hits = np.flatnonzero(noisy_b >= max(float(self.min_category_count), 4.5 * sigma_b))
            if len(hits) == 0:
                hits = np.array([int(np.argmax(noisy_b))])
            first, last = widen(int(hits[0]), int(hits[-1]), self.edge_buckets)
            low, high = bucket_edges(first)[0], bucket_edges(last)[1]
        if spec.integer or spec.kind == "datetime":
            # the smallest whole number in range: a bucket widened below [1, 2) starts at 0.5,
            # which must not add the value 0 (and one more bin, past the unit-bin limit)
            low, high = math.ceil(low), math.ceil(high)
        if high <= low:
            high = low + 1.0
        unit_bins = (spec.integer or spec.kind == "datetime") and high - low + 1 <= 2 * self.n_bins
        if unit_bins:
            edges = np.arange(low - 0.5, high + 1.0, 1.0)
            zero_bin = False
        else:
            edges = np.linspace(low, high, self.n_bins + 1)
            zero_bin = low <= 0.0 <= high
        clipped = np.clip(observed, low, high)
        is_zero = clipped == 0.0 if zero_bin else np.zeros(len(clipped), dtype=bool)
        idx = np.clip(
            np.searchsorted(edges, clipped[~is_zero], side="right") - 1, 0, len(edges) - 2
        )
        hist = np.bincount(idx, minlength=len(edges) - 1).astype(float)
        if zero_bin:
            hist = np.append(hist, float(is_zero.sum()))
        sigma = math.sqrt(1.0 / (2.0 * rho_hist))
        noisy = _noisy(np.append(hist, float(np.isnan(x).sum())), sigma, rng)
        counts, noisy_missing = noisy[:-1], float(noisy[-1])
        n_fine = len(edges) - 1
        sd = np.full(len(counts), sigma)
        if unit_bins and not public:  # the buckets counted these rows too: pool them
            counts, sd = pool_buckets(counts, edges[:-1] + 0.5, sigma, noisy_b, sigma_b)
        floor = float(self.min_category_count)
        kept = kept_bins(counts, n_fine, sd, self.edge_sigmas, self.near_sigmas, floor)
        counts = np.where(kept, counts, 0.0)
        if counts.sum() <= 0:
            counts = np.ones_like(counts)
        release = ColumnRelease(spec.name, spec.kind, edges=edges.tolist(), zero_bin=zero_bin)
        live = np.flatnonzero(counts[:n_fine] > 0)
        if len(live):
            release.low = float(max(low, edges[live[0]]))
            release.high = float(min(high, edges[live[-1] + 1]))
        else:
            release.low = release.high = 0.0
        if zero_bin and counts[-1] > 0:
            release.low, release.high = min(release.low, 0.0), max(release.high, 0.0)
        if spec.integer or spec.kind == "datetime":
            release.low, release.high = math.ceil(release.low), math.floor(release.high)
            if release.high < release.low:
                release.high = release.low
        release.counts = counts.tolist()
        if is_public(spec):
            release.has_missing = spec.has_missing
        else:
            release.has_missing = noisy_missing >= max(float(self.min_category_count), 2 * sigma)
        release.missing = max(noisy_missing, 0.0) if release.has_missing else 0.0
        release.total = max(float(noisy.sum()), 1.0)
        release.fold_to = self._median(release)
        self.noise_[spec.name] = np.append(sd, sigma)  # the missing cell last
        return release
