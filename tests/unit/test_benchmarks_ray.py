"""``python -m benchmarks run --ray``: the grid as Ray tasks on a local Ray (2 CPUs)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from benchmarks.run import main

# One local Ray at a time: every Ray test runs on the same pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("ray")

#: Figures that measure the machine, not the pair (they differ from run to run anywhere).
TIMINGS = {"fit_s", "sample_s", "evaluate_s", "peak_mb", "wall_s"}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.normal(size=150)
    frame = pd.DataFrame(
        {"x": x, "c": rng.choice(["a", "b", "c"], 150), "label": np.where(x > 0, "yes", "no")}
    )
    path = tmp_path_factory.mktemp("data") / "tiny.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def ray_down():
    import ray

    yield
    ray.shutdown()


def _results(folder) -> list[dict]:
    (path,) = folder.glob("results-*.json")
    return json.loads(path.read_text())


def test_ray_grid_gives_the_sequential_figures(table, tmp_path, ray_down, capsys):
    """Same pairs, same order, same figures (only timings differ), same files written."""
    common = ["--generators", "marginals,copula", "--datasets", str(table), "--target", "label"]
    common += ["--seeds", "0", "--threads", "1"]  # a pair per worker (each pair takes seconds)
    assert main([*common, "--output", str(tmp_path / "alone")]) == 0
    assert main([*common, "--output", str(tmp_path / "ray"), "--ray", "--ray-cpus", "2"]) == 0
    alone, spread = _results(tmp_path / "alone"), _results(tmp_path / "ray")
    assert [r["status"] for r in spread] == ["ok"] * 2
    strip = [{k: v for k, v in r.items() if k not in TIMINGS} for r in alone]
    assert [{k: v for k, v in r.items() if k not in TIMINGS} for r in spread] == strip
    assert [(r["generator"], r["seed"]) for r in spread] == [("marginals", 0), ("copula", 0)]
    for name in ("latest.md", "metrics.png", "quality_vs_time.png"):
        assert (tmp_path / "ray" / name).is_file()
    assert "| tiny | marginals | 1 |" in (tmp_path / "ray" / "latest.md").read_text()


def test_a_pair_over_its_time_limit_is_recorded_as_a_timeout(table, tmp_path, ray_down):
    from benchmarks.ray_run import run_grid_on_ray

    pair = {"generator": "marginals", "dataset": str(table), "seed": 0, "target": "label"}
    (result,) = run_grid_on_ray([{**pair, "timeout": 0.5}], cpus=2)
    assert result["status"] == "timeout" and "within 0 s" in result["error"]
    assert (result["generator"], result["dataset"], result["seed"]) == ("marginals", "tiny", 0)


def test_missing_ray_is_a_clear_error(table, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(SystemExit, match=r"pip install 'synthgen\[ray\]'"):
        main(
            [
                "--generators",
                "marginals",
                "--datasets",
                str(table),
                "--ray",
                "--output",
                str(tmp_path),
            ]
        )
    assert not list(tmp_path.glob("results-*.json"))


def test_bad_thread_count_is_refused_before_any_work(table, tmp_path):
    with pytest.raises(SystemExit, match="--threads must be at least 1"):
        main(["--datasets", str(table), "--ray", "--threads", "0", "--output", str(tmp_path)])
