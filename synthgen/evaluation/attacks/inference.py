"""Model-based attribute inference: predict each column from the others with a model trained
on the synthetic rows, and compare its accuracy on training rows with that on unseen rows.

For every column in turn as the *secret*, a gradient-boosting classifier learns the secret from
the other columns of the synthetic rows only. It then guesses the secret of the member
candidates (training rows) and of the non-member candidates (holdout rows) of the membership
threat model (:mod:`.ensemble`), which have the same size. The holdout rows are the control: a
model can guess a secret from what the population implies (income from education), and that is
not a leak. The risk is the excess success on training rows, ``(a - c) / (1 - c)``, as in
Anonymeter (:func:`~synthgen.evaluation.anonymeter.risk_from_counts`), but with a conservative
interval (:func:`conservative_risk`): where the control is almost always right (a column implied
by another, such as ``education-num`` by ``education``), three misses among the controls against
none among the members would otherwise read as a risk of 0.6 "significantly" above zero.
A numeric secret is guessed as its decile (edges from the synthetic rows; missing is a class of
its own), a categorical one as its label among the synthetic rows' 9 most frequent, or "another
label": at most 10 classes, because a boosted classifier grows one tree per class and
iteration, and the comparison with the control stays fair whatever the grouping.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from synthgen.evaluation.anonymeter import Risk, success_rate
from synthgen.evaluation.attacks.space import AttackSpace, Rows
from synthgen.evaluation.data import PreparedData

__all__ = ["conservative_risk", "model_inference_risks"]

#: Classes of a secret: quantile bins of a number, the most frequent labels (+ the rest).
NUMERIC_BINS = 10
MAX_CLASSES = 10


def _top_classes(y_syn: np.ndarray, *ys: np.ndarray) -> list[np.ndarray]:
    labels, counts = np.unique(y_syn, return_counts=True)
    kept = labels[np.argsort(-counts, kind="stable")[: MAX_CLASSES - 1]]
    return [np.where(np.isin(y, kept), y, -1) for y in (y_syn, *ys)]


def conservative_risk(
    n_attack: int, n_control: int, n_total: int, confidence: float = 0.95
) -> Risk:
    """Anonymeter's risk ``(a - c) / (1 - c)`` with the interval from the extreme ends of both
    Wilson intervals (lower: ``a`` at its lowest, ``c`` at its highest), clipped to [0, 1].

    The first-order error of :func:`~synthgen.evaluation.anonymeter.risk_from_counts` is far
    too narrow when ``c`` is near 1, where the risk is a ratio of a few misses.

    Examples
    --------
    >>> r = conservative_risk(500, 497, 500)  # an implied column: no evidence of a leak
    >>> round(r.value, 2), r.ci_low
    (0.61, 0.0)
    >>> conservative_risk(400, 250, 500).ci_low > 0.4  # a real gain
    True
    """
    a, ea = success_rate(n_attack, n_total, confidence)
    c, ec = success_rate(n_control, n_total, confidence)

    def ratio(gain: float, rest: float) -> float:
        return float(np.clip(gain / rest, 0.0, 1.0)) if rest > 0 else 0.0

    value = ratio(a - c, 1.0 - c)
    low = ratio((a - ea) - (c + ec), 1.0 - (c + ec))
    high = ratio((a + ea) - max(c - ec, 0.0), 1.0 - max(c - ec, 0.0))
    return Risk(value, min(low, value), max(high, value), a, c, n_total)


def _secret_classes(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    out = np.digitize(values, edges)
    return np.where(np.isnan(values), len(edges) + 1, out)


def model_inference_risks(
    prep: PreparedData,
    space: AttackSpace,
    synthetic: Rows,
    members: Rows,
    nonmembers: Rows,
    secrets: list[str],
    *,
    max_iter: int = 10,
    max_rows: int = 3000,
    random_state: int = 0,
    confidence: float = 0.95,
) -> dict[str, Risk]:
    """Risk of each secret column (see the module docstring).

    Each model learns from at most ``max_rows`` synthetic rows (a seeded sample) in
    ``max_iter`` boosting rounds: fifteen secrets stay within a few seconds.

    Examples
    --------
    >>> import pandas as pd
    >>> from synthgen.evaluation.data import prepare
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("ab"), 400)})
    >>> prep = prepare(df.iloc[:200], df.iloc[:200], df.iloc[200:])  # copies: a leak
    >>> rows = lambda f: Rows(*prep.take(f))
    >>> space = AttackSpace([2]).fit(rows("synthetic"), rows("holdout"))
    >>> risks = model_inference_risks(prep, space, rows("synthetic"), rows("real"),
    ...                               rows("holdout"), ["c"], max_iter=50)
    >>> risks["c"].value > 0.2
    True
    """
    if len(synthetic) > max_rows:
        rng = np.random.default_rng([random_state, 4])
        synthetic = synthetic.take(np.sort(rng.choice(len(synthetic), max_rows, replace=False)))
    X_syn, X_m, X_n = (space.matrix(r) for r in (synthetic, members, nonmembers))
    mask = space.categorical_mask
    n_num = len(prep.numeric)
    out: dict[str, Risk] = {}
    n = min(len(members), len(nonmembers))
    for secret in secrets:
        if secret in prep.numeric:
            j = prep.numeric.index(secret)
            col = j
            vals = synthetic.num[:, j]
            qs = (
                np.nanquantile(vals, np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1])
                if np.isfinite(vals).any()
                else np.empty(0)
            )
            edges = np.unique(qs)
            y_syn, y_m, y_n = (
                _secret_classes(r.num[:, j], edges) for r in (synthetic, members, nonmembers)
            )
        else:
            col = n_num + prep.categorical.index(secret)
            y_syn, y_m, y_n = _top_classes(*(X[:, col].astype(int) for X in (X_syn, X_m, X_n)))
        keep = np.arange(X_syn.shape[1]) != col
        if not keep.any() or len(np.unique(y_syn)) < 2:
            continue
        model = HistGradientBoostingClassifier(
            max_iter=max_iter,
            learning_rate=0.3,
            max_leaf_nodes=15,
            categorical_features=mask[keep],
            early_stopping=False,
            random_state=random_state,
        ).fit(X_syn[:, keep], y_syn)
        right_m = int((model.predict(X_m[:n, keep]) == y_m[:n]).sum())
        right_n = int((model.predict(X_n[:n, keep]) == y_n[:n]).sum())
        out[secret] = conservative_risk(right_m, right_n, n, confidence)
    return out
