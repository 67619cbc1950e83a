"""Per-table fidelity and parent-child trends of linked tables.

Per table: sdmetrics' Column Shapes and Column Pair Trends, computed by the single-table
evaluation's own function (:func:`~synthgen.evaluation.quality.quality_report_scores`) on the
value columns (key columns left out). Per foreign key: the trends between each parent column
and each child column over child rows joined with their parent row, as sdmetrics'
multi-table ``InterTableTrends`` scores them (every pair counts, no association threshold):
``CorrelationSimilarity`` for two numeric columns, ``ContingencySimilarity`` otherwise, a
numeric column cut into 10 equal-width bins of the real values.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.data import PreparedData, prepare
from synthgen.evaluation.metrics import MetricResult
from synthgen.evaluation.quality import quality_report_scores, trends_details
from synthgen.evaluation.relational.keys import key_columns
from synthgen.evaluation.relational.limits import RelationalLimits
from synthgen.evaluation.thresholds import QUALITY_THRESHOLDS
from synthgen.schema import Schema
from synthgen.schema.metadata import ForeignKey, Metadata

__all__ = [
    "MAX_LABELS",
    "comparable_columns",
    "parent_child_trends",
    "table_metrics",
    "table_schema",
    "value_columns",
]

#: Label columns with more distinct real labels than this (names, free text) are left out of
#: every comparison: two samples of real people share few such labels, so their shapes and
#: pair trends score low even between real samples, and a classifier spots unseen labels by
#: their codes alone (the single-table report leaves such columns out when it recognises them
#: as personal data).
MAX_LABELS = 250

#: (pass, warn) limits of the parent-child trends (as the single-table pair trends).
TRENDS_LIMITS = QUALITY_THRESHOLDS["column_pair_trends"]


def value_columns(metadata: Metadata, table: str, frame: pd.DataFrame) -> list[str]:
    """The columns of ``table`` that hold data (every column but its keys)."""
    keys = set(key_columns(metadata, table))
    return [c for c in frame.columns if c not in keys]


def table_schema(frame: pd.DataFrame) -> Schema | None:
    """Column kinds of a real table (every label kept, no structure search), or ``None``
    when it has no column."""
    if frame.shape[1] == 0 or len(frame) == 0:
        return None
    return Schema.infer(frame, min_count=1, structure=False)


def comparable_columns(
    frame: pd.DataFrame, schema: Schema | None
) -> tuple[list[str], dict[str, str]]:
    """The columns of a real ``frame`` worth comparing, and why the others are left out
    (text, or more than :data:`MAX_LABELS` distinct labels).

    Examples
    --------
    >>> df = pd.DataFrame({"name": [f"n{i % 260}" for i in range(520)], "x": range(520)})
    >>> comparable_columns(df, table_schema(df))
    (['x'], {'name': 'categorical column, 260 distinct labels'})
    """
    keep, left_out = [], {}
    for name in frame.columns:
        kind = schema[name].kind if schema is not None and name in schema else None
        if kind in ("categorical", "text"):
            n = int(frame[name].nunique())
            if kind == "text" or n > MAX_LABELS:
                left_out[name] = f"{kind} column, {n} distinct labels"
                continue
        keep.append(name)
    return keep, left_out


def _sample(frame: pd.DataFrame, cap: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= cap:
        return frame
    rows = np.sort(rng.choice(len(frame), cap, replace=False))
    return frame.iloc[rows]


def table_metrics(
    table: str,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema | None,
    limits: RelationalLimits,
    rng: np.random.Generator,
) -> list[MetricResult]:
    """Column shapes and column pair trends of one table's value columns.

    ``real`` and ``synthetic`` hold the value columns only; ``schema`` describes them.
    """
    shapes_text = (
        f"Table {table}: sdmetrics Column Shapes (KSComplement / TVComplement) of its value "
        "columns, keys left out."
    )
    trends_text = (
        f"Table {table}: sdmetrics Column Pair Trends of its value columns (pairs with real "
        "|r| > 0.5 or Cramér's V > 0.3)."
    )
    why = None
    if schema is None or real.shape[1] == 0:
        why = "no column besides the keys"
    elif len(synthetic) == 0:
        why = "the synthetic table is empty"
    elif all(spec.kind in ("id", "constant") or spec.semantic for spec in schema):
        why = "every value column is an id, a constant or generated personal data"
    if why is not None:
        return [
            _skip("column_shapes", shapes_text, why, "column_shapes"),
            _skip("column_pair_trends", trends_text, why, "column_pair_trends"),
        ]
    prep = prepare(
        _sample(real, limits.table_rows, rng),
        _sample(synthetic, limits.table_rows, rng),
        schema=schema,
    )
    q = quality_report_scores(prep)
    details = {"rows": {"real": prep.n_rows("real"), "synthetic": prep.n_rows("synthetic")}}
    return [
        MetricResult.graded(
            "column_shapes",
            "fidelity",
            q["column_shapes"],
            1.0,
            "higher",
            "at_least",
            *QUALITY_THRESHOLDS["column_shapes"],
            shapes_text,
            {"per_column": q["shapes_details"], **details, "excluded": prep.excluded},
        ),
        MetricResult.graded(
            "column_pair_trends",
            "fidelity",
            q["column_pair_trends"],
            1.0,
            "higher",
            "at_least",
            *QUALITY_THRESHOLDS["column_pair_trends"],
            trends_text,
            {**trends_details(q), **details},
            reason="no column pair of the real table is associated strongly enough for "
            "sdmetrics to score it",
        ),
    ]


def _skip(name: str, text: str, why: str, thresholds: str) -> MetricResult:
    pass_at, warn_at = QUALITY_THRESHOLDS[thresholds]
    return MetricResult.skipped(
        name,
        "fidelity",
        1.0,
        "higher",
        text,
        why,
        rule="at_least",
        pass_at=pass_at,
        warn_at=warn_at,
    )


def _joined(
    tables: dict[str, pd.DataFrame],
    fk: ForeignKey,
    columns: dict[str, list[str]],
    rows: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Child rows (a sample) with their parent's value columns, names prefixed by table."""
    child, parent = tables[fk.child], tables[fk.parent]
    c_cols, p_cols = columns[fk.child], columns[fk.parent]
    left = _sample(child[[fk.column, *c_cols]], rows, rng)
    right = parent[[fk.parent_column, *p_cols]].drop_duplicates(fk.parent_column)
    left = left.rename(columns={c: f"{fk.child}.{c}" for c in c_cols})
    right = right.rename(columns={c: f"{fk.parent}.{c}" for c in p_cols})
    joined = left.merge(right, left_on=fk.column, right_on=fk.parent_column, how="inner")
    cols = [f"{fk.parent}.{c}" for c in p_cols] + [f"{fk.child}.{c}" for c in c_cols]
    return joined[cols].reset_index(drop=True)


