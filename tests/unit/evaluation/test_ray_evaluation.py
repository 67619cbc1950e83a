"""Evaluation on a local Ray (2 CPUs): the metric groups as tasks, the in-process report."""

from __future__ import annotations

import json
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from eval_helpers import FAST, make_frame

import synthgen as sg
from synthgen.exceptions import ConfigurationError, EvaluationError
from synthgen.ray_evaluation import evaluate_ray

# One local Ray at a time: every Ray test runs on the same pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("ray")


def _meta(report) -> dict:
    """The meta without what measures the machine (seconds taken)."""
    meta = {k: v for k, v in report.meta.items() if k not in ("timings_s", "manifest")}
    if meta["privacy_attacks"] is not None:
        meta["privacy_attacks"] = {
            k: v for k, v in meta["privacy_attacks"].items() if k != "seconds"
        }
    return meta


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.summary(), b.summary())
    assert [m.details for m in a.metrics] == [m.details for m in b.metrics]
    assert _meta(a) == _meta(b)
    assert a.meta["manifest"]["attack_seed"] == b.meta["manifest"]["attack_seed"]
    _equal(a._artifacts, b._artifacts)  # the plots' inputs and the distances


def _equal(x, y) -> None:
    assert type(x) is type(y)
    if isinstance(x, dict):
        assert list(x) == list(y)
        for key in x:
            _equal(x[key], y[key])
    elif isinstance(x, (list, tuple)):
        assert len(x) == len(y)
        for u, v in zip(x, y, strict=True):
            _equal(u, v)
    else:
        np.testing.assert_array_equal(x, y)


def test_ray_report_equals_the_in_process_report(local_ray):
    train, syn, holdout = make_frame(300, 0), make_frame(300, 1), make_frame(200, 2)
    options = {"holdout": holdout, "target": "label", "limits": FAST, "random_state": 4}
    alone = sg.evaluate(train, syn, **options)
    spread = evaluate_ray(train, syn, **options)
    _same(alone, spread)
    assert spread.meta["timings_s"].keys() == alone.meta["timings_s"].keys()
    assert {"fidelity", "detection", "attacks"} <= set(spread.meta["timings_s"])
    # the seed matters: another one moves the sampled metrics
    other = evaluate_ray(train, syn, **{**options, "random_state": 5})
    assert other["detection_auc"].value != spread["detection_auc"].value


def test_refit_stays_in_this_process(local_ray):
    """The shadow attack's refit holds a model: it is never pickled (a lock in the closure
    would fail to); its group runs here and the report is the in-process one."""
    train, syn, holdout = make_frame(200, 0), make_frame(200, 1), make_frame(120, 2)
    lock = threading.Lock()
    calls = []

    def refit(table: pd.DataFrame, n: int) -> pd.DataFrame:
        with lock:
            calls.append(n)
        return table.sample(n, replace=True, random_state=n).reset_index(drop=True)

    options = {"holdout": holdout, "limits": FAST, "random_state": 1, "refit": refit}
    spread = evaluate_ray(train, syn, **options)
    assert calls  # the shadow attack ran, in this process
    _same(sg.evaluate(train, syn, **options), spread)


def test_bad_input_and_missing_ray(local_ray, monkeypatch):
    train = make_frame(100, 0)
    with pytest.raises(EvaluationError, match="x"):  # checked here, before any task
        evaluate_ray(train, train.drop(columns=["x"]), limits=FAST)
    with pytest.raises(ConfigurationError, match="cpus_per_task"):
        evaluate_ray(train, train, cpus_per_task=0)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'synthgen\[ray\]'"):
        evaluate_ray(train, train)


def test_cli_evaluate_on_ray(local_ray, tmp_path, capsys):
    from synthgen.cli import main

    for name, seed in (("real", 0), ("syn", 1), ("hold", 2)):
        make_frame(150, seed).to_csv(tmp_path / f"{name}.csv", index=False)
    args = ["evaluate", "--real", str(tmp_path / "real.csv"), "--synthetic"]
    args += [str(tmp_path / "syn.csv"), "--holdout", str(tmp_path / "hold.csv"), "-q"]
    assert main([*args, "--json", str(tmp_path / "a.json")]) == 0
    assert main([*args, "--json", str(tmp_path / "b.json"), "--ray"]) == 0
    out = capsys.readouterr().out
    assert out.count("privacy verdict") == 2
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert a["metrics"] == b["metrics"] and a["privacy_verdict"] == b["privacy_verdict"]
