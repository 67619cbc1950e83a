"""Evaluate synthetic linked tables: per table, per link, per sequence and per subject.

>>> from synthgen.evaluation.relational import evaluate_tables, split_subjects, RelationalLimits
>>> RelationalLimits().cross_pairs
30
"""

from synthgen.evaluation.relational.limits import RelationalLimits
from synthgen.evaluation.relational.report import RelationalReport
from synthgen.evaluation.relational.runner import evaluate_tables
from synthgen.evaluation.relational.split import split_subjects

__all__ = ["RelationalLimits", "RelationalReport", "evaluate_tables", "split_subjects"]
