"""Extending given sequences (issue 19): new events after each sequence's last, keys valid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.exceptions import ConfigurationError, DataError, PersonalDataWarning
from synthgen.relational import RelationalSynthesizer

FAST = {"transformer": {"epochs": 1, "n_threads": 1, "batch_size": 64, "d_model": 16,
                        "n_layers": 1, "n_heads": 2}, "copula": {}}  # fmt: skip


def _fit(tables, generator="copula"):
    model = RelationalSynthesizer(generator, FAST[generator], random_state=0)
    with pytest.warns(PersonalDataWarning):
        return model.fit(tables)


def _given(tables, n_users=10):
    users = tables["users"].head(n_users)
    orders = tables["orders"][tables["orders"]["users_id"].isin(users["id"])]
    return users, orders


@pytest.mark.parametrize("generator", ["copula", "transformer"])
def test_new_events_follow_each_sequence_with_valid_keys(tables, generator):
    model = _fit(tables, generator)
    users, orders = _given(tables)
    before = (users.copy(deep=True), orders.copy(deep=True))
    new = model.extend_sequences("orders", users, orders, 2, random_state=0)
    assert list(new.columns) == list(tables["orders"].columns)
    assert new.groupby("users_id").size().reindex(users["id"]).tolist() == [2] * len(users)
    # after the last given event of the same user, and in order among themselves
    last = orders.groupby("users_id")["year"].max()
    has_events = new["users_id"].isin(last.index)
    assert (new.loc[has_events, "year"] >= new.loc[has_events, "users_id"].map(last)).all()
    assert (new.groupby("users_id", sort=False)["year"].diff().dropna() >= 0).all()
    # fresh primary keys, the second parent's keys taken from the given events
    assert not new["order_id"].isin(orders["order_id"]).any()
    assert not new["order_id"].duplicated().any()
    assert new["stores_store_id"].isin(orders["stores_store_id"]).all()
    pd.testing.assert_frame_equal(users, before[0])
    pd.testing.assert_frame_equal(orders, before[1])


def test_counts_per_parent_and_sequences_started_from_nothing(tables):
    model = _fit(tables)
    users, orders = _given(tables, 6)
    fresh = users.assign(id=[f"new{i}" for i in range(6)])  # no events yet
    counts = [0, 1, 2, 3, 0, 4]
    stores = {"stores_store_id": tables["stores"]["store_id"]}
    new = model.extend_sequences(
        "orders", fresh, orders.iloc[:0], counts, further_keys=stores, random_state=1
    )
    assert new["stores_store_id"].isin(tables["stores"]["store_id"]).all()
    sizes = new.groupby("users_id").size().reindex(fresh["id"], fill_value=0)
    assert sizes.tolist() == counts
    assert (new.groupby("users_id", sort=False)["year"].diff().dropna() >= 0).all()


def test_same_seed_same_events(tables):
    model = _fit(tables)
    users, orders = _given(tables)
    a = model.extend_sequences("orders", users, orders, 3, random_state=4)
    b = model.extend_sequences("orders", users, orders, 3, random_state=4)
    pd.testing.assert_frame_equal(a, b)
    c = model.extend_sequences("orders", users, orders, 3, random_state=5)
    assert not a.equals(c)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("users", "U", "O", 1), ConfigurationError, "not a sequence table"),
        (("nope", "U", "O", 1), ConfigurationError, "unknown table"),
        (("orders", "U", "O", -1), ConfigurationError, "whole numbers >= 0"),
        (("orders", "U", "O", [1, 2]), ConfigurationError, "one count per parent row"),
        (("orders", "U", "O", 1.5), ConfigurationError, "whole numbers"),
        (("orders", "U[:3]", "O", 1), DataError, "point at no given parent"),
        (("orders", "U", "O-year", 1), DataError, "'year'"),
        (("orders", "U", "O+nan", 1), DataError, "order column 'year' has missing"),
        (("orders", "U+dup", "O", 1), DataError, "missing or repeated"),
        (("orders", "U", "O[:0]", 1), DataError, "further_keys="),
    ],
)
def test_bad_input_gets_clear_errors(tables, args, error, match):
    model = _fit(tables)
    users, orders = _given(tables)
    frames = {
        "U": users,
        "U[:3]": users.head(3),
        "U+dup": pd.concat([users, users.head(1)]),
        "O": orders,
        "O-year": orders.drop(columns="year"),
        "O[:0]": orders.iloc[:0],
        "O+nan": orders.assign(year=np.where(np.arange(len(orders)) == 0, np.nan, orders.year)),
    }
    table, u, o, n = args
    with pytest.raises(error, match=match):
        model.extend_sequences(table, frames[u], frames[o], n, random_state=0)


def test_further_keys_must_name_a_further_foreign_key(tables):
    model = _fit(tables)
    users, orders = _given(tables)
    with pytest.raises(ConfigurationError, match="not further foreign keys"):
        model.extend_sequences("orders", users, orders, 1, further_keys={"users_id": ["u000"]})
