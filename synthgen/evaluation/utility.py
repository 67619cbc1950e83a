"""Utility: is a model trained on synthetic rows as good as one trained on real rows?

TSTR (train on synthetic, test on the real holdout) against TRTR (train on real, test on the
same holdout), both with HistGradientBoosting. Classification when the target is categorical
(ROC AUC, macro one-vs-rest for more than two classes, and macro F1), regression when it is
numeric (R^2). The gaps are TRTR minus TSTR.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score, r2_score, roc_auc_score

from synthgen.evaluation.data import PreparedData
from synthgen.evaluation.metrics import MetricResult
from synthgen.evaluation.models import feature_matrix, make_model, seed_from, single_thread
from synthgen.evaluation.thresholds import QUALITY_THRESHOLDS, EvaluationLimits

__all__ = ["macro_ovr_auc", "utility_metrics"]

_SCORES = {
    "classification": [
        ("roc_auc", "ROC AUC on the real holdout (macro one-vs-rest for multiclass)"),
        ("f1_macro", "macro F1 on the real holdout"),
    ],
    "regression": [("r2", "R^2 on the real holdout")],
}


def macro_ovr_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Macro one-vs-rest ROC AUC over the classes present in ``y`` (NaN if fewer than two).

    For two classes this equals the ordinary binary AUC. Classes the model never saw score
    zero probability, so a model trained on data lacking a class is penalised, not crashed.

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1])
    >>> p = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
    >>> macro_ovr_auc(y, p, np.array([0, 1]))
    1.0
    """
    present = np.unique(y)
    if len(present) < 2:
        return float("nan")
    aucs = []
    for c in present:
        col = np.flatnonzero(classes == c)
        score = proba[:, col[0]] if len(col) else np.zeros(len(y))
        aucs.append(roc_auc_score(y == c, score))
    return float(np.mean(aucs))


def _target(prep: PreparedData, frame: str, task: str) -> np.ndarray:
    if task == "classification":
        j = prep.categorical.index(prep.target)
        codes = prep.codes[frame][:, j].astype(float)
        cats = prep.categories[prep.target]
        if cats and cats[-1] is None:  # missing target: not a class to predict
            codes[codes == len(cats) - 1] = np.nan
        return codes
    return prep.num[frame][:, prep.numeric.index(prep.target)]


def _fit_score(prep, train, test_X, test_y, task, mask, limits, rng) -> dict[str, float] | str:
    """Scores of a model trained on frame ``train``, or the reason it cannot be trained."""
    y = _target(prep, train, task)
    rows = np.flatnonzero(~np.isnan(y))
    if len(rows) > limits.utility_rows:
        rows = np.sort(rng.choice(rows, limits.utility_rows, replace=False))
    if len(rows) < 10:
        return f"{train} has fewer than 10 rows with a target value"
    if task == "classification" and len(np.unique(y[rows])) < 2:
        return f"the target has a single class in {train}"
    X, _ = feature_matrix(prep, train, rows, exclude=prep.target)
    model = make_model(task, mask, seed_from(rng), limits.hgb_max_iter)
    with single_thread():
        model.fit(X, y[rows])
        if task == "regression":
            return {"r2": float(r2_score(test_y, model.predict(test_X)))}
        proba = model.predict_proba(test_X)
    pred = model.classes_[proba.argmax(axis=1)]
    return {
        "roc_auc": macro_ovr_auc(test_y, proba, model.classes_),
        "f1_macro": float(f1_score(test_y, pred, average="macro", zero_division=0)),
    }


def utility_metrics(
    prep: PreparedData, limits: EvaluationLimits, rng: np.random.Generator
) -> list[MetricResult]:
    """TSTR, TRTR and their gap for each score of the task.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=200)
    >>> df = pd.DataFrame({"x": x, "y": np.where(x > 0, "hi", "lo")})
    >>> from synthgen.evaluation.data import prepare
    >>> res = utility_metrics(prepare(df, df, df, target="y"), EvaluationLimits(hgb_max_iter=5),
    ...                       rng)
    >>> [(m.name, m.status) for m in res][:3]
    [('tstr_roc_auc', 'info'), ('trtr_roc_auc', 'info'), ('roc_auc_gap', 'pass')]
    """
    T = QUALITY_THRESHOLDS
    group = "utility"
    if prep.target is None:
        return [
            MetricResult.skipped(
                "utility",
                group,
                None,
                "higher",
                "TSTR vs TRTR model scores.",
                "no target given",
            )
        ]
    task = "classification" if prep.target in prep.categorical else "regression"
    reason = None if prep.has_holdout else "no holdout given"
    if reason is None:
        test_y = _target(prep, "holdout", task)
        rows = np.flatnonzero(~np.isnan(test_y))
        if len(rows) > limits.utility_rows:
            rows = np.sort(rng.choice(rows, limits.utility_rows, replace=False))
        test_y = test_y[rows]
        test_X, mask = feature_matrix(prep, "holdout", rows, exclude=prep.target)
        tstr = _fit_score(prep, "synthetic", test_X, test_y, task, mask, limits, rng)
        trtr = _fit_score(prep, "real", test_X, test_y, task, mask, limits, rng)
    out = []
    for key, what in _SCORES[task]:
        if reason is not None:
            r_s = r_r = reason
        else:
            r_s = tstr if isinstance(tstr, str) else None
            r_r = trtr if isinstance(trtr, str) else None
        v_s = None if r_s else tstr[key]
        v_r = None if r_r else trtr[key]
        out.append(
            MetricResult.info(
                f"tstr_{key}",
                group,
                v_s,
                None,
                "higher",
                f"Train on synthetic, test on real: {what}.",
                {"task": task},
                reason=r_s,
            )
        )
        out.append(
            MetricResult.info(
                f"trtr_{key}",
                group,
                v_r,
                None,
                "higher",
                f"Train on real, test on real (the reference): {what}.",
                {"task": task},
                reason=r_r,
            )
        )
        gap = None if (v_s is None or v_r is None) else v_r - v_s
        gap_reason = r_s or r_r
        if gap_reason is None and (gap is None or not np.isfinite(gap)):
            gap_reason = f"{key} is undefined on the holdout (e.g. a single class)"
        out.append(
            MetricResult.graded(
                f"{key}_gap",
                group,
                gap,
                0.0,
                "lower",
                "at_most",
                *T[f"{key}_gap"],
                f"TRTR minus TSTR {key}: how much is lost by training on synthetic rows.",
                {"task": task},
                reason=gap_reason,
            )
        )
    return out
