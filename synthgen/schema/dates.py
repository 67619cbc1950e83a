"""Dates as users have them, read and given back.

- **Text dates** in one of :data:`DATE_FORMATS`, or in several of them (a column mixing
  ``2024-01-31`` and ``31/01/2024``), given back in the column's main format. A few values
  that are no date (``"unknown"``, at most :data:`MAX_BAD_SHARE` of the column) are taken as
  missing, with a :class:`~synthgen.exceptions.DataWarning` naming the column and the count.
- **Integer dates** such as ``20240131`` (eight digits, all parsing as ``%Y%m%d``, years
  1800 to 2200), given back as integers of the same form.
- **Dates outside pandas' nanosecond range** (before 1677 or after 2262): text dates are
  parsed one by one where pandas cannot, datetime columns of a coarser resolution
  (``datetime64[s]``) keep it, and values are handled as counts of the column's unit since
  the epoch, never as nanoseconds in an ``int64``.
- **Time zones**: an aware column is modelled in UTC and given back in its own zone.

A spec of such a column records the further formats in ``extra["date_formats"]`` and, when
values that are no date are taken as missing, ``extra["bad_dates"] = "missing"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import SchemaError

__all__ = [
    "DATE_FORMATS",
    "MAX_BAD_SHARE",
    "UNIT_NS",
    "ParsedDates",
    "as_datetimes",
    "check_date_extra",
    "from_epoch",
    "int_dates",
    "parse_text_dates",
    "restore_dates",
    "to_epoch",
    "unit_of",
    "whole_unit",
]

#: Date/time formats tried, in order, on string columns.
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y%m%d",
)
#: Largest share of a column's values that may fail to parse for it to be read as dates.
MAX_BAD_SHARE = 0.05
#: Nanoseconds in each unit a datetime column is modelled in.
UNIT_NS: dict[str, int] = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
#: Integer dates (``%Y%m%d``) are looked for in this range.
INT_DATE_RANGE = (18000101, 22001231)

_COMPACT = "%Y%m%d"
_EIGHT_DIGITS = re.compile(r"^\d{8}$")
_DIGIT_FIRST = re.compile(r"^\d")
_SAMPLE = 200
#: Rows looked at first for the sample's values (a missing cell's mask over millions of
#: rows costs more than the sample).
_LEAD_ROWS = 4 * _SAMPLE


@dataclass
class ParsedDates:
    """Text parsed as dates: ``values`` (NaT where missing or not a date), the formats that
    matched (most used first) and the count of non-missing values that are no date."""

    values: pd.Series
    formats: list[str]
    n_bad: int


def _strptime(text: str, fmt: str) -> np.datetime64:
    try:
        return np.datetime64(datetime.strptime(text, fmt), "s")
    except ValueError:
        return np.datetime64("NaT", "s")


def _parse_one(strings: pd.Series, fmt: str) -> pd.Series:
    """``strings`` (none missing) parsed with ``fmt`` as ``datetime64[s]`` (NaT where they do
    not parse); dates outside pandas' nanosecond range are parsed one by one."""
    if fmt == _COMPACT:  # eight digits only: a code such as 010023 is no date of year 100
        strings = strings.where(strings.str.match(_EIGHT_DIGITS), "")
    parsed = pd.to_datetime(strings, format=fmt, errors="coerce").astype("datetime64[s]")
    # Only a value that starts with a digit (as every known format does) can be a date pandas
    # refused for its year.
    failed = parsed.isna() & strings.str.match(_DIGIT_FIRST)
    if failed.any():
        slow = np.array([_strptime(s, fmt) for s in strings[failed]], dtype="datetime64[s]")
        if not np.isnat(slow).all():
            out = parsed.to_numpy().copy()
            out[failed.to_numpy()] = slow
            parsed = pd.Series(out, index=strings.index)
    return parsed


