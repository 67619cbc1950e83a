"""The multi-table model (issue 19): keys resolve, sequences in order, counts, seeds, seed
parents, personal data, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import linked_tables

import synthgen as sg
from synthgen.exceptions import (
    ConfigurationError,
    DataError,
    MetadataError,
    NotFittedError,
    PersonalDataWarning,
)
from synthgen.relational import RelationalSynthesizer

FAST = {"transformer": {"epochs": 1, "n_threads": 1, "batch_size": 64, "d_model": 16,
                        "n_layers": 1, "n_heads": 2}, "copula": {}}  # fmt: skip


def _fit(tables, generator="copula", **kwargs):
    model = RelationalSynthesizer(generator, FAST[generator], random_state=0, **kwargs)
    with pytest.warns(PersonalDataWarning):
        return model.fit(tables)


def _check_keys(out: dict[str, pd.DataFrame], model: RelationalSynthesizer) -> None:
    meta = model.metadata_
    for name, t in meta.tables.items():
        if t.primary_key is not None:
            assert not out[name][t.primary_key].duplicated().any(), name
            assert out[name][t.primary_key].notna().all(), name
    for fk in meta.foreign_keys:
        values = out[fk.child][fk.column]
        assert values.notna().all(), fk
        assert values.isin(out[fk.parent][fk.parent_column]).all(), fk


def _in_order(frame: pd.DataFrame, by: str, order: str) -> bool:
    steps = frame.groupby(by, sort=False)[order].diff().dropna()
    return bool((steps >= 0).all())


@pytest.mark.parametrize("generator", ["copula", "transformer"])
def test_keys_resolve_sequences_are_in_order_and_columns_are_kept(tables, generator):
    model = _fit(tables, generator)
    out = model.sample(random_state=1)
    assert list(out) == list(tables)
    for name, frame in out.items():
        assert list(frame.columns) == list(tables[name].columns)
    _check_keys(out, model)
    assert _in_order(out["orders"], "users_id", "year")
    assert out["orders"]["year"].dtype == tables["orders"]["year"].dtype
    # fresh keys: no real text key is reused
    assert not out["users"]["id"].isin(tables["users"]["id"]).any()
    assert len(out["users"]) == len(tables["users"])


def test_children_per_parent_follow_the_data(tables):
    model = _fit(tables)
    out = model.sample(scale=3.0, random_state=2)
    real = tables["orders"].groupby("users_id").size().reindex(tables["users"]["id"], fill_value=0)
    fake = out["orders"].groupby("users_id").size().reindex(out["users"]["id"], fill_value=0)
    assert len(out["users"]) == 3 * len(tables["users"])
    assert fake.max() <= real.max()
    assert 0.7 * real.mean() <= fake.mean() <= 1.3 * real.mean()
    assert (fake == 0).any()  # childless parents are drawn too
    # the second parent (stores) is referenced about as often per row as in the data
    per_store = out["orders"]["stores_store_id"].value_counts()
    assert per_store.sum() == len(out["orders"])


def test_first_event_is_measured_from_the_parent_date(tables):
    model = _fit(tables)
    order = model.plans_["orders"].order
    assert order.anchor == "__p__birth" and order.anchor_year
    out = model.sample(random_state=3)
    birth = out["users"].set_index("id")["birth"].str[:4].astype(int)
    first = out["orders"].groupby("users_id")["year"].min()
    age = first - birth.reindex(first.index)
    real_first = tables["orders"].groupby("users_id")["year"].min()
    real_birth = tables["users"].set_index("id")["birth"].str[:4].astype(int)
    real_age = real_first - real_birth.reindex(real_first.index)
    assert age.between(real_age.min() - 2, real_age.max() + 2).mean() > 0.9


def test_same_seed_same_tables_and_data_untouched(tables):
    before = {name: df.copy(deep=True) for name, df in tables.items()}
    a = _fit(tables).sample(random_state=5)
    b = _fit(tables).sample(random_state=5)
    for name in tables:
        assert tables[name].equals(before[name])
        pd.testing.assert_frame_equal(a[name], b[name])
    c = _fit(tables).sample(random_state=6)
    assert not c["orders"].equals(a["orders"])


def test_the_model_stream_continues_without_a_seed(tables):
    model = _fit(tables)
    first, second = model.sample(), model.sample()
    assert not first["orders"].equals(second["orders"])


def test_sample_children_of_seed_parents(tables):
    model = _fit(tables)
    seeds = tables["users"].head(5)
    out = model.sample_children("users", seeds, random_state=0)
    # stores are drawn too: the orders' second foreign key points at them
    assert set(out) == {"orders", "items", "stores"}
    assert out["orders"]["users_id"].isin(seeds["id"]).all()
    assert out["items"]["orders_order_id"].isin(out["orders"]["order_id"]).all()
    assert out["orders"]["stores_store_id"].isin(out["stores"]["store_id"]).all()
    given = seeds.assign(__n__orders__users_id=[2, 0, 3, 1, 0])
    out = model.sample_children("users", given, random_state=0)
    sizes = out["orders"].groupby("users_id").size()
    assert sizes.to_dict() == {"u000": 2, "u002": 3, "u003": 1}
    assert _in_order(out["orders"], "users_id", "year")


def test_personal_columns_are_not_copied(tables):
    model = _fit(tables)
    out = model.sample(random_state=4)
    assert not out["users"]["name"].isin(tables["users"]["name"]).any()


def test_several_levels_and_no_sequence(tables):
    meta = sg.Metadata.detect(tables, sequence_keys={"orders": None})
    model = RelationalSynthesizer("copula", random_state=0)
    with pytest.warns(PersonalDataWarning):
        model.fit(tables, meta)
    out = model.sample(random_state=0)
    assert model.plans_["orders"].order is None
    _check_keys(out, model)
    assert len(out["items"]) > 0


def test_bad_input_gets_clear_errors(tables):
    broken = {**tables, "orders": tables["orders"].assign(users_id="nobody")}
    with pytest.raises(MetadataError, match=r"'orders'.*'users_id'"):
        RelationalSynthesizer("copula").fit(broken, sg.Metadata.detect(tables))
    with pytest.raises(ConfigurationError, match="cannot draw rows given fixed cells"):
        RelationalSynthesizer("dp_marginals").fit(tables)
    with pytest.raises(ConfigurationError, match="unknown table"):
        RelationalSynthesizer("copula", table_params={"nope": {}}).fit(tables)
    with pytest.raises(DataError, match="table 'users'"):
        RelationalSynthesizer("copula").fit({**tables, "users": tables["users"].iloc[:0]})
    with pytest.raises(NotFittedError):
        RelationalSynthesizer().sample()
    model = _fit(tables)
    with pytest.raises(ConfigurationError, match="scale"):
        model.sample(scale=0)
    with pytest.raises(DataError, match="lack the column"):
        model.sample_children("users", tables["users"][["id"]])


def test_a_table_with_only_keys(tables):
    small = {"users": tables["users"][["id"]], "orders": tables["orders"][["users_id", "amount"]]}
    model = RelationalSynthesizer("copula", random_state=0).fit(small)
    out = model.sample(random_state=0)
    assert model.plans_["users"].model is not None  # it still learns the children counts
    assert out["orders"]["users_id"].isin(out["users"]["id"]).all()


def test_generated_parents_have_the_number_of_children_their_count_says():
    tables = linked_tables(n_users=40, seed=1)
    model = RelationalSynthesizer("copula", random_state=0)
    with pytest.warns(PersonalDataWarning):
        model.fit(tables)
    rng = np.random.default_rng(0)
    from synthgen.relational.sampling import draw_tables

    drawn = draw_tables(model.plans_, model.metadata_, rng, n_roots={"users": 40, "stores": 7})
    counts = drawn["users"].frame["__n__orders__users_id"].to_numpy()
    assert np.bincount(drawn["orders"].parent, minlength=40).tolist() == counts.tolist()
