"""Headline verdicts of a report: fidelity, utility and privacy, each with its reasons.

Each group's verdict is the worst status among its graded metrics (``info`` values are shown
but not graded; skipped metrics do not count, except in privacy, where a missing measurement
turns a pass into a warn). The reasons are short sentences: one per metric that kept the group
from passing, with its value, interval and limits, or one line saying that every metric passed.
"""

from __future__ import annotations

from typing import Any

from synthgen.evaluation.metrics import MetricResult
from synthgen.evaluation.privacy import VERDICT_METRICS, privacy_verdict

__all__ = ["GROUPS", "group_verdict", "metric_sentence"]

#: Groups with a headline verdict, in the order the report shows them.
GROUPS: tuple[str, ...] = ("fidelity", "utility", "privacy")

_ORDER = {"fail": 0, "warn": 1, "pass": 2}


def _num(value: float) -> str:
    return f"{value:.3g}"


def metric_sentence(m: MetricResult) -> str:
    """One sentence on a metric's status: its value, interval and the limit it was held to.

    Examples
    --------
    >>> m = MetricResult.graded("detection_auc", "fidelity", 0.97, 0.5, "closer to 0.5",
    ...                         "at_most", 0.6, 0.75, "")
    >>> metric_sentence(m)
    'detection_auc = 0.97: fail (pass <= 0.6, warn <= 0.75).'
    >>> m = MetricResult("linkability_risk", "privacy", 0.301, 0.0, "lower", "warn", "",
    ...                  "at_most", 0.1, 0.25, interval=(0.12, 0.48), graded_value=0.12,
    ...                  details={"confidence_level": 0.95})
    >>> metric_sentence(m)  # doctest: +NORMALIZE_WHITESPACE
    'linkability_risk = 0.301, 95% interval [0.12, 0.48]: warn, graded on the lower bound
    0.12 (pass <= 0.1, warn <= 0.25).'
    """
    if m.status == "skipped":
        return f"{m.name} could not be computed: {m.reason}."
    text = f"{m.name} = {_num(m.value)}" if m.value is not None else m.name
    if m.interval is not None:
        level = m.details.get("confidence_level")
        shown = f"{level:.0%} interval" if isinstance(level, float) else "interval"
        text += f", {shown} {m.interval_text}"
    text += f": {m.status}"
    if m.rule is not None and m.pass_threshold is not None:
        op = ">=" if m.rule == "at_least" else "<="
        limits = f"pass {op} {m.pass_threshold:g}, warn {op} {m.warn_threshold:g}"
        if m.graded_value is not None:
            text += f", graded on the lower bound {_num(m.graded_value)} ({limits})"
        else:
            text += f" ({limits})"
    return text + "."


def group_verdict(metrics: list[MetricResult], group: str) -> dict[str, Any]:
    """``{"verdict": ..., "reasons": [...]}`` of one group of metrics.

    The verdict is ``"pass"``, ``"warn"``, ``"fail"`` or, when no metric of the group could be
    graded, ``"skipped"``.

    Examples
    --------
    >>> ok = MetricResult.graded("column_shapes", "fidelity", 0.95, 1.0, "higher", "at_least",
    ...                          0.9, 0.8, "")
    >>> group_verdict([ok], "fidelity")
    {'verdict': 'pass', 'reasons': ['All 1 graded fidelity metrics pass.']}
    >>> group_verdict([], "utility")["verdict"]
    'skipped'
    """
    mine = [m for m in metrics if m.group == group]
    if group == "privacy":
        verdict = privacy_verdict(mine)
        judged = [m for m in mine if m.name in VERDICT_METRICS]
        missing = [n for n in VERDICT_METRICS if n not in {m.name for m in judged}]
        reasons = [metric_sentence(m) for m in judged if m.status != "pass"]
        reasons += [f"{n} was not measured." for n in missing]
        if verdict == "pass":
            reasons = [f"All {len(judged)} privacy measurements pass."]
        return {"verdict": verdict, "reasons": reasons}
    graded = [m for m in mine if m.status in _ORDER]
    if not graded:
        skipped = [m for m in mine if m.status == "skipped" and m.reason]
        why = skipped[0].reason if skipped else "no metric of this group was computed"
        return {"verdict": "skipped", "reasons": [f"No {group} metric was graded: {why}."]}
    verdict = min((m.status for m in graded), key=_ORDER.__getitem__)
    if verdict == "pass":
        return {"verdict": "pass", "reasons": [f"All {len(graded)} graded {group} metrics pass."]}
    worst_first = sorted(graded, key=lambda m: _ORDER[m.status])
    return {
        "verdict": verdict,
        "reasons": [metric_sentence(m) for m in worst_first if m.status != "pass"],
    }
