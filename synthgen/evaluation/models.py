"""Feature matrices and gradient-boosted models shared by the detection and utility metrics."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from synthgen.evaluation.data import PreparedData

__all__ = ["MAX_NATIVE_CATEGORIES", "feature_matrix", "make_model", "seed_from", "single_thread"]

#: Categorical columns with at most this many codes use the native categorical support of
#: HistGradientBoosting (which is limited to 255 bins); larger ones are given as ordinal codes.
MAX_NATIVE_CATEGORIES = 250


def single_thread() -> threadpool_limits:
    """Context limiting OpenMP to one thread (HistGradientBoosting's ``n_jobs=1``).

    HistGradientBoosting parallelises with OpenMP, whose busy-waiting worker threads slow
    small fits down by orders of magnitude when the cores are shared with other work.
    """
    return threadpool_limits(limits=1, user_api="openmp")


def seed_from(rng: np.random.Generator) -> int:
    """An integer seed for sklearn, drawn from the evaluation's generator."""
    return int(rng.integers(0, 2**31 - 1))


def feature_matrix(
    prep: PreparedData,
    frame: str,
    rows: np.ndarray | None = None,
    *,
    exclude: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Features ``X`` and the categorical mask of one frame (``exclude``: a column to drop).

    Examples
    --------
    >>> import pandas as pd
    >>> from synthgen.evaluation.data import prepare
    >>> df = pd.DataFrame({"x": [0.5, 1.5, 2.5], "c": ["a", "b", "a"]})
    >>> X, mask = feature_matrix(prepare(df, df), "real")
    >>> X.shape, mask.tolist()
    ((3, 2), [False, True])
    """
    num = prep.num[frame] if rows is None else prep.num[frame][rows]
    # Compact codes: a high-cardinality column's rare labels (and labels of one frame only,
    # such as free text) share one code, so their first-seen order cannot tell frames apart.
    codes = prep.compact_codes(frame, rows)
    keep_num = [j for j, c in enumerate(prep.numeric) if c != exclude]
    keep_cat = [j for j, c in enumerate(prep.categorical) if c != exclude]
    X = np.concatenate([num[:, keep_num], codes[:, keep_cat].astype(float)], axis=1)
    native = [prep.n_compact(prep.categorical[j]) <= MAX_NATIVE_CATEGORIES for j in keep_cat]
    mask = np.array([False] * len(keep_num) + native, dtype=bool)
    return X, mask


def make_model(
    task: str, mask: np.ndarray, random_state: int, max_iter: int
) -> HistGradientBoostingClassifier | HistGradientBoostingRegressor:
    """A HistGradientBoosting model for ``task`` ("classification" / "regression").

    Early stopping is off so that the fit does not carve a random validation split out of
    small training sets and stays deterministic.
    """
    cls = (
        HistGradientBoostingClassifier
        if task == "classification"
        else HistGradientBoostingRegressor
    )
    return cls(
        max_iter=max_iter,
        early_stopping=False,
        categorical_features=mask if mask.any() else None,
        random_state=random_state,
    )
