"""Structure discovery on wide tables: the pair searches look at the pairs that can hold a
rule, not at every pair of columns, and find what a pair-by-pair search finds."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.schema import Inequality, Schema
from synthgen.schema.pairs import viable_orders
from synthgen.schema.structure import GeoPair


def _wide_coordinates(n_cols: int, n_rows: int = 300) -> pd.DataFrame:
    """Numbers that could each be a coordinate (within [-1, 1], four decimals: shares, not a
    place), with a latitude and a longitude far apart that share their gaps."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"s{j}": rng.uniform(-0.9, 0.9, n_rows).round(4) for j in range(n_cols)})
    gaps = rng.random(n_rows) < 0.1
    frame.insert(3, "lat", np.where(gaps, np.nan, rng.uniform(40, 41, n_rows).round(5)))
    frame["lon"] = np.where(gaps, np.nan, rng.uniform(-74, -73, n_rows).round(5))
    return frame


def test_coordinates_in_a_wide_table_read_each_columns_gaps_once(monkeypatch):
    frame = _wide_coordinates(300)
    calls = 0
    isna = pd.Series.isna

    def counted(self: pd.Series) -> pd.Series:
        nonlocal calls
        calls += 1
        return isna(self)

    monkeypatch.setattr(pd.Series, "isna", counted)
    schema = Schema.infer(frame)
    assert schema.structure.geo_pairs == [GeoPair("lat", "lon")]
    # a pair at a time read two columns' gaps for each of the 45,451 pairs
    assert calls < 3 * frame.shape[1]


def _orders_one_pair_at_a_time(grid, kinds, low, high):
    k = grid.shape[1]
    return {
        (i, j)
        for i in range(k)
        for j in range(k)
        if i != j
        and kinds[i] == kinds[j]
        and not high[i] <= low[j]
        and not (grid[:, i] > grid[:, j]).any()
    }


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 9),
    st.integers(0, 2**32 - 1),
    st.integers(1, 4),
)
def test_viable_orders_are_the_ones_a_pair_by_pair_search_keeps(rows, cols, seed, block):
    rng = np.random.default_rng(seed)
    # columns in order on most rows (each below the next), a few cells out of place: many
    # orders hold on most rows and break on one, anywhere in the probe
    grid = np.tile(np.arange(cols, dtype=float), (rows, 1))
    moved = rng.random(grid.shape) < 0.03
    grid[moved] = rng.integers(0, cols, int(moved.sum()))
    grid[rng.random(grid.shape) < 0.1] = np.nan
    kinds = rng.integers(0, 2, cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column
        low, high = np.nanmin(grid, axis=0) - 1, np.nanmax(grid, axis=0) + 1
    low[rng.random(cols) < 0.2] = np.nan  # an all-missing column's range
    got = viable_orders(grid, kinds, low, high, block=block)
    assert got == _orders_one_pair_at_a_time(grid, kinds, low, high)


def test_an_order_among_hundreds_of_unrelated_columns_is_found():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({f"x{j}": rng.normal(size=2000) for j in range(200)})
    frame["start"] = rng.integers(50, 100, 2000).astype(float)  # above every x: no rule there
    frame.insert(50, "end", frame["start"] + rng.integers(1, 10, 2000))
    assert Schema.infer(frame).structure.suggestions == [Inequality("start", "<", "end")]
