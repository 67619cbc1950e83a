"""A constraint across tables (issue 19): no event before the parent value that no event of
the data came before (an order never before the customer signed up)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.exceptions import PersistenceError
from synthgen.relational import RelationalSynthesizer
from synthgen.relational.features import OrderSpec


def _shop(n_users: int = 150, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    signup = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 4000, n_users), "D")
    users = pd.DataFrame({"uid": np.arange(n_users), "signup": signup,
                          "tier": rng.choice(["a", "b"], n_users)})  # fmt: skip
    counts = rng.integers(1, 4, n_users)
    owner = np.repeat(np.arange(n_users), counts)
    # the first order 0-10 years after signing up: too loose for the signup date to serve as
    # the anchor the first order is measured from, but never before it
    date = signup[owner] + pd.to_timedelta(rng.integers(0, 3650, len(owner)), "D")
    orders = pd.DataFrame({"uid": owner, "date": date, "amount": rng.gamma(2.0, 10.0, len(owner))})
    return {"users": users, "orders": orders}


def _first_before_signup(out: dict[str, pd.DataFrame]) -> int:
    first = out["orders"].groupby("uid")["date"].min()
    signup = out["users"].set_index("uid")["signup"].reindex(first.index)
    return int((first < signup).sum())


def test_no_first_event_before_a_parent_value_that_bounds_the_data():
    tables = _shop()
    meta = sg.Metadata.detect(tables, sequence_keys={"orders": "date"},
                              foreign_keys=[("orders", "uid", "users", "uid")])  # fmt: skip
    model = RelationalSynthesizer("copula", random_state=0).fit(tables, meta)
    order = model.plans_["orders"].order
    assert order.anchor is None and order.floors == ["__p__signup"]
    assert _first_before_signup(model.sample(random_state=1)) == 0
    order.floors = []  # without the floor the same model does draw such orders
    assert _first_before_signup(model.sample(random_state=1)) > 0


def test_floors_are_names_only_and_older_files_still_load():
    saved = OrderSpec("year", "number", "int64", integer=True).to_dict()
    saved["floors"] = ["__p__signup"]
    assert OrderSpec.from_dict(saved).floors == ["__p__signup"]
    older = {k: v for k, v in saved.items() if k != "floors"}
    assert OrderSpec.from_dict(older).floors == []
    with pytest.raises(PersistenceError, match="floors"):
        OrderSpec.from_dict({**saved, "floors": [2005]})
