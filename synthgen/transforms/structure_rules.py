"""The pieces :class:`~synthgen.transforms.structure.StructureCodec` is built of: a
hierarchy's learned mapping, a coordinate pair's grid, and filling and blanking cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgen.schema import ColumnSpec
from synthgen.schema.discover import MIN_SUPPORT
from synthgen.schema.safe import safe_quantiles
from synthgen.transforms.dtypes import restore_dtype

__all__ = ["Derivation", "Grid", "blank", "hot_deck"]


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _codes(col: pd.Series, categories: list[Any]) -> np.ndarray:
    """Positions of the labels in ``categories`` (-1: missing or unknown), as encoders do."""
    return pd.Categorical(col, categories=categories).codes.astype(np.int64)


def blank(col: pd.Series, mask: np.ndarray, spec: ColumnSpec) -> pd.Series:
    """``col`` with the cells of ``mask`` missing, in the spec's dtype."""
    if not mask.any():
        return col
    out = col.astype(object) if col.dtype == bool or col.dtype.kind in "iu" else col
    out = out.where(~mask)
    return restore_dtype(out, spec) if str(out.dtype) != spec.dtype else out


@dataclass
class Derivation:
    """``child = mapping[parent]``; values are child category positions (categorical child)
    or numbers, ``None`` for a missing child.

    A parent whose rare labels are pooled into one placeholder (``"(other)"``) gives no
    single child for it: placeholder rows draw their child from ``other_values`` with
    ``other_weights``, the children of the pooled rows (stored only when at least
    ``min_count`` rows are pooled; else the children of all rows).
    """

    parent: str
    child: str
    keys: list[int]  # parent category positions
    values: list[Any]
    when_missing: Any
    fallback: Any
    other_values: list[Any] = field(default_factory=list)
    other_weights: list[float] = field(default_factory=list)

    def problem(self, schema: Any) -> str | None:
        """What is wrong with a mapping read from a file (``None``: nothing)."""
        if self.parent not in schema or self.child not in schema:
            return f"hierarchy {self.parent!r} -> {self.child!r} names unknown columns"
        parent, child = schema[self.parent], schema[self.child]
        if parent.kind != "categorical" or child.kind not in ("categorical", "numeric"):
            return f"hierarchy {self.parent!r} -> {self.child!r} on columns of the wrong kind"
        n_parent, n_child = len(parent.categories or []), len(child.categories or [])
        where = f"hierarchy {self.parent!r} -> {self.child!r}"

        def bad(v: Any) -> bool:
            if v is None:
                return False
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                return True
            return child.kind == "categorical" and (not isinstance(v, int) or not 0 <= v < n_child)

        keys_ok = isinstance(self.keys, list) and all(
            isinstance(k, int) and not isinstance(k, bool) and 0 <= k < n_parent for k in self.keys
        )
        if not keys_ok or len(set(self.keys)) != len(self.keys):
            return f"{where}: invalid parent positions"
        if not isinstance(self.values, list) or len(self.values) != len(self.keys):
            return f"{where}: one value per key expected"
        others, weights = self.other_values, self.other_weights
        if not isinstance(others, list) or not isinstance(weights, list):
            return f"{where}: invalid placeholder children"
        if any(bad(v) for v in [*self.values, *others, self.when_missing, self.fallback]):
            return f"{where}: invalid child values"
        number = (int, float)
        if len(weights) != len(others) or not all(
            isinstance(w, number) and not isinstance(w, bool) and np.isfinite(w) and w >= 0
            for w in weights
        ):
            return f"{where}: invalid placeholder weights"
        return None

    @classmethod
    def fit(
        cls, data: pd.DataFrame, parent: ColumnSpec, child: ColumnSpec, min_count: int
    ) -> Derivation:
        k = len(parent.categories or [])
        missing = data[parent.name].isna().to_numpy()
        p = np.where(missing, k, _codes(data[parent.name], parent.categories or []))
        if child.kind == "categorical":
            c = _codes(data[child.name], child.categories or [])
            held = np.ones(len(child.categories or []), dtype=bool)
            uniq = np.arange(len(held))
        else:
            values = data[child.name].to_numpy(dtype=float, na_value=np.nan)
            uniq, c = np.unique(values, return_inverse=True)
            held = np.bincount(c, minlength=len(uniq)) >= max(MIN_SUPPORT, min_count)
        c = np.where(data[child.name].isna().to_numpy(), -2, c)

        def value(code: int) -> Any:
            if code == -2:
                return None
            if code < 0 or not held[code]:
                raise KeyError(code)  # a value the child may not store
            return code if child.kind == "categorical" else _plain(uniq[code])

        best: dict[int, int] = {}
        counts: dict[int, int] = {}
        known = p >= 0
        pairs, n = np.unique(np.stack([p[known], c[known]]), axis=1, return_counts=True)
        for (pk, ck), m in zip(pairs.T.tolist(), n.tolist(), strict=True):
            if m > counts.get(pk, 0):
                best[pk], counts[pk] = ck, m
        keys, out, rows = [], [], []
        for pk in sorted(best):
            try:
                v = value(best[pk])
            except KeyError:
                continue
            if pk < k:
                keys.append(pk)
                out.append(v)
                rows.append(counts[pk])
        fallback = out[int(np.argmax(rows))] if out else None
        try:
            when_missing = value(best[k]) if k in best else fallback
        except KeyError:
            when_missing = fallback
        others: list[Any] = []
        weights: list[float] = []
        if parent.pooled and parent.other_label is not None:
            pooled = p == -1
            pool = c[pooled] if pooled.sum() >= min_count else c  # few pooled rows: all rows
            codes, m = np.unique(pool, return_counts=True)
            for code, count in zip(codes.tolist(), m.tolist(), strict=True):
                try:
                    others.append(value(code))
                except KeyError:
                    continue
                weights.append(float(count))
        return cls(parent.name, child.name, keys, out, when_missing, fallback, others, weights)

    def determined(self, parent_col: pd.Series, parent: ColumnSpec) -> np.ndarray:
        """Rows whose parent value has a stored child (a kept label, or a missing cell)."""
        codes = _codes(parent_col, parent.categories or [])
        stored = np.zeros(len(parent.categories or []) + 1, dtype=bool)
        stored[np.asarray(self.keys, dtype=np.int64)] = True
        return parent_col.isna().to_numpy() | (stored[codes] & (codes >= 0))

    def derive(
        self,
        parent_col: pd.Series,
        parent: ColumnSpec,
        child: ColumnSpec,
        rng: np.random.Generator | None = None,
    ) -> pd.Series:
        """The child column of a parent column: placeholder rows draw from the pooled rows'
        children (with ``rng``), other unknown labels get the fallback."""
        k = len(parent.categories or [])
        numeric = child.kind != "categorical"
        none = np.nan if numeric else -1

        def code(value: Any) -> Any:
            return none if value is None else value

        # positions 0..k-1: parent labels; k: parent missing; k + 1: unknown parent label
        table = np.full(k + 2, code(self.fallback), dtype=float if numeric else np.int64)
        table[k] = code(self.when_missing)
        if self.keys:
            table[np.asarray(self.keys, dtype=np.int64)] = [code(v) for v in self.values]
        codes = _codes(parent_col, parent.categories or [])
        codes = np.where(parent_col.isna().to_numpy(), k, np.where(codes < 0, k + 1, codes))
        out = table[codes]
        placeholder = (parent_col == parent.other_label).to_numpy(dtype=bool)
        if placeholder.any() and self.other_values and rng is not None:
            w = np.asarray(self.other_weights, dtype=float)
            draws = rng.choice(len(w), size=int(placeholder.sum()), p=w / w.sum())
            out[placeholder] = np.asarray([code(v) for v in self.other_values])[draws]
        if numeric:
            return restore_dtype(pd.Series(out), child)
        lookup = np.empty(len(child.categories or []) + 1, dtype=object)
        lookup[:-1] = child.categories or []
        lookup[-1] = None
        return restore_dtype(pd.Series(lookup[out], dtype=object), child)


