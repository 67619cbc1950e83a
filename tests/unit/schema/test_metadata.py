"""Metadata of linked tables (issue 19): detection, overrides, validation errors, JSON."""

import json

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.exceptions import MetadataError, SchemaError
from synthgen.schema import ForeignKey, Metadata, TableMeta


def _tables(n_users: int = 20, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    users = pd.DataFrame(
        {
            "id": [f"u{i:03d}" for i in range(n_users)],
            "age": rng.integers(18, 80, n_users),
            "joined": pd.date_range("2020-01-01", periods=n_users, freq="7D").strftime("%Y-%m-%d"),
        }
    )
    counts = rng.integers(0, 4, n_users)
    owner = np.repeat(users["id"].to_numpy(), counts)
    orders = pd.DataFrame(
        {
            "order_id": np.arange(len(owner)) + 100,
            "users_id": owner,
            "date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 300, len(owner)), "D"),
            "amount": np.round(rng.gamma(2.0, 10.0, len(owner)), 2),
        }
    )
    items = pd.DataFrame(
        {
            "orders_order_id": rng.choice(orders["order_id"], 2 * len(orders)),
            "sku": rng.choice(["a", "b", "c"], 2 * len(orders)),
        }
    )
    return {"users": users, "orders": orders, "items": items}


def test_detects_keys_links_and_sequence_order():
    meta = Metadata.detect(_tables())
    assert meta.tables["users"] == TableMeta("users", "id", None)
    assert meta.tables["orders"] == TableMeta("orders", "order_id", "date")
    assert meta.tables["items"].primary_key is None
    assert set(meta.foreign_keys) == {
        ForeignKey("orders", "users_id", "users", "id"),
        ForeignKey("items", "orders_order_id", "orders", "order_id"),
    }
    assert meta.topological_order() == ["users", "orders", "items"]
    assert meta.roots() == ["users"]
    assert [fk.child for fk in meta.children_of("users")] == ["orders"]
    assert [fk.parent for fk in meta.parents_of("items")] == ["orders"]


def test_overrides_replace_detection():
    tables = _tables()
    meta = Metadata.detect(
        tables,
        sequence_keys={"orders": None},
        foreign_keys=[("orders", "users_id", "users", "id")],
    )
    assert meta.tables["orders"].sequence_key is None
    assert meta.foreign_keys == (ForeignKey("orders", "users_id", "users", "id"),)
    assert meta.roots() == ["users", "items"]


def test_json_round_trip(tmp_path):
    meta = Metadata.detect(_tables())
    path = tmp_path / "meta.json"
    meta.to_json(path)
    assert Metadata.from_json(path) == meta
    assert Metadata.from_json_text(meta.to_json()) == meta
    assert sg.Metadata is Metadata


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["tables"][0].update(name=7), r"tables\[0\].name must be a non-empty string"),
        (lambda d: d["tables"][1].update(extra=1), r"tables\[1\] must have the keys"),
        (lambda d: d.update(version=99), "newer than this synthgen reads"),
        (lambda d: d.update(foreign_keys={"a": 1}), "foreign_keys must be a JSON list"),
        (lambda d: d["foreign_keys"][0].update(parent="nowhere"), "unknown table 'nowhere'"),
        (lambda d: d["foreign_keys"][0].update(parent_column="age"), "primary key"),
        (lambda d: d["tables"][0].update(sequence_key="joined"), "needs a foreign key"),
    ],
)
def test_from_dict_rejects_malformed_input(edit, expected):
    data = json.loads(Metadata.detect(_tables()).to_json())
    edit(data)
    with pytest.raises(MetadataError, match=expected):
        Metadata.from_dict(data)


def test_from_json_text_rejects_non_json_and_missing_files(tmp_path):
    with pytest.raises(MetadataError, match="not valid"):
        Metadata.from_json_text("{nope")
    with pytest.raises(MetadataError, match="no metadata file"):
        Metadata.from_json(tmp_path / "missing.json")


def test_a_cycle_is_refused_naming_the_tables():
    tables = [TableMeta("a", "id"), TableMeta("b", "id"), TableMeta("c", "id")]
    fks = [
        ForeignKey("b", "a_id", "a", "id"),
        ForeignKey("c", "b_id", "b", "id"),
        ForeignKey("a", "c_id", "c", "id"),
    ]
    with pytest.raises(MetadataError, match=r"cycle among tables \['a', 'b', 'c'\]"):
        Metadata(tables, fks)
    with pytest.raises(MetadataError, match="linked to itself"):
        Metadata([TableMeta("a", "id")], [ForeignKey("a", "boss", "a", "id")])


def test_dangling_foreign_key_is_counted_without_values():
    tables = _tables()
    orders = tables["orders"].copy()
    orders.loc[:2, "users_id"] = "secret-key"
    meta = Metadata.detect(_tables())
    with pytest.raises(MetadataError, match=r"orders.*'users_id' has 3 row.*1 value") as err:
        meta.validate({**tables, "orders": orders})
    assert "secret-key" not in str(err.value)


def test_duplicate_and_missing_primary_keys():
    tables = _tables()
    meta = Metadata.detect(tables)
    users = tables["users"].copy()
    users.loc[1, "id"] = users.loc[0, "id"]
    with pytest.raises(MetadataError, match="'users': primary key 'id' has 1 duplicate"):
        meta.validate({**tables, "users": users})
    users.loc[1, "id"] = None
    with pytest.raises(MetadataError, match="'users': primary key 'id' has 1 missing"):
        meta.validate({**tables, "users": users})


def test_unknown_column_and_table():
    tables = _tables()
    meta = Metadata([TableMeta("users", "user_key")], [])
    with pytest.raises(MetadataError, match="'users': primary key column 'user_key' is not"):
        meta.validate({"users": tables["users"]})
    with pytest.raises(MetadataError, match=r"\['orders'\] are not in the metadata"):
        meta.validate({"users": tables["users"], "orders": tables["orders"]})
    with pytest.raises(MetadataError, match="unknown table"):
        meta.parents_of("nope")


def test_sequence_key_must_be_orderable():
    tables = _tables()
    with pytest.raises(MetadataError, match="'items': sequence key 'sku' holds object values"):
        Metadata.detect(tables, sequence_keys={"items": "sku"})
    orders = tables["orders"].copy()
    orders["date"] = orders["date"].astype("object")
    orders.loc[0, "date"] = None
    with pytest.raises(MetadataError, match="'orders': sequence key 'date' has 1 missing"):
        Metadata.detect({**tables, "orders": orders}, sequence_keys={"orders": "date"})
    # detection passes such a column over instead
    assert Metadata.detect({**tables, "orders": orders}).tables["orders"].sequence_key is None


def test_missing_first_parent_key_is_refused():
    tables = _tables()
    orders = tables["orders"].copy()
    orders["users_id"] = orders["users_id"].astype(object)
    orders.loc[0, "users_id"] = None
    with pytest.raises(MetadataError, match="'users_id' has 1 missing value"):
        Metadata.detect({**tables, "orders": orders})


def test_metadata_error_is_a_schema_error():
    assert issubclass(MetadataError, SchemaError)
    with pytest.raises(MetadataError, match="must be a pandas DataFrame"):
        Metadata.detect({"users": [1, 2]})
