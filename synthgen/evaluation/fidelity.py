"""Fidelity: does the synthetic table look like the real one?

Column shapes and column pair trends are sdmetrics' single-table ``QualityReport`` properties,
computed by that report itself so that the numbers are exactly sdmetrics' (a full report on a
table of 26,000 rows takes under a second). The other metrics are our own: missing-value
similarity, category and range coverage, a detection AUC, and alpha-precision / beta-recall.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from synthgen.evaluation.data import PreparedData
from synthgen.evaluation.distance import MixedEmbedding
from synthgen.evaluation.metrics import MetricResult
from synthgen.evaluation.models import feature_matrix, make_model, seed_from, single_thread
from synthgen.evaluation.quality import (
    SDMETRICS_SUBSAMPLE_ROWS,
    quality_report_scores,
    sdmetrics_metadata,
    trends_details,
)
from synthgen.evaluation.thresholds import QUALITY_THRESHOLDS, EvaluationLimits

__all__ = [
    "SDMETRICS_SUBSAMPLE_ROWS",
    "association_matrix",
    "detection_metric",
    "fidelity_metrics",
    "quality_report_scores",
    "sdmetrics_metadata",
]


def _missing_similarity(prep: PreparedData) -> tuple[float, dict[str, float]]:
    real, syn = prep.frames["real"], prep.frames["synthetic"]
    per = {c: float(1.0 - abs(real[c].isna().mean() - syn[c].isna().mean())) for c in prep.kinds}
    return float(np.mean(list(per.values()))), per


def _category_coverage(prep: PreparedData) -> tuple[float, dict[str, float]]:
    per = {}
    for j, name in enumerate(prep.categorical):
        missing_code = (
            len(prep.categories[name]) - 1 if prep.categories[name][-1:] == [None] else -1
        )
        real = set(np.unique(prep.codes["real"][:, j]).tolist()) - {missing_code}
        syn = set(np.unique(prep.codes["synthetic"][:, j]).tolist())
        if real:
            per[name] = len(real & syn) / len(real)
    return (float(np.mean(list(per.values()))) if per else float("nan")), per


def _range_coverage(prep: PreparedData) -> tuple[float, dict[str, float]]:
    per = {}
    for j, name in enumerate(prep.numeric):
        r, s = prep.num["real"][:, j], prep.num["synthetic"][:, j]
        if np.isnan(r).all():
            continue
        lo, hi = np.nanmin(r), np.nanmax(r)
        if hi <= lo:
            continue
        if np.isnan(s).all():
            per[name] = 0.0
            continue
        overlap = min(hi, np.nanmax(s)) - max(lo, np.nanmin(s))
        per[name] = float(np.clip(overlap / (hi - lo), 0.0, 1.0))
    return (float(np.mean(list(per.values()))) if per else float("nan")), per


def _detection_auc(prep: PreparedData, limits: EvaluationLimits, rng: np.random.Generator):
    n = min(prep.n_rows("holdout"), prep.n_rows("synthetic"), limits.detection_rows)
    if n < 5 * limits.detection_folds:
        return None, f"too few rows ({n}) for a {limits.detection_folds}-fold detection"
    rows_h = rng.choice(prep.n_rows("holdout"), n, replace=False)
    rows_s = rng.choice(prep.n_rows("synthetic"), n, replace=False)
    Xh, mask = feature_matrix(prep, "holdout", rows_h)
    Xs, _ = feature_matrix(prep, "synthetic", rows_s)
    X = np.concatenate([Xh, Xs])
    y = np.r_[np.zeros(n), np.ones(n)]
    seed = seed_from(rng)
    model = make_model("classification", mask, seed, limits.hgb_max_iter)
    cv = StratifiedKFold(limits.detection_folds, shuffle=True, random_state=seed)
    with single_thread():
        proba = cross_val_predict(model, X, y, cv=cv, method="predict_proba", n_jobs=1)[:, 1]
    return float(roc_auc_score(y, proba)), None


def _ball_coverage(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Whether each point lies in at least one ball (chunked, no full distance matrix)."""
    inside = np.zeros(len(points), dtype=bool)
    c2 = (centres**2).sum(axis=1)
    r2 = radii**2 + 1e-9  # round-off of the dot-product trick
    for start in range(0, len(points), 1024):
        p = points[start : start + 1024]
        d2 = (p**2).sum(axis=1)[:, None] + c2[None, :] - 2.0 * p @ centres.T
        inside[start : start + 1024] = (d2 <= r2[None, :]).any(axis=1)
    return inside


