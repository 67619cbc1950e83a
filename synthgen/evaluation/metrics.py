"""The result of one metric: value, ideal, direction, thresholds, status and explanation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STATUSES", "SUMMARY_COLUMNS", "MetricResult", "grade"]

#: Columns of a report's summary table, in order (the DataFrame, the JSON and the HTML).
SUMMARY_COLUMNS = [
    "group",
    "metric",
    "value",
    "interval",
    "ideal",
    "direction",
    "thresholds",
    "status",
    "explanation",
]

#: Every status a metric can have. ``info`` marks reference values (e.g. TRTR) that are shown
#: but not graded; ``skipped`` marks a metric that could not be computed (see ``reason``).
STATUSES: tuple[str, ...] = ("pass", "warn", "fail", "info", "skipped")


def grade(value: float, rule: str, pass_at: float, warn_at: float) -> str:
    """Status of ``value`` under a rule (``"at_least"`` or ``"at_most"``) and two limits.

    Examples
    --------
    >>> grade(0.95, "at_least", 0.9, 0.8), grade(0.85, "at_least", 0.9, 0.8)
    ('pass', 'warn')
    >>> grade(0.7, "at_most", 0.55, 0.6)
    'fail'
    """
    if value is None or not math.isfinite(value):
        return "skipped"
    if rule == "at_least":
        return "pass" if value >= pass_at else "warn" if value >= warn_at else "fail"
    if rule == "at_most":
        return "pass" if value <= pass_at else "warn" if value <= warn_at else "fail"
    raise ValueError(f"unknown grading rule {rule!r}")


@dataclass
class MetricResult:
    """One row of the evaluation report.

    Parameters
    ----------
    name : str
        Key of the metric (``"column_shapes"``, ``"dcr_share"``, ...).
    group : str
        ``"fidelity"``, ``"utility"`` or ``"privacy"``.
    value : float or None
        The measured value (``None`` when skipped).
    ideal : float or None
        The value a perfect synthetic table would get.
    direction : str
        ``"higher"``, ``"lower"`` or ``"closer to 0.5"`` is better.
    status : str
        One of :data:`STATUSES`.
    explanation : str
        One sentence on what the metric measures.
    rule : str, optional
        ``"at_least"`` / ``"at_most"``: how the thresholds are applied.
    pass_threshold, warn_threshold : float, optional
        Limits for ``pass`` and ``warn``.
    reason : str, optional
        Why the metric was skipped (``None`` when it was computed).
    details : dict
        Extra numbers (per-column scores, confidence intervals, base rates, ...).
    interval : tuple of float, optional
        Confidence interval of ``value`` (``details["confidence_level"]`` gives its level).
    graded_value : float, optional
        The number the thresholds were applied to, when it is not ``value`` (the interval's
        lower bound for the Anonymeter-style risks).

    Examples
    --------
    >>> m = MetricResult.graded("dcr_share", "privacy", 0.52, 0.5, "closer to 0.5",
    ...                         "at_most", 0.55, 0.6, "Share of rows closer to train.")
    >>> m.status
    'pass'
    """

    name: str
    group: str
    value: float | None
    ideal: float | None
    direction: str
    status: str
    explanation: str
    rule: str | None = None
    pass_threshold: float | None = None
    warn_threshold: float | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    interval: tuple[float, float] | None = None
    graded_value: float | None = None

    @classmethod
    def graded(
        cls,
        name: str,
        group: str,
        value: float | None,
        ideal: float | None,
        direction: str,
        rule: str,
        pass_at: float,
        warn_at: float,
        explanation: str,
        details: dict[str, Any] | None = None,
        *,
        reason: str | None = None,
    ) -> MetricResult:
        """A metric whose status follows from its value and two limits."""
        value = None if value is None else float(value)
        status = grade(value, rule, pass_at, warn_at) if value is not None else "skipped"
        if status == "skipped":
            reason = reason or "the metric is undefined for these data"
            value = None
        else:
            reason = None  # computed: a reason given for the skipped case does not apply
        return cls(
            name,
            group,
            value,
            ideal,
            direction,
            status,
            explanation,
            rule=rule,
            pass_threshold=pass_at,
            warn_threshold=warn_at,
            reason=reason,
            details=dict(details or {}),
        )

    @classmethod
    def info(
        cls,
        name: str,
        group: str,
        value: float | None,
        ideal: float | None,
        direction: str,
        explanation: str,
        details: dict[str, Any] | None = None,
        *,
        reason: str | None = None,
    ) -> MetricResult:
        """A reference value that is reported but not graded."""
        ok = value is not None and math.isfinite(float(value))
        return cls(
            name,
            group,
            float(value) if ok else None,
            ideal,
            direction,
            "info" if ok else "skipped",
            explanation,
            reason=None if ok else (reason or "the metric is undefined for these data"),
            details=dict(details or {}),
        )

    @classmethod
    def skipped(
        cls,
        name: str,
        group: str,
        ideal: float | None,
        direction: str,
        explanation: str,
        reason: str,
        *,
        rule: str | None = None,
        pass_at: float | None = None,
        warn_at: float | None = None,
    ) -> MetricResult:
        """A metric that could not be computed, with the reason."""
        return cls(
            name,
            group,
            None,
            ideal,
            direction,
            "skipped",
            explanation,
            rule=rule,
            pass_threshold=pass_at,
            warn_threshold=warn_at,
            reason=reason,
        )

    @property
    def threshold_text(self) -> str:
        """Human-readable thresholds (``"pass >= 0.9, warn >= 0.8"``), saying what is graded
        when it is not the value itself.

        Examples
        --------
        >>> m = MetricResult("risk", "privacy", 0.301, 0.0, "lower", "pass", "", "at_most",
        ...                  0.1, 0.25, interval=(0.05, 0.55), graded_value=0.05)
        >>> m.threshold_text
        'lower bound 0.05: pass <= 0.1, warn <= 0.25'
        """
        if self.rule is None or self.pass_threshold is None:
            return ""
        op = ">=" if self.rule == "at_least" else "<="
        text = f"pass {op} {self.pass_threshold:g}, warn {op} {self.warn_threshold:g}"
        if self.graded_value is not None:
            text = f"lower bound {self.graded_value:.3g}: {text}"
        return text

    @property
    def interval_text(self) -> str:
        """The confidence interval as text (``""`` without one).

        Examples
        --------
        >>> MetricResult("r", "privacy", 0.3, 0.0, "lower", "pass", "",
        ...              interval=(0.0512, 0.55)).interval_text
        '[0.0512, 0.55]'
        """
        if self.interval is None:
            return ""
        return f"[{self.interval[0]:.3g}, {self.interval[1]:.3g}]"

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (values may still be numpy scalars; see ``report.to_json``)."""
        return {
            "name": self.name,
            "group": self.group,
            "value": self.value,
            "ideal": self.ideal,
            "direction": self.direction,
            "status": self.status,
            "rule": self.rule,
            "pass_threshold": self.pass_threshold,
            "warn_threshold": self.warn_threshold,
            "explanation": self.explanation,
            "reason": self.reason,
            "details": self.details,
            "interval": None if self.interval is None else list(self.interval),
            "graded_value": self.graded_value,
        }