@dataclass
class Grid:
    """A coordinate pair as a cell of an equal-mass grid plus each axis' offset in its cell.

    Each axis is cut into ``size`` bins of equal probability under its own quantile
    function (``levels``: values at ``len(levels)`` evenly spaced probabilities, ends at the
    schema's bounds); a point's cell is its pair of bins and its offsets are its positions in
    probability inside them. Offsets are then uniform within every bin, so whatever a
    generator learns of them, each axis' marginal follows from the cell frequencies.
    """

    latitude: str
    longitude: str
    cell: str
    size: int
    lat_levels: list[float]
    lon_levels: list[float]
    has_missing: bool

    @property
    def n_cells(self) -> int:
        return self.size * self.size

    def problem(self, schema: Any) -> str | None:
        """What is wrong with a grid read from a file (``None``: nothing)."""
        where = f"coordinate grid of {self.latitude!r}, {self.longitude!r}"
        for name in (self.latitude, self.longitude):
            if name not in schema or schema[name].kind != "numeric":
                return f"{where}: {name!r} is not a numeric column of the schema"
        if not isinstance(self.cell, str) or self.cell in schema:
            return f"{where}: invalid cell column name {self.cell!r}"
        if (
            isinstance(self.size, bool)
            or not isinstance(self.size, int)
            or not 1 <= self.size <= 64
        ):
            return f"{where}: size must be an integer in [1, 64], got {self.size!r}"
        for levels in (self.lat_levels, self.lon_levels):
            ok = isinstance(levels, list) and 2 <= len(levels) <= 100_001
            ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in levels)
            if not ok or not np.all(np.isfinite(levels)) or np.any(np.diff(levels) < 0):
                return f"{where}: levels must be a non-decreasing list of finite numbers"
        if not isinstance(self.has_missing, bool):
            return f"{where}: has_missing must be true or false"
        return None

    @staticmethod
    def levels(values: np.ndarray, spec: ColumnSpec, min_count: int) -> list[float]:
        """The quantile function of ``values`` at evenly spaced probabilities, stored as the
        encoders store quantiles (no entry per fewer than ``min_count`` rows, no rare value;
        see :func:`~synthgen.schema.safe.safe_quantiles`), ends at the schema's bounds."""
        low, high = float(spec.minimum), float(spec.maximum)
        q = safe_quantiles(values, 1001, min_count) if len(values) else np.array([low, high])
        q = np.clip(q, low, high)
        q[0], q[-1] = low, high
        return [float(v) for v in np.maximum.accumulate(q)]

    def locate(self, x: np.ndarray, levels: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """Bin and offset of each value (NaN offset where missing)."""
        q = np.asarray(levels)
        p = np.interp(x, q, np.linspace(0, 1, len(q))) * self.size
        i = np.clip(np.floor(np.nan_to_num(p)), 0, self.size - 1).astype(np.int64)
        return i, p - i

    def place(
        self, i: np.ndarray, u: np.ndarray, levels: list[float], spec: ColumnSpec
    ) -> np.ndarray:
        """Values of bins and offsets, rounded as the spec says."""
        q = np.asarray(levels)
        p = (i + np.clip(u, 0.0, 1.0)) / self.size
        x = np.clip(np.interp(p, np.linspace(0, 1, len(q)), q), spec.minimum, spec.maximum)
        return np.round(x, spec.decimals) if spec.decimals is not None else x


def hot_deck(col: pd.Series, spec: ColumnSpec | None, rng: np.random.Generator) -> pd.Series:
    """``col`` with missing cells filled by values drawn from its own observed cells (no new
    value, no spike); the middle of the spec's range when it has none."""
    missing = col.isna().to_numpy()
    if not missing.any():
        return col
    observed = col[~missing]
    if len(observed):
        fill = observed.to_numpy(dtype=object)[rng.integers(0, len(observed), missing.sum())]
    elif spec is None:
        fill = np.full(int(missing.sum()), 0.5, dtype=object)
    else:
        fill = np.full(int(missing.sum()), _middle(spec), dtype=object)
    values = col.to_numpy(dtype=object, copy=True)
    values[missing] = fill
    out = pd.Series(values, index=col.index, name=col.name)
    if isinstance(col.dtype, pd.CategoricalDtype):
        return out.astype(col.dtype)
    try:
        return out.astype(col.dtype)
    except (TypeError, ValueError):
        return out


def _middle(spec: ColumnSpec) -> Any:
    """A value of the column from its spec only (never a training value)."""
    if spec.kind == "categorical" and spec.categories:
        return spec.categories[0]
    low, high = float(spec.minimum or 0.0), float(spec.maximum or 0.0)
    mid = (low + high) / 2
    if spec.kind == "datetime":
        ts = pd.Timestamp(int(mid))
        return ts if spec.datetime_format is None else ts.strftime(spec.datetime_format)
    return round(mid) if spec.integer else mid
