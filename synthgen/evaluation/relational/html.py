"""HTML of a :class:`~synthgen.evaluation.relational.report.RelationalReport`.

The page reuses the single-table report's style (inline CSS, inline SVG plots, no script);
every name and value goes through :func:`html.escape`. :func:`render_relational_section` is
the fragment (headline figures, one metric table per section, the count plots) that a page
can embed; :func:`render_relational_page` wraps it into a standalone page.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgen.evaluation.html_plots import distribution_plots
from synthgen.evaluation.html_report import _CSS, _e, _fmt

__all__ = ["SECTIONS", "count_histogram", "render_relational_page", "render_relational_section"]

#: Sections of the report, in order, with their titles.
SECTIONS: dict[str, str] = {
    "tables": "Tables",
    "relationships": "Parents and children",
    "sequences": "Sequences",
    "integrity": "Key integrity",
    "subjects": "Subjects",
}

_COLUMNS = ("scope", "metric", "value", "ideal", "thresholds", "status", "explanation")


def count_histogram(
    title: str, real: np.ndarray, synthetic: np.ndarray, *, max_bins: int = 30
) -> dict[str, Any]:
    """Shares of real and synthetic values in common bins, in the form the single-table
    report's histogram plot takes (whole numbers get one bin each up to ``max_bins``).

    Examples
    --------
    >>> d = count_histogram("children", np.array([0, 1, 1, 2]), np.array([1, 1, 1, 1]))
    >>> d["real"].tolist(), d["synthetic"].tolist()
    ([0.25, 0.5, 0.25], [0.0, 1.0, 0.0])
    """
    r = np.asarray(real, dtype=float)
    s = np.asarray(synthetic, dtype=float)
    r, s = r[np.isfinite(r)], s[np.isfinite(s)]
    both = np.concatenate([r, s])
    lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
    whole = bool(np.all(both == np.round(both))) and hi - lo < max_bins
    if whole:
        edges = np.arange(lo, hi + 2) - 0.5
    else:
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, max_bins + 1)
    shares = []
    for x in (r, s):
        counts, _ = np.histogram(np.clip(x, edges[0], edges[-1]), bins=edges)
        shares.append(counts / max(len(x), 1))
    log = bool(len(both)) and not whole and hi > 100 * max(abs(lo), 1.0)
    return {
        "kind": "numeric",
        "column": title,
        "edges": edges,
        "real": shares[0],
        "synthetic": shares[1],
        "scale": "log" if log else "linear",
    }


def _summary_table(report) -> str:
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in report.summary().items()
    )
    return f"<table><tr><th>figure</th><th>value</th></tr>{rows}</table>"


def _section_table(entries) -> str:
    parts = ["<table><tr>", *(f"<th>{_e(c)}</th>" for c in _COLUMNS), "</tr>"]
    for _, scope, m in entries:
        text = m.explanation
        if m.status == "skipped" and m.reason:
            text = f"{text} Skipped: {m.reason}."
        cells = {
            "scope": _e(scope),
            "metric": _e(m.name),
            "value": _fmt(m.value),
            "ideal": _fmt(m.ideal),
            "thresholds": _e(m.threshold_text),
            "status": _e(m.status),
            "explanation": _e(text),
        }
        parts.append(f'<tr class="{_e(m.status)}">')
        for c in _COLUMNS:
            css = f' class="{c}"' if c in ("explanation", "thresholds") else ""
            parts.append(f"<td{css}>{cells[c]}</td>")
        parts.append("</tr>")
    parts.append("</table>")
    return "".join(parts)


def render_relational_section(report) -> str:
    """Headline figures, the metrics of each section and the count plots (an HTML fragment)."""
    body = ["<h2>Linked tables: headline figures</h2>", _summary_table(report)]
    for key, title in SECTIONS.items():
        entries = [e for e in report.entries if e[0] == key]
        if entries:
            body.append(f"<h2>{_e(title)}</h2>" + _section_table(entries))
    plots = report._artifacts.get("plots") or []
    if plots:
        body.append(
            "<h2>Counts and gaps</h2><p class='small'>Children per parent, events per "
            "sequence and gaps between events: real (blue) against synthetic (orange).</p>"
        )
        body.append(distribution_plots(plots))
    return "\n".join(body)


def render_relational_page(report) -> str:
    """The standalone HTML page of a relational report."""
    meta = report.meta
    title = "synthgen evaluation report: linked tables"
    about = []
    if meta.get("generator"):
        about.append(f"Generator: <b>{_e(meta['generator'])}</b>")
    if meta.get("data_name"):
        about.append(f"Data: <b>{_e(meta['data_name'])}</b>")
    rows = meta.get("rows", {})
    sizes = "; ".join(
        f"{_e(t)}: " + ", ".join(f"{_e(f)} {n:,}" for f, n in counts.items())
        for t, counts in rows.items()
    )
    head = f"<h1>{_e(title)}</h1><p>{' &middot; '.join(about)}</p>"
    head += f"<p class='small'>Rows per table: {sizes}. Subject table: "
    head += f"{_e(meta.get('subject_table', ''))}.</p>"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + head
        + render_relational_section(report)
        + "</body></html>"
    )
