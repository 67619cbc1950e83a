"""sdmetrics' single-table QualityReport: the Column Shapes and Column Pair Trends scores.

Computed by sdmetrics' report itself, so that the numbers are exactly sdmetrics' (a full report
on a table of 26,000 rows takes under a second once sdmetrics is loaded).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.data import MAX_EXACT_CODES, PreparedData
from synthgen.evaluation.pair_trends import WIDE_PAIRS, PairTrends, pair_trends

__all__ = [
    "DETAIL_PAIRS",
    "OTHER_LABELS",
    "QUALITY_ROWS",
    "SDMETRICS_SUBSAMPLE_ROWS",
    "quality_report_scores",
    "sdmetrics_metadata",
    "trends_details",
]

#: Rows of each frame given to sdmetrics: larger frames are subsampled with the evaluation's
#: seed (a report on a million rows would otherwise take minutes).
QUALITY_ROWS = 100_000
#: Scored column pairs the report lists one by one: past this many (a table of about 450
#: columns whose pairs all count), only the lowest-scoring ones, so that the report of a
#: table of thousands of columns does not list millions of pairs (1.35 million, 48 MB of
#: JSON, at 3,000 columns).
DETAIL_PAIRS = 100_000
#: What the labels of a high-cardinality column past its most frequent ones are scored as.
OTHER_LABELS = "(other labels)"

#: sdmetrics' QualityReport estimates contingency tables from a random subsample of this many
#: rows (``num_rows_subsample``) when a frame is larger, drawing it from the *global* numpy
#: state. Above this size we switch the subsample off: the scores then use every row, are
#: deterministic and leave the global random state alone.
SDMETRICS_SUBSAMPLE_ROWS = 50_000

_SDTYPE = {
    "numeric": "numerical",
    "datetime": "datetime",
    "categorical": "categorical",
    "text": "categorical",
}


def sdmetrics_metadata(prep: PreparedData) -> dict[str, Any]:
    """sdmetrics single-table metadata built from the schema kinds of the used columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from synthgen.evaluation.data import prepare
    >>> df = pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5], "c": ["a", "b", "a", "b"]})
    >>> sdmetrics_metadata(prepare(df, df))
    {'columns': {'x': {'sdtype': 'numerical'}, 'c': {'sdtype': 'categorical'}}}
    """
    return {"columns": {name: {"sdtype": _SDTYPE[kind]} for name, kind in prep.kinds.items()}}


def _quality_report_class() -> type:
    """sdmetrics' single-table ``QualityReport``, imported without torch when torch is not
    loaded yet: sdmetrics imports it (when it can) only for a Bayesian-network metric we never
    use, and on a CPU that import costs seconds, as much as a whole copula export. While
    sdmetrics loads, ``torch`` is marked absent (sdmetrics then sets its ``torch`` to ``None``);
    the mark is removed right after, so a later ``import torch`` works as usual."""
    if "sdmetrics" in sys.modules or "torch" in sys.modules:
        from sdmetrics.reports.single_table import QualityReport

        return QualityReport
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail fast
    try:
        from sdmetrics.reports.single_table import QualityReport
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return QualityReport


def _frame(prep: PreparedData, what: str, rng: np.random.Generator | None) -> pd.DataFrame:
    """One frame as sdmetrics scores it: at most :data:`QUALITY_ROWS` rows (a seeded sample),
    high-cardinality columns by frequency rank (their most frequent real labels, then one
    :data:`OTHER_LABELS` for the rest)."""
    df = prep.frames[what]
    rows = None
    if len(df) > QUALITY_ROWS and rng is not None:
        rows = np.sort(rng.choice(len(df), QUALITY_ROWS, replace=False))
        df = df.iloc[rows].reset_index(drop=True)
    high = [c for c in prep.categorical if prep.high_cardinality(c)]
    if not high:
        return df
    df = df.copy()
    codes = prep.compact_codes(what, rows)
    for name in high:
        cats = prep.categories[name]
        lookup = np.empty(MAX_EXACT_CODES + 1, dtype=object)
        lookup[: MAX_EXACT_CODES - 1] = cats[: MAX_EXACT_CODES - 1]
        lookup[MAX_EXACT_CODES - 1] = OTHER_LABELS
        lookup[MAX_EXACT_CODES] = None
        df[name] = lookup[codes[:, prep.categorical.index(name)]]
    return df


def _wide_scores(
    report: Any, real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict[str, Any]
) -> tuple[pd.DataFrame, float, PairTrends] | None:
    """Column Shapes (sdmetrics' property) and Column Pair Trends
    (:func:`~synthgen.evaluation.pair_trends.pair_trends`, the same scores in one pass, in
    arrays) of a table of more than :data:`~synthgen.evaluation.pair_trends.WIDE_PAIRS`
    column pairs; ``None`` for narrower tables, or where a column's type leaves the pairs to
    sdmetrics."""
    n = len(metadata["columns"])
    if n * (n - 1) // 2 <= WIDE_PAIRS:
        return None
    try:  # the rules reproduced are those of sdmetrics' releases with pair thresholds
        from sdmetrics.reports.single_table._properties import ColumnShapes

        thresholds = (report.real_correlation_threshold, report.real_association_threshold)
    except (ImportError, AttributeError):
        return None
    trends = pair_trends(real, synthetic, metadata, thresholds)
    if trends is None:
        return None

    shapes = ColumnShapes()
    score = shapes.get_score(real, synthetic, metadata)
    return shapes.details, float(score), trends


def _report_trends(details: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The counted pairs of sdmetrics' Column Pair Trends details: ``"a / b"`` names and
    their scores."""
    counted = details[details["Meets Threshold?"].astype("boolean").fillna(False)]
    pairs = zip(counted["Column 1"].tolist(), counted["Column 2"].tolist(), strict=True)
    return [f"{a} / {b}" for a, b in pairs], counted["Score"].to_numpy(dtype=float)


def _lowest(scores: np.ndarray) -> np.ndarray | None:
    """Positions of the :data:`DETAIL_PAIRS` lowest ``scores``, in order (ties: the first);
    ``None`` where there are no more than that."""
    if len(scores) <= DETAIL_PAIRS:
        return None
    return np.sort(np.argsort(scores, kind="stable")[:DETAIL_PAIRS])


def quality_report_scores(
    prep: PreparedData, rng: np.random.Generator | None = None
) -> dict[str, Any]:
    """Column Shapes and Column Pair Trends of sdmetrics' single-table QualityReport.

    Returns a dict with ``column_shapes``, ``column_pair_trends`` (NaN when no column pair of
    the real data is associated strongly enough for sdmetrics to score it) and the per-column /
    per-pair details. With ``rng``, frames over :data:`QUALITY_ROWS` rows are subsampled; a
    high-cardinality column is scored by frequency rank (see :func:`_frame`). Past
    :data:`DETAIL_PAIRS` counted pairs, the details list the lowest-scoring ones.
    """
    with warnings.catch_warnings():
        # the single-table report is deprecated in favour of a unified one that gives the same
        # numbers; sdmetrics and pandas also warn about internals we cannot change
        warnings.simplefilter("ignore")
        report = _quality_report_class()()
        real, synthetic = _frame(prep, "real", rng), _frame(prep, "synthetic", rng)
        metadata = sdmetrics_metadata(prep)
        wide = _wide_scores(report, real, synthetic, metadata)
        if wide is not None:
            shapes, shapes_score, trends = wide
            trends_score = trends.mean_score()
            counted = np.flatnonzero(trends.meets)  # (a pair that counts is never unknown)
            scores = trends.score[counted]

            def pair_names(at: np.ndarray) -> list[str]:
                return trends.pair_names(counted[at])

        else:
            if max(len(real), len(synthetic)) > SDMETRICS_SUBSAMPLE_ROWS:
                report.num_rows_subsample = None
            report.generate(real, synthetic, metadata, verbose=False)
            props = report.get_properties().set_index("Property")["Score"]
            shapes_score, trends_score = props["Column Shapes"], props["Column Pair Trends"]
            shapes = report.get_details("Column Shapes")
            names, scores = _report_trends(report.get_details("Column Pair Trends"))

            def pair_names(at: np.ndarray) -> list[str]:
                return [names[k] for k in at.tolist()]

    per_column = {str(r.Column): float(r.Score) for r in shapes.itertuples()}
    kept = _lowest(scores)  # names are made for the listed pairs only
    at = np.arange(len(scores)) if kept is None else kept
    per_pair = dict(zip(pair_names(at), scores[at].tolist(), strict=True))
    return {
        "column_shapes": float(shapes_score),
        "column_pair_trends": float(trends_score),
        "shapes_details": per_column,
        "trends_details": per_pair,
        "n_pairs_scored": len(scores),
        "trends_details_lowest": kept is not None,
    }


def trends_details(scores: dict[str, Any]) -> dict[str, Any]:
    """The Column Pair Trends metric's details from :func:`quality_report_scores`' result:
    ``per_pair`` scores, and where that lists only the :data:`DETAIL_PAIRS` lowest of more
    pairs, how many were scored (``pairs_scored``) and that the list holds the lowest
    (``per_pair_lowest``).

    Examples
    --------
    >>> trends_details({"trends_details": {"a / b": 0.9}, "n_pairs_scored": 1,
    ...                 "trends_details_lowest": False})
    {'per_pair': {'a / b': 0.9}}
    """
    out: dict[str, Any] = {"per_pair": scores["trends_details"]}
    if scores["trends_details_lowest"]:
        out["pairs_scored"] = scores["n_pairs_scored"]
        out["per_pair_lowest"] = len(scores["trends_details"])
    return out
