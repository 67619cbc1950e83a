"""Helpers shared by the evaluation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.evaluation import EvaluationLimits

#: Small caps so every evaluate() call in the tests takes about a second.
FAST = EvaluationLimits(hgb_max_iter=30, anonymeter_attacks=200, precision_recall_rows=800)


def make_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Mixed frame with correlated numbers, a dependent category, a date and missing cells."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": x,
            "y": 2.0 * x + rng.normal(scale=0.5, size=n),
            "c": np.where(x + rng.normal(scale=0.3, size=n) > 0, "high", "low"),
            "g": rng.choice(["a", "b", "c"], size=n),
            "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(np.round(x * 30 + 100), unit="D"),
            "label": np.where(x + rng.normal(scale=0.7, size=n) > 0.2, "yes", "no"),
        }
    )
    frame.loc[rng.choice(n, n // 20, replace=False), "y"] = np.nan
    frame.loc[rng.choice(n, n // 20, replace=False), "g"] = None
    return frame
