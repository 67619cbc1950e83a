"""synthgen: learn a real table, produce synthetic rows that keep its statistics.

The public names below load on first use, so ``import synthgen`` (and ``synthgen --help``)
stays quick and torch is imported only when a neural generator is used.

Examples
--------
>>> import synthgen as sg
>>> df = sg.datasets.load_adult().head(300)
>>> model = sg.make_generator("copula", random_state=0).fit(df)
>>> model.sample(5).shape
(5, 15)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from synthgen._version import __version__
from synthgen.exceptions import (
    ConditionError,
    ConfigurationError,
    ConstraintError,
    DataError,
    DataWarning,
    EvaluationError,
    MetadataError,
    NotFittedError,
    PersistenceError,
    PersonalDataWarning,
    SamplingWorkerError,
    SchemaError,
    SynthgenError,
)

if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from synthgen import datasets
    from synthgen.evaluation import PrivacyThresholds, Report, evaluate
    from synthgen.evaluation.relational import evaluate_tables
    from synthgen.generators import BaseGenerator, list_generators, make_generator, shadow_refit
    from synthgen.io import load, save
    from synthgen.privacy import Protections
    from synthgen.relational import RelationalSynthesizer
    from synthgen.safe_export import ExportResult, export
    from synthgen.safe_export.parts import export_parts
    from synthgen.sampling.api import rebalance
    from synthgen.sampling.conditions import Range
    from synthgen.schema import (
        Bounds,
        ColumnSpec,
        Constraint,
        FixedCombinations,
        ForeignKey,
        Inequality,
        Metadata,
        Positive,
        Predicate,
        Schema,
        TableMeta,
    )
    from synthgen.transforms import Span, TableEncoder

#: public name -> the module it lives in
_LAZY = {
    "datasets": "synthgen.datasets",
    "PrivacyThresholds": "synthgen.evaluation",
    "Report": "synthgen.evaluation",
    "evaluate": "synthgen.evaluation",
    "evaluate_tables": "synthgen.evaluation.relational",
    "ExportResult": "synthgen.safe_export",
    "export": "synthgen.safe_export",
    "export_parts": "synthgen.safe_export.parts",
    "BaseGenerator": "synthgen.generators",
    "list_generators": "synthgen.generators",
    "make_generator": "synthgen.generators",
    "shadow_refit": "synthgen.generators",
    "load": "synthgen.io",
    "save": "synthgen.io",
    "Protections": "synthgen.privacy",
    "RelationalSynthesizer": "synthgen.relational",
    "rebalance": "synthgen.sampling.api",
    "Range": "synthgen.sampling.conditions",
    "Bounds": "synthgen.schema",
    "ColumnSpec": "synthgen.schema",
    "Constraint": "synthgen.schema",
    "FixedCombinations": "synthgen.schema",
    "ForeignKey": "synthgen.schema",
    "Metadata": "synthgen.schema",
    "TableMeta": "synthgen.schema",
    "Inequality": "synthgen.schema",
    "Positive": "synthgen.schema",
    "Predicate": "synthgen.schema",
    "Schema": "synthgen.schema",
    "Span": "synthgen.transforms",
    "TableEncoder": "synthgen.transforms",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'synthgen' has no attribute {name!r}")
    value = importlib.import_module(module)
    if name != "datasets":
        value = getattr(value, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BaseGenerator",
    "Bounds",
    "ColumnSpec",
    "ConditionError",
    "ConfigurationError",
    "Constraint",
    "ConstraintError",
    "DataError",
    "DataWarning",
    "EvaluationError",
    "ExportResult",
    "FixedCombinations",
    "ForeignKey",
    "Inequality",
    "Metadata",
    "MetadataError",
    "NotFittedError",
    "PersistenceError",
    "PersonalDataWarning",
    "Positive",
    "Predicate",
    "PrivacyThresholds",
    "Protections",
    "Range",
    "RelationalSynthesizer",
    "Report",
    "SamplingWorkerError",
    "Schema",
    "SchemaError",
    "Span",
    "SynthgenError",
    "TableEncoder",
    "TableMeta",
    "__version__",
    "datasets",
    "evaluate",
    "evaluate_tables",
    "export",
    "export_parts",
    "list_generators",
    "load",
    "make_generator",
    "rebalance",
    "save",
    "shadow_refit",
]
