"""What a table is: column kinds, detection from a DataFrame, JSON round-trip."""

from synthgen.schema.columns import KINDS, ColumnSpec
from synthgen.schema.infer import check_frame, infer_column
from synthgen.schema.schema import Schema

__all__ = ["KINDS", "ColumnSpec", "Schema", "check_frame", "infer_column"]
