"""Fixtures shared by the generator tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch


@pytest.fixture(scope="module")
def toy() -> pd.DataFrame:
    """``b`` copies ``a`` (90 %), ``x`` is large exactly when ``a`` is "hi"."""
    rng = np.random.default_rng(0)
    n = 400
    a = rng.choice(["lo", "hi"], n)
    b = np.where(rng.random(n) < 0.9, a, np.where(a == "lo", "hi", "lo"))
    x = np.where(a == "hi", 100.0, 0.0) + rng.normal(0, 5, n)
    return pd.DataFrame({"a": a, "b": b, "x": np.round(x, 3)})


@pytest.fixture(scope="module")
def one_thread_per_module():
    """One torch thread for a whole test module, its module-scoped fitted models included
    (tiny networks gain nothing from more threads on a shared, loaded CPU). Opt in with
    ``pytestmark = pytest.mark.usefixtures("one_thread_per_module")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
