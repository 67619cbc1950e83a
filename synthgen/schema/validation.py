"""Checking that a table fits a schema (:meth:`synthgen.schema.Schema.validate`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from synthgen.exceptions import SchemaError
from synthgen.schema.columns import is_duration
from synthgen.schema.constraints import constraint_from_dict
from synthgen.schema.dates import as_datetimes
from synthgen.schema.frames import check_frame
from synthgen.schema.safe import DEFAULT_MIN_COUNT

__all__ = ["parse_schema_fields", "validate_frame"]

#: Version of the schema JSON format.
SCHEMA_VERSION = 1


def validate_frame(schema: Any, data: pd.DataFrame, *, allow_unseen: bool = False) -> pd.DataFrame:
    """``data`` checked against ``schema`` (see :meth:`Schema.validate`); returned unchanged."""
    data = check_frame(data)
    missing = [n for n in schema.names if n not in data.columns]
    extra = [n for n in data.columns if n not in schema.names]
    if missing or extra:
        raise SchemaError(
            "the data does not match the schema: "
            f"missing columns {missing}, unexpected columns {extra}"
        )
    for spec in schema.columns:
        col = data[spec.name]
        nonnull = col.dropna()
        durations = pd.api.types.is_timedelta64_dtype(col.dtype)
        if spec.kind == "numeric" and durations != is_duration(spec):
            raise SchemaError(
                f"column {spec.name!r}: schema says dtype {spec.dtype}, data has {col.dtype}"
            )
        if (
            spec.kind == "numeric"
            and not durations
            and (
                not pd.api.types.is_numeric_dtype(col.dtype)
                or pd.api.types.is_bool_dtype(col.dtype)
            )
        ):
            raise SchemaError(
                f"column {spec.name!r}: schema says numeric, data has dtype {col.dtype}"
            )
        if spec.kind == "datetime":
            as_datetimes(col, spec)  # raises when a value is no date in its formats
        if spec.kind == "categorical" and not allow_unseen and not spec.pooled:
            seen = set(spec.categories or [])
            unseen = [v for v in pd.unique(nonnull) if v not in seen]
            if unseen:
                raise SchemaError(
                    f"column {spec.name!r}: categories not in the schema: {unseen[:5]!r}"
                )
    return data


def parse_schema_fields(data: Any) -> tuple[int, list[Any], list[Any]]:
    """``min_count``, the column dicts and the built constraints of a schema's JSON object,
    every field checked (a damaged or hostile schema gives a SchemaError)."""
    if not isinstance(data, Mapping):
        raise SchemaError(f"a schema must be a JSON object, got {type(data).__name__}")
    version = data.get("version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SchemaError(f"schema version must be a positive integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"schema format version {version} is newer than this synthgen supports "
            f"({SCHEMA_VERSION}); upgrade synthgen"
        )
    min_count = data.get("min_count", DEFAULT_MIN_COUNT)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise SchemaError(f"schema min_count must be a positive integer, got {min_count!r}")
    columns, constraints = data.get("columns"), data.get("constraints", [])
    if not isinstance(columns, list):
        raise SchemaError("schema JSON needs a 'columns' list")
    if not isinstance(constraints, list) or not all(isinstance(c, dict) for c in constraints):
        raise SchemaError("schema 'constraints' must be a list of objects")
    try:
        built = [constraint_from_dict(c) for c in constraints]
    except (TypeError, ValueError, KeyError) as err:
        if isinstance(err, SchemaError):
            raise
        raise SchemaError(f"schema holds an invalid constraint: {err}") from None
    return min_count, columns, built
