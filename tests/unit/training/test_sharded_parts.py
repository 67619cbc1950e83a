"""Fitting on Parquet parts: each torchrun rank reads its share, the encoder is fitted once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.bundle import read_bundle
from synthgen.exceptions import ConfigurationError, DataError, SchemaError
from synthgen.generators.registry import get_generator_class
from synthgen.generators.sharded import fit_parts
from synthgen.generators.transformer import ordering
from synthgen.parquet_parts import ParquetParts, rank_units
from synthgen.testing import make_mixed_table

# pytest puts this folder on sys.path (rootdir-relative "prepend" imports).
from ddp_worker import regression  # isort: skip
from parts_worker import FAMILIES  # isort: skip
from launch import torchrun  # isort: skip

REPO = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("parts_worker.py")

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.xdist_group("torchrun")]


def _write_parts(folder: Path, frame: pd.DataFrame, sizes: list[int], group: int) -> Path:
    folder.mkdir(parents=True)
    start = 0
    for i, n in enumerate(sizes):
        part = frame.iloc[start : start + n]
        part.to_parquet(folder / f"part-{i:03d}.parquet", index=False, row_group_size=group)
        start += n
    return folder


def _same_arrays(a: Path, b: Path) -> bool:
    x, y = read_bundle(a).arrays, read_bundle(b).arrays
    return x.keys() == y.keys() and all(x[k].tobytes() == y[k].tobytes() for k in x)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_mixed_table(150)


# -- one process ---------------------------------------------------------------------------------
def test_parts_are_read_in_order_and_split_by_rank(tmp_path, table):
    folder = _write_parts(tmp_path / "p", table, [60, 50, 40], group=20)
    (folder / "_SUCCESS").write_text("")  # engines' marker files are not parts
    parts = ParquetParts(folder)
    assert parts.n_rows == 150 and len(parts.units) == 8 and parts.columns == list(table.columns)
    files = sorted(folder.glob("part-*.parquet"))
    whole = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    pd.testing.assert_frame_equal(parts.read(parts.units), whole)
    assert len(whole) == len(table) and list(whole["customer_id"]) == list(table["customer_id"])
    for world in (1, 2, 3):
        shares = [parts.read(rank_units(parts, r, world)) for r in range(world)]
        pd.testing.assert_frame_equal(pd.concat(shares, ignore_index=True), parts.read(parts.units))
        assert max(len(s) for s in shares) - min(len(s) for s in shares) <= 20
    # one big row group among small ones: still a row group for every process
    uneven = ParquetParts(_write_parts(tmp_path / "u", table, [10, 100, 10, 10], group=100))
    assert [len(rank_units(uneven, r, 3)) for r in range(3)] == [1, 1, 2]


def test_one_process_fits_the_whole_table(tmp_path, table):
    """Without torchrun, fit_parts is fit on the parts read in order."""
    folder = _write_parts(tmp_path / "p", table, [100, 50], group=30)
    params = {**get_generator_class("vae")._fast_params(), "random_state": 0}
    a = fit_parts(sg.make_generator("vae", **params), folder)
    b = sg.make_generator("vae", **params).fit(table)
    a.save(tmp_path / "a.sgm")
    b.save(tmp_path / "b.sgm")
    assert _same_arrays(tmp_path / "a.sgm", tmp_path / "b.sgm") and a.n_train_rows_ == 150


def test_bad_parts_are_refused_with_the_file_named(tmp_path, table):
    folder = _write_parts(tmp_path / "p", table, [100, 50], group=100)
    other = table.iloc[:10].assign(income=table["income"].iloc[:10].astype(str))
    other.to_parquet(folder / "part-009.parquet", index=False)
    with pytest.raises(
        SchemaError, match=r"part-009\.parquet.*'income' is string instead of double"
    ):
        ParquetParts(folder)
    (folder / "part-009.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"cannot read the Parquet file .*part-009\.parquet"):
        ParquetParts(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no Parquet file"):
        ParquetParts(tmp_path / "empty")
    with pytest.raises(DataError, match="no such folder"):
        ParquetParts(tmp_path / "missing")
    (folder / "part-009.parquet").unlink()
    with pytest.raises(
        DataError,
        match=r"2 row group\(s\) .* 3 processes \(process 2 would get none\).*fewer processes",
    ):
        rank_units(ParquetParts(folder), 0, 3)  # two row groups for three processes


def test_refusals_before_any_work(tmp_path, table, monkeypatch):
    folder = _write_parts(tmp_path / "p", table, [150], group=50)
    with pytest.raises(ConfigurationError, match="fit_rows"):
        fit_parts(sg.make_generator("copula"), folder, fit_rows=0)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigurationError, match=r"Copula.* does not train across"):
        fit_parts(sg.make_generator("copula"), folder)


def test_cli_parts_in_one_process(tmp_path, table, capsys):
    from synthgen.cli import main

    folder = _write_parts(tmp_path / "p", table, [100, 50], group=50)
    out = tmp_path / "m.sgm"
    assert main(["fit", str(folder), "--parts", "-g", "copula", "-o", str(out), "-q"]) == 0
    assert "on 150 rows x" in capsys.readouterr().out
    assert list(sg.load(out).sample(5).columns) == list(table.columns)
    assert main(["fit", str(folder), "--parts", "--kind", "x=numeric", "-o", str(out)]) == 2
    assert "--kind does not go with --parts" in capsys.readouterr().err


# -- two processes (gloo) ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api_run(tmp_path_factory, table):
    root = tmp_path_factory.mktemp("parts")
    folder = _write_parts(root / "p", table, [70, 50, 30], group=25)
    bad = _write_parts(root / "bad", table, [100, 50], group=50)
    table.iloc[:5].assign(c=1.5).to_parquet(bad / "part-001.parquet", index=False)
    _write_parts(root / "few", table, [150], group=150)
    out = root / "out"
    out.mkdir()
    torchrun(str(WORKER), str(out), str(folder), cwd=REPO)
    return out


def test_each_rank_reads_its_share_and_trains_one_model(api_run):
    records = [json.loads((api_run / f"record-{r}.json").read_text()) for r in (0, 1)]
    # row groups of 25, 25, 20 | 25, 25 | 25, 5 rows: 70 and 80 rows, no rank reads the table
    assert [r["read"] for r in records] == [[70] * len(FAMILIES), [80] * len(FAMILIES)]
    for key in FAMILIES:
        assert _same_arrays(api_run / f"{key}-0.sgm", api_run / f"{key}-1.sgm"), key
        assert records[0][key]["n_train_rows"] == 150
        loaded = sg.load(api_run / f"{key}-0.sgm")
        assert list(loaded.sample(20, random_state=0).columns) == list(make_mixed_table(5).columns)


def test_every_rank_trains_the_visiting_order_of_the_whole_table(api_run, table, monkeypatch):
    """Each rank counts its own rows' tokens; summed over the ranks, they order the columns
    as one process fitting the whole table does (rank 0's rows alone order them otherwise;
    the worker's budget of 8 shared lanes)."""
    monkeypatch.setattr(ordering, "SHARED_LANES", 8)
    params = {**get_generator_class("transformer")._fast_params(), "random_state": 0}
    params["column_order"] = "auto"  # as the worker fits it
    whole = sg.make_generator("transformer", **params).fit(table).column_order_
    alone = [sg.make_generator("transformer", **params).fit(rows).column_order_
             for rows in (table.iloc[:70], table.iloc[70:])]  # fmt: skip
    assert any(order != whole for order in alone)
    ranks = [sg.load(api_run / f"transformer-{r}.sgm").column_order_ for r in (0, 1)]
    assert ranks == [whole, whole]


def test_sharded_full_batch_steps_are_one_process_steps(api_run):
    """Rows 0-19 on rank 0 and 20-40 on rank 1, weighted by their share: one process's
    full-batch steps on all 41 rows; mini-batches count the table's rows (30 + 11 rows,
    batch 16: 3 steps on both ranks)."""
    single = regression()
    for r in (0, 1):
        np.testing.assert_allclose(np.load(api_run / f"regression-{r}.npy"), single, rtol=1e-12)
        assert json.loads((api_run / f"record-{r}.json").read_text())["steps"] == [3, 3]


def test_bad_parts_are_refused_on_every_rank(api_run):
    for r in (0, 1):
        refused = json.loads((api_run / f"record-{r}.json").read_text())["refused"]
        assert len(refused) == 3
        assert refused[0].startswith("SchemaError") and "part-001.parquet" in refused[0]
        assert refused[1].startswith("DataError") and "process 1 would get none" in refused[1]
        assert refused[2].startswith("SchemaError") and "missing columns ['other']" in refused[2]


def test_torchrun_cli_fit_on_parts_is_repeatable(tmp_path, table):
    folder = _write_parts(tmp_path / "p", table, [80, 70], group=40)
    fit = ["-m", "synthgen", "fit", str(folder), "--parts", "-g", "transformer"]
    fit += ["--random-state", "3", "--param", "epochs=2", "--param", "batch_size=64", "--quiet"]
    outs = [tmp_path / "a.sgm", tmp_path / "b.sgm"]
    for out in outs:
        run = torchrun(*fit, "-o", str(out), cwd=tmp_path)
        assert run.stdout.count("fitted transformer on 150 rows") == 1  # rank 0 alone reports
    assert _same_arrays(outs[0], outs[1])
    sample = sg.load(outs[0]).sample(50, random_state=0)
    assert list(sample.columns) == list(table.columns)
