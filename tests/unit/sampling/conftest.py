"""Shared fixtures of the sampling tests: a copula with an identifier column (``model``), and
a folder's files as bytes (``part_bytes``, to compare outputs part for part)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthgen as sg


@pytest.fixture(scope="module")
def model():
    """A copula fitted on 300 rows with an identifier, a number and a label column (a test
    module may define its own ``model``)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "key": [f"id-{i:05d}" for i in range(300)],
            "x": rng.normal(size=300),
            "c": rng.choice(["a", "b", "c"], 300),
        }
    )
    return sg.make_generator("copula", random_state=0).fit(df)


@pytest.fixture()
def part_bytes() -> Callable[[Path], dict[str, bytes]]:
    """A folder's files by name, as bytes."""
    return lambda folder: {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}
