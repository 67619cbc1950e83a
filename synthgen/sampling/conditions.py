"""Sampling conditions: fixed values, sets of values and ranges, checked against the schema.

``model.sample(n, conditions={"income": ">50K", "age": sg.Range(30, 40), "sex": ["Male",
"Female"]})`` gives a mapping of column -> value, list of values, or :class:`Range`. Each is
checked against the fitted schema before any row is drawn, so an unknown column, a label never
seen, a range outside the data or a value of the wrong type fails at once with a
:class:`~synthgen.exceptions.ConditionError` that names the column.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConditionError
from synthgen.schema import ColumnSpec, Schema

__all__ = ["Condition", "Range", "parse_conditions", "parse_fixed_frame"]


@dataclass(frozen=True)
class Range:
    """An inclusive range of values, ``low <= x <= high``; either end may be open (``None``).

    Works for numbers and datetimes (give ``pandas.Timestamp`` or date strings).

    Examples
    --------
    >>> Range(30, 40).contains(pd.Series([29, 30, 40, 41])).tolist()
    [False, True, True, False]
    >>> Range(low=5).contains(pd.Series([4, 5])).tolist()
    [False, True]
    """

    low: Any = None
    high: Any = None

    def __post_init__(self) -> None:
        if self.low is None and self.high is None:
            raise ConditionError("Range needs a low or a high end (or both)")

    def contains(self, values: pd.Series) -> np.ndarray:
        """Boolean mask of the values inside the range (missing values are outside)."""
        ok = values.notna().to_numpy()
        if self.low is not None:
            ok &= (values >= self.low).fillna(False).to_numpy(dtype=bool)
        if self.high is not None:
            ok &= (values <= self.high).fillna(False).to_numpy(dtype=bool)
        return ok


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


@dataclass(frozen=True)
class Condition:
    """One column's condition: ``kind`` is ``"eq"``, ``"in"`` or ``"range"``."""

    column: str
    kind: str
    values: tuple[Any, ...] = ()
    range: Range | None = None

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of ``frame`` that meet the condition."""
        col = frame[self.column]
        if self.kind == "range":
            assert self.range is not None
            return self.range.contains(col)
        return col.isin(list(self.values)).to_numpy()

    def describe(self) -> str:
        if self.kind == "range":
            assert self.range is not None
            return f"{self.column} in [{self.range.low}, {self.range.high}]"
        if self.kind == "eq":
            return f"{self.column} == {self.values[0]!r}"
        return f"{self.column} in {list(self.values)!r}"


def _as_datetime(spec: ColumnSpec, value: Any) -> pd.Timestamp:
    try:
        return pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConditionError(
            f"column {spec.name!r}: condition value {value!r} is not a date"
        ) from None


def _far_outside(spec: ColumnSpec, value: float) -> bool:
    """A value far outside the schema's bounds. The bounds leave out the few most extreme
    rows (see :mod:`synthgen.schema.safe`), so a real value just beyond them is fine (the
    cell is kept as given); one beyond half the range again is taken for a mistake."""
    slack = 0.5 * float(spec.maximum - spec.minimum)
    return not spec.minimum - slack <= value <= spec.maximum + slack


def _check_numeric(spec: ColumnSpec, value: Any) -> Any:
    if spec.kind == "datetime":
        ts = _as_datetime(spec, value)
        ns = ts.value
        if spec.minimum is not None and _far_outside(spec, ns):
            raise ConditionError(
                f"column {spec.name!r}: {value!r} lies outside the data's range "
                f"[{pd.Timestamp(int(spec.minimum))}, {pd.Timestamp(int(spec.maximum))}]"
            )
        # Compare in the column's own representation (datetimes, or formatted strings).
        return ts if spec.datetime_format is None else ts.strftime(spec.datetime_format)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConditionError(
            f"column {spec.name!r} is numeric: expected a number, got {value!r} "
            f"({type(value).__name__})"
        )
    if _far_outside(spec, value):
        raise ConditionError(
            f"column {spec.name!r}: {value!r} lies outside the data's range "
            f"[{spec.minimum:g}, {spec.maximum:g}]"
        )
    return value


def _check_label(spec: ColumnSpec, value: Any) -> Any:
    if _is_missing(value):
        raise ConditionError(
            f"column {spec.name!r}: conditioning on a missing value is not supported"
        )
    known = spec.categories or []
    if spec.other_label is not None and value == spec.other_label:
        return value  # the placeholder of the pooled rare labels
    if value not in known:
        shown = known[:10] + (["..."] if len(known) > 10 else [])
        if spec.pooled:
            raise ConditionError(
                f"column {spec.name!r}: category {value!r} is not in the model (labels held "
                "by too few rows are not stored, so they cannot be asked for); known "
                f"categories: {shown!r}"
            )
        raise ConditionError(
            f"column {spec.name!r}: category {value!r} was never seen in the data; "
            f"known categories: {shown!r}"
        )
    return value


def _check_range(spec: ColumnSpec, rng: Range) -> Range:
    if spec.kind not in ("numeric", "datetime"):
        raise ConditionError(
            f"column {spec.name!r} is {spec.kind}: a Range needs a numeric or datetime column"
        )
    if spec.kind == "datetime":
        low = None if rng.low is None else _as_datetime(spec, rng.low).value
        high = None if rng.high is None else _as_datetime(spec, rng.high).value
    else:
        for end in (rng.low, rng.high):
            if end is not None and (isinstance(end, bool) or not isinstance(end, numbers.Real)):
                raise ConditionError(
                    f"column {spec.name!r}: Range ends must be numbers, got {end!r}"
                )
        low, high = rng.low, rng.high
    if low is not None and high is not None and low > high:
        raise ConditionError(f"column {spec.name!r}: Range low {rng.low!r} > high {rng.high!r}")
    if (high is not None and high < spec.minimum) or (low is not None and low > spec.maximum):
        raise ConditionError(
            f"column {spec.name!r}: Range({rng.low!r}, {rng.high!r}) lies outside the data's "
            f"range [{spec.minimum:g}, {spec.maximum:g}]"
        )
    if spec.kind == "datetime" and spec.datetime_format is not None:
        # String dates compare as text only when the format sorts; compare parsed instead.
        raise ConditionError(
            f"column {spec.name!r}: ranges on dates stored as text are not supported; "
            "convert the column to datetime64 before fitting"
        )
    if spec.kind == "datetime":
        return Range(
            None if rng.low is None else _as_datetime(spec, rng.low),
            None if rng.high is None else _as_datetime(spec, rng.high),
        )
    return rng


def parse_conditions(conditions: Mapping[str, Any], schema: Schema) -> list[Condition]:
    """Validate a ``{column: value | [values] | Range}`` mapping against ``schema``.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.5, 2.5, 9.0], "b": ["x", "y", "x"]})
    >>> schema = Schema.infer(frame, min_count=1)  # three rows: keep every label and value
    >>> [c.describe() for c in parse_conditions({"a": Range(2, 5), "b": "x"}, schema)]
    ['a in [2, 5]', "b == 'x'"]
    >>> parse_conditions({"b": "z"}, schema)
    Traceback (most recent call last):
    ...
    synthgen.exceptions.ConditionError: column 'b': category 'z' was never seen in the data; ...
    """
    if not isinstance(conditions, Mapping):
        raise ConditionError(
            f"conditions must be a mapping of column -> value, list or Range, or a DataFrame; "
            f"got {type(conditions).__name__}"
        )
    out = []
    for column, value in conditions.items():
        if column not in schema:
            raise ConditionError(f"condition on unknown column {column!r}; columns: {schema.names}")
        spec = schema[column]
        if spec.kind == "id":
            raise ConditionError(
                f"column {column!r} is an identifier: it is generated, not learned, "
                "and cannot be conditioned on"
            )
        if isinstance(value, Range):
            out.append(Condition(column, "range", range=_check_range(spec, value)))
            continue
        many = isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Series))
        values = list(value) if many else [value]
        if not values:
            raise ConditionError(f"column {column!r}: empty list of allowed values")
        checked = []
        for v in values:
            if spec.kind in ("numeric", "datetime"):
                checked.append(_check_numeric(spec, v))
            elif spec.kind == "constant":
                if v != spec.value:
                    raise ConditionError(
                        f"column {column!r} is constant ({spec.value!r}); cannot be {v!r}"
                    )
                checked.append(v)
            else:
                checked.append(_check_label(spec, v))
        kind = "in" if many else "eq"
        out.append(Condition(column, kind, values=tuple(checked)))
    return out


def parse_fixed_frame(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Validate per-row conditions: a frame whose set cells are fixed and missing cells free.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.5, 2.5, 9.0], "b": ["x", "y", "x"]})
    >>> schema = Schema.infer(frame, min_count=1)  # three rows: keep every label and value
    >>> parse_fixed_frame(pd.DataFrame({"b": ["y", None]}), schema).shape
    (2, 1)
    """
    if not isinstance(frame, pd.DataFrame):
        raise ConditionError(f"per-row conditions must be a DataFrame, got {type(frame).__name__}")
    if len(frame) == 0:
        raise ConditionError("per-row conditions: the frame has no rows")
    for column in frame.columns:
        if column not in schema:
            raise ConditionError(f"condition on unknown column {column!r}; columns: {schema.names}")
        spec = schema[column]
        values = frame[column].dropna()
        if spec.kind == "id" and len(values):
            raise ConditionError(
                f"column {column!r} is an identifier: it is generated, not learned, "
                "and cannot be conditioned on"
            )
        for value in pd.unique(values):
            if spec.kind == "datetime":
                value = pd.Timestamp(value)
            elif hasattr(value, "item"):
                value = value.item()
            parse_conditions({column: value}, schema)
    return frame
