"""Decoded values back in the dtype a column had when it was fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.schema import ColumnSpec

__all__ = ["restore_dtype", "wide_frame"]

#: Decoded tables of more columns than this are consolidated: pandas warns that a frame of
#: more than 100 separate arrays is "highly fragmented" when a column is inserted into it.
FRAGMENTED_COLUMNS = 100

_NO_NAN = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16")


def restore_dtype(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Cast decoded values (object or float, missing as NaN/None) to the spec's dtype.

    A ``category`` column gets its stored labels as categories, an ``object`` column shows a
    missing cell as NaN (not None), and an integer or boolean column with missing cells
    becomes the nullable pandas dtype (numpy's cannot hold NaN).

    Examples
    --------
    >>> spec = ColumnSpec(name="n", kind="numeric", dtype="int64", integer=True)
    >>> restore_dtype(pd.Series([1.0, np.nan]), spec).dtype
    Int64Dtype()
    """
    dtype = spec.dtype
    if dtype == "category":
        cats = list(spec.categories or [])
        if spec.other_label is not None:
            cats.append(spec.other_label)
        cat = pd.Categorical(values, categories=cats, ordered=spec.ordered)
        return pd.Series(cat, name=spec.name)
    if dtype == "object":  # a missing cell as NaN (not None)
        out = values.to_numpy(dtype=object, copy=True)
        out[pd.isna(out)] = np.nan
        return pd.Series(out, index=values.index, name=spec.name, dtype=object)
    if dtype.startswith(("int", "uint")) and values.dtype.kind == "f":
        # Float values at the edge of a 64-bit range round to 2**63 or 2**64, which a cast
        # would wrap around (to 0 or a negative number): stay inside the range.
        info = np.iinfo(dtype)
        high = float(info.max)
        if int(high) > info.max:
            high = float(np.nextafter(high, 0.0))
        clipped = np.clip(values.to_numpy(dtype=float), float(info.min), high)
        values = pd.Series(clipped, index=values.index)
    if dtype in _NO_NAN and bool(values.isna().any()):
        # Numpy ints/bools cannot hold NaN: fall back to the nullable pandas dtype.
        nullable = dtype.replace("int", "Int").replace("uInt", "UInt")
        dtype = "boolean" if dtype == "bool" else nullable
    return values.astype(dtype).rename(spec.name)


def wide_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A decoded table as given back: up to :data:`FRAGMENTED_COLUMNS` columns, ``frame``
    itself, each column in the array it was decoded into (consolidating them into one 2-D
    array per dtype copies the whole table once more: half the decoding time of a million
    rows); a wider one consolidated, so that ``frame["synthetic"] = 1`` is not met by
    pandas' warning about a fragmented frame.

    Pandas stacks only runs of neighbouring columns of one dtype, and merges the runs in a
    second copy: a table whose numbers and labels alternate would be copied twice, the first
    time into one small array per column (a page fault per 4 kB of fresh memory, 0.5 s of
    the decoding of 20,000 rows of 1,000 columns). The columns are stacked grouped by dtype
    instead (one large array each), then put back in their order (a second copy, again
    into one array per dtype).

    Examples
    --------
    >>> narrow = pd.DataFrame({"a": [1.0], "b": ["x"]})
    >>> wide_frame(narrow) is narrow
    True
    >>> wide = pd.DataFrame({f"x{i}": [float(i)] if i % 2 else ["s"] for i in range(101)})
    >>> copied = wide_frame(wide)
    >>> copied is wide, copied.equals(wide), list(copied.columns) == list(wide.columns)
    (False, True, True)
    """
    if frame.shape[1] <= FRAGMENTED_COLUMNS:
        return frame
    columns = dict(frame.items())
    grouped = sorted(columns, key=lambda name: str(columns[name].dtype))  # stable: in order
    stacked = pd.DataFrame({name: columns[name] for name in grouped}, copy=True)
    return stacked[list(frame.columns)]
