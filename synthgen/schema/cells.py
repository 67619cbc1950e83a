"""Cells synthgen cannot model or store exactly, found before any work starts."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["unsupported_cells"]

#: Cell types synthgen cannot model or store exactly, with what to do instead.
_UNSUPPORTED = {
    "complex": "complex numbers; split them into real and imaginary columns",
    "decimal": "Decimal cells; convert with .astype(float) (or .astype(str) to keep the digits)",
    "bytes": "bytes cells; decode them to str first",
    "period": "Period cells; convert with .dt.to_timestamp() or .astype(str)",
    "interval": "Interval cells; convert with .astype(str), or to two columns of bounds",
    "date": "datetime.date cells in an object column; convert with pd.to_datetime(...)",
    "datetime": "datetime objects in an object column; convert with pd.to_datetime(...)",
    "time": "datetime.time cells; convert with .astype(str)",
    "timedelta": "timedelta objects in an object column; convert with pd.to_timedelta(...)",
}
_NESTED = (list, dict, set, frozenset, tuple, np.ndarray, pd.Series, pd.DataFrame)


def unsupported_cells(col: pd.Series) -> str | None:
    """What is wrong with a column synthgen cannot take (``None`` when it is fine): complex,
    Decimal, bytes, Period, Interval, date/time objects or nested cells (lists, dicts).

    Examples
    --------
    >>> unsupported_cells(pd.Series([[1, 2], [3]]))
    'nested cells (list); flatten them into columns or convert with .astype(str)'
    >>> unsupported_cells(pd.Series(["a", None])) is None
    True
    """
    dtype = col.dtype
    if pd.api.types.is_complex_dtype(dtype):
        return _UNSUPPORTED["complex"]
    if isinstance(dtype, pd.PeriodDtype):
        return _UNSUPPORTED["period"]
    if isinstance(dtype, pd.IntervalDtype):
        return _UNSUPPORTED["interval"]
    if isinstance(dtype, pd.CategoricalDtype):
        kind = pd.api.types.infer_dtype(dtype.categories, skipna=True)
        return f"categories that are {_UNSUPPORTED[kind]}" if kind in _UNSUPPORTED else None
    if not pd.api.types.is_object_dtype(dtype):
        return None
    kind = pd.api.types.infer_dtype(col, skipna=True)
    if kind in _UNSUPPORTED:
        return _UNSUPPORTED[kind]
    if kind == "mixed":
        for value in col.array:
            if isinstance(value, _NESTED):
                return (
                    f"nested cells ({type(value).__name__}); flatten them into columns or "
                    "convert with .astype(str)"
                )
    return None
