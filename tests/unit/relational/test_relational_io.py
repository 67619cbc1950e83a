"""Saving and loading a multi-table model (issue 19): identical samples, hostile files, no
raw key values stored, the command line."""

from __future__ import annotations

import json
import warnings
import zipfile

import pandas as pd
import pytest
from conftest import linked_tables

import synthgen as sg
from synthgen.bundle import read_bundle, write_bundle
from synthgen.cli import main
from synthgen.exceptions import PersistenceError
from synthgen.relational import RelationalSynthesizer

TINY = {"epochs": 1, "n_threads": 1, "batch_size": 64, "d_model": 16, "n_layers": 1, "n_heads": 2}


def _fitted(generator: str = "copula") -> RelationalSynthesizer:
    params = TINY if generator == "transformer" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sg.PersonalDataWarning)
        return RelationalSynthesizer(generator, params, random_state=0).fit(linked_tables())


@pytest.mark.parametrize("generator", ["copula", "transformer"])
def test_save_load_gives_identical_tables(tmp_path, generator):
    model = _fitted(generator)
    path = tmp_path / "m.sgm"
    model.save(path)
    loaded = sg.load(path)
    assert isinstance(loaded, RelationalSynthesizer)
    assert loaded.metadata_ == model.metadata_
    a, b = model.sample(random_state=7), loaded.sample(random_state=7)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    # the saved seed continues the same stream
    c, d = _fitted(generator).sample(), sg.load(path).sample()
    pd.testing.assert_frame_equal(c["orders"], d["orders"])


def test_no_key_value_is_stored(tmp_path):
    model = _fitted()
    path = tmp_path / "m.sgm"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        text = zf.read("relational.json").decode()
    tables = linked_tables()
    for key in [*tables["users"]["id"], *tables["users"]["name"]]:
        assert f'"{key}"' not in text


def _tampered(tmp_path, edit) -> str:
    path = tmp_path / "m.sgm"
    _fitted().save(path)
    bundle = read_bundle(path)
    state = bundle.members["relational.json"]
    edit(state, bundle.manifest)
    manifest = {k: v for k, v in bundle.manifest.items() if k not in ("format", "format_version")}
    out = tmp_path / "bad.sgm"
    write_bundle(out, manifest, {"relational.json": json.dumps(state)}, bundle.arrays)
    return str(out)


def _plan(state, name):
    return next(t for t in state["tables"] if t["plan"]["name"] == name)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s, m: s.pop("tables"), "'metadata' and 'tables'"),
        (lambda s, m: s["metadata"]["foreign_keys"].pop(), "one saved table per table|fit"),
        (lambda s, m: _plan(s, "orders")["plan"].update(own=["amount"]), "columns do not fit"),
        (lambda s, m: _plan(s, "orders")["plan"].update(n_rows=-1), "n_rows"),
        (lambda s, m: _plan(s, "orders")["model"].update(generator="nope"), "unknown generator"),
        (lambda s, m: _plan(s, "orders")["plan"]["order"].update(dtype="no-such"), "dtype"),
        (lambda s, m: _plan(s, "orders")["plan"]["lags"][0].update(fill="x"), "fill"),
        (lambda s, m: _plan(s, "users")["model"]["schema"].update(columns=[]), "table"),
        (lambda s, m: m["params"].update(max_lags=-3), "max_lags"),
        (lambda s, m: m["params"].update(extra=1), "parameters"),
    ],
)
def test_a_damaged_file_is_refused_naming_the_member(tmp_path, edit, expected):
    path = _tampered(tmp_path, edit)
    with pytest.raises(PersistenceError, match=expected) as err:
        sg.load(path)
    assert "bad.sgm" in str(err.value)


def test_cli_metadata_fit_and_sample(tmp_path, capsys):
    folder = tmp_path / "tables"
    folder.mkdir()
    for name, frame in linked_tables().items():
        frame.drop(columns=["name"], errors="ignore").to_csv(folder / f"{name}.csv", index=False)
    meta_path, model_path, out = tmp_path / "meta.json", tmp_path / "m.sgm", tmp_path / "out"
    assert main(["metadata", str(folder), "-o", str(meta_path)]) == 0
    meta = sg.Metadata.from_json(meta_path)
    assert meta.tables["orders"].sequence_key == "year"
    args = ["fit", str(folder), "--metadata", str(meta_path), "-g", "copula", "-q"]
    assert main([*args, "-o", str(model_path), "--random-state", "0"]) == 0
    assert main(["sample", str(model_path), "-o", str(out), "--random-state", "1"]) == 0
    written = {p.name for p in out.iterdir()}
    assert written == {"users.csv", "stores.csv", "orders.csv", "items.csv"}
    orders = pd.read_csv(out / "orders.csv")
    users = pd.read_csv(out / "users.csv")
    assert orders["users_id"].isin(users["id"]).all()
    capsys.readouterr()
    assert main(["info", str(model_path)]) == 0
    assert "orders: " in (info := capsys.readouterr().out) and "sequence by year" in info
    # an existing folder's tables are not replaced without --force
    assert main(["sample", str(model_path), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["sample", str(model_path), "-o", str(out), "--force", "--scale", "0.5"]) == 0
    assert len(pd.read_csv(out / "users.csv")) == 30
    assert main(["sample", str(model_path), "-o", str(out), "-n", "5"]) == 2
    assert "--scale" in capsys.readouterr().err
    for option in (["--jobs", "2"], ["--chunk-size", "10"], ["--ray"]):  # one table's options
        assert main(["sample", str(model_path), "-o", str(out), "--force", *option]) == 2
        assert f"{option[0]} samples one table" in capsys.readouterr().err


def test_cli_refuses_an_empty_folder_and_a_bad_metadata_file(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["fit", str(empty), "-o", str(tmp_path / "m.sgm")]) == 2
    assert "no table file" in capsys.readouterr().err
    folder = tmp_path / "tables"
    folder.mkdir()
    linked_tables()["users"].to_csv(folder / "users.csv", index=False)
    bad = tmp_path / "meta.json"
    bad.write_text('{"tables": [{"name": "users", "primary_key": "nope"}]}')
    args = ["fit", str(folder), "--metadata", str(bad), "-g", "copula"]
    assert main([*args, "-o", str(tmp_path / "m.sgm")]) == 2
    assert "'nope'" in capsys.readouterr().err
