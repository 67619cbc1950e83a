"""The :class:`Report` returned by :func:`~synthgen.evaluation.evaluate`."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.metrics import SUMMARY_COLUMNS, MetricResult
from synthgen.evaluation.verdicts import GROUPS, group_verdict
from synthgen.files import atomic_write
from synthgen.utils import json_ready

__all__ = ["Report", "json_ready"]


class Report:
    """The metrics of one evaluation, with headline verdicts and HTML / JSON export.

    Attributes
    ----------
    metrics : list of MetricResult
        Every metric, fidelity first, then utility, then privacy.
    privacy_verdict : str
        ``"pass"``, ``"warn"`` or ``"fail"`` (see
        :class:`~synthgen.evaluation.thresholds.PrivacyThresholds`); privacy-safe export may
        make it stricter (:meth:`set_privacy_verdict`).
    meta : dict
        Sizes, used and excluded columns, parameters, timings, and the ``generator`` and
        ``data_name`` when given.

    Examples
    --------
    >>> m = MetricResult.graded("column_shapes", "fidelity", 0.93, 1.0, "higher", "at_least",
    ...                         0.9, 0.8, "Shapes.")
    >>> r = Report([m], "pass", {})
    >>> r.summary()[["metric", "value", "status"]].to_dict("records")
    [{'metric': 'column_shapes', 'value': 0.93, 'status': 'pass'}]
    >>> r["column_shapes"].value
    0.93
    """

    def __init__(
        self,
        metrics: list[MetricResult],
        privacy_verdict: str,
        meta: dict[str, Any],
        artifacts: dict[str, Any] | None = None,
    ) -> None:
        self.metrics = list(metrics)
        self.privacy_verdict = privacy_verdict
        self.meta = dict(meta)
        # plot inputs (binned counts, distances): kept out of to_dict / to_json on purpose
        self._artifacts = dict(artifacts or {})

    def __getitem__(self, name: str) -> MetricResult:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"no metric named {name!r}; metrics are {[m.name for m in self.metrics]}")

    def __repr__(self) -> str:
        counts = pd.Series([m.status for m in self.metrics]).value_counts().to_dict()
        return (
            f"Report({len(self.metrics)} metrics, privacy_verdict={self.privacy_verdict!r}, "
            f"statuses={counts})"
        )

    @property
    def verdicts(self) -> dict[str, dict[str, Any]]:
        """Headline verdict and reasons of each group: ``{"fidelity": {"verdict": "warn",
        "reasons": [...]}, "utility": ..., "privacy": ...}`` (see
        :mod:`~synthgen.evaluation.verdicts`)."""
        out = {g: group_verdict(self.metrics, g) for g in GROUPS}
        if "privacy_reasons" in self.meta:
            out["privacy"] = {
                "verdict": self.privacy_verdict,
                "reasons": list(self.meta["privacy_reasons"]),
            }
        return out

    def set_privacy_verdict(self, verdict: str, reasons: list[str]) -> None:
        """Replace the privacy verdict and its reasons (export's copy filter can fail a table
        whose measurements pass); every view of the report shows the new ones."""
        if verdict not in ("pass", "warn", "fail"):
            raise ValueError(f"unknown verdict {verdict!r}")
        self.privacy_verdict = verdict
        self.meta["privacy_reasons"] = list(reasons)

    def summary(self) -> pd.DataFrame:
        """One row per metric: group, metric, value, interval, ideal, direction, thresholds,
        status and explanation (the reason is appended when the metric was skipped)."""
        rows = []
        for m in self.metrics:
            skipped = m.status == "skipped" and m.reason
            text = f"{m.explanation} Skipped: {m.reason}." if skipped else m.explanation
            rows.append(
                {
                    "group": m.group,
                    "metric": m.name,
                    "value": np.nan if m.value is None else m.value,
                    "interval": m.interval_text,
                    "ideal": m.ideal,
                    "direction": m.direction,
                    "thresholds": m.threshold_text,
                    "status": m.status,
                    "explanation": text,
                }
            )
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: verdict, metrics and meta (no rows of any frame)."""
        return json_ready(
            {
                "privacy_verdict": self.privacy_verdict,
                "verdicts": self.verdicts,
                "metrics": [m.to_dict() for m in self.metrics],
                "meta": self.meta,
            }
        )

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int = 2) -> str:
        """The report as JSON text (NaN written as ``null``), also written to ``path`` if given
        (atomically: a failed write leaves no partial file)."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            atomic_write(path, text)
        return text

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A standalone HTML page (inline CSS, base64 PNG plots, no script); written to ``path``
        if given (atomically)."""
        from synthgen.evaluation.html_report import render_html

        text = render_html(self)
        if path is not None:
            atomic_write(path, text)
        return text

    def _repr_html_(self) -> str:
        from synthgen.evaluation.html_report import render_summary

        return render_summary(self)
