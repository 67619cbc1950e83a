"""Column specifications: what one column of a table is.

A :class:`ColumnSpec` records the kind of a column (numeric, categorical, datetime, id, constant,
text), the pandas dtype to give back, the missing-value rate and the facts each kind needs to
decode values exactly (bounds, integer-ness, precision, labels, date format).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import SchemaError

__all__ = ["KINDS", "ColumnSpec", "is_duration", "numeric_values"]

_UNITS = ("D", "s", "ms", "us", "ns")
_SCALAR = (str, int, float, bool, type(None))

#: Every column kind a schema knows.
KINDS: tuple[str, ...] = ("numeric", "categorical", "datetime", "id", "constant", "text")


def _json_value(value: Any) -> Any:
    """Turn a numpy/pandas scalar into a plain JSON value (``None`` for missing)."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@dataclass
class ColumnSpec:
    """One column of a :class:`~synthgen.schema.Schema`.

    Parameters
    ----------
    name : str
        Column name.
    kind : str
        One of :data:`KINDS`.
    dtype : str
        The pandas dtype the column has, and gets back after sampling (``"int64"``,
        ``"float64"``, ``"object"``, ``"category"``, ``"bool"``, ``"datetime64[ns]"``, ...).
    missing_rate : float
        Share of missing cells in the data the schema was inferred from.
    minimum, maximum : float, optional
        Bounds of numeric values (datetimes: nanoseconds since the epoch).
    integer : bool
        Numeric values are whole numbers.
    decimals : int, optional
        Numeric values have at most this many decimal places (``None``: not rounded).
    categories : list, optional
        Labels of a categorical or text column, exactly as found (whitespace included). Labels
        held by fewer than the schema's ``min_count`` rows are left out (see ``pooled``).
    ordered : bool
        A categorical whose labels have an order (pandas ordered categorical).
    datetime_format : str, optional
        ``strftime`` format when datetimes were given as strings; ``None`` for datetime dtypes.
    datetime_unit : str, optional
        Resolution of datetimes: ``"D"``, ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``.
    value : Any
        The single value of a constant column.
    id_prefix : str, optional
        Prefix for generated string identifiers; ``None`` means integer identifiers.
    pooled : bool
        Some labels were held by too few rows to be stored: their rows share one code, and
        any label not in ``categories`` is taken as one of them.
    other_label : str, optional
        What the pooled rows come back as: a placeholder that is none of the column's labels
        (string columns), or ``None`` to draw a stored label by frequency (numbers, booleans,
        ordered categories, free text).

    Examples
    --------
    >>> spec = ColumnSpec("age", "numeric", "int64", minimum=17, maximum=90, integer=True)
    >>> ColumnSpec.from_dict(spec.to_dict()) == spec
    True
    """

    name: str
    kind: str
    dtype: str
    missing_rate: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    decimals: int | None = None
    categories: list[Any] | None = None
    ordered: bool = False
    datetime_format: str | None = None
    datetime_unit: str | None = None
    value: Any = None
    id_prefix: str | None = None
    pooled: bool = False
    other_label: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SchemaError(
                f"column {self.name!r}: unknown kind {self.kind!r}; expected one of {list(KINDS)}"
            )
        if not 0.0 <= float(self.missing_rate) <= 1.0:
            raise SchemaError(
                f"column {self.name!r}: missing_rate must lie in [0, 1], got {self.missing_rate!r}"
            )

    @property
    def has_missing(self) -> bool:
        """Whether the column had any missing cells."""
        return self.missing_rate > 0.0

    @property
    def is_modelled(self) -> bool:
        """Whether a generator learns this column (ids and constants are produced directly)."""
        return self.kind in ("numeric", "categorical", "datetime", "text")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        out = asdict(self)
        out["categories"] = (
            None if self.categories is None else [_json_value(c) for c in self.categories]
        )
        if not self.pooled and self.other_label is None:
            # Written only when used, so schemas without pooled labels read as before.
            del out["pooled"], out["other_label"]
        for key in ("minimum", "maximum", "value"):
            out[key] = _json_value(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSpec:
        """Build a spec from :meth:`to_dict` output (every field's type and value checked:
        schemas are read from files).

        Examples
        --------
        >>> ColumnSpec.from_dict({"name": "x", "kind": "numeric", "dtype": "float6"})
        Traceback (most recent call last):
        ...
        synthgen.exceptions.SchemaError: column 'x': dtype 'float6' is not a pandas dtype
        """
        if not isinstance(data, dict):
            raise SchemaError(f"a column spec must be a JSON object, got {type(data).__name__}")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise SchemaError(
                f"column {data.get('name')!r}: unknown schema fields {sorted(unknown)}"
            )
        if "name" not in data or "kind" not in data or "dtype" not in data:
            raise SchemaError(f"column spec needs 'name', 'kind' and 'dtype', got {sorted(data)}")
        _check_fields(data)
        return cls(**data)


def is_duration(spec: ColumnSpec) -> bool:
    """Whether ``spec`` is a numeric column of durations (``timedelta64``): modelled as a
    number of its ``datetime_unit`` (bounds in nanoseconds), given back as durations."""
    return spec.kind == "numeric" and spec.dtype.startswith("timedelta")


def numeric_values(col: pd.Series) -> np.ndarray:
    """A numeric column as floats (durations as nanoseconds), NaN where missing.

    Examples
    --------
    >>> numeric_values(pd.Series(pd.to_timedelta([1, None], unit="s"))).tolist()
    [1000000000.0, nan]
    """
    if pd.api.types.is_timedelta64_dtype(col.dtype):
        durations = col.astype("timedelta64[ns]")
        out = durations.to_numpy().astype("int64").astype(float)
        out[durations.isna().to_numpy()] = np.nan
        return out
    return col.to_numpy(dtype=float, na_value=np.nan)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_fields(data: dict[str, Any]) -> None:
    """Check the type and value of every field of a spec read from JSON."""
    name = data["name"]
    if not isinstance(name, str):
        raise SchemaError(f"column name must be a string, got {name!r}")

    def bad(problem: str) -> SchemaError:
        return SchemaError(f"column {name!r}: {problem}")

    kind, dtype = data["kind"], data["dtype"]
    if kind not in KINDS:
        raise bad(f"unknown kind {kind!r}; expected one of {list(KINDS)}")
    if not isinstance(dtype, str):
        raise bad(f"dtype must be a string, got {dtype!r}")
    try:
        parsed = pd.api.types.pandas_dtype(dtype)
    except (TypeError, ValueError):
        raise bad(f"dtype {dtype!r} is not a pandas dtype") from None
    if kind == "datetime" and not (
        pd.api.types.is_datetime64_dtype(parsed)
        or pd.api.types.is_object_dtype(parsed)
        or pd.api.types.is_string_dtype(parsed)
    ):
        raise bad(f"a datetime column cannot have dtype {dtype!r}")
    rate = data.get("missing_rate", 0.0)
    if not _is_number(rate) or not 0.0 <= rate <= 1.0:
        raise bad(f"missing_rate must be a number in [0, 1], got {rate!r}")
    for key in ("minimum", "maximum"):
        if data.get(key) is not None and not _is_number(data[key]):
            raise bad(f"{key} must be a finite number or null, got {data[key]!r}")
    if kind in ("numeric", "datetime"):
        low, high = data.get("minimum"), data.get("maximum")
        if low is None or high is None or low > high:
            raise bad(f"a {kind} column needs minimum <= maximum, got {low!r} and {high!r}")
    for key in ("integer", "ordered", "pooled"):
        if not isinstance(data.get(key, False), bool):
            raise bad(f"{key} must be true or false, got {data[key]!r}")
    decimals = data.get("decimals")
    if decimals is not None and (
        isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 15
    ):
        raise bad(f"decimals must be an integer in [0, 15] or null, got {decimals!r}")
    categories = data.get("categories")
    if categories is not None and (
        not isinstance(categories, list) or not all(isinstance(c, _SCALAR) for c in categories)
    ):
        raise bad("categories must be a list of plain values")
    if kind in ("categorical", "text") and categories is None:
        raise bad(f"a {kind} column needs a list of categories")
    for key in ("datetime_format", "id_prefix", "other_label"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise bad(f"{key} must be a string or null, got {data[key]!r}")
    if data.get("datetime_unit") is not None and data["datetime_unit"] not in _UNITS:
        raise bad(f"datetime_unit must be one of {list(_UNITS)}, got {data['datetime_unit']!r}")
    if not isinstance(data.get("value"), _SCALAR):
        raise bad("value must be a plain value")
    if not isinstance(data.get("extra", {}), dict):
        raise bad("extra must be an object")
    problem = _dtype_problem(kind, parsed, data)
    if problem:
        raise bad(problem)


def _fits(value: Any, dtype: Any) -> bool:
    """Whether a stored label or value can be given back in ``dtype``."""
    if value is None:
        return True
    if pd.api.types.is_bool_dtype(dtype):
        return isinstance(value, bool)
    if pd.api.types.is_integer_dtype(dtype):
        return isinstance(value, int) and not isinstance(value, bool)
    if pd.api.types.is_float_dtype(dtype):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return isinstance(value, str)  # written as ISO text
    return True  # object, string and category hold anything


def _dtype_problem(kind: str, dtype: Any, data: dict[str, Any]) -> str | None:
    """Why a spec's dtype does not fit its kind and stored values (``None`` when it does)."""
    shown = data["dtype"]
    is_int = pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if kind == "numeric":
        if not (numeric or pd.api.types.is_timedelta64_dtype(dtype)):
            return f"a numeric column cannot have dtype {shown!r}"
        if pd.api.types.is_complex_dtype(dtype):
            return f"a numeric column cannot have dtype {shown!r}"
        if (is_int or pd.api.types.is_timedelta64_dtype(dtype)) and not data.get("integer"):
            return f"dtype {shown!r} holds whole numbers only, but integer is false"
    if kind in ("categorical", "text"):
        if not all(_fits(c, dtype) for c in data.get("categories") or []):
            return f"categories do not fit dtype {shown!r}"
        if data.get("other_label") is not None and not (
            pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
        ):
            return f"a placeholder label does not fit dtype {shown!r}"
    if kind == "id" and not (
        is_int
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_float_dtype(dtype)
    ):
        return f"an id column cannot have dtype {shown!r}"
    if kind == "id" and data.get("id_prefix") is not None and numeric:
        return f"string identifiers do not fit dtype {shown!r}"
    if kind == "constant" and not _fits(data.get("value"), dtype):
        return f"value {data.get('value')!r} does not fit dtype {shown!r}"
    return None
