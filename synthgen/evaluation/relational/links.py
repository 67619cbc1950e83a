"""Metrics of the links between tables: cardinality, sequences and key integrity.

* **Cardinality shape** (per foreign key): KS complement of the number of children per parent
  row, parents without a child counted as 0 — sdmetrics' ``CardinalityShapeSimilarity``.
* **Sequences** (per table with a sequence key): KS complement of the sequence lengths (events
  per parent that has at least one, sdmetrics' ``SequenceLengthSimilarity``) and of the gaps
  between consecutive events (each sequence sorted by its order column; days for dates), and
  the share of synthetic sequences whose rows come in order (order values never decrease down
  the table; a missing order value breaks the order).
* **Integrity** (synthetic tables): the share of foreign key values that match a parent key
  (a missing value counts as matching only when the real child column has missing values),
  and the number of repeated or missing primary key values.

Every row takes part (these are counts and sorts, cheap on millions of rows).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from synthgen.evaluation.data import _to_numeric
from synthgen.evaluation.metrics import MetricResult
from synthgen.schema import Schema
from synthgen.schema.metadata import ForeignKey

__all__ = [
    "cardinality_shape",
    "children_per_parent",
    "duplicate_keys",
    "fk_resolution",
    "order_values",
    "sequence_metrics",
]

#: (pass, warn) limits of the KS-complement metrics (cardinality, lengths, gaps).
KS_LIMITS = (0.90, 0.80)
#: (pass, warn) limits of the integrity shares: anything below 100% is a broken key or order.
INTEGRITY_LIMITS = (1.0, 0.99)


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """``1 - KS statistic`` of two samples (``None`` when one is empty).

    Examples
    --------
    >>> ks_complement(np.array([1, 2, 3]), np.array([1, 2, 3]))
    1.0
    """
    real, synthetic = np.asarray(real, dtype=float), np.asarray(synthetic, dtype=float)
    real, synthetic = real[~np.isnan(real)], synthetic[~np.isnan(synthetic)]
    if len(real) == 0 or len(synthetic) == 0:
        return None
    with warnings.catch_warnings():
        # scipy falls back from the exact to the asymptotic p-value on ties: the statistic,
        # all we use, is the same either way
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(1.0 - ks_2samp(real, synthetic).statistic)


def children_per_parent(tables: dict[str, pd.DataFrame], fk: ForeignKey) -> np.ndarray:
    """Children of each parent row (0 for a parent without children), as sdmetrics'
    ``get_cardinality_distribution`` counts them."""
    counts = tables[fk.child][fk.column].value_counts(dropna=False)
    return tables[fk.parent][fk.parent_column].map(counts).fillna(0).to_numpy(dtype=float)


def cardinality_shape(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], fk: ForeignKey
) -> MetricResult:
    """KS complement of the children-per-parent counts of one foreign key."""
    r, s = children_per_parent(real, fk), children_per_parent(synthetic, fk)
    return MetricResult.graded(
        "cardinality_shape",
        "fidelity",
        ks_complement(r, s),
        1.0,
        "higher",
        "at_least",
        *KS_LIMITS,
        f"{fk.child}.{fk.column} -> {fk.parent}: KS complement of the number of children per "
        "parent row, 0 included (sdmetrics CardinalityShapeSimilarity).",
        _spread(r, s),
        reason="a table is empty",
    )


def _spread(r: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    def stats(x: np.ndarray) -> dict[str, Any]:
        if len(x) == 0:
            return {"n": 0}
        return {"n": len(x), "mean": float(np.mean(x)), "median": float(np.median(x)),
                "max": float(np.max(x))}  # fmt: skip

    return {"real": stats(r), "synthetic": stats(s)}


def order_values(column: pd.Series, schema: Schema | None, what: str) -> np.ndarray:
    """The order column as floats: numbers as they are, dates as days since the epoch."""
    spec = schema[column.name] if schema is not None and column.name in schema else None
    kind = spec.kind if spec is not None and spec.kind in ("numeric", "datetime") else None
    if kind is None:
        is_date = pd.api.types.is_datetime64_any_dtype(column.dtype)
        kind = "datetime" if is_date else "numeric"
    values = _to_numeric(column, str(column.name), what, kind, spec).to_numpy(dtype=float)
    return values / 86_400e9 if kind == "datetime" else values


def _sequences(frame: pd.DataFrame, group: str, order: np.ndarray) -> dict[str, np.ndarray]:
    """Lengths, sorted gaps and in-order flags of the sequences of one frame."""
    keys = frame[group].to_numpy()
    present = ~pd.isna(keys)
    keys, order = keys[present], order[present]
    codes, _ = pd.factorize(keys)
    n = codes.max() + 1 if len(codes) else 0
    lengths = np.bincount(codes, minlength=n)
    # gaps: each sequence sorted by its order value (stable), differences of neighbours
    by = np.lexsort((np.where(np.isnan(order), np.inf, order), codes))
    sc, so = codes[by], order[by]
    same = sc[1:] == sc[:-1]
    gaps = (so[1:] - so[:-1])[same]
    # in order as stored: no decrease between neighbours of a sequence in table order
    row = np.argsort(codes, kind="stable")
    rc, ro = codes[row], order[row]
    nxt = rc[1:] == rc[:-1]
    broken = nxt & ~(ro[1:] >= ro[:-1])  # NaN compares False: a missing order value breaks it
    bad = np.zeros(n, dtype=bool)
    bad[rc[1:][broken]] = True
    if len(ro):
        bad[np.unique(rc[np.isnan(ro)])] = True
    return {"lengths": lengths, "gaps": gaps[np.isfinite(gaps)], "in_order": ~bad}


def sequence_metrics(
    table: str,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    link: ForeignKey,
    order_column: str,
    schema: Schema | None,
) -> tuple[list[MetricResult], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Sequence-length and gap similarity and the in-order share of one sequence table, and
    the (real, synthetic) lengths and gaps behind them."""
    r = _sequences(real, link.column, order_values(real[order_column], schema, f"real {table}"))
    s = _sequences(
        synthetic,
        link.column,
        order_values(synthetic[order_column], schema, f"synthetic {table}"),
    )
    scope = f"{table} (sequences per {link.column}, ordered by {order_column})"
    unit = "days" if (schema is not None and order_column in schema and
                      schema[order_column].kind == "datetime") else "order units"  # fmt: skip
    in_order = float(s["in_order"].mean()) if len(s["in_order"]) else None
    raw = {
        "events per sequence": (r["lengths"], s["lengths"]),
        f"gap between events ({unit})": (r["gaps"], s["gaps"]),
    }
    metrics = [
        MetricResult.graded(
            "sequence_length",
            "fidelity",
            ks_complement(r["lengths"], s["lengths"]),
            1.0,
            "higher",
            "at_least",
            *KS_LIMITS,
            f"{scope}: KS complement of the number of events per sequence (sdmetrics "
            "SequenceLengthSimilarity).",
            _spread(r["lengths"].astype(float), s["lengths"].astype(float)),
            reason="no sequence in a frame",
        ),
        MetricResult.graded(
            "inter_event_gap",
            "fidelity",
            ks_complement(r["gaps"], s["gaps"]),
            1.0,
            "higher",
            "at_least",
            *KS_LIMITS,
            f"{scope}: KS complement of the gaps between consecutive events ({unit}), each "
            "sequence sorted by its order column.",
            {**_spread(r["gaps"], s["gaps"]), "unit": unit},
            reason="no sequence with two events in a frame",
        ),
        MetricResult.graded(
            "sequences_in_order",
            "integrity",
            in_order,
            1.0,
            "higher",
            "at_least",
            *INTEGRITY_LIMITS,
            f"{scope}: share of synthetic sequences whose rows come in order (order values "
            "never decrease down the table; a missing order value breaks the order).",
            {
                "sequences": len(s["in_order"]),
                "real_share": float(r["in_order"].mean()) if len(r["in_order"]) else None,
            },
            reason="the synthetic table has no sequence",
        ),
    ]
    return metrics, raw


