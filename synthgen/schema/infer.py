"""Detect the kind of each column of a DataFrame.

The rules, in order, for one column:

1. all cells missing, or one distinct value -> ``constant``;
2. boolean or pandas ``category`` dtype -> ``categorical``;
3. datetime dtype (time zones too), strings of which at most 5% are no date in the known
   formats (those become missing, with a warning), or whole numbers that all read as
   ``%Y%m%d`` (``20240131``) -> ``datetime`` (see :mod:`synthgen.schema.dates`);
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

from synthgen.exceptions import DataWarning, SchemaError
from synthgen.schema.cells import unsupported_cells
from synthgen.schema.columns import ColumnSpec
from synthgen.schema.dates import (
    DATE_FORMATS,
    MAX_BAD_SHARE,
    int_dates,
    parse_text_dates,
    to_epoch,
    unit_of,
    whole_unit,
)
from synthgen.schema.frames import as_pandas, check_frame
from synthgen.schema.safe import DEFAULT_MIN_COUNT, safe_bounds

__all__ = [
    "DATE_FORMATS",
    "as_pandas",
    "categorical_from_counts",
    "check_frame",
    "infer_column",
    "text_spec",
    "unsupported_cells",
]

_ID_NAME = re.compile(r"(^|[_\-\s])(id|key|uuid|guid)$|^id[_\-\s]|^(id|key|uuid|guid)$", re.I)
_MAX_DECIMALS = 6


def _decimals(values: np.ndarray) -> int | None:
    """Smallest number of decimal places that represents every value (``None`` if > 6)."""
    for d in range(_MAX_DECIMALS + 1):
        scaled = values * (10.0**d)
        if np.allclose(scaled, np.round(scaled), rtol=1e-12, atol=1e-6):
            return d
    return None


def _object_value_type(name: str, values: pd.Series) -> str:
    """The single Python type of the non-missing values of an object column."""
    # pandas' C-level type inference first (a Python loop costs seconds on millions of rows).
    fast = {"string": "str", "boolean": "bool", "integer": "int", "floating": "float"}
    found = fast.get(pd.api.types.infer_dtype(values, skipna=True))
    if found is not None:
        return found
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
    extra: dict[str, Any] | None = None,
) -> ColumnSpec:
    if getattr(parsed.dtype, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)  # modelled in UTC
    present = parsed.dropna()
    low, high = safe_bounds(to_epoch(present, "ns"), min_count)
    return ColumnSpec(
        name,
        "datetime",
        dtype,
        missing_rate=missing,
        minimum=low,
        maximum=high,
        datetime_format=fmt,
        datetime_unit=unit_of(present) if len(present) else "D",
        extra=dict(extra or {}),
    )


def date_spec(
    name: str,
    col: pd.Series,
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    declared: bool = False,
    nonnull: pd.Series | None = None,
) -> ColumnSpec | None:
    """Spec of text or integer dates (see :mod:`synthgen.schema.dates`), or ``None`` when the
    column is no dates: text of which more than :data:`MAX_BAD_SHARE` is no date (when the
    user ``declared`` the column datetime, any share: only no date at all is refused).
    ``nonnull``: ``col.dropna()`` when the caller has it (a pass over an object column)."""
    nonnull = col.dropna() if nonnull is None else nonnull
    n = len(col)
    if pd.api.types.is_numeric_dtype(col.dtype):
        dates = int_dates(nonnull) if not pd.api.types.is_bool_dtype(col.dtype) else None
        if dates is None:
            return None
        return _datetime_spec(name, str(col.dtype), dates, (n - len(nonnull)) / n, "%Y%m%d",
                              min_count)  # fmt: skip
    parsed = parse_text_dates(col)
    if parsed is None or not parsed.formats:
        return None
    if parsed.n_bad > MAX_BAD_SHARE * len(nonnull) and not declared:
        return None
    extra: dict[str, Any] = {}
    if len(parsed.formats) > 1:
        extra["date_formats"] = parsed.formats[1:]
        warnings.warn(
            f"column {name!r}: dates written in {len(parsed.formats)} formats "
            f"({', '.join(parsed.formats)}); synthetic dates are written as "
            f"{parsed.formats[0]!r}",
            DataWarning,
            stacklevel=3,
        )
    if parsed.n_bad:
        extra["bad_dates"] = "missing"
        warnings.warn(
            f"column {name!r}: {parsed.n_bad:,} of {len(nonnull):,} values are no date "
            f"in {' or '.join(repr(f) for f in parsed.formats)}; they are taken as missing",
            DataWarning,
            stacklevel=3,
        )
    missing = int(parsed.values.isna().sum()) / n
    return _datetime_spec(name, str(col.dtype), parsed.values, missing, parsed.formats[0],
                          min_count, extra)  # fmt: skip


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
        datetime_unit=whole_unit(ns),
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
    name: str,
    col: pd.Series,
    missing: float,
    min_count: int = DEFAULT_MIN_COUNT,
    counts: pd.Series | None = None,
) -> ColumnSpec:
    """``counts``: the non-missing values' ``value_counts(sort=False)`` when the caller has
    them (not for a categorical dtype, whose counts hold its unused categories too)."""
    if counts is None:
        counts = col.dropna().value_counts(sort=False)
    if not isinstance(col.dtype, pd.CategoricalDtype):
        return categorical_from_counts(name, counts, str(col.dtype), missing, min_count)
    # Keep every declared category, used or not (no row holds an unused one), so the
    # output dtype matches the input; leave out those held by a few rows only.
    declared = col.cat.categories.tolist()
    rare = [c for c in declared if 0 < counts.get(c, 0) < min_count]
    cats = [c for c in declared if c not in set(rare)]
    return _with_labels(name, str(col.dtype), missing, cats, rare, bool(col.cat.ordered))


def categorical_from_counts(
    name: str, counts: pd.Series, dtype: str, missing: float, min_count: int = DEFAULT_MIN_COUNT
) -> ColumnSpec:
    """The spec of an unordered categorical column from its label counts (a column read in
    parts): the labels held by ``min_count`` rows, sorted; the others pooled.

    Examples
    --------
    >>> spec = categorical_from_counts("c", pd.Series({"b": 12, "a": 30, "z": 1}), "object", 0.0)
    >>> spec.categories, spec.pooled, spec.other_label
    (['a', 'b'], True, '(other)')
    """
    labels = sorted(counts.index.tolist(), key=lambda v: (str(type(v)), v))
    # A dict, not counts[v]: a column may hold a million labels.
    held = dict(zip(counts.index.tolist(), counts.to_numpy().tolist(), strict=True))
    rare = [v for v in labels if held[v] < min_count]
    cats = [v for v in labels if held[v] >= min_count]
    return _with_labels(name, dtype, missing, cats, rare, False)


def _with_labels(
    name: str, dtype: str, missing: float, cats: list[Any], rare: list[Any], ordered: bool
) -> ColumnSpec:
    other = None
    if rare and not ordered and all(isinstance(v, str) for v in [*cats, *rare]):
        other = _other_label([*cats, *rare])
    return ColumnSpec(
        name,
        "categorical",
        dtype,
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
    missing_cells: np.ndarray | None = None,
) -> ColumnSpec:
    """Infer the :class:`ColumnSpec` of one column.

    ``missing_cells``: ``col.isna()`` as a boolean array when the caller has it (finding
    them takes a pass over every value of an object column).

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
    if missing_cells is None:
        nonnull = col.dropna()
    else:
        nonnull = col[~missing_cells] if missing_cells.any() else col
    missing = (n - len(nonnull)) / n if n else 0.0
    if len(nonnull) == 0:
        return ColumnSpec(name, "constant", dtype, missing_rate=1.0, value=None)
    counts = None  # an object column's labels are counted once, here
    if pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
        if not isinstance(col.dtype, pd.CategoricalDtype):
            vtype = _object_value_type(name, nonnull)
            counts = nonnull.value_counts(sort=False)
        else:
            vtype = "category"
    else:
        vtype = "native"
    n_unique = int(nonnull.nunique()) if counts is None else len(counts)
    if n_unique == 1 and missing == 0.0 and not isinstance(col.dtype, pd.CategoricalDtype):
        # One value and no gaps: nothing to learn. With gaps, the missingness is worth
        # learning, so such a column falls through to categorical below.
        return ColumnSpec(name, "constant", dtype, missing_rate=missing, value=nonnull.iloc[0])
    if n_unique == 1 and pd.api.types.is_float_dtype(col.dtype):
        return _categorical_spec(name, col, missing, min_count)
    if pd.api.types.is_bool_dtype(col.dtype) or isinstance(col.dtype, pd.CategoricalDtype):
        return _categorical_spec(name, col, missing, min_count)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return _datetime_spec(name, dtype, col, missing, None, min_count)
    if pd.api.types.is_timedelta64_dtype(col.dtype):
        return duration_spec(name, col, missing, min_count)
    if pd.api.types.is_numeric_dtype(col.dtype):
        values = nonnull.to_numpy(dtype=float)
        whole = bool(np.all(values == np.round(values)))
        dates = date_spec(name, col, min_count, nonnull=nonnull) if whole else None  # 20240131
        if dates is not None:
            return dates
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
        dates = date_spec(name, col, min_count, nonnull=nonnull)
        if dates is not None:
            return dates
        unique = n_unique == n and missing == 0.0 and n >= 20
        if unique and not nonnull.str.contains(r"\s", regex=True).any():
            return ColumnSpec(name, "id", dtype, id_prefix=_common_prefix(nonnull))
        if n_unique > max_categories and n_unique > 0.5 * len(nonnull):
            return text_spec(name, col, missing, max_categories, min_count)
    return _categorical_spec(name, col, missing, min_count, counts)


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