def parse_text_dates(values: pd.Series, formats: Any = DATE_FORMATS) -> ParsedDates | None:
    """Parse text as dates, each value with the first of ``formats`` (most used first) that
    reads it; ``None`` when not even half of the first values are dates.

    Examples
    --------
    >>> s = pd.Series(["2024-01-31", "31/12/2023", "unknown", None])
    >>> parsed = parse_text_dates(s)
    >>> parsed.formats, parsed.n_bad, parsed.values.isna().tolist()
    (['%Y-%m-%d', '%d/%m/%Y'], 1, [False, False, True, True])
    """
    index = values.index
    values = values.reset_index(drop=True)  # by position: a repeated index must not matter
    # The first values decide whether to read them all: a column of words costs a sample
    # (looked for among the first rows; the whole column only when they hold too few).
    present = values.iloc[:_LEAD_ROWS].notna().to_numpy()
    if present.sum() < _SAMPLE and len(values) > _LEAD_ROWS:
        present = values.notna().to_numpy()
    if not present.any():
        return None
    head = values.iloc[np.flatnonzero(present)[:_SAMPLE]].astype(str)
    if head.str.match(_DIGIT_FIRST).mean() < 0.5:  # words, not dates: no format to try
        return None
    found = {fmt: _parse_one(head, fmt).notna() for fmt in formats}
    order = sorted(formats, key=lambda f: -int(found[f].sum()))  # ties keep the listed order
    head_ok = np.logical_or.reduce([found[f].to_numpy() for f in formats])
    if head_ok.mean() < 0.5:
        return None
    if len(present) < len(values):
        present = values.notna().to_numpy()
    out = pd.Series(np.full(len(values), np.datetime64("NaT", "s")))
    strings = values[present].astype(str)  # its first values are ``head``
    parsed = pd.Series(np.full(len(strings), np.datetime64("NaT", "s")), index=strings.index)
    used = []
    for fmt in order:
        todo = parsed.isna()
        if not todo.any():
            break
        got = _parse_one(strings[todo], fmt)
        if got.notna().any():
            parsed[got.index[got.notna()]] = got[got.notna()]
            used.append((int(got.notna().sum()), fmt))
    out[present] = parsed.to_numpy()
    out.index = index
    used.sort(key=lambda t: -t[0])
    return ParsedDates(out, [f for _, f in used], int(parsed.isna().sum()))


def int_dates(values: pd.Series) -> pd.Series | None:
    """Whole numbers that all read as ``%Y%m%d`` dates (``20240131``), as datetimes; else
    ``None``.

    Examples
    --------
    >>> int_dates(pd.Series([20240131, 20231201])).dt.strftime("%Y-%m-%d").tolist()
    ['2024-01-31', '2023-12-01']
    >>> int_dates(pd.Series([20240132, 20231201])) is None
    True
    """
    x = values.dropna().to_numpy(dtype=float)
    low, high = INT_DATE_RANGE
    if len(x) == 0 or not (np.all(x == np.round(x)) and x.min() >= low and x.max() <= high):
        return None
    strings = pd.Series(x.astype(np.int64).astype(str))
    parsed = _parse_one(strings, _COMPACT)
    return parsed if parsed.notna().all() else None


def _text_of(col: pd.Series) -> pd.Series:
    """Text dates as strings; integer dates (numbers) written as their digits."""
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        present = col.dropna()
        whole = present.to_numpy(dtype=float)
        text = pd.Series(
            [str(int(v)) if v == round(v) else str(v) for v in whole],
            index=present.index,
            dtype=object,
        )
        return text.reindex(col.index)
    return col.astype(object).where(col.notna(), None)


def as_datetimes(col: pd.Series, spec: Any) -> pd.Series:
    """The column as naive datetimes (aware ones in UTC), NaT where missing.

    Text and integer dates are parsed with the spec's formats; a value that parses with none
    of them is missing when the spec says so (``extra["bad_dates"] == "missing"``), and an
    error naming the column otherwise.

    Raises
    ------
    SchemaError
        A value is no date in the spec's formats (and the spec does not take such as missing).
    """
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        if getattr(col.dtype, "tz", None) is not None:
            return col.dt.tz_convert("UTC").dt.tz_localize(None)
        return col
    extra = spec.extra or {}
    formats = [spec.datetime_format, *extra.get("date_formats", [])]
    text = _text_of(col)
    present = text.notna()
    if spec.datetime_format is None:  # datetime64 written out as text (a CSV): ISO 8601
        out = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        out = out.dt.tz_localize(None)
        todo = present & out.isna()
        formats = ["ISO 8601"]
    else:
        out = pd.Series(np.full(len(col), np.datetime64("NaT", "s")), index=col.index)
        todo = present.copy()
    for fmt in formats if spec.datetime_format is not None else []:
        if not todo.any():
            break
        got = _parse_one(text[todo].astype(str), fmt)
        out[got.index[got.notna()]] = got[got.notna()]
        todo &= out.isna()
    if todo.any() and extra.get("bad_dates") != "missing":
        shown = " or ".join(repr(f) for f in formats)
        raise SchemaError(
            f"column {spec.name!r}: {int(todo.sum())} value(s) do not parse as dates with "
            f"format {shown}, e.g. {col[todo].iloc[0]!r}"
        )
    return out