def _binned(prep: PreparedData, frame: str, name: str) -> np.ndarray:
    """A column as discrete codes: categories as their codes, numbers in 10 equal-width bins
    of the real values (sdmetrics' ``discretize_column``), missing in a bin of its own."""
    if name in prep.categorical:
        return prep.codes[frame][:, prep.categorical.index(name)]
    j = prep.numeric.index(name)
    ref = prep.num["real"][:, j]
    edges = np.histogram_bin_edges(ref[~np.isnan(ref)], bins=10)
    edges[0], edges[-1] = -np.inf, np.inf
    return np.digitize(prep.num[frame][:, j], edges)


def _pair_score(prep: PreparedData, a: str, b: str) -> float:
    from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity

    frames = {}
    if a in prep.numeric and b in prep.numeric:
        for f in ("real", "synthetic"):
            ia, ib = prep.numeric.index(a), prep.numeric.index(b)
            frames[f] = pd.DataFrame({a: prep.num[f][:, ia], b: prep.num[f][:, ib]})
        metric: Any = CorrelationSimilarity
    else:
        for f in ("real", "synthetic"):
            frames[f] = pd.DataFrame({a: _binned(prep, f, a), b: _binned(prep, f, b)})
        metric = ContingencySimilarity
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant-input warnings: scored as undefined
            score = float(metric.compute(frames["real"], frames["synthetic"]))
    except Exception:  # sdmetrics raises on a constant column: the pair has no trend to score
        return float("nan")
    return score


def parent_child_trends(
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    fk: ForeignKey,
    columns: dict[str, list[str]],
    limits: RelationalLimits,
    rng: np.random.Generator,
) -> MetricResult:
    """Average trend similarity of (parent column, child column) pairs over joined rows
    (``columns``: the compared columns of each table)."""
    text = (
        f"{fk.child}.{fk.column} -> {fk.parent}: average similarity of the trends between "
        "parent and child columns over child rows joined with their parent (sdmetrics "
        "InterTableTrends: correlation or contingency similarity, every pair counted; at most "
        f"{limits.cross_pairs} pairs, drawn with the seed)."
    )
    pass_at, warn_at = TRENDS_LIMITS
    skip = MetricResult.skipped
    j_real = _joined(real, fk, columns, limits.table_rows, rng)
    j_syn = _joined(synthetic, fk, columns, limits.table_rows, rng)
    parent_cols = [c for c in j_real.columns if c.startswith(f"{fk.parent}.")]
    child_cols = [c for c in j_real.columns if c not in parent_cols]
    why = None
    if not parent_cols or not child_cols:
        why = "the parent or the child has no column besides the keys"
    elif len(j_real) == 0 or len(j_syn) == 0:
        why = "no child row joins a parent row" + (
            " in the synthetic tables" if len(j_real) else ""
        )
    if why is None:
        schema = Schema.infer(j_real, min_count=1, structure=False)
        usable = [s.name for s in schema if s.kind not in ("id", "constant") and not s.semantic]
        pairs = [
            (a, b)
            for a, b in itertools.product(parent_cols, child_cols)
            if a in usable and b in usable
        ]
        if not pairs:
            why = "no usable parent-child column pair (ids, constants, personal data)"
    if why is not None:
        return skip(
            "parent_child_trends", "fidelity", 1.0, "higher", text, why,
            rule="at_least", pass_at=pass_at, warn_at=warn_at,
        )  # fmt: skip
    if len(pairs) > limits.cross_pairs:
        pick = np.sort(rng.choice(len(pairs), limits.cross_pairs, replace=False))
        pairs = [pairs[i] for i in pick]
    prep = prepare(j_real, j_syn, schema=schema)
    scores = {f"{a} / {b}": _pair_score(prep, a, b) for a, b in pairs}
    found = [s for s in scores.values() if np.isfinite(s)]
    return MetricResult.graded(
        "parent_child_trends",
        "fidelity",
        float(np.mean(found)) if found else None,
        1.0,
        "higher",
        "at_least",
        pass_at,
        warn_at,
        text,
        {"per_pair": scores, "rows": {"real": len(j_real), "synthetic": len(j_syn)}},
        reason="no pair could be scored (constant columns)",
    )
