"""The benchmark protocol's split of a table into train and holdout rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["split_train_holdout"]


def split_train_holdout(
    data: pd.DataFrame, *, train_share: float = 0.8, random_state: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffle with ``random_state`` and cut into train (first ``train_share``) and holdout.

    This is the benchmark protocol of the project: seed 0, 80/20.

    Examples
    --------
    >>> train, holdout = split_train_holdout(pd.DataFrame({"a": range(10)}))
    >>> len(train), len(holdout)
    (8, 2)
    """
    # The order ``data.sample(frac=1.0, random_state=random_state)`` shuffles into (pandas
    # draws it with ``RandomState(seed).choice``, a permutation), each half taken once.
    order = np.random.RandomState(random_state).permutation(len(data))
    cut = round(train_share * len(data))
    return _take(data, order[:cut]), _take(data, order[cut:])


def _take(data: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    out = data.take(rows)
    out.index = pd.RangeIndex(len(out))  # a new frame: renumbered in place, not copied
    return out
