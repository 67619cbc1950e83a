"""The copula fitted from Parquet parts one row group at a time (``fit_parts(..., fit_rows=N)``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.exceptions import SchemaError
from synthgen.generators.sharded import fit_parts
from synthgen.generators.streamed import Moments, holding_everywhere, sample_rows
from synthgen.parquet_parts import ParquetParts
from synthgen.training.disk_rows import DiskRows


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "y": 2 * x + rng.normal(scale=0.3, size=n),
            "c": np.where(x + rng.normal(scale=0.5, size=n) > 0, "hi", "lo"),
        }
    )


def _write(frame: pd.DataFrame, folder, n_parts: int, group_rows: int):
    folder.mkdir(parents=True, exist_ok=True)
    for i, idx in enumerate(np.array_split(np.arange(len(frame)), n_parts)):
        frame.iloc[idx].to_parquet(
            folder / f"part-{i}.parquet", row_group_size=group_rows, index=False
        )
    return folder


def test_moments_merge_blocks_to_the_covariance_of_all_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(loc=5.0, size=(997, 4))
    m = Moments(4)
    for block in (x[:1], x[1:1], x[1:300], x[300:]):  # one row, an empty block, uneven sizes
        m.add(block)
    assert m.count == 997
    np.testing.assert_allclose(m.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(m.covariance(), np.cov(x.T, bias=True), rtol=1e-10, atol=1e-12)


def test_the_sample_is_uniform_in_table_order_and_ignores_how_rows_are_grouped(tmp_path):
    frame = pd.DataFrame({"i": np.arange(5000)})
    coarse = ParquetParts(_write(frame, tmp_path / "a", 2, 2500))
    fine = ParquetParts(_write(frame, tmp_path / "b", 5, 137))
    a, b = sample_rows(coarse, 400, seed=3), sample_rows(fine, 400, seed=3)
    assert a["i"].tolist() == b["i"].tolist()  # the same rows, whatever the row groups
    assert a["i"].is_monotonic_increasing and a["i"].is_unique and len(a) == 400
    assert 1500 < a["i"].mean() < 3500  # spread over the whole table, not its start
    assert sample_rows(coarse, 400, seed=4)["i"].tolist() != a["i"].tolist()
    assert len(sample_rows(coarse, 10_000, seed=3)) == 5000


def test_streamed_copula_reads_one_row_group_at_a_time(tmp_path, monkeypatch):
    frame = _table(6000)
    folder = _write(frame, tmp_path / "parts", 3, 500)
    widest = []
    real_read = ParquetParts.read

    def read(self, units):
        widest.append(sum(n for _, _, n in units))
        return real_read(self, units)

    monkeypatch.setattr(ParquetParts, "read", read)
    model = fit_parts(sg.make_generator("copula", random_state=0), folder, fit_rows=1000)
    assert max(widest) == 500  # never more than one row group in memory
    assert model.n_train_rows_ == 6000
    memory = sg.make_generator("copula", random_state=0).fit(frame, schema=model.schema_)
    # the same correlation as a fit in memory, up to the encoder fitted on a sample
    np.testing.assert_allclose(model.correlation_, memory.correlation_, atol=0.03)
    again = fit_parts(sg.make_generator("copula", random_state=0), folder, fit_rows=1000)
    np.testing.assert_array_equal(again.correlation_, model.correlation_)
    rows = model.sample(3000, random_state=1)
    assert list(rows.columns) == ["x", "y", "c"]
    assert rows["x"].corr(rows["y"]) > 0.9


def test_a_label_the_sample_missed_is_refused_naming_the_column_and_the_way_out(tmp_path):
    frame = _table(4000)
    frame.loc[3997:, "c"] = "rare"  # three rows, all in the last row group
    folder = _write(frame, tmp_path / "parts", 2, 1000)
    model = sg.make_generator("copula", random_state=0)
    # a schema that stores both common labels only: the sample decides nothing here
    schema = sg.Schema.infer(frame.iloc[:3000], structure=False)
    with pytest.raises(SchemaError, match=r"'c'.*fit_rows"):
        fit_parts(model, folder, schema=schema, fit_rows=200)


def test_an_inferred_schema_keeps_only_the_structure_rules_every_row_meets(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    town = rng.choice([f"t{i}" for i in range(12)], n)
    shop = rng.choice([f"s{i}" for i in range(12)], n)
    gone = rng.random(n) < 0.2
    frame = pd.DataFrame(
        {
            "town": town,
            "region": [f"r{int(t[1:]) % 3}" for t in town],  # town -> region everywhere
            "shop": shop,
            "chain": [f"c{int(s[1:]) % 4}" for s in shop],  # shop -> chain, but for one row
            "a": np.where(gone, np.nan, rng.normal(size=n)),  # a and b missing together,
            "b": np.where(gone, np.nan, rng.normal(size=n)),  # but for one row
        }
    )
    last = n - 1  # one row of the last row group breaks two rules
    frame.loc[last, "chain"] = f"c{(int(frame.loc[last, 'shop'][1:]) + 1) % 4}"
    frame.loc[last, ["a", "b"]] = [np.nan, 1.0]
    folder = _write(frame, tmp_path / "parts", 2, 500)
    model = fit_parts(sg.make_generator("copula", random_state=0), folder, fit_rows=800)
    structure = model.schema_.structure
    assert [(h.parent, h.child) for h in structure.hierarchies] == [("town", "region")]
    assert not structure.missing_groups
    # the rules a sample without that row finds, checked against every row group
    found = sg.Schema.infer(frame.iloc[:last])
    assert len(found.structure.hierarchies) == 2 and found.structure.missing_groups
    kept = holding_everywhere(ParquetParts(folder), found).structure
    assert [(h.parent, h.child) for h in kept.hierarchies] == [("town", "region")]
    assert not kept.missing_groups


def test_an_empty_part_is_no_row_and_the_cli_streams_with_fit_rows(tmp_path, capsys):
    from synthgen.cli import main

    frame = _table(3000)
    folder = _write(frame, tmp_path / "parts", 2, 400)
    # an empty partition between the two others
    frame.iloc[:0].to_parquet(folder / "part-1a.parquet", index=False)
    out = tmp_path / "m.sgm"
    args = ["fit", str(folder), "--parts", "--fit-rows", "500", "-g", "copula", "-o", str(out)]
    assert main([*args, "-q"]) == 0
    assert "on 3,000 rows x 3 columns (3 Parquet files)" in capsys.readouterr().out
    model = sg.load(out)
    assert model.n_train_rows_ == 3000
    rows = model.sample(200, random_state=0)
    assert rows["x"].corr(rows["y"]) > 0.9


def test_a_hierarchy_broken_only_across_row_groups_is_dropped(tmp_path):
    rng = np.random.default_rng(1)
    parent = rng.choice([f"p{i}" for i in range(6)], 600)
    child = np.array([f"c{int(p[1:]) % 3}" for p in parent], dtype=object)
    frame = pd.DataFrame({"p": parent, "c": child, "x": rng.normal(size=600)})
    frame.loc[300:, "c"] = np.where(frame.loc[300:, "p"] == "p0", "c1", frame.loc[300:, "c"])
    folder = _write(frame, tmp_path / "parts", 2, 300)  # each row group meets p -> c
    first = sg.Schema.infer(frame.iloc[:300])
    assert [(h.parent, h.child) for h in first.structure.hierarchies] == [("p", "c")]
    assert sg.Schema.infer(frame.iloc[300:]).structure.hierarchies  # and so does the second
    assert not holding_everywhere(ParquetParts(folder), first).structure.hierarchies


def test_a_row_group_that_breaks_a_given_rule_is_named(tmp_path):
    from synthgen.exceptions import ConstraintError

    rng = np.random.default_rng(2)
    gone = rng.random(1000) < 0.3
    frame = pd.DataFrame(
        {
            "a": np.where(gone, np.nan, rng.normal(size=1000)),
            "b": np.where(gone, np.nan, rng.normal(size=1000)),
        }
    )
    schema = sg.Schema.infer(frame)
    assert schema.structure.missing_groups  # a and b missing together
    frame.loc[900, ["a", "b"]] = [np.nan, 2.0]  # but not in row 900 (second part)
    folder = _write(frame, tmp_path / "parts", 2, 250)
    with pytest.raises(ConstraintError, match=r"row group 1 of .*part-1\.parquet.*missing group"):
        fit_parts(sg.make_generator("copula", random_state=0), folder, schema=schema, fit_rows=50)


@pytest.mark.parametrize("family", ["transformer", "gan"])
def test_a_neural_generator_trains_on_every_row_read_one_row_group_at_a_time(
    tmp_path, monkeypatch, family
):
    frame = _table(3000)
    folder = _write(frame, tmp_path / "parts", 3, 250)
    widest, trained = [], []
    real_read = ParquetParts.read

    def read(self, units):
        widest.append(sum(n for _, _, n in units))
        return real_read(self, units)

    monkeypatch.setattr(ParquetParts, "read", read)
    model = sg.make_generator(family, epochs=1, batch_size=256, random_state=0)
    real_fit = type(model)._fit_encoded
    monkeypatch.setattr(
        type(model),
        "_fit_encoded",
        lambda self, matrix, rng: (
            trained.append((matrix, matrix[:])) or real_fit(self, matrix, rng)
        ),
    )
    fit_parts(model, folder, fit_rows=600)
    assert max(widest) == 250  # never more than one row group as a DataFrame
    assert model.n_train_rows_ == 3000
    # every row, encoded in table order with the encoder fitted on the sample, in a file
    # that training read batch by batch (removed after the fit)
    ((rows, matrix),) = trained
    assert isinstance(rows, DiskRows) and not rows.path.exists()
    assert matrix.shape == (3000, model.encoder_.compact_dim)
    codes = matrix[:, -1]  # "c" is last: its compact column holds the code
    labels = model.encoder_.encoders_[-1].categories
    np.testing.assert_array_equal(np.asarray(labels, dtype=object)[codes.astype(int)], frame["c"])
    rows = model.sample(100, random_state=0)
    assert list(rows.columns) == ["x", "y", "c"]


def test_a_dp_sgd_fit_is_not_streamed_but_reads_the_parts(tmp_path, monkeypatch):
    frame = _table(1200)
    folder = _write(frame, tmp_path / "parts", 2, 300)
    model = sg.make_generator("vae", epochs=1, epsilon=5.0, random_state=0)
    seen = []
    real_fit = type(model).fit
    monkeypatch.setattr(
        type(model),
        "fit",
        lambda self, data, schema=None: seen.append(len(data)) or real_fit(self, data, schema),
    )
    fit_parts(model, folder, fit_rows=200)
    # its private schema and encoder are released from every row, in memory, by fit
    assert seen == [1200]
    assert model.privacy_["epsilon"] <= 5.0


def test_a_stored_pandas_index_is_not_a_column(tmp_path):
    df = pd.DataFrame({"x": np.arange(10.0), "c": list("ab") * 5})
    df.iloc[3:].to_parquet(tmp_path / "part-0.parquet")  # stores __index_level_0__
    df.iloc[:0].reset_index(drop=True).to_parquet(tmp_path / "part-1.parquet")  # none
    df.iloc[:3].reset_index(drop=True).to_parquet(tmp_path / "part-2.parquet")
    parts = ParquetParts(tmp_path)
    assert parts.columns == ["x", "c"] and parts.n_rows == 10
    assert parts.read(parts.units)["x"].tolist() == [*np.arange(3.0, 10.0), 0.0, 1.0, 2.0]


@pytest.mark.parametrize("n", [1, 7, 50, 400])
def test_smallest_keeps_the_n_smallest_keys_earlier_first_on_ties(n):
    from synthgen.generators.streamed import Smallest

    rng = np.random.default_rng(n)
    keys = rng.integers(0, 60, 1000).astype(float)  # many ties
    frame = pd.DataFrame({"i": np.arange(1000)})
    keep = Smallest(n)
    for block in np.array_split(np.arange(1000), 37):
        keep.add(frame.iloc[block], keys[block])
    expected = np.sort(np.lexsort((np.arange(1000), keys))[:n])
    assert keep.frame()["i"].tolist() == expected.tolist() and keep.added == 1000
