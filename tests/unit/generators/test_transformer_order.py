"""The transformer's visiting order: fewest-valued columns first, a listed order, the schema's."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

import synthgen as sg
from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.generators.transformer import TabularTransformer, TokenTransformer, ordering
from synthgen.generators.transformer.ordering import TokenCounts, visiting_order
from synthgen.testing.model_files import rewrite_manifest
from synthgen.training import Trainer

pytestmark = pytest.mark.usefixtures("one_thread_per_module")

PARAMS = {"max_time": None, "d_model": 16, "n_layers": 1, "n_heads": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """A spread number first, then three labels and a flag with one common value, an
    identifier the model does not learn, and a number that is mostly missing."""
    rng = np.random.default_rng(4)
    n = 400
    kind = rng.choice(["a", "b", "c"], n)
    return pd.DataFrame(
        {
            "amount": (rng.gamma(2.0, 50.0, n) + np.where(kind == "a", 100, 0)).round(2),
            "kind": kind,
            "flag": np.where(rng.random(n) < 0.95, "no", "yes"),
            "user_id": [f"U{i:05d}" for i in range(n)],
            "size": rng.choice(["s", "m", "l", "xl"], n),
            "bonus": np.where(rng.random(n) < 0.95, np.nan, rng.normal(500.0, 80.0, n).round(1)),
        }
    )


@pytest.fixture(scope="module")
def model(table) -> TabularTransformer:
    """Fitted with ``"auto"`` under a budget of 8 shared lanes (log 8 = 2.08 nats: the four
    few-valued columns are chosen, the spread number is not)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ordering, "SHARED_LANES", 8)
        return TabularTransformer(
            **PARAMS, column_order="auto", epochs=2, batch_size=100, random_state=0
        ).fit(table)


def _visits(model, monkeypatch) -> list[list[int]]:
    """Record the columns each decoding step of ``model`` predicts, per step (every row's)."""
    seen: list[list[int]] = []
    step = type(model.net_).step

    def spy(self, prev, next_cols, cache):
        seen.append(next_cols.tolist())
        return step(self, prev, next_cols, cache)

    monkeypatch.setattr(type(model.net_), "step", spy)
    return seen


def test_token_counts_add_up_over_blocks_and_give_each_columns_entropy():
    """Blocks count into one table; a number counts its (coarse, fine) pairs."""
    rows = np.array([[0, 1, 1, 1], [2, 2, 2, 2], [0, 0, 0, 0], [0, 0, 1, 1]])
    whole = TokenCounts([2, 3], [False, True], fine_span=2)
    whole.add(rows)
    parts = TokenCounts([2, 3], [False, True], fine_span=2)
    parts.add(rows[:, :1])
    parts.add(rows[:, 1:])
    assert whole.counts.tolist() == parts.counts.tolist()
    expected = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    np.testing.assert_allclose(whole.entropy(), [expected, math.log(2)])


def test_auto_visits_the_columns_with_the_least_entropy_first(model, table, monkeypatch):
    """The flag (one common value), the mostly missing number and the labels are chosen
    (schema order among them), the spread number, first in the table, comes last; the
    identifier is not modelled. Free sampling visits the columns in that order."""
    assert model.column_order_ == ["kind", "flag", "size", "bonus", "amount"]
    names = [c.column for c in model.tokenizer_.columns]
    visits = _visits(model, monkeypatch)
    out = model.sample(50, random_state=1)
    assert [v[0] for v in visits] == [names.index(c) for c in model.column_order_]
    assert all(len(set(v)) == 1 for v in visits)
    assert list(out.columns) == list(table.columns)


def test_fixed_columns_are_visited_first_then_the_free_ones_in_order(model, monkeypatch):
    """Fixing the number (last in the order) puts it first; the rest keep their order."""
    names = [c.column for c in model.tokenizer_.columns]
    visits = _visits(model, monkeypatch)
    out = model.sample(20, conditions={"amount": 120.0}, random_state=2)
    expected = ["amount", "kind", "flag", "size", "bonus"]
    assert [v[0] for v in visits] == [names.index(c) for c in expected]
    assert (out["amount"] == 120.0).all()


def test_schema_and_listed_orders(table, monkeypatch):
    """``"schema"`` keeps the table's order; a list puts its columns first (an identifier
    in it is passed over) and the rest after them in schema order."""
    schema = TabularTransformer(**PARAMS, epochs=1, column_order="schema", random_state=0)
    assert schema.fit(table).column_order_ == ["amount", "kind", "flag", "size", "bonus"]
    listed = TabularTransformer(
        **PARAMS, epochs=1, column_order=["size", "user_id", "flag"], random_state=0
    ).fit(table)
    assert listed.column_order_ == ["size", "flag", "amount", "kind", "bonus"]
    names = [c.column for c in listed.tokenizer_.columns]
    visits = _visits(listed, monkeypatch)
    listed.sample(10, random_state=0)
    assert [v[0] for v in visits] == [names.index(c) for c in listed.column_order_]


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (["kind", "colour"], "'colour', which is not a column of the table"),
        (["kind", "flag", "kind"], "lists 'kind' twice"),
    ],
)
def test_a_bad_listed_order_is_refused_before_training(table, order, message, monkeypatch):
    fitted = []
    monkeypatch.setattr(Trainer, "fit", lambda *a, **k: fitted.append(1))
    with pytest.raises(ConfigurationError, match=message):
        TabularTransformer(**PARAMS, epochs=1, column_order=order).fit(table)
    assert not fitted


