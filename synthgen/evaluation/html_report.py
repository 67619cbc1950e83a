"""Standalone HTML rendering of a :class:`~synthgen.evaluation.report.Report`.

The page needs no network: CSS is inline, plots are inline SVG (:mod:`.html_plots`), and
there is no JavaScript. Every label, column name and value that reaches the HTML goes through
:func:`html.escape`. The page opens with what was compared (generator and data), then the
fidelity, utility and privacy verdicts with their reasons, then, for a privacy-safe export,
what the export did and what its protections changed, then every metric and the plots.
"""

from __future__ import annotations

import html
import math
from typing import Any

from synthgen.evaluation.html_plots import dcr_plot, distribution_plots, heatmap, utility_plot
from synthgen.evaluation.html_privacy import privacy_sections
from synthgen.evaluation.metrics import SUMMARY_COLUMNS

__all__ = ["render_html", "render_summary"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;
max-width:90em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top;white-space:nowrap}th{background:#f3f3f3}
td.explanation,td.thresholds{white-space:normal;overflow-wrap:anywhere}
td.explanation{min-width:22em}td.thresholds{min-width:10em}
.pass{background:#d9f2d9}.warn{background:#fff2cc}.fail{background:#f8d0d0}
.info{background:#e8eef8}.skipped{background:#eee;color:#666}
.verdict{font-size:1.2em;padding:4px 12px;display:inline-block;border-radius:4px}
.verdicts{display:flex;flex-wrap:wrap;gap:1em}
.card{flex:1 1 18em;border:1px solid #ccc;border-radius:6px;padding:.4em 1em;background:#fff}
.card h3{margin:.4em 0;font-size:1.05em}.card ul{margin:.3em 0;padding-left:1.2em}
.card li{overflow-wrap:anywhere;font-size:.92em}
.plots{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-start}
svg{background:#fff;border:1px solid #e4e4e4;font-family:inherit}svg text{fill:#222}
.small{color:#666;font-size:.85em}
.clip{display:inline-block;max-width:24em;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap;vertical-align:bottom}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "&ndash;"
    if isinstance(value, float):
        return _e(f"{value:.4f}")
    return _e(value)


def _g(value: Any) -> str:
    return _e(f"{value:.3g}") if isinstance(value, (int, float)) else "&ndash;"


def _clip(text: Any) -> str:
    """Text cut with an ellipsis by CSS when too long, the full text in a tooltip."""
    return f'<span class="clip" title="{_e(text)}">{_e(text)}</span>'


def _verdict_cards(report) -> str:
    cards = []
    for group, found in report.verdicts.items():
        v = found["verdict"]
        items = "".join(f"<li>{_e(r)}</li>" for r in found["reasons"])
        cards.append(
            f'<div class="card"><h3>{_e(group.capitalize())} verdict: '
            f'<span class="verdict {_e(v)}">{_e(v)}</span></h3><ul>{items}</ul></div>'
        )
    return '<div class="verdicts">' + "".join(cards) + "</div>"


def _metric_table(report) -> str:
    parts = ["<table><tr>"]
    parts += [f"<th>{_e(c)}</th>" for c in SUMMARY_COLUMNS] + ["</tr>"]
    for row in report.summary().to_dict("records"):
        parts.append(f'<tr class="{_e(row["status"])}">')
        for c in SUMMARY_COLUMNS:
            css = f' class="{c}"' if c in ("explanation", "thresholds") else ""
            parts.append(f"<td{css}>{_fmt(row[c])}</td>")
        parts.append("</tr>")
    parts.append("</table>")
    return "".join(parts)


def render_summary(report) -> str:
    """The verdicts and the metric table as an HTML fragment (used by ``_repr_html_``)."""
    return _verdict_cards(report) + _metric_table(report)


def _about(meta: dict[str, Any]) -> str:
    """What was compared: generator, data and the sizes."""
    bits = []
    if meta.get("generator"):
        bits.append(f"Generator: <b>{_clip(meta['generator'])}</b>")
    if meta.get("data_name"):
        bits.append(f"Data: <b>{_clip(meta['data_name'])}</b>")
    sizes, given = meta.get("rows", {}), meta.get("sampled_rows", {})
    bits.append(
        _e(
            ", ".join(
                f"{k}: {v:,} rows" + (f" (drawn at random from {given[k]:,})" if k in given else "")
                for k, v in sizes.items()
            )
        )
    )
    out = "<p>" + " &middot; ".join(bits) + "</p>"
    if meta.get("excluded"):
        out += (
            "<p class='small'>Excluded columns: "
            + ", ".join(f"{_clip(k)} ({_e(v)})" for k, v in meta["excluded"].items())
            + "</p>"
        )
    return out


def _export_section(info: dict[str, Any]) -> str:
    """What privacy-safe export did and what its protections changed."""
    written = "written" if info.get("data_written") else "not written"
    out = [
        "<h2>What the export did</h2>",
        f"<p>Export verdict: <span class='verdict {_e(info['verdict'])}'>"
        f"{_e(info['verdict'])}</span> &middot; synthetic data {written}.</p>",
    ]
    lines = info.get("change_lines") or []
    if lines:
        out.append("<p>What the protections changed:</p><ul>")
        out += [f"<li>{_e(line)}</li>" for line in lines]
        out.append("</ul>")
    else:
        out.append("<p>The protections changed nothing in these data.</p>")
    note = ""
    if (info.get("changes") or {}).get("clipped"):
        note = " (so clipping lowers range_coverage by design: extremes are never reproduced)"
    out.append(
        "<p class='small'>Every measurement below compares the synthetic rows with the "
        f"original training rows, before any protection{note}.</p>"
    )
    rows = info.get("rows")
    if rows:  # an export in parts judges samples
        seen = rows["evaluated"]
        out.append(
            f"<p class='small'>The table was read in parts: {rows['training']:,} training and "
            f"{rows['holdout']:,} holdout rows. The protections and the copy filter read every "
            f"training row; the measurements judge seeded samples of {seen['real']:,} training, "
            f"{seen['synthetic']:,} synthetic and {rows['holdout_evaluated']:,} holdout "
            "rows.</p>"
        )
    return "".join(out)


def render_html(report) -> str:
    """The full standalone HTML page of a report."""
    a = report._artifacts
    meta = report.meta
    title = "synthgen evaluation report"
    body = [f"<h1>{title}</h1>", _about(meta), "<h2>Verdicts</h2>", _verdict_cards(report)]
    if meta.get("export"):
        body.append(_export_section(meta["export"]))
    dp = meta.get("differential_privacy")
    if dp:
        body.append(
            "<h2>Differential privacy</h2><p>The generator was fitted with "
            f"(&epsilon; = {_g(dp.get('epsilon'))}, &delta; = {_g(dp.get('delta'))})"
            f"-differential privacy (budget &epsilon; = {_g(dp.get('target_epsilon'))}; "
            f"accounting: {_e(dp.get('accounting', ''))}). The guarantee covers the synthetic "
            "rows and the saved model; the measurements below are computed from the real rows "
            "and are not covered by it.</p>"
        )
    body.append(privacy_sections(meta))
    body.append("<h2>Metrics</h2>" + _metric_table(report))
    if a.get("distributions"):
        note = ""
        if a.get("columns_shown", 0) < a.get("columns_total", 0):
            note = f" (first {a['columns_shown']} of {a['columns_total']} columns)"
        body.append(f"<h2>Column distributions{_e(note)}</h2>")
        body.append(distribution_plots(a["distributions"]))
    if a.get("association") and len(a["association"]["columns"]) > 1:
        body.append("<h2>Association differences</h2>" + heatmap(a["association"]))
    body.append("<h2>Distance to closest record</h2>")
    if a.get("dcr"):
        body.append(dcr_plot(a["dcr"]))
    else:
        body.append("<p>Skipped: no holdout given.</p>")
    body.append("<h2>Utility</h2>" + utility_plot(report))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title>"
        f"<style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>"
    )
