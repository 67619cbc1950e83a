"""Each further event is drawn knowing its previous event's order value (issue 19): where in
time its sequence stands, so that gaps can depend on the date and a sequence can learn that the
data's window is closing. Only for the transformer: a Gaussian copula bends its steps with it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.exceptions import PersonalDataWarning
from synthgen.relational import RelationalSynthesizer
from synthgen.relational.plan import AT, GAP, lag_name

TINY = {"epochs": 1, "n_threads": 1, "batch_size": 64, "d_model": 16, "n_layers": 1,
        "n_heads": 2}  # fmt: skip


def _fit(tables, generator="transformer"):
    params = TINY if generator == "transformer" else None
    with pytest.warns(PersonalDataWarning):
        return RelationalSynthesizer(generator, params, random_state=0).fit(tables)


def _record_fixed(model, table):
    """Wrap the next-event generator so every frame of fixed values it is given is kept."""
    seen = []
    inner = model.plans_[table].next_model
    draw_given = inner.draw_given

    def record(fixed, rng):
        seen.append(fixed.copy())
        return draw_given(fixed, rng)

    inner.draw_given = record
    return seen


def test_the_previous_order_value_is_learned_as_a_lag(tables):
    model = _fit(tables)
    lags = {f.column: f for f in model.plans_["orders"].lags}
    assert AT in lags and lags[AT].kind == "number" and lags[AT].name == lag_name(AT)
    # its fill (for a missing value) is a rounded mean of the data's values, not one of them
    years = tables["orders"]["year"]
    assert years.min() < lags[AT].fill < years.max()


def test_the_copula_is_not_given_the_previous_order_value(tables):
    lags = [f.column for f in _fit(tables, "copula").plans_["orders"].lags]
    assert lags[0] == GAP and AT not in lags


def test_each_drawn_event_is_given_its_predecessors_drawn_order_value(tables):
    model = _fit(tables)
    seen = _record_fixed(model, "orders")
    orders = model.sample(random_state=3)["orders"]
    given = pd.concat(seen, ignore_index=True)[lag_name(AT)].to_numpy()
    # the drawn years of every event but the last of its sequence, in the order drawn: by
    # place in the sequence, then by parent
    place = orders.groupby("users_id", sort=False).cumcount()
    left = orders.groupby("users_id", sort=False)["year"].transform("size") - place - 1
    before_another = orders[left > 0].assign(place=place[left > 0])
    users = pd.Index(orders["users_id"].unique())
    before_another = before_another.assign(user=users.get_indexer(before_another["users_id"]))
    expected = before_another.sort_values(["place", "user"], kind="stable")["year"].to_numpy()
    np.testing.assert_array_equal(given, expected.astype(float))


def test_extending_a_sequence_starts_from_its_last_real_order_value(tables):
    model = _fit(tables)
    seen = _record_fixed(model, "orders")
    users = tables["users"].head(8)
    orders = tables["orders"][tables["orders"]["users_id"].isin(users["id"])]
    model.extend_sequences("orders", users, orders, 1, random_state=0)
    # one new event each: users with events are drawn by the next-event generator, given
    # their last real year (in the order of their places, so compare as sorted values)
    given = np.sort(pd.concat(seen, ignore_index=True)[lag_name(AT)].to_numpy())
    last = orders.groupby("users_id")["year"].max()
    assert len(given) == len(last) > 0
    np.testing.assert_array_equal(given, np.sort(last.to_numpy(float)))
