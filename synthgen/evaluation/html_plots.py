"""The plots of the HTML report, as inline SVG written directly (no plotting library).

Inline SVG keeps the page standalone (no script, no network), draws in microseconds where a
plotting library needs a fraction of a second per figure, and keeps every label as real text:
a long label is cut with an ellipsis to fit its place and its full text is in a ``<title>``
(the browser's tooltip), together with the numbers behind the bar. Heavy-tailed numeric columns
(``scale == "log"``) are drawn with a log-like x axis (``sign(x) log10(1 + |x|)``) and a log y
axis, so that a spike at zero does not hide the tail.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

__all__ = ["dcr_plot", "distribution_plots", "heatmap", "short_label", "utility_plot"]

#: Colours of the two series (real first) and of the heatmap's largest value.
COLORS = ("#4c78a8", "#f58518")
_HOT = (179, 0, 0)
_W = 360  # width of the small plots


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def short_label(text: Any, width: int = 30) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis.

    Examples
    --------
    >>> short_label("Married-civ-spouse", 30)
    'Married-civ-spouse'
    >>> short_label("a rather long occupation name for a plot", 16)
    'a rather long o…'
    """
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _num(value: float) -> str:
    """Compact number for an axis: 3 significant digits, k / M / G suffixes."""
    a = abs(value)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:.3g}"


def _text(x, y, text, *, size=10, anchor="start", width=None, full=None, extra="") -> str:
    """An SVG text; cut to ``width`` characters, the full text (or ``full``) as its tooltip."""
    shown = short_label(text, width) if width else str(text)
    tip = full if full is not None else (text if shown != str(text) else None)
    title = f"<title>{_e(tip)}</title>" if tip is not None else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
        f"{title}{_e(shown)}</text>"
    )


def _rect(x, y, w, h, color, opacity=1.0, tip=None) -> str:
    title = f"<title>{_e(tip)}</title>" if tip else ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
        f'fill="{color}" fill-opacity="{opacity}">{title}</rect>'
    )


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{_e(label)}">' + "".join(body) + "</svg>"
    )


def _legend(right: float, y: float, names: tuple[str, str]) -> list[str]:
    """Two coloured keys ending at ``right`` (about 5.5 px per character at this size)."""
    widths = [12 + 5.5 * len(name) + 10 for name in names]
    x = right - sum(widths)
    out = []
    for i, name in enumerate(names):
        out.append(_rect(x, y - 8, 9, 9, COLORS[i]))
        out.append(_text(x + 12, y, name, size=9))
        x += widths[i]
    return out


def _nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if not hi > lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for mult in (1, 2, 5, 10):
        if (hi - lo) / (step * mult) <= n:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [float(v) for v in np.arange(first, hi + step * 1e-9, step)]


def _symlog(x):
    return np.sign(x) * np.log10(1.0 + np.abs(x))


