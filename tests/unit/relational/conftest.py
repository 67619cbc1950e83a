"""Tiny linked tables for the relational tests: users -> orders (a sequence by date, with a
second parent, stores) -> items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda"]
LAST = ["Smith", "Jones", "Brown", "Miller", "Davis"]


def linked_tables(n_users: int = 60, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    birth = rng.integers(1950, 2000, n_users)
    users = pd.DataFrame(
        {
            "id": [f"u{i:03d}" for i in range(n_users)],
            "name": [f"{FIRST[i % 8]} {LAST[(i // 8) % 5]}" for i in range(n_users)],
            "birth": [f"{y}-0{1 + i % 9}-1{i % 10}" for i, y in enumerate(birth)],
            "tier": rng.choice(["gold", "basic", None], n_users, p=[0.3, 0.6, 0.1]),
        }
    )
    stores = pd.DataFrame({"store_id": np.arange(7) + 500, "region": list("NNSSEWW")})
    counts = rng.integers(0, 6, n_users)
    owner = np.repeat(np.arange(n_users), counts)
    n = len(owner)
    # the first order at about 20 years of age, then steps of whole years
    first = birth[owner] + 18 + rng.integers(0, 4, n)
    year = first + rng.integers(0, 3, n)
    orders = pd.DataFrame(
        {
            "order_id": np.arange(n) + 1000,
            "users_id": users["id"].to_numpy()[owner],
            "stores_store_id": rng.choice(stores["store_id"], n),
            "year": year,
            "amount": np.round(rng.gamma(2.0, 10.0, n), 2),
            "channel": rng.choice(["web", "shop"], n),
        }
    )
    m = 2 * n
    items = pd.DataFrame(
        {
            "orders_order_id": rng.choice(orders["order_id"], m),
            "sku": rng.choice(["a", "b", "c"], m),
            "qty": rng.integers(1, 4, m),
        }
    )
    return {"users": users, "stores": stores, "orders": orders, "items": items}


@pytest.fixture()
def tables() -> dict[str, pd.DataFrame]:
    return linked_tables()
