"""Columns turned into conditioning inputs that are never missing, and the order column.

A single-table generator draws rows given fixed cells (``draw_given``), and a missing cell
means "free". A parent's value that is really missing (a player without a death date) must
still be fixed when its children are drawn, so every conditioning column goes through a
:class:`Feature`: numbers and dates become floats with the missing cells filled by the mean
and, where the column has gaps, a 0/1 ``missing`` indicator column; labels become strings
with missing cells as their own label. A :class:`OrderSpec` maps a sequence's order column
(whole numbers, floats, datetimes or text dates) to floats and back to the column's own dtype.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import PersistenceError
from synthgen.schema.dates import parse_text_dates

__all__ = [
    "MISSING_LABEL",
    "Feature",
    "OrderSpec",
    "as_days",
    "feature_kind",
    "make_keys",
]

#: The label a missing category becomes when it conditions other rows.
MISSING_LABEL = "<missing>"
_DAY = np.timedelta64(1, "D")
_KINDS = ("number", "date", "label")


def as_days(col: pd.Series) -> np.ndarray:
    """Dates (datetime64, or text in a known format) as float days since 1970 (NaN if
    missing or not a date)."""
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        dates = col
        if getattr(col.dtype, "tz", None) is not None:
            dates = col.dt.tz_convert("UTC").dt.tz_localize(None)
    else:
        parsed = parse_text_dates(col.astype(object).where(col.notna(), None))
        if parsed is None:
            return np.full(len(col), np.nan)
        dates = parsed.values
    values = dates.to_numpy(dtype="datetime64[ns]")
    out = (values - np.datetime64(0, "ns")) / _DAY
    return np.where(np.isnat(values), np.nan, out).astype(float)


def feature_kind(spec: Any) -> str | None:
    """``"number"``, ``"date"`` or ``"label"`` for a schema column that a model learns;
    ``None`` for the rest (identifiers, constants, personal data and free text)."""
    if not spec.is_modelled:
        return None
    return {"numeric": "number", "datetime": "date", "categorical": "label"}.get(spec.kind)


@dataclass
class Feature:
    """How one source column becomes conditioning columns that are never missing."""

    column: str
    name: str
    kind: str
    fill: float = 0.0
    flag: bool = False

    @classmethod
    def fit(cls, col: pd.Series, name: str, kind: str, *, flag: bool | None = None) -> Feature:
        """Learn the fill value (the mean: no row's own value) and whether a missing
        indicator is needed (``flag``; by default where ``col`` has missing cells)."""
        fill = 0.0
        if kind != "label":
            x = _floats(col, kind)
            ok = x[np.isfinite(x)]
            fill = float(np.round(ok.mean(), 3)) if len(ok) else 0.0
        has_flag = bool(col.isna().any()) if flag is None else flag
        return cls(str(col.name), name, kind, fill, has_flag and kind != "label")

    @property
    def columns(self) -> list[str]:
        return [self.name, f"{self.name}?missing"] if self.flag else [self.name]

    def transform(self, col: pd.Series) -> dict[str, np.ndarray]:
        """The conditioning columns of ``col`` (one value per row, none missing)."""
        if self.kind == "label":
            values = col.astype(object).to_numpy()
            missing = pd.isna(values)
            return {
                self.name: np.array(
                    [
                        MISSING_LABEL if m else _label(v)
                        for v, m in zip(values, missing, strict=True)
                    ],
                    dtype=object,
                )
            }
        x = _floats(col, self.kind)
        gone = ~np.isfinite(x)
        out = {self.name: np.where(gone, self.fill, x)}
        if self.flag:
            out[f"{self.name}?missing"] = gone.astype(np.int64)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Feature:
        rec = _record(data, "feature", {"column": str, "name": str, "kind": str, "fill": float,
                                        "flag": bool})  # fmt: skip
        if rec["kind"] not in _KINDS:
            raise PersistenceError(f"feature kind must be one of {_KINDS}, got {rec['kind']!r}")
        return cls(**rec)


def _label(value: Any) -> str:
    """One text form per label, whatever column dtype carried it (``1``, ``1.0`` -> ``"1"``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _floats(col: pd.Series, kind: str) -> np.ndarray:
    if kind == "date":
        return as_days(col)
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.astype(float).to_numpy()
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


@dataclass
class OrderSpec:
    """The order column of a sequence table: its kind and dtype, and the parent feature its
    first event is measured from (``anchor``, in the same unit; ``anchor_year``: the anchor
    is a date and the order is a year number), and the parent features no first event of the
    data came before (``floors``: a purchase never before the sign-up date), kept when
    drawing."""

    column: str
    kind: str
    dtype: str
    integer: bool = False
    text_format: str | None = None
    whole_days: bool = True
    anchor: str | None = None
    anchor_year: bool = False
    floors: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, col: pd.Series) -> OrderSpec:
        name, dtype = str(col.name), str(col.dtype)
        if pd.api.types.is_numeric_dtype(col.dtype):
            x = col.to_numpy(dtype=float)
            return cls(name, "number", dtype, integer=bool(np.all(x == np.round(x))))
        fmt = None
        if not pd.api.types.is_datetime64_any_dtype(col.dtype):
            parsed = parse_text_dates(col)
            fmt = parsed.formats[0] if parsed is not None and parsed.formats else "%Y-%m-%d"
        days = as_days(col)
        return cls(name, "date", dtype, text_format=fmt, whole_days=bool(np.all(days % 1 == 0)))

    def to_float(self, col: pd.Series) -> np.ndarray:
        """Order values as floats (dates: days since 1970)."""
        if self.kind == "date":
            return as_days(col)
        return col.to_numpy(dtype=float)

    def from_float(self, x: np.ndarray) -> pd.Series:
        """Floats back to the column's own dtype (and text format)."""
        if self.kind == "number":
            if self.integer:
                return pd.Series(np.round(x)).astype(self.dtype)
            return pd.Series(x).astype(self.dtype)
        if self.whole_days:
            x = np.floor(x)
        dates = pd.Series(pd.to_datetime(np.round(x * 86_400e9).astype("int64"), unit="ns"))
        if self.text_format is not None:
            return dates.dt.strftime(self.text_format).astype(object)
        if getattr(pd.api.types.pandas_dtype(self.dtype), "tz", None) is not None:
            return dates.dt.tz_localize("UTC").dt.tz_convert(self.dtype.split(", ")[1][:-1])
        return dates.astype(self.dtype)

    def anchor_values(self, days_or_number: np.ndarray) -> np.ndarray:
        """The anchor feature's values in the order column's unit."""
        if not self.anchor_year:
            return days_or_number
        return (
            pd.to_datetime(np.round(days_or_number * 86_400e9).astype("int64"), unit="ns")
            .year.to_numpy()
            .astype(float)
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> OrderSpec:
        if isinstance(data, dict) and "floors" not in data:  # saved before floors existed
            data = {**data, "floors": []}
        rec = _record(
            data,
            "order",
            {"column": str, "kind": str, "dtype": str, "integer": bool, "text_format": (str, None),
             "whole_days": bool, "anchor": (str, None), "anchor_year": bool, "floors": list},
        )  # fmt: skip
        if not all(isinstance(x, str) and len(x) <= 1000 for x in rec["floors"]):
            raise PersistenceError("saved order field 'floors' must be a list of column names")
        if rec["kind"] not in ("number", "date"):
            raise PersistenceError(f"order kind must be 'number' or 'date', got {rec['kind']!r}")
        try:
            pd.api.types.pandas_dtype(rec["dtype"])
        except (TypeError, ValueError):
            raise PersistenceError(f"order dtype {rec['dtype']!r} is not a dtype") from None
        return cls(**rec)


def _record(data: Any, what: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Fields of a saved record, type-checked (the record comes from an untrusted file)."""
    if not isinstance(data, dict) or set(data) != set(fields):
        raise PersistenceError(f"a saved {what} must be an object with the keys {sorted(fields)}")
    out = {}
    for key, kind in fields.items():
        value = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = any(
            (value is None) if k is None
            else (isinstance(value, (int, float)) and not isinstance(value, bool) and
                  np.isfinite(value)) if k is float
            else isinstance(value, k)
            for k in kinds
        )  # fmt: skip
        if not ok or (isinstance(value, str) and len(value) > 1000):
            raise PersistenceError(f"saved {what} field {key!r} is invalid: {value!r:.80}")
        out[key] = float(value) if kind is float else value
    return out


def make_keys(table: str, n: int, like: str | None) -> pd.Series:
    """Fresh primary keys for ``n`` rows: 1..n for numeric keys, ``"<table>_000001"`` for
    text keys (``like`` is the real key's dtype); never a real key value.

    Examples
    --------
    >>> make_keys("users", 2, "int64").tolist(), make_keys("users", 2, "object").tolist()
    ([1, 2], ['users_000001', 'users_000002'])
    """
    dtype = None if like is None else pd.api.types.pandas_dtype(like)
    if dtype is not None and pd.api.types.is_integer_dtype(dtype):
        return pd.Series(np.arange(1, n + 1, dtype=np.int64))
    if dtype is not None and pd.api.types.is_float_dtype(dtype):
        return pd.Series(np.arange(1, n + 1, dtype=np.float64))
    width = max(6, len(str(n)))
    return pd.Series([f"{table}_{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
