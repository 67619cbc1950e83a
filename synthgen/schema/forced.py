"""The spec of a column whose kind the user gives (``Schema.infer(kinds=...)``,
``Schema.set_kind``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.exceptions import SchemaError
from synthgen.schema.columns import ColumnSpec
from synthgen.schema.infer import (
    _categorical_spec,
    _datetime_spec,
    _parse_dates,
    duration_spec,
    infer_column,
    numeric_bounds,
    text_spec,
)

__all__ = ["forced_column"]


def forced_column(name: str, col: pd.Series, kind: str, min_count: int) -> ColumnSpec:
    """Spec of ``col`` when the user says its kind is ``kind``."""
    nonnull = col.dropna()
    missing = (len(col) - len(nonnull)) / len(col)
    dtype = str(col.dtype)
    if kind == "categorical":
        return _categorical_spec(name, col, missing, min_count)
    if kind == "text":
        return text_spec(name, col, missing, min_count=min_count)
    if kind == "constant":
        value = nonnull.mode().iloc[0] if len(nonnull) else None
        return ColumnSpec(name, "constant", dtype, missing_rate=missing, value=value)
    if kind == "id":
        prefix = None
        if not pd.api.types.is_numeric_dtype(col.dtype):
            prefix = f"{name}-"
        return ColumnSpec(name, "id", dtype, id_prefix=prefix)  # generated: nothing stored
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            return _datetime_spec(name, dtype, col, missing, None, min_count)
        parsed = _parse_dates(nonnull.astype(str)) if len(nonnull) else None
        if parsed is None:
            raise SchemaError(
                f"column {name!r}: declared datetime, but its values do not parse with one "
                "known date format"
            )
        return _datetime_spec(name, dtype, parsed[1], missing, parsed[0], min_count)
    # numeric
    if pd.api.types.is_timedelta64_dtype(col.dtype):
        return duration_spec(name, col, missing, min_count)
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        raise SchemaError(
            f"column {name!r}: declared numeric, but its dtype is {dtype}; "
            "expected an integer or float column"
        )
    spec = infer_column(name, col, max_int_categories=0, min_count=min_count)
    if spec.kind != "numeric":
        values = nonnull.to_numpy(dtype=float)
        whole = bool(np.all(values == np.round(values))) if len(values) else True
        low, high = numeric_bounds(values, min_count, 0 if whole else None)
        spec = ColumnSpec(
            name,
            "numeric",
            dtype,
            missing_rate=missing,
            minimum=low,
            maximum=high,
            integer=whole,
            decimals=0 if whole else None,
        )
    return spec