def unit_of(dates: pd.Series) -> str:
    """The coarsest unit (``D``, ``s``, ``ms``, ``us``, ``ns``) every (naive) date is a whole
    number of.

    Examples
    --------
    >>> unit_of(pd.Series(pd.to_datetime(["2024-01-31 00:00", "2024-02-01 10:00"])))
    's'
    """
    values = dates.dropna().to_numpy()
    return whole_unit(values.astype("int64"), np.datetime_data(values.dtype)[0])


def whole_unit(ints: np.ndarray, resolution: str = "ns") -> str:
    """The coarsest unit every count of ``resolution`` (dates, durations) is a whole
    number of.

    Examples
    --------
    >>> whole_unit(np.array([0, 86_400, 3 * 86_400]), "s")
    'D'
    """
    for unit in ("D", "s", "ms", "us"):
        step = UNIT_NS[unit] // UNIT_NS[resolution]
        if UNIT_NS[unit] >= UNIT_NS[resolution] and np.all(ints % step == 0):
            return unit
    return resolution


def to_epoch(dates: pd.Series, unit: str) -> np.ndarray:
    """Naive datetimes as floats: ``unit`` counts since 1970-01-01, NaN where missing
    (no nanosecond ``int64`` on the way, so any year pandas holds works)."""
    res = np.datetime_data(dates.to_numpy().dtype)[0]
    ints = dates.to_numpy().astype("int64")
    if UNIT_NS[unit] >= UNIT_NS[res]:
        step = UNIT_NS[unit] // UNIT_NS[res]
        out = (ints // step).astype(float) + (ints % step) / step
    else:
        out = ints.astype(float) * (UNIT_NS[res] // UNIT_NS[unit])
    out[dates.isna().to_numpy()] = np.nan
    return out


def from_epoch(x: np.ndarray, unit: str, resolution: str) -> pd.Series:
    """Inverse of :func:`to_epoch`: ``unit`` counts (NaN: missing) as
    ``datetime64[resolution]``."""
    x = np.asarray(x, dtype=float)
    missing = np.isnan(x)
    scale = UNIT_NS[unit] / UNIT_NS[resolution]
    ints = np.where(missing, 0, np.round(x * scale)).astype(np.int64)
    out = ints.astype(f"datetime64[{resolution}]")
    out[missing] = np.datetime64("NaT")
    return pd.Series(out)


def _resolution(spec: Any) -> str:
    dtype = pd.api.types.pandas_dtype(spec.dtype)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return getattr(dtype, "unit", None) or np.datetime_data(dtype)[0]
    unit = spec.datetime_unit or "s"
    return "s" if unit == "D" else unit  # text: a second resolution holds any year


def restore_dates(x: np.ndarray, spec: Any) -> pd.Series:
    """Values in the spec's unit (NaN: missing) back as the column had them: datetimes of its
    dtype (and time zone), or text in its main format, or ``%Y%m%d`` numbers (as floats;
    the caller casts them to the column's dtype)."""
    dates = from_epoch(x, spec.datetime_unit or "ns", _resolution(spec))
    dtype = pd.api.types.pandas_dtype(spec.dtype)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            return dates.dt.tz_localize("UTC").dt.tz_convert(dtype.tz).astype(dtype)
        return dates.astype(dtype)
    text = dates.dt.strftime(spec.datetime_format).where(dates.notna(), np.nan)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return pd.to_numeric(text).astype(float)
    return text


def check_date_extra(extra: dict[str, Any]) -> str | None:
    """What is wrong with the date keys of a spec's ``extra`` read from a file (``None``:
    nothing)."""
    formats = extra.get("date_formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        return "extra.date_formats must be a list of strings"
    if extra.get("bad_dates", "missing") != "missing":
        return f"extra.bad_dates must be 'missing', got {extra['bad_dates']!r}"
    return None
