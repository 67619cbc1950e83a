"""The tables synthgen takes: checked once, and converted to pandas at the boundary."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import DataError
from synthgen.schema.cells import unsupported_cells

__all__ = ["as_pandas", "check_frame"]


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
    >>> import pyarrow as pa
    >>> check_frame(pa.table({"a": [1, 2]}))["a"].tolist()
    [1, 2]
    """
    data = as_pandas(data, what=what, error=error)
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
        elif col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) != "string":
            # a cell-by-cell look only where floats can hide (infer_dtype scans in C)
            n_inf = int(sum(isinstance(v, float) and np.isinf(v) for v in col.array))
        else:
            n_inf = 0
        if n_inf:
            raise error(
                f"{what}: column {name!r} has {n_inf} infinite value(s); expected finite "
                "numbers or NaN: replace them (with NaN or a finite bound) first"
            )
    return data


def as_pandas(data: Any, *, what: str = "data", error: type[Exception] = DataError) -> Any:
    """``data`` as a pandas DataFrame: a polars DataFrame (or LazyFrame) or a pyarrow Table is
    converted once, here at the boundary (polars and pyarrow are not imported otherwise).

    Raises
    ------
    DataError
        ``data`` is no table synthgen can take.
    """
    if isinstance(data, pd.DataFrame):
        return data
    module = type(data).__module__.split(".")[0]
    name = type(data).__name__
    if module == "polars" and name == "LazyFrame":
        data, name = data.collect(), "DataFrame"
    if (module == "polars" and name == "DataFrame") or (module == "pyarrow" and name == "Table"):
        try:
            return data.to_pandas()
        except Exception as err:  # e.g. polars without pyarrow, or an unsupported type
            raise error(f"{what}: cannot convert the {module} {name} to pandas: {err}") from None
    raise error(
        f"{what} must be a pandas DataFrame, a polars DataFrame or a pyarrow Table, "
        f"got {type(data).__module__}.{name}"
    )
