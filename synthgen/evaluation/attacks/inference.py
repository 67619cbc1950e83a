"""Model-based attribute inference: predict each column from the others with a model trained
on the synthetic rows, and compare its accuracy on training rows with that on unseen rows.

For every column in turn as the *secret*, a gradient-boosting classifier learns the secret from
the other columns of the synthetic rows only. It then guesses the secret of the member
candidates (training rows) and of the non-member candidates (holdout rows) of the membership
threat model (:mod:`.ensemble`), which have the same size. The holdout rows are the control: a
model can guess a secret from what the population implies (income from education), and that is
not a leak. The risk is the excess success on training rows, ``(a - c) / (1 - c)`` with Wilson
intervals, as in Anonymeter (:func:`~synthgen.evaluation.anonymeter.risk_from_counts`).
A numeric secret is guessed as its decile (edges from the synthetic rows; missing is a class of
its own), a categorical one as its label (labels beyond the attack space's width share buckets).
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from synthgen.evaluation.anonymeter import Risk, risk_from_counts
from synthgen.evaluation.attacks.space import AttackSpace, Rows
from synthgen.evaluation.data import PreparedData

__all__ = ["model_inference_risks"]

#: Classes of a numeric secret (quantile bins of the synthetic values).
NUMERIC_BINS = 10


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
    max_iter: int = 30,
    random_state: int = 0,
    confidence: float = 0.95,
) -> dict[str, Risk]:
    """Risk of each secret column (see the module docstring).

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
            y_syn, y_m, y_n = (X[:, col].astype(int) for X in (X_syn, X_m, X_n))
        keep = np.arange(X_syn.shape[1]) != col
        if not keep.any() or len(np.unique(y_syn)) < 2:
            continue
        model = HistGradientBoostingClassifier(
            max_iter=max_iter,
            learning_rate=0.2,
            categorical_features=mask[keep],
            early_stopping=False,
            random_state=random_state,
        ).fit(X_syn[:, keep], y_syn)
        right_m = int((model.predict(X_m[:n, keep]) == y_m[:n]).sum())
        right_n = int((model.predict(X_n[:n, keep]) == y_n[:n]).sum())
        out[secret] = risk_from_counts(right_m, right_n, n, confidence)
    return out
