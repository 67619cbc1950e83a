"""synthgen: learn a real table, produce synthetic rows that keep its statistics."""

from synthgen.exceptions import (
    ConditionError,
    ConfigurationError,
    ConstraintError,
    DataError,
    EvaluationError,
    NotFittedError,
    PersistenceError,
    SchemaError,
    SynthgenError,
)
from synthgen.schema import ColumnSpec, Schema

__version__ = "0.1.0"

__all__ = [
    "ColumnSpec",
    "ConditionError",
    "ConfigurationError",
    "ConstraintError",
    "DataError",
    "EvaluationError",
    "NotFittedError",
    "PersistenceError",
    "Schema",
    "SchemaError",
    "SynthgenError",
    "__version__",
]
