"""Small tables covering every column kind, for tests and examples."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_mixed_table", "make_structured_table"]


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


def make_structured_table(n_rows: int = 2000, random_state: int = 0) -> pd.DataFrame:
    """A listings-like table with structure every generator must keep.

    - ``neighbourhood -> borough``: 5 boroughs x 40 neighbourhoods, Zipf-like frequencies;
    - ``cadastral -> district``: 120 parcel codes in 8 numbered districts;
    - ``last_review`` (dates as text) and ``reviews_per_month`` missing in the same rows;
    - ``latitude`` / ``longitude``: points around each borough's centre (5 decimals);
    - ``start <= end`` dates, a price and a room type.

    Examples
    --------
    >>> df = make_structured_table(300)
    >>> int(df.groupby("neighbourhood")["borough"].nunique().max())
    1
    >>> bool((df["last_review"].isna() == df["reviews_per_month"].isna()).all())
    True
    """
    rng = np.random.default_rng(random_state)
    boroughs = ["Bronx", "Brooklyn", "Manhattan", "Queens", "Staten Island"]
    hoods = [f"{b[:5]}-{i:02d}" for b in boroughs for i in range(40)]
    weights = 1.0 / np.arange(1, len(hoods) + 1) ** 0.8
    hood_idx = rng.permutation(len(hoods))[
        rng.choice(len(hoods), n_rows, p=weights / weights.sum())
    ]
    borough_idx = hood_idx // 40
    centres = np.array([[40.84, -73.87], [40.65, -73.95], [40.78, -73.97], [40.72, -73.80],
                        [40.58, -74.15]])  # fmt: skip
    spread = 0.02 + 0.0006 * (hood_idx % 40)[:, None]
    point = centres[borough_idx] + rng.normal(0, 1, (n_rows, 2)) * spread
    parcel = rng.integers(0, 120, n_rows)
    reviewed = rng.random(n_rows) > 0.2
    review_day = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 900, n_rows), "D")
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 300, n_rows), "D")
    room = rng.choice(["Entire home", "Private room", "Shared room"], n_rows, p=[0.5, 0.45, 0.05])
    price = np.round(rng.lognormal(4.5, 0.5, n_rows) * (1 + (room == "Entire home")), 0)
    return pd.DataFrame(
        {
            "neighbourhood": np.asarray(hoods, dtype=object)[hood_idx],
            "borough": np.asarray(boroughs, dtype=object)[borough_idx],
            "latitude": np.round(point[:, 0], 5),
            "longitude": np.round(point[:, 1], 5),
            "room_type": room.astype(object),
            "price": price,
            "last_review": pd.Series(review_day.strftime("%Y-%m-%d")).where(reviewed),
            "reviews_per_month": np.where(
                reviewed, np.round(rng.gamma(1.5, 1.0, n_rows), 2), np.nan
            ),
            "cadastral": [f"P{p:04d}" for p in parcel],
            "district": (parcel % 8 + 1).astype("int64"),
            "start": start,
            "end": start + pd.to_timedelta(rng.integers(1, 60, n_rows), "D"),
        }
    )
