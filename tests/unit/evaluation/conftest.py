"""Fixtures of the evaluation tests: a small Adult split and small synthetic-looking frames."""

from __future__ import annotations

import pandas as pd
import pytest
from eval_helpers import make_frame

from synthgen.datasets import load_adult


@pytest.fixture(scope="session")
def adult_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """1,500 training rows and 1,500 holdout rows of Adult (shuffled with seed 0)."""
    df = load_adult().sample(frac=1, random_state=0).reset_index(drop=True)
    return df.iloc[:1500].reset_index(drop=True), df.iloc[1500:3000].reset_index(drop=True)


@pytest.fixture()
def frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, synthetic, holdout): synthetic is an independent draw of the same process."""
    return make_frame(300, 0), make_frame(300, 1), make_frame(200, 2)
