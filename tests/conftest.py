"""Shared fixtures."""

from __future__ import annotations

import pandas as pd
import pytest

from synthgen.datasets import load_adult
from synthgen.testing import make_mixed_table


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    return load_adult()


@pytest.fixture()
def mixed() -> pd.DataFrame:
    return make_mixed_table(150)