@pytest.mark.parametrize("bad", ["random", [], ["kind", 3], "kind"])
def test_column_order_takes_a_name_or_a_list_of_columns(table, bad):
    with pytest.raises(ConfigurationError, match="column_order"):
        TabularTransformer(**PARAMS, epochs=1, column_order=bad).fit(table)


def test_a_wide_network_keeps_the_schema_order_under_auto(table):
    params = {**PARAMS, "column_order": "auto", "columns_per_position": 2}
    wide = TabularTransformer(**params, epochs=1, random_state=0)
    assert wide.fit(table).column_order_ == ["amount", "kind", "flag", "size", "bonus"]


def test_log_prob_scores_rows_in_the_visiting_order(model, table):
    """``log_prob`` equals the network's own logits in the visiting order: the main tokens'
    log-probabilities plus each number's fine bin (and its width), read as visited (the
    mostly missing number before the other one)."""
    rows = table.head(40)
    got = model.log_prob(rows, random_state=3)
    matrix = model.encoder_.transform(rows.reset_index(drop=True), random_state=3)
    main, fine = (torch.from_numpy(np.ascontiguousarray(t)) for t in model._split_tokens(matrix))
    net = model.net_
    names = [c.column for c in model.tokenizer_.columns]
    order = torch.tensor([names.index(c) for c in ["kind", "flag", "size", "bonus", "amount"]])
    with torch.no_grad():
        main_logits, fine_logits = net(main, fine, order)
    lp = torch.log_softmax(main_logits, -1).gather(-1, main[:, order, None])[..., 0].sum(1)
    numbers = [int(c) for c in order if c in net.numeric_columns]
    for k, c in enumerate(numbers):
        has = fine[:, c] < model.n_sub_bins
        flp = torch.log_softmax(fine_logits[:, k], -1)
        flp = flp.gather(-1, fine[:, c].clamp(max=model.n_sub_bins - 1)[:, None])[:, 0]
        lp = lp + (flp + math.log(model.n_bins * model.n_sub_bins)) * has
    np.testing.assert_allclose(got, lp.double().numpy(), rtol=1e-5, atol=1e-4)


def _rewrite(path, tmp_path, change):
    bad = tmp_path / "edited.sgm"
    rewrite_manifest(path, bad, lambda manifest: change(manifest["state"]))
    return bad


def test_the_order_is_saved_and_older_files_keep_the_schema_order(model, tmp_path, monkeypatch):
    """The order travels with the model (same rows after loading); a file without it (saved
    before the order) visits the schema order; a hostile order is refused."""
    path = tmp_path / "m.sgm"
    model.save(path)
    loaded = sg.load(path)
    assert loaded.column_order_ == model.column_order_
    pd.testing.assert_frame_equal(
        loaded.sample(30, random_state=4), model.sample(30, random_state=4)
    )
    before = tmp_path / "before.sgm"  # as written before the order: neither state nor param

    def forget(manifest):
        manifest["state"].pop("column_order")
        manifest["params"].pop("column_order")

    rewrite_manifest(path, before, forget)
    old = sg.load(before)
    assert old.column_order_ == ["amount", "kind", "flag", "size", "bonus"]
    assert old.column_order == "schema"  # a refit of its parameters visits the same order
    names = [c.column for c in old.tokenizer_.columns]
    visits = _visits(old, monkeypatch)
    old.sample(10, random_state=0)
    assert [v[0] for v in visits] == list(range(len(names)))
    for bad in ([0, 1, 2, 3], [0, 0, 1, 2, 3], [0, 1, 2, 3, 5], [0, 1, 2, 3, 4.0], "01234", None):
        edited = _rewrite(path, tmp_path, lambda meta, bad=bad: meta.update(column_order=bad))
        if bad is None:  # null reads as "no order saved"
            assert sg.load(edited).column_order_ == old.column_order_
            continue
        with pytest.raises(PersistenceError, match="column_order"):
            sg.load(edited)


def test_a_listed_order_on_a_network_trains_that_order(table, monkeypatch):
    """The part of each batch not in a random order is trained in the visiting order."""
    seen: list[list[int]] = []
    hidden = TokenTransformer.column_hidden

    def spy(self, main, fine, order, inputs=None):
        seen.append(order.tolist())
        return hidden(self, main, fine, order, inputs)

    monkeypatch.setattr(TokenTransformer, "column_hidden", spy)
    params = {**PARAMS, "random_order": 0.0, "validation_fraction": 0.0, "patience": None}
    fitted = TabularTransformer(**params, epochs=1, column_order=["size", "flag"])
    fitted.fit(table)
    names = [c.column for c in fitted.tokenizer_.columns]
    assert seen and all(o == [names.index(c) for c in fitted.column_order_] for o in seen)


def test_auto_chooses_columns_by_entropy_within_the_lanes_budget(monkeypatch):
    """Columns are chosen by increasing entropy (ties in schema order) while the chosen
    entropy is under log(SHARED_LANES); the chosen ones, then the others, in schema order."""
    main = np.array([[0, 1, 2, 3] * 2, [0] * 8, [3, 2, 1, 0] * 2, [0, 1] * 4])
    counts = TokenCounts([4, 1, 4, 2], [False] * 4, fine_span=1)
    counts.add(np.concatenate([main, np.zeros_like(main)]))  # entropies log 4, 0, log 4, log 2
    monkeypatch.setattr(ordering, "SHARED_LANES", 4)  # room past 0 + log 2: one of the log 4
    names = ["a", "b", "c", "d"]
    assert visiting_order("auto", names, names, counts).tolist() == [0, 1, 3, 2]
    monkeypatch.setattr(ordering, "SHARED_LANES", 2**20)  # room for all: the schema order
    assert visiting_order("auto", names, names, counts).tolist() == [0, 1, 2, 3]
