"""Evaluate a synthetic table against the real one: fidelity, utility and privacy.

>>> from synthgen.evaluation import evaluate, Report, PrivacyThresholds
>>> PrivacyThresholds().dcr_share_pass
0.55
"""

from synthgen.evaluation.metrics import MetricResult
from synthgen.evaluation.privacy import VERDICT_METRICS
from synthgen.evaluation.report import Report
from synthgen.evaluation.runner import evaluate
from synthgen.evaluation.thresholds import QUALITY_THRESHOLDS, EvaluationLimits, PrivacyThresholds

__all__ = [
    "QUALITY_THRESHOLDS",
    "VERDICT_METRICS",
    "EvaluationLimits",
    "MetricResult",
    "PrivacyThresholds",
    "Report",
    "evaluate",
]