def fk_resolution(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], fk: ForeignKey
) -> MetricResult:
    """Share of synthetic child rows whose foreign key matches a parent key."""
    values = synthetic[fk.child][fk.column]
    missing = values.isna().to_numpy()
    matches = values.isin(synthetic[fk.parent][fk.parent_column].dropna()).to_numpy()
    nullable = bool(real[fk.child][fk.column].isna().any())
    ok = matches | (missing & nullable)
    return MetricResult.graded(
        "fk_resolution",
        "integrity",
        float(ok.mean()) if len(ok) else None,
        1.0,
        "higher",
        "at_least",
        *INTEGRITY_LIMITS,
        f"{fk.child}.{fk.column} -> {fk.parent}.{fk.parent_column}: share of synthetic child "
        "rows whose key matches a parent key (missing counts only where the real key has "
        "missing values).",
        {
            "rows": len(ok),
            "dangling": int((~matches & ~missing).sum()),
            "missing": int(missing.sum()),
        },
        reason="the synthetic child table is empty",
    )


def duplicate_keys(table: str, synthetic: pd.DataFrame, primary_key: str) -> MetricResult:
    """Synthetic rows whose primary key is missing or repeats an earlier row's."""
    keys = synthetic[primary_key]
    missing = int(keys.isna().sum())
    repeated = int(keys.dropna().duplicated().sum())
    return MetricResult.graded(
        "duplicate_primary_keys",
        "integrity",
        float(missing + repeated),
        0.0,
        "lower",
        "at_most",
        0.0,
        0.0,
        f"{table}.{primary_key}: synthetic rows whose primary key is missing or repeats "
        "another row's.",
        {"missing": missing, "repeated": repeated, "rows": len(keys)},
    )
