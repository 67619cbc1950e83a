"""Binned shares of real and synthetic values per column, drawn in the HTML report.

Only aggregates leave this module: bin edges and shares, never a row. Heavy-tailed numeric
columns (incomes, capital gains: a spike at zero and a long right tail) get bins that are even
on a log scale and are drawn on log axes, so that their tail is visible instead of one spike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgen.evaluation.data import PreparedData
from synthgen.evaluation.thresholds import EvaluationLimits

__all__ = ["MAX_PLOT_CATEGORIES", "binned_distributions", "heavy_tailed"]

#: Most frequent real categories drawn per categorical column.
MAX_PLOT_CATEGORIES = 20
#: Bins of each numeric histogram.
N_BINS = 30


def heavy_tailed(values: np.ndarray) -> bool:
    """Whether a column needs a log scale: strongly skewed, its largest magnitude at least 100
    times its typical one (the median magnitude, or 1 when most values are 0).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> heavy_tailed(rng.normal(40, 10, 1000)), heavy_tailed(rng.pareto(1.2, 1000) * 100)
    (False, True)
    """
    v = np.abs(values[np.isfinite(values)])
    if len(v) < 20 or v.max() == 0:
        return False
    centred = values[np.isfinite(values)] - values[np.isfinite(values)].mean()
    sd = centred.std()
    skew = float(np.mean(centred**3) / sd**3) if sd > 0 else 0.0
    typical = max(float(np.median(v)), 1.0)
    return bool(abs(skew) > 3 and v.max() >= 100 * typical)


def _log_edges(lo: float, hi: float) -> np.ndarray:
    """Edges even in ``sign(x) * log10(1 + |x|)`` (what a symlog axis with threshold 1 shows)."""

    def fwd(x: float) -> float:
        return float(np.sign(x) * np.log10(1.0 + abs(x)))

    t = np.linspace(fwd(lo), fwd(hi), N_BINS + 1)
    return np.sign(t) * (10.0 ** np.abs(t) - 1.0)


def _numeric(prep, name, rng, limits) -> dict[str, Any] | None:
    j = prep.numeric.index(name)
    r, s = prep.num["real"][:, j], prep.num["synthetic"][:, j]
    r, s = r[~np.isnan(r)], s[~np.isnan(s)]
    if len(r) > limits.plot_rows:
        r = rng.choice(r, limits.plot_rows, replace=False)
    if len(s) > limits.plot_rows:
        s = rng.choice(s, limits.plot_rows, replace=False)
    both = np.concatenate([r, s])
    if len(both) == 0:
        return None
    span = None
    if limits.mask_labels_below > 0 and len(r):
        # Do not draw the real extremes: they may belong to single people.
        span = tuple(np.quantile(r, [0.005, 0.995]))
        r, s = np.clip(r, *span), np.clip(s, *span)
    ref = both if span is None else r
    log = prep.kinds.get(name) == "numeric" and heavy_tailed(ref)
    if log:
        lo, hi = (float(ref.min()), float(ref.max())) if span is None else span
        edges = _log_edges(lo, hi) if hi > lo else np.histogram_bin_edges(ref, bins=N_BINS)
    else:
        edges = np.histogram_bin_edges(ref, bins=N_BINS, range=span)
    return {
        "column": name,
        "kind": "numeric",
        "scale": "log" if log else "linear",
        "edges": edges,
        "real": np.histogram(r, edges)[0] / max(len(r), 1),
        "synthetic": np.histogram(s, edges)[0] / max(len(s), 1),
    }


def _categorical(prep, name, limits) -> dict[str, Any]:
    j = prep.categorical.index(name)
    n_cat = len(prep.categories[name])
    counts = np.bincount(prep.codes["real"][:, j], minlength=n_cat)
    r = counts / prep.n_rows("real")
    s = np.bincount(prep.codes["synthetic"][:, j], minlength=n_cat) / prep.n_rows("synthetic")
    top = np.argsort(-r, kind="stable")[:MAX_PLOT_CATEGORIES]
    labels = [
        "(missing)" if prep.categories[name][k] is None else str(prep.categories[name][k])
        for k in top
    ]
    if limits.mask_labels_below > 0:
        hidden = f"(masked: under {limits.mask_labels_below} rows)"
        labels = [
            hidden if counts[k] < limits.mask_labels_below else label
            for k, label in zip(top, labels, strict=True)
        ]
    return {
        "column": name,
        "kind": "categorical",
        "labels": labels,
        "real": r[top],
        "synthetic": s[top],
    }


def binned_distributions(
    prep: PreparedData, columns: list[str], rng: np.random.Generator, limits: EvaluationLimits
) -> list[dict[str, Any]]:
    """Per column: bin edges (numbers; ``scale`` says linear or log) or labels (categories),
    and the real and synthetic shares of each bin."""
    out = []
    for name in columns:
        if name in prep.numeric:
            found = _numeric(prep, name, rng, limits)
            if found is not None:
                out.append(found)
        else:
            out.append(_categorical(prep, name, limits))
    return out