def _histogram(title, edges, series, *, log=False, xlabel="", names=("real", "synthetic")):
    """Two overlaid histograms of shares (``series``: two arrays) over ``edges``."""
    left, top, pw, ph = 46.0, 30.0, _W - 58.0, 130.0
    edges = np.asarray(edges, dtype=float)
    t = _symlog(edges) if log else edges
    span = (t[-1] - t[0]) or 1.0

    def xpos(v):
        return left + (v - t[0]) / span * pw

    values = [np.asarray(s, dtype=float) for s in series]
    top_share = max(float(max(v.max() for v in values)), 1e-12)
    positive = np.concatenate([v[v > 0] for v in values])
    floor = float(positive.min()) / 2 if log and len(positive) else 0.0

    def height(v):
        if not log:
            return v / top_share * ph
        if v <= floor:
            return 0.0
        return (math.log10(v) - math.log10(floor)) / (math.log10(top_share / floor) or 1) * ph

    body = [_text(4, 14, title, size=11, width=44, extra=' font-weight="600"')]
    body += _legend(_W - 6, 26, names)
    for k, v in enumerate(values):
        for i, share in enumerate(v):
            h = height(share)
            if h > 0:
                x0, x1 = xpos(t[i]), xpos(t[i + 1])
                tip = f"{names[k]}: {share:.2%} in [{_num(edges[i])}, {_num(edges[i + 1])})"
                body.append(_rect(x0, top + ph - h, x1 - x0, h, COLORS[k], 0.55, tip))
    body.append(f'<path d="M{left},{top}V{top + ph}H{left + pw}" stroke="#444" fill="none"/>')
    if log:
        lo, hi = edges[0], edges[-1]
        ticks = [0.0] if lo <= 0 <= hi else []
        for sign in (1, -1):
            p = 1.0
            while p <= max(abs(lo), abs(hi)):
                if lo <= sign * p <= hi:
                    ticks.append(sign * p)
                p *= 100 if max(abs(lo), abs(hi)) > 1e5 else 10
        ticks = sorted(ticks)
    else:
        ticks = _nice_ticks(edges[0], edges[-1])
    for v in ticks:
        x = xpos(_symlog(v) if log else v)
        body.append(_text(x, top + ph + 13, _num(v), size=9, anchor="middle"))
    for v, label in ((top_share, f"{top_share:.1%}"), (floor if log else 0.0, "")):
        y = top + ph - height(v) if v > 0 else top + ph
        body.append(_text(left - 4, y + 3, label or "0", size=9, anchor="end"))
    axis = xlabel + (" (log scale)" if log else "")
    body.append(_text(left + pw / 2, top + ph + 28, axis, size=9, anchor="middle"))
    return _svg(_W, top + ph + 34, body, title)


def _categories(d: dict[str, Any]) -> str:
    labels, real, syn = d["labels"], np.asarray(d["real"]), np.asarray(d["synthetic"])
    label_w, row_h, top = 150.0, 18.0, 34.0
    pw = _W - label_w - 16
    biggest = max(float(max(real.max(initial=0), syn.max(initial=0))), 1e-12)
    body = [_text(4, 14, d["column"], size=11, width=44, extra=' font-weight="600"')]
    body += _legend(_W - 6, 28, ("real", "synthetic"))
    for i, label in enumerate(labels):
        y = top + i * row_h
        tip = f"{label}: real {real[i]:.2%}, synthetic {syn[i]:.2%}"
        bars = [
            _rect(label_w, y + 2, real[i] / biggest * pw, 6, COLORS[0]),
            _rect(label_w, y + 9, syn[i] / biggest * pw, 6, COLORS[1]),
        ]
        body.append(
            f'<g class="category"><title>{_e(tip)}</title>'
            + _text(label_w - 5, y + 13, label, size=9, anchor="end", width=26)
            + "".join(bars)
            + "</g>"
        )
    bottom = top + len(labels) * row_h
    body.append(f'<path d="M{label_w},{top}V{bottom}" stroke="#444" fill="none"/>')
    for v in (0.0, biggest):
        x = label_w + v / biggest * pw
        body.append(_text(x, bottom + 12, f"{v:.0%}", size=9, anchor="middle"))
    body.append(_text(label_w + pw / 2, bottom + 26, "share of rows", size=9, anchor="middle"))
    return _svg(_W, bottom + 32, body, f"distribution of {d['column']}")


def distribution_plots(dists: list[dict[str, Any]]) -> str:
    """Real vs synthetic shares of each column: histograms or horizontal category bars."""
    out = []
    for d in dists:
        if d["kind"] == "numeric":
            log = d.get("scale") == "log"
            out.append(_histogram(d["column"], d["edges"], (d["real"], d["synthetic"]), log=log))
        else:
            out.append(_categories(d))
    return '<div class="plots">' + "".join(out) + "</div>"


