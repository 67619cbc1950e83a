"""``sample_to(..., n_jobs=k)``: worker processes write what one process writes."""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import synthgen as sg
from synthgen.cli import main
from synthgen.exceptions import ConditionError, ConfigurationError
from synthgen.generators import get_generator_class
from synthgen.sampling import chunked


def test_workers_write_the_parts_and_csv_of_one_process(model, tmp_path, monkeypatch, part_bytes):
    """Chunks that cut the seeded blocks in two: the same Parquet parts byte for byte, the same
    CSV text (from the command line too), identifiers numbered over the whole output."""
    monkeypatch.setattr(chunked, "BLOCK_ROWS", 500)  # the workers get the block size with a part
    n, chunk, where = 2_345, 700, {"x": sg.Range(-1.0, 2.0)}  # conditions travel too
    alone = model.sample_to(
        tmp_path / "alone", n, chunk_size=chunk, random_state=5, conditions=where
    )
    spread = model.sample_to(
        tmp_path / "spread", n, chunk_size=chunk, random_state=5, conditions=where, n_jobs=2
    )
    assert part_bytes(spread) == part_bytes(alone) and len(part_bytes(alone)) == 4
    rows = pd.read_parquet(spread)
    assert len(rows) == n and rows["key"].is_unique and rows["key"].iloc[-1] == f"id-{n:06d}"
    assert rows["x"].between(-1.0, 2.0).all()

    saved = tmp_path / "m.sgm"
    model.save(saved)
    one = model.sample_to(tmp_path / "one.csv.gz", n, chunk_size=chunk, random_state=5)
    cli = tmp_path / "cli.csv.gz"
    args = ["sample", str(saved), "-n", str(n), "-o", str(cli), "--chunk-size", str(chunk)]
    main([*args, "--random-state", "5", "--jobs", "2", "-q"])
    with gzip.open(one) as a, gzip.open(cli) as b:  # one gzip member per part, read as one
        assert a.read() == b.read()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "alone",
        "cli.csv.gz",
        "m.sgm",
        "one.csv.gz",
        "spread",
    ]  # no temporary folder or piece left


def test_a_column_missing_in_the_first_parts_is_typed_alike_by_workers(
    tmp_path, monkeypatch, part_bytes
):
    """A column that is missing in every row of part 0 (an Arrow null column there) takes
    the type of the first part that has a value: in one process (the parts before written
    again) and in workers (the settled schema), the same parts byte for byte."""
    monkeypatch.setattr(chunked, "BLOCK_ROWS", 500)
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"x": rng.normal(size=1200), "note": np.where(rng.random(1200) < 0.96, None, "memo")}
    )
    model = sg.make_generator("copula", random_state=0).fit(df)
    n, chunk = 2_000, 40

    def first_part_empty(seed: int) -> bool:
        base = int(np.random.default_rng(seed).integers(2**63 - 1))
        rows = model.sample(500, random_state=np.random.default_rng([base, 0]))
        return rows["note"].iloc[:chunk].isna().all() and rows["note"].notna().any()

    seed = next(s for s in range(200) if first_part_empty(s))
    alone = model.sample_to(tmp_path / "alone", n, chunk_size=chunk, random_state=seed)
    spread = model.sample_to(tmp_path / "spread", n, chunk_size=chunk, random_state=seed, n_jobs=2)
    assert part_bytes(spread) == part_bytes(alone)
    rows = pd.read_parquet(alone)
    assert rows["note"].iloc[:chunk].isna().all() and set(rows["note"].dropna()) == {"memo"}
    assert {str(pq.read_schema(p).field("note").type) for p in alone.iterdir()} == {"string"}


def test_a_neural_model_continues_its_stream_in_workers(tmp_path, mixed, monkeypatch, part_bytes):
    """A neural model (torch threads set in each worker) without random_state: both runs
    continue the model's own stream from the same point."""
    monkeypatch.setattr(chunked, "BLOCK_ROWS", 500)
    params = {**get_generator_class("vae")._fast_params(), "random_state": 0}
    model = sg.make_generator("vae", **params).fit(mixed)
    twin = sg.make_generator("vae", **params).fit(mixed)
    alone = model.sample_to(tmp_path / "alone", 1_210, chunk_size=600)
    spread = twin.sample_to(tmp_path / "spread", 1_210, chunk_size=600, n_jobs=-1)
    assert model.sample(3).equals(twin.sample(3))  # and both streams moved on alike
    assert part_bytes(spread) == part_bytes(alone)
    assert list(pd.read_parquet(spread).columns) == list(mixed.columns)


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, True, "2"])
def test_bad_n_jobs_is_refused_before_anything_is_written(model, tmp_path, n_jobs):
    with pytest.raises(ConfigurationError, match="n_jobs must be a positive integer or -1"):
        model.sample_to(tmp_path / "out", 10, n_jobs=n_jobs)
    assert list(tmp_path.iterdir()) == []


def test_bad_conditions_are_refused_before_any_worker_starts(model, tmp_path, capsys):
    with pytest.raises(ConditionError, match=r"'c'.*never seen"):
        model.sample_to(tmp_path / "out", 5_000, chunk_size=100, conditions={"c": "z"}, n_jobs=2)
    assert list(tmp_path.iterdir()) == []
    model.save(tmp_path / "m.sgm")
    args = ["sample", str(tmp_path / "m.sgm"), "-n", "10", "-o", str(tmp_path / "o")]
    assert main([*args, "--jobs", "2", "--ray"]) == 2
    assert "--jobs runs local worker processes" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.sgm"]


def test_a_script_without_a_main_guard_gets_a_clear_error(tmp_path):
    """Each worker imports the main module: a script that samples at its top level makes its
    workers sample again, and stop. The caller is told why; nothing is left behind."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            import pandas as pd
            import synthgen as sg

            df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 5, "c": ["a", "b"] * 10})
            model = sg.make_generator("marginals", random_state=0).fit(df)
            model.sample_to("out", 1_000, chunk_size=100, n_jobs=2)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0
    assert "SamplingWorkerError" in done.stderr and "__main__" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unguarded.py"]
