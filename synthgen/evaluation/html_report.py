"""Standalone HTML rendering of a :class:`~synthgen.evaluation.report.Report`.

The page needs no network: CSS is inline, plots are base64 PNGs drawn with matplotlib's Agg
canvas (no pyplot, so no global figure state), and there is no JavaScript. Every label, column
name and value that reaches the HTML goes through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["render_html", "render_summary"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}
.pass{background:#d9f2d9}.warn{background:#fff2cc}.fail{background:#f8d0d0}
.info{background:#e8eef8}.skipped{background:#eee;color:#666}
.verdict{font-size:1.2em;padding:6px 12px;display:inline-block;border-radius:4px}
.plots img{max-width:100%;margin:4px}.small{color:#666;font-size:.85em}
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


def _mpl(text: Any, limit: int = 30) -> str:
    """A label safe for matplotlib: shortened, and ``$`` escaped so no mathtext is parsed."""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig: Figure, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{_png(fig)}">'


def render_summary(report) -> str:
    """The verdict and the metric table as an HTML fragment (used by ``_repr_html_``)."""
    v = report.privacy_verdict
    parts = [f'<p>Privacy verdict: <span class="verdict {_e(v)}">{_e(v)}</span></p>', "<table><tr>"]
    cols = ["group", "metric", "value", "ideal", "direction", "thresholds", "status", "explanation"]
    parts += [f"<th>{_e(c)}</th>" for c in cols] + ["</tr>"]
    for row in report.summary().to_dict("records"):
        status = row["status"]
        parts.append(f'<tr class="{_e(status)}">')
        parts += [f"<td>{_fmt(row[c])}</td>" for c in cols]
        parts.append("</tr>")
    parts.append("</table>")
    return "".join(parts)


def _distribution_plots(dists: list[dict[str, Any]]) -> str:
    imgs = []
    for d in dists:
        fig = Figure(figsize=(4, 2.6))
        ax = fig.add_subplot()
        if d["kind"] == "numeric":
            edges = np.asarray(d["edges"])
            width = np.diff(edges)
            ax.bar(edges[:-1], d["real"], width=width, align="edge", alpha=0.5, label="real")
            ax.bar(
                edges[:-1], d["synthetic"], width=width, align="edge", alpha=0.5, label="synthetic"
            )
        else:
            x = np.arange(len(d["labels"]))
            ax.bar(x - 0.2, d["real"], width=0.4, label="real")
            ax.bar(x + 0.2, d["synthetic"], width=0.4, label="synthetic")
            ax.set_xticks(
                x, [_mpl(v, 15) for v in d["labels"]], rotation=60, ha="right", fontsize=6
            )
        ax.set_title(_mpl(d["column"], 40), fontsize=9)
        ax.set_ylabel("share", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)
        imgs.append(_img(fig, f"distribution of {d['column']}"))
    return '<div class="plots">' + "".join(imgs) + "</div>"


def _heatmap(assoc: dict[str, Any]) -> str:
    cols = assoc["columns"]
    diff = np.asarray(assoc["difference"])
    size = max(3.0, 0.35 * len(cols) + 1.5)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.add_subplot()
    im = ax.imshow(diff, vmin=0, vmax=max(0.3, float(np.nanmax(diff))), cmap="Reds")
    labels = [_mpl(c, 20) for c in cols]
    ax.set_xticks(range(len(cols)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(cols)), labels, fontsize=7)
    ax.set_title("|association real - synthetic| (Cramér's V)", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return _img(fig, "association difference heatmap")


def _dcr_plot(dcr: dict[str, np.ndarray]) -> str:
    fig = Figure(figsize=(5, 3))
    ax = fig.add_subplot()
    both = np.concatenate([dcr["dcr_train"], dcr["dcr_holdout"]])
    bins = np.linspace(0, max(float(both.max()), 1e-9), 40)
    ax.hist(dcr["dcr_train"], bins=bins, alpha=0.5, label="to training rows")
    ax.hist(dcr["dcr_holdout"], bins=bins, alpha=0.5, label="to holdout rows")
    ax.set_xlabel("distance of each synthetic row to its closest record", fontsize=8)
    ax.legend(fontsize=7)
    return _img(fig, "distance to closest record histograms")


def _utility_plot(report) -> str:
    pairs = []
    for m in report.metrics:
        if m.name.startswith("tstr_"):
            key = m.name[5:]
            try:
                ref = report[f"trtr_{key}"]
            except KeyError:
                continue
            if m.value is not None and ref.value is not None:
                pairs.append((key, m.value, ref.value))
    if not pairs:
        return "<p>No utility scores (see the table for why).</p>"
    fig = Figure(figsize=(4, 2.8))
    ax = fig.add_subplot()
    x = np.arange(len(pairs))
    ax.bar(x - 0.2, [p[2] for p in pairs], width=0.4, label="TRTR (real)")
    ax.bar(x + 0.2, [p[1] for p in pairs], width=0.4, label="TSTR (synthetic)")
    ax.set_xticks(x, [_mpl(p[0]) for p in pairs])
    ax.legend(fontsize=7)
    ax.set_title("model trained on real vs synthetic, tested on holdout", fontsize=8)
    return _img(fig, "utility comparison")


def render_html(report) -> str:
    """The full standalone HTML page of a report."""
    a = report._artifacts
    meta = report.meta
    body = ["<h1>synthgen evaluation report</h1>"]
    sizes = meta.get("rows", {})
    body.append(
        "<p class='small'>" + _e(", ".join(f"{k}: {v} rows" for k, v in sizes.items())) + "</p>"
    )
    if meta.get("excluded"):
        body.append(
            "<p class='small'>Excluded columns: "
            + _e(", ".join(f"{k} ({v})" for k, v in meta["excluded"].items()))
            + "</p>"
        )
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
    body.append("<h2>Summary</h2>" + render_summary(report))
    if a.get("distributions"):
        note = ""
        if a.get("columns_shown", 0) < a.get("columns_total", 0):
            note = f" (first {a['columns_shown']} of {a['columns_total']} columns)"
        body.append(f"<h2>Column distributions{_e(note)}</h2>")
        body.append(_distribution_plots(a["distributions"]))
    if a.get("association") and len(a["association"]["columns"]) > 1:
        body.append("<h2>Association differences</h2>" + _heatmap(a["association"]))
    body.append("<h2>Distance to closest record</h2>")
    if a.get("dcr"):
        body.append(_dcr_plot(a["dcr"]))
    else:
        body.append("<p>Skipped: no holdout given.</p>")
    body.append("<h2>Utility</h2>" + _utility_plot(report))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<title>synthgen evaluation report</title>"
        f"<style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>"
    )