def _kth_radius(points: np.ndarray, k: int) -> np.ndarray:
    from synthgen.evaluation.distance import nearest

    dist, _ = nearest(points, points, k=min(k + 1, len(points)))
    return dist[:, -1]  # column 0 is the point itself


def _precision_recall(
    prep: PreparedData, limits: EvaluationLimits, rng: np.random.Generator, alpha: float = 0.95
) -> tuple[float, float]:
    """Alpha-precision and beta-recall (Alaa et al., 2022), k-NN-ball version.

    Each real row has a ball reaching its k-th nearest real neighbour; the alpha-support keeps
    the ``alpha`` share of balls with the smallest radii (outliers out). Alpha-precision is the
    share of synthetic rows inside the real support; beta-recall, symmetrically, the share of
    real rows inside the synthetic support (beta = alpha).
    """
    n_r = min(prep.n_rows("real"), limits.precision_recall_rows)
    n_s = min(prep.n_rows("synthetic"), limits.precision_recall_rows)
    rows_r = rng.choice(prep.n_rows("real"), n_r, replace=False)
    rows_s = rng.choice(prep.n_rows("synthetic"), n_s, replace=False)
    num_r, cod_r = prep.take("real", rows_r)
    num_s, cod_s = prep.take("synthetic", rows_s)
    emb = MixedEmbedding(
        num_r,
        [len(prep.categories[c]) for c in prep.categorical],
        scale="standard",
        num_missing=np.isnan(np.concatenate([num_r, num_s])).any(axis=0),
    )
    R, S = emb.transform(num_r, cod_r), emb.transform(num_s, cod_s)
    k = limits.precision_recall_k
    rad_r, rad_s = _kth_radius(R, k), _kth_radius(S, k)
    keep_r = rad_r <= np.quantile(rad_r, alpha)
    keep_s = rad_s <= np.quantile(rad_s, alpha)
    precision = _ball_coverage(S, R[keep_r], rad_r[keep_r]).mean()
    recall = _ball_coverage(R, S[keep_s], rad_s[keep_s]).mean()
    return float(precision), float(recall)


def association_matrix(prep: PreparedData, frame: str, columns: list[str], bins: int = 10):
    """Cramér's V between every pair of ``columns`` (numerics cut into quantile bins).

    Used for the correlation-difference heatmap: one association measure for every kind of
    pair. Bin edges come from the real frame so both frames are binned alike.
    """
    coded = []
    codes = prep.compact_codes(frame)  # a high-cardinality column: frequent labels + one code
    for name in columns:
        if name in prep.numeric:
            j = prep.numeric.index(name)
            ref = prep.num["real"][:, j]
            ref = ref[~np.isnan(ref)]
            edges = (
                np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1])) if len(ref) else []
            )
            x = prep.num[frame][:, j]
            c = np.searchsorted(edges, x, side="right")
            coded.append(np.where(np.isnan(x), len(edges) + 1, c))
        else:
            coded.append(codes[:, prep.categorical.index(name)])
    coded = [_dense(c) for c in coded]  # once per column, not once per pair
    m = len(columns)
    out = np.eye(m)
    for a in range(m):
        for b in range(a + 1, m):
            out[a, b] = out[b, a] = _cramers_v(coded[a], coded[b], dense=True)
    return out


def _dense(x: np.ndarray) -> np.ndarray:
    """Codes renumbered 0..k-1 (sorted), without a sort when they are small non-negative ints."""
    if x.size and x.dtype.kind in "iu" and x.min() >= 0 and x.max() < 4 * len(x) + 1024:
        used = np.bincount(x) > 0
        return (np.cumsum(used) - 1)[x]
    return np.unique(x, return_inverse=True)[1].ravel()


def _cramers_v(x: np.ndarray, y: np.ndarray, dense: bool = False) -> float:
    xi, yi = (x, y) if dense else (_dense(x), _dense(y))
    r, c = xi.max() + 1, yi.max() + 1
    if r < 2 or c < 2:
        return 0.0
    table = np.bincount(xi * c + yi, minlength=r * c).reshape(r, c).astype(float)
    n = table.sum()
    expected = table.sum(1, keepdims=True) @ table.sum(0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / np.where(expected > 0, expected, 1)).sum()
    return float(np.sqrt(chi2 / (n * (min(r, c) - 1))))


