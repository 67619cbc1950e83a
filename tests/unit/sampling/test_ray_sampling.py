"""Sampling on a local Ray (2 CPUs) into Parquet: the parts of ``sample_to``, whoever draws them."""

from __future__ import annotations

import pandas as pd
import pytest

import synthgen as sg
from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.generators import get_generator_class
from synthgen.ray_sampling import sample_to_ray
from synthgen.sampling.chunked import BLOCK_ROWS

# One local Ray at a time: every Ray test runs on the same pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("ray")


def test_ray_parts_equal_the_single_process_parts(local_ray, model, tmp_path, part_bytes):
    """Parts that cut blocks in two (chunk_size not a multiple of the block): every part is
    the single process's, byte for byte, and the identifiers run over the whole output."""
    n, chunk = 2 * BLOCK_ROWS + 123, BLOCK_ROWS // 2 + 7
    alone = model.sample_to(tmp_path / "alone", n, chunk_size=chunk, random_state=5)
    spread = sample_to_ray(model, tmp_path / "ray", n, chunk_size=chunk, random_state=5)
    assert part_bytes(spread) == part_bytes(alone)
    rows = pd.read_parquet(spread)
    assert len(rows) == n and rows["key"].is_unique and rows["key"].iloc[-1] == f"id-{n:06d}"


def test_a_neural_model_and_the_model_stream(local_ray, tmp_path, mixed, part_bytes):
    """A neural model travels as its saved file; without random_state both continue the
    model's own stream from the same point."""
    params = {**get_generator_class("vae")._fast_params(), "random_state": 0}
    model = sg.make_generator("vae", **params).fit(mixed)
    twin = sg.make_generator("vae", **params).fit(mixed)
    alone = model.sample_to(tmp_path / "alone", BLOCK_ROWS + 10, chunk_size=BLOCK_ROWS)
    spread = sample_to_ray(twin, tmp_path / "ray", BLOCK_ROWS + 10, chunk_size=BLOCK_ROWS)
    assert part_bytes(spread) == part_bytes(alone)
    assert list(pd.read_parquet(spread).columns) == list(mixed.columns)


def test_refusals_leave_nothing_behind(local_ray, model, tmp_path):
    with pytest.raises(ConfigurationError, match="Parquet folder"):
        sample_to_ray(model, tmp_path / "rows.csv", 10)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(PersistenceError, match="already exists"):
        sample_to_ray(model, tmp_path / "taken", 10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_cli_sample_on_ray(local_ray, model, tmp_path, capsys, part_bytes):
    from synthgen.cli import main

    model.save(tmp_path / "m.sgm")
    args = ["sample", str(tmp_path / "m.sgm"), "-n", "1000", "--random-state", "2"]
    assert main([*args, "-o", str(tmp_path / "ray"), "--ray", "--chunk-size", "300"]) == 0
    assert main([*args, "-o", str(tmp_path / "alone"), "--chunk-size", "300"]) == 0
    assert part_bytes(tmp_path / "ray") == part_bytes(tmp_path / "alone")
    assert len(part_bytes(tmp_path / "ray")) == 4
    assert "wrote 1,000 synthetic rows" in capsys.readouterr().out
