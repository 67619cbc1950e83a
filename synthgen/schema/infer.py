"""Detect the kind of each column of a DataFrame.

The rules, in order, for one column:

1. all cells missing, or one distinct value -> ``constant``;
2. boolean or pandas ``category`` dtype -> ``categorical``;
3. datetime dtype, or strings that all parse with one date format -> ``datetime``;
4. durations (``timedelta64``) -> ``numeric`` (given back as durations);
   numbers: whole numbers with at most ``max_int_categories`` distinct values -> ``categorical``;
   unique whole numbers whose name looks like a key (``id``, ``..._id``, ``key``, ``uuid``) or
   that form a consecutive run -> ``id``; otherwise ``numeric``;
5. strings: unique per row and without spaces -> ``id``; more than ``max_categories`` distinct
   values, most of them held by a single row -> ``text``; otherwise ``categorical``.

Object columns mixing strings with numbers (or other types) are refused with a
:class:`~synthgen.exceptions.SchemaError` naming the column.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import DataError, SchemaError
from synthgen.schema.cells import unsupported_cells
from synthgen.schema.columns import ColumnSpec
from synthgen.schema.safe import DEFAULT_MIN_COUNT, safe_bounds

__all__ = ["DATE_FORMATS", "check_frame", "infer_column", "text_spec", "unsupported_cells"]

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

_ID_NAME = re.compile(r"(^|[_\-\s])(id|key|uuid|guid)$|^id[_\-\s]|^(id|key|uuid|guid)$", re.I)
_MAX_DECIMALS = 6


def check_frame(
    data: Any, *, what: str = "data", error: type[Exception] = DataError
) -> pd.DataFrame:
    """Check that ``data`` is a usable table and return it (never modified).

    Parameters
    ----------
    data : DataFrame
        The table.
    what : str
        How messages name the table (``"data"``, ``"holdout"``, ...).
    error : exception class
        What to raise (the evaluators raise their own ``EvaluationError``).

    Raises
    ------
    DataError
        Not a DataFrame, no rows, no columns, duplicate or non-string column names, infinite
        values, or cells synthgen cannot take (complex numbers, Decimal, bytes, Period,
        Interval, date/time objects, nested lists or dicts); the message names the column.

    Examples
    --------
    >>> check_frame(pd.DataFrame({"a": [1, 2]})).shape
    (2, 1)
    """
    if not isinstance(data, pd.DataFrame):
        raise error(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    if data.shape[1] == 0:
        raise error(f"{what} has no columns")
    if data.shape[0] == 0:
        raise error(f"{what} has no rows")
    bad = [c for c in data.columns if not isinstance(c, str)]
    if bad:
        raise error(f"{what}: column names must be strings, found {bad[:5]!r}")
    dup = data.columns[data.columns.duplicated()].tolist()
    if dup:
        raise error(f"{what}: duplicate column names {sorted(set(dup))!r}")
    for name in data.columns:
        col = data[name]
        problem = unsupported_cells(col)
        if problem:
            raise error(f"{what}: column {name!r} holds {problem}")
        if pd.api.types.is_float_dtype(col.dtype):
            n_inf = int(np.isinf(col.to_numpy(dtype=float, na_value=np.nan)).sum())
        elif col.dtype == object:
            n_inf = int(sum(isinstance(v, float) and np.isinf(v) for v in col.array))
        else:
            n_inf = 0
        if n_inf:
            raise error(
                f"{what}: column {name!r} has {n_inf} infinite value(s); expected finite "
                "numbers or NaN: replace them (with NaN or a finite bound) first"
            )
    return data


def _decimals(values: np.ndarray) -> int | None:
    """Smallest number of decimal places that represents every value (``None`` if > 6)."""
    for d in range(_MAX_DECIMALS + 1):
        scaled = values * (10.0**d)
        if np.allclose(scaled, np.round(scaled), rtol=1e-12, atol=1e-6):
            return d
    return None


def _datetime_unit(ns: np.ndarray) -> str:
    for unit, step in (("D", 86_400 * 10**9), ("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if np.all(ns % step == 0):
            return unit
    return "ns"


def _parse_dates(values: pd.Series) -> tuple[str, pd.Series] | None:
    """Return ``(format, parsed)`` when every string parses with one known format."""
    sample = values.iloc[: min(len(values), 200)]
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().all():
            full = pd.to_datetime(values, format=fmt, errors="coerce")
            if full.notna().all():
                return fmt, full
    return None


def _object_value_type(name: str, values: pd.Series) -> str:
    """The single Python type of the non-missing values of an object column."""
    kinds = set()
    for v in values.array:
        if isinstance(v, str):
            kinds.add("str")
        elif isinstance(v, (bool, np.bool_)):
            kinds.add("bool")
        elif isinstance(v, (int, np.integer)):
            kinds.add("int")
        elif isinstance(v, (float, np.floating)):
            kinds.add("float")
        else:
            kinds.add(type(v).__name__)
        if len(kinds) > 1:
            break
    if len(kinds) > 1:
        raise SchemaError(
            f"column {name!r}: mixed value types in one column ({', '.join(sorted(kinds))}); "
            "expected a single type: convert the column (e.g. .astype(str)) before fitting"
        )
    return kinds.pop() if kinds else "str"


def _datetime_spec(
    name: str,
    dtype: str,
    parsed: pd.Series,
    missing: float,
    fmt: str | None,
    min_count: int = DEFAULT_MIN_COUNT,
):
    ns = parsed.dropna().astype("datetime64[ns]").astype("int64").to_numpy()
    low, high = safe_bounds(ns.astype(float), min_count)
    return ColumnSpec(
        name,
        "datetime",
        dtype,
        missing_rate=missing,
        minimum=low,
        maximum=high,
        datetime_format=fmt,
        datetime_unit=_datetime_unit(ns),
    )


def numeric_bounds(values: np.ndarray, min_count: int, decimals: int | None) -> tuple[float, float]:
    """:func:`~synthgen.schema.safe.safe_bounds`, written as the column's own decimals when
    they are its decimals up to float error (a midpoint such as 49259.119999999995 is stored
    as 49259.12, the number the decoder rounds to)."""
    out = []
    for bound in safe_bounds(values, min_count):
        if decimals is not None:
            snapped = round(bound, decimals)
            if abs(snapped - bound) <= 1e-9 * max(1.0, abs(bound)):
                bound = snapped
        out.append(float(bound))
    return out[0], out[1]


def duration_spec(
    name: str, col: pd.Series, missing: float, min_count: int = DEFAULT_MIN_COUNT
) -> ColumnSpec:
    """Spec of a ``timedelta64`` column: numeric, in whole units of its resolution (bounds in
    nanoseconds), given back as durations."""
    ns = col.dropna().astype("timedelta64[ns]").astype("int64").to_numpy()
    low, high = safe_bounds(ns.astype(float), min_count)
    return ColumnSpec(
        name,
        "numeric",
        str(col.dtype),
        missing_rate=missing,
        minimum=low,
        maximum=high,
        integer=True,
        decimals=0,
        datetime_unit=_datetime_unit(ns),
    )


#: Placeholder given back for the rows whose labels were too rare to store.
OTHER_LABEL = "(other)"


def _other_label(labels: list[Any]) -> str:
    """``"(other)"``, or ``"(other 2)"``, ... when the column itself holds that label."""
    taken = {v for v in labels if isinstance(v, str)}
    label, i = OTHER_LABEL, 1
    while label in taken:
        i += 1
        label = f"(other {i})"
    return label


def _categorical_spec(
    name: str, col: pd.Series, missing: float, min_count: int = DEFAULT_MIN_COUNT
) -> ColumnSpec:
    counts = col.dropna().value_counts(sort=False)
    if isinstance(col.dtype, pd.CategoricalDtype):
        # Keep every declared category, used or not (no row holds an unused one), so the
        # output dtype matches the input; leave out those held by a few rows only.
        declared = col.cat.categories.tolist()
        rare = [c for c in declared if 0 < counts.get(c, 0) < min_count]
        cats = [c for c in declared if c not in set(rare)]
        ordered = bool(col.cat.ordered)
    else:
        labels = sorted(counts.index.tolist(), key=lambda v: (str(type(v)), v))
        rare = [v for v in labels if counts[v] < min_count]
        cats = [v for v in labels if counts[v] >= min_count]
        ordered = False
    other = None
    if rare and not ordered and all(isinstance(v, str) for v in [*cats, *rare]):
        other = _other_label([*cats, *rare])
    return ColumnSpec(
        name,
        "categorical",
        str(col.dtype),
        missing_rate=missing,
        categories=cats,
        ordered=ordered,
        pooled=bool(rare),
        other_label=other,
    )


def infer_column(
    name: str,
    col: pd.Series,
    *,
    max_int_categories: int = 15,
    max_categories: int = 500,
    min_count: int = DEFAULT_MIN_COUNT,
) -> ColumnSpec:
    """Infer the :class:`ColumnSpec` of one column.

    Labels held by fewer than ``min_count`` rows are not stored (the rows holding them are
    pooled, see :class:`ColumnSpec`), and numeric bounds are not any one row's value (see
    :mod:`synthgen.schema.safe`); ``min_count=1`` keeps every label and the exact bounds.

    Examples
    --------
    >>> infer_column("n", pd.Series([1.5, 2.25, None])).kind
    'numeric'
    >>> infer_column("c", pd.Series(["a", "b", "a"]), min_count=1).categories
    ['a', 'b']
    >>> spec = infer_column("c", pd.Series(["a"] * 5 + ["b"]))
    >>> spec.categories, spec.other_label
    (['a'], '(other)')
    """
    dtype = str(col.dtype)
    n = len(col)
    nonnull = col.dropna()
    missing = (n - len(nonnull)) / n if n else 0.0
    if len(nonnull) == 0:
        return ColumnSpec(name, "constant", dtype, missing_rate=1.0, value=None)
    if pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
        if not isinstance(col.dtype, pd.CategoricalDtype):
            vtype = _object_value_type(name, nonnull)
        else:
            vtype = "category"
    else:
        vtype = "native"
    n_unique = int(nonnull.nunique())
    if n_unique == 1 and missing == 0.0 and not isinstance(col.dtype, pd.CategoricalDtype):
        # One value and no gaps: nothing to learn. With gaps, the missingness is worth
        # learning, so such a column falls through to categorical below.
        return ColumnSpec(name, "constant", dtype, missing_rate=missing, value=nonnull.iloc[0])
    if n_unique == 1 and pd.api.types.is_float_dtype(col.dtype):
        return _categorical_spec(name, col, missing, min_count)
    if pd.api.types.is_bool_dtype(col.dtype) or isinstance(col.dtype, pd.CategoricalDtype):
        return _categorical_spec(name, col, missing, min_count)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        if getattr(col.dtype, "tz", None) is not None:
            raise SchemaError(
                f"column {name!r}: timezone-aware datetimes are not supported; "
                "convert with .dt.tz_convert(None) first"
            )
        return _datetime_spec(name, dtype, col, missing, None, min_count)
    if pd.api.types.is_timedelta64_dtype(col.dtype):
        return duration_spec(name, col, missing, min_count)
    if pd.api.types.is_numeric_dtype(col.dtype):
        values = nonnull.to_numpy(dtype=float)
        whole = bool(np.all(values == np.round(values)))
        if whole and n_unique <= max_int_categories:
            return _categorical_spec(name, col, missing, min_count)
        if whole and n_unique == n and missing == 0.0:
            consecutive = values.max() - values.min() + 1 == n
            if consecutive or _ID_NAME.search(name):
                return ColumnSpec(name, "id", dtype)  # generated 1..n: nothing stored
        decimals = 0 if whole else _decimals(values)
        low, high = numeric_bounds(values, min_count, decimals)
        return ColumnSpec(
            name,
            "numeric",
            dtype,
            missing_rate=missing,
            minimum=low,
            maximum=high,
            integer=whole,
            decimals=decimals,
        )
    if vtype == "str":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = _parse_dates(nonnull)
        if parsed is not None:
            fmt, dates = parsed
            return _datetime_spec(name, dtype, dates, missing, fmt, min_count)
        no_space = not nonnull.str.contains(r"\s", regex=True).any()
        if n_unique == n and missing == 0.0 and n >= 20 and no_space:
            return ColumnSpec(name, "id", dtype, id_prefix=_common_prefix(nonnull))
        if n_unique > max_categories and n_unique > 0.5 * len(nonnull):
            return text_spec(name, col, missing, max_categories, min_count)
    return _categorical_spec(name, col, missing, min_count)


def text_spec(
    name: str,
    col: pd.Series,
    missing: float,
    max_categories: int = 500,
    min_count: int = DEFAULT_MIN_COUNT,
) -> ColumnSpec:
    """Spec of a free-text column: only labels held by ``min_count`` (and at least two) rows
    are kept (at most ``max_categories``), so a saved schema never carries a value unique to
    one person."""
    counts = col.dropna().value_counts()
    frequent = counts[counts >= max(2, min_count)].iloc[:max_categories]
    cats = sorted(frequent.index.tolist(), key=lambda v: (str(type(v)), v))
    return ColumnSpec(name, "text", str(col.dtype), missing_rate=missing, categories=cats)


def _common_prefix(values: pd.Series) -> str:
    """Longest non-digit prefix shared by the identifiers (``"cust-"`` for ``cust-001``)."""
    sample = values.astype(str).iloc[:1000].tolist()
    prefix = sample[0]
    for v in sample[1:]:
        while not v.startswith(prefix):
            prefix = prefix[:-1]
    return prefix.rstrip("0123456789") or "id-"
