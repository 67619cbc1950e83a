"""synthgen: learn a real table, produce synthetic rows that keep its statistics.

Examples
--------
>>> import synthgen as sg
>>> df = sg.datasets.load_adult().head(300)
>>> model = sg.make_generator("copula", random_state=0).fit(df)
>>> model.sample(5).shape
(5, 15)
"""

from synthgen import datasets
from synthgen._version import __version__
from synthgen.evaluation import PrivacyThresholds, Report, evaluate
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
from synthgen.export import ExportResult, export
from synthgen.generators import BaseGenerator, list_generators, make_generator
from synthgen.io import load, save
from synthgen.privacy import Protections
from synthgen.sampling.api import rebalance
from synthgen.sampling.conditions import Range
from synthgen.schema import (
    Bounds,
    ColumnSpec,
    Constraint,
    FixedCombinations,
    Inequality,
    Positive,
    Predicate,
    Schema,
)
from synthgen.transforms import Span, TableEncoder

__all__ = [
    "BaseGenerator",
    "Bounds",
    "ColumnSpec",
    "ConditionError",
    "ConfigurationError",
    "Constraint",
    "ConstraintError",
    "DataError",
    "EvaluationError",
    "ExportResult",
    "FixedCombinations",
    "Inequality",
    "NotFittedError",
    "PersistenceError",
    "Positive",
    "Predicate",
    "PrivacyThresholds",
    "Protections",
    "Range",
    "Report",
    "Schema",
    "SchemaError",
    "Span",
    "SynthgenError",
    "TableEncoder",
    "__version__",
    "datasets",
    "evaluate",
    "export",
    "list_generators",
    "load",
    "make_generator",
    "rebalance",
    "save",
]