def heatmap(assoc: dict[str, Any]) -> str:
    """Absolute difference of the pairwise associations, real vs synthetic (Cramér's V)."""
    cols = [str(c) for c in assoc["columns"]]
    diff = np.asarray(assoc["difference"], dtype=float)
    vmax = max(0.3, float(np.nanmax(diff)) if diff.size else 0.3)
    cell, margin, top = 18.0, 120.0, 28.0
    size = margin + cell * len(cols) + 10
    body = [_text(4, 16, "|association real - synthetic| (Cramér's V)", size=11)]
    for i, name in enumerate(cols):
        y = top + margin + i * cell
        body.append(_text(margin - 4, y + 12, name, size=9, anchor="end", width=20))
        x = margin + i * cell + 12
        body.append(
            _text(
                x,
                top + margin - 4,
                name,
                size=9,
                width=20,
                extra=f' transform="rotate(-90 {x} {top + margin - 4})"',
            )
        )
        for j, other in enumerate(cols):
            v = diff[i, j]
            share = 0.0 if not np.isfinite(v) else min(v / vmax, 1.0)
            rgb = [round(255 + (h - 255) * share) for h in _HOT]
            color = f"rgb({rgb[0]},{rgb[1]},{rgb[2]})" if np.isfinite(v) else "#ddd"
            tip = f"{name} / {other}: {v:.3f}" if np.isfinite(v) else f"{name} / {other}: n/a"
            body.append(_rect(margin + j * cell, y, cell - 1, cell - 1, color, tip=tip))
    label = f"white: 0, darkest: {vmax:.2g} or more"
    body.append(_text(margin, top + margin + len(cols) * cell + 14, label, size=9))
    return _svg(size, top + size + 10, body, "association difference heatmap")


def dcr_plot(dcr: dict[str, np.ndarray]) -> str:
    """Distances of the synthetic rows to their closest training and holdout rows."""
    train, hold = np.asarray(dcr["dcr_train"]), np.asarray(dcr["dcr_holdout"])
    bins = np.linspace(0, max(float(np.concatenate([train, hold]).max()), 1e-9), 41)
    shares = [np.histogram(v, bins)[0] / max(len(v), 1) for v in (train, hold)]
    return _histogram(
        "distance to closest record",
        bins,
        shares,
        xlabel="distance of each synthetic row to its closest record",
        names=("to training rows", "to holdout rows"),
    )


def utility_plot(report) -> str:
    """Scores of models trained on real vs on synthetic rows, tested on the holdout."""
    pairs = []
    for m in report.metrics:
        if m.name.startswith("tstr_"):
            key = m.name[5:]
            try:
                ref = report[f"trtr_{key}"]
            except KeyError:
                continue
            if m.value is not None and ref.value is not None:
                pairs.append((key, ref.value, m.value))
    if not pairs:
        return "<p>No utility scores (see the table for why).</p>"
    left, top, ph, group = 40.0, 34.0, 120.0, 70.0
    body = [_text(4, 14, "trained on real (TRTR) vs synthetic (TSTR), tested on holdout", size=10)]
    width = max(_W, left + group * len(pairs) + 20)
    body += _legend(width - 6, 28, ("TRTR (real)", "TSTR (synthetic)"))
    for i, (key, real, syn) in enumerate(pairs):
        x = left + 10 + i * group
        for k, v in enumerate((real, syn)):
            h = max(min(v, 1.0), 0.0) * ph
            tip = f"{key}: {('TRTR', 'TSTR')[k]} {v:.3f}"
            body.append(_rect(x + k * 24, top + ph - h, 22, h, COLORS[k], tip=tip))
        body.append(_text(x + 23, top + ph + 13, key, size=9, anchor="middle", width=12))
    right = left + group * len(pairs) + 10
    body.append(f'<path d="M{left},{top}V{top + ph}H{right}" stroke="#444" fill="none"/>')
    for v in (0.0, 0.5, 1.0):
        body.append(_text(left - 4, top + ph - v * ph + 3, f"{v:g}", size=9, anchor="end"))
    return _svg(width, top + ph + 22, body, "utility comparison")
