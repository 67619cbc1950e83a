"""Small tables covering every column kind, for tests and examples."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_mixed_table"]


def make_mixed_table(n_rows: int = 200, random_state: int = 0) -> pd.DataFrame:
    """A table with one column of each kind and dtype synthgen supports.

    Columns: a float with gaps and two decimals, a bounded integer, a string category with odd
    whitespace and gaps, a pandas ``category``, a boolean, a datetime, dates written as strings,
    a unique identifier, a constant and an all-missing column. ``y`` depends on ``income`` and
    ``group`` so pair statistics are not trivial.

    Examples
    --------
    >>> df = make_mixed_table(50)
    >>> df.shape
    (50, 11)
    """
    rng = np.random.default_rng(random_state)
    group = rng.choice([" Male", "Female ", "  other"], n_rows, p=[0.5, 0.4, 0.1])
    income = np.round(rng.lognormal(10, 0.5, n_rows) + (group == " Male") * 5000, 2)
    income[rng.random(n_rows) < 0.1] = np.nan
    age = rng.integers(18, 90, n_rows)
    group_obj = group.astype(object)
    group_obj[rng.random(n_rows) < 0.05] = np.nan
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n_rows), unit="D")
    return pd.DataFrame(
        {
            "income": income,
            "age": age.astype("int64"),
            "group": group_obj,
            "tier": pd.Categorical(
                rng.choice(["low", "mid", "high"], n_rows), categories=["low", "mid", "high"]
            ),
            "member": age > 40,
            "joined": start,
            "visit": (start + pd.to_timedelta(rng.integers(1, 30, n_rows), unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "customer_id": [f"C{100000 + i}" for i in range(n_rows)],
            "country": ["NL"] * n_rows,
            "empty": [np.nan] * n_rows,
            "y": (income > np.nanmedian(income)).astype("int64"),
        }
    )
