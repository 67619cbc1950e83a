"""The :class:`RelationalReport` of a multi-table evaluation (``evaluate_tables``)."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.metrics import MetricResult
from synthgen.evaluation.relational.html import (
    SECTIONS,
    render_relational_page,
    render_relational_section,
)
from synthgen.files import atomic_write
from synthgen.utils import json_ready

__all__ = ["SECTIONS", "SUMMARY_KEYS", "RelationalReport"]

#: Headline figures of :meth:`RelationalReport.summary`: name -> (metric, how it is combined
#: over the tables / foreign keys it was measured on).
SUMMARY_KEYS: dict[str, tuple[str, str]] = {
    "column_shapes": ("column_shapes", "mean"),
    "column_pair_trends": ("column_pair_trends", "mean"),
    "table_quality": ("column_shapes+column_pair_trends", "mean"),
    "cardinality_shape": ("cardinality_shape", "mean"),
    "parent_child_trends": ("parent_child_trends", "mean"),
    "sequence_length": ("sequence_length", "mean"),
    "inter_event_gap": ("inter_event_gap", "mean"),
    "sequences_in_order": ("sequences_in_order", "min"),
    "fk_resolution": ("fk_resolution", "min"),
    "duplicate_primary_keys": ("duplicate_primary_keys", "sum"),
    "subject_detection_auc": ("subject_detection_auc", "max"),
    "subject_dcr_share": ("subject_dcr_share", "max"),
}


class RelationalReport:
    """The metrics of one multi-table evaluation, each with the section and scope (table or
    foreign key) it was measured on.

    Attributes
    ----------
    entries : list of (section, scope, MetricResult)
    meta : dict
        Tables and row counts, the subject table, limits, seed, timings.

    Examples
    --------
    >>> m = MetricResult.graded("cardinality_shape", "fidelity", 0.9, 1.0, "higher",
    ...                         "at_least", 0.9, 0.8, "Children per parent.")
    >>> report = RelationalReport([("relationships", "o.u_id -> u", m)], {})
    >>> report.summary()["cardinality_shape"]
    0.9
    >>> report.get("cardinality_shape", "o.u_id -> u").status
    'pass'
    """

    def __init__(
        self,
        entries: list[tuple[str, str, MetricResult]],
        meta: dict[str, Any],
        artifacts: dict[str, Any] | None = None,
    ) -> None:
        self.entries = list(entries)
        self.meta = dict(meta)
        # plot inputs (binned shares): kept out of to_dict / to_json on purpose
        self._artifacts = dict(artifacts or {})

    def __repr__(self) -> str:
        counts = pd.Series([m.status for _, _, m in self.entries]).value_counts().to_dict()
        return f"RelationalReport({len(self.entries)} metrics, statuses={counts})"

    def get(self, metric: str, scope: str | None = None) -> MetricResult:
        """The metric ``metric`` measured on ``scope`` (a table name or a foreign key as
        ``"child.column -> parent"``); ``scope`` may be left out when there is one."""
        found = [m for _, s, m in self.entries if m.name == metric and scope in (None, s)]
        if len(found) != 1:
            scopes = [s for _, s, m in self.entries if m.name == metric]
            raise KeyError(f"no single metric {metric!r} for scope {scope!r}; measured on {scopes}")
        return found[0]

    def summary(self) -> dict[str, float | int | None]:
        """Headline figures, one flat dict (``None`` where nothing could be measured):
        means over tables / foreign keys of the fidelity scores, the worst integrity share,
        the total of bad primary keys, and the subject-level detection AUC and DCR share.
        ``table_quality`` is the mean of every per-table column-shape and pair-trend score."""
        out: dict[str, float | int | None] = {}
        for key, (names, how) in SUMMARY_KEYS.items():
            wanted = names.split("+")
            values = [
                m.value
                for _, _, m in self.entries
                if m.name in wanted and m.value is not None and math.isfinite(m.value)
            ]
            if not values:
                out[key] = None
            elif how == "sum":
                out[key] = int(sum(values))
            else:
                out[key] = float(getattr(np, how)(values))
        return out

    def frame(self) -> pd.DataFrame:
        """One row per metric: section, scope, metric, value, status, thresholds, explanation."""
        rows = []
        for section, scope, m in self.entries:
            skipped = m.status == "skipped" and m.reason
            rows.append(
                {
                    "section": section,
                    "scope": scope,
                    "metric": m.name,
                    "value": np.nan if m.value is None else m.value,
                    "ideal": m.ideal,
                    "thresholds": m.threshold_text,
                    "status": m.status,
                    "explanation": f"{m.explanation} Skipped: {m.reason}."
                    if skipped
                    else m.explanation,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: summary, metrics by section, meta (no rows of any table)."""
        sections: dict[str, list[dict[str, Any]]] = {s: [] for s in SECTIONS}
        for section, scope, m in self.entries:
            sections.setdefault(section, []).append({"scope": scope, **m.to_dict()})
        return json_ready({"summary": self.summary(), "sections": sections, "meta": self.meta})

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int = 2) -> str:
        """The report as JSON text, also written to ``path`` if given (atomically)."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            atomic_write(path, text)
        return text

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A standalone HTML page in the single-table report's style; written to ``path`` if
        given (atomically)."""
        text = render_relational_page(self)
        if path is not None:
            atomic_write(path, text)
        return text

    def _repr_html_(self) -> str:
        return render_relational_section(self)