def detection_metric(
    prep: PreparedData, limits: EvaluationLimits, rng: np.random.Generator
) -> MetricResult:
    """``detection_auc``: how well a classifier tells holdout rows from synthetic rows
    (skipped without a holdout)."""
    T = QUALITY_THRESHOLDS
    explanation = (
        "Cross-validated ROC AUC of a gradient-boosted classifier telling holdout rows from "
        "synthetic rows (0.5: indistinguishable)."
    )
    if not prep.has_holdout:
        return MetricResult.skipped(
            "detection_auc",
            "fidelity",
            0.5,
            "closer to 0.5",
            explanation,
            "no holdout given",
            rule="at_most",
            pass_at=T["detection_auc"][0],
            warn_at=T["detection_auc"][1],
        )
    value, why = _detection_auc(prep, limits, rng)
    return MetricResult.graded(
        "detection_auc",
        "fidelity",
        value,
        0.5,
        "closer to 0.5",
        "at_most",
        *T["detection_auc"],
        explanation,
        reason=why,
    )


def fidelity_metrics(
    prep: PreparedData,
    limits: EvaluationLimits,
    rng: np.random.Generator,
    *,
    detection: bool = True,
) -> list[MetricResult]:
    """Every fidelity metric of the report (``detection=False``: all but ``detection_auc``,
    which :func:`detection_metric` then measures on a stream of its own).

    Examples
    --------
    >>> import pandas as pd
    >>> from synthgen.evaluation.data import prepare
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=60), "c": rng.choice(["a", "b"], 60)})
    >>> res = fidelity_metrics(prepare(df, df, df), EvaluationLimits(hgb_max_iter=5), rng)
    >>> {m.name: m.value for m in res}["column_shapes"]
    1.0
    """
    T = QUALITY_THRESHOLDS
    out: list[MetricResult] = []
    q = quality_report_scores(prep, rng)
    out.append(
        MetricResult.graded(
            "column_shapes",
            "fidelity",
            q["column_shapes"],
            1.0,
            "higher",
            "at_least",
            *T["column_shapes"],
            "Average per-column similarity of distributions (sdmetrics KSComplement for numbers "
            "and dates, TVComplement for categories).",
            {"per_column": q["shapes_details"]},
        )
    )
    out.append(
        MetricResult.graded(
            "column_pair_trends",
            "fidelity",
            q["column_pair_trends"],
            1.0,
            "higher",
            "at_least",
            *T["column_pair_trends"],
            "Average similarity of pairwise correlations / contingency tables, over the pairs that "
            "sdmetrics' QualityReport scores (real |Pearson r| > 0.5 or Cramér's V > 0.3).",
            trends_details(q),
            reason="no column pair of the real data is associated strongly enough for sdmetrics "
            "to score it (|r| > 0.5 or Cramér's V > 0.3)",
        )
    )
    value, per = _missing_similarity(prep)
    out.append(
        MetricResult.graded(
            "missing_value_similarity",
            "fidelity",
            value,
            1.0,
            "higher",
            "at_least",
            *T["missing_value_similarity"],
            "One minus the gap in missing-value rate, averaged over the columns.",
            {"per_column": per},
        )
    )
    value, per = _category_coverage(prep)
    out.append(
        MetricResult.graded(
            "category_coverage",
            "fidelity",
            value,
            1.0,
            "higher",
            "at_least",
            *T["category_coverage"],
            "Share of the real categories that appear in the synthetic data, averaged over the "
            "categorical columns.",
            {"per_column": per},
            reason="no categorical column",
        )
    )
    value, per = _range_coverage(prep)
    out.append(
        MetricResult.graded(
            "range_coverage",
            "fidelity",
            value,
            1.0,
            "higher",
            "at_least",
            *T["range_coverage"],
            "Share of each real numeric range [min, max] covered by the synthetic range, averaged.",
            {"per_column": per},
            reason="no numeric column with a range",
        )
    )
    if detection:
        out.append(detection_metric(prep, limits, rng))
    precision, recall = _precision_recall(prep, limits, rng)
    out.append(
        MetricResult.graded(
            "alpha_precision",
            "fidelity",
            precision,
            1.0,
            "higher",
            "at_least",
            *T["alpha_precision"],
            "Share of synthetic rows inside the 95% k-NN support of the real rows (realism).",
        )
    )
    out.append(
        MetricResult.graded(
            "beta_recall",
            "fidelity",
            recall,
            1.0,
            "higher",
            "at_least",
            *T["beta_recall"],
            "Share of real rows inside the 95% k-NN support of the synthetic rows (diversity).",
        )
    )
    return out
