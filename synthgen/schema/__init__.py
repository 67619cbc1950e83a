"""What a table is: column kinds, detection from a DataFrame, JSON round-trip."""

from synthgen.schema.columns import KINDS, ColumnSpec, is_duration, numeric_values
from synthgen.schema.constraints import (
    Bounds,
    Constraint,
    FixedCombinations,
    Inequality,
    Positive,
    Predicate,
    constraint_from_dict,
)
from synthgen.schema.infer import check_frame, infer_column
from synthgen.schema.metadata import ForeignKey, Metadata, TableMeta
from synthgen.schema.schema import Schema

__all__ = [
    "KINDS",
    "Bounds",
    "ColumnSpec",
    "Constraint",
    "FixedCombinations",
    "ForeignKey",
    "Inequality",
    "Metadata",
    "Positive",
    "Predicate",
    "Schema",
    "TableMeta",
    "check_frame",
    "constraint_from_dict",
    "infer_column",
    "is_duration",
    "numeric_values",
]
