"""The benchmark harness records failures instead of stopping, and tabulates results."""

import json

import numpy as np
import pytest

from benchmarks.run import markdown_table, plot, run_pair


def test_a_crashing_pair_is_recorded_not_fatal(tmp_path, adult):
    table = tmp_path / "small.csv"
    adult.head(200).to_csv(table, index=False)
    result = run_pair("no-such-generator", str(table), 0, target="income", timeout=120)
    assert result["status"] == "error"
    assert "unknown generator" in result["error"]
    assert result["generator"] == "no-such-generator" and result["seed"] == 0


def test_markdown_table_averages_seeds_and_lists_failures():
    results = [
        {
            "status": "ok",
            "dataset": "d",
            "generator": "g",
            "seed": 0,
            "fit_s": 1.0,
            "column_pair_trends": 0.8,
        },
        {
            "status": "ok",
            "dataset": "d",
            "generator": "g",
            "seed": 1,
            "fit_s": 3.0,
            "column_pair_trends": 0.9,
        },
        {"status": "timeout", "dataset": "d", "generator": "h", "seed": 0, "error": "slow"},
    ]
    table = markdown_table(results)
    assert "| d | g | 2 | 2.0 | 0.850 ± 0.071 |" in table
    assert "h on d (seed 0): timeout: slow" in table


def test_plots_take_a_fit_time_rounded_to_zero(tmp_path):
    """A fit that rounds to 0.00 s (a tiny table) is drawn on a linear axis, without
    matplotlib's warning about a log axis with nothing positive on it."""
    import warnings

    base = {"status": "ok", "dataset": "tiny", "seed": 0, "sample_s": 0.01}
    results = [
        {**base, "generator": "marginals", "fit_s": 0.0, "column_pair_trends": 0.9},
        {**base, "generator": "copula", "fit_s": 0.0, "column_pair_trends": 0.95},
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot(results, tmp_path)
    assert (tmp_path / "quality_vs_time.png").is_file()


def test_table_merges_result_files(tmp_path, capsys):
    import json

    from benchmarks.run import table_main

    for seed, trend in ((0, 0.8), (1, 0.9)):
        row = {
            "status": "ok",
            "dataset": "d",
            "generator": "g",
            "seed": seed,
            "fit_s": 1.0,
            "column_pair_trends": trend,
        }
        (tmp_path / f"r{seed}.json").write_text(json.dumps([row]))
    assert table_main([str(tmp_path / "r0.json"), str(tmp_path / "r1.json")]) == 0
    assert "| d | g | 2 | 1.0 | 0.850 ± 0.071 |" in capsys.readouterr().out


def test_scale_tables_have_the_asked_size():
    from benchmarks.scale import make_table, markdown

    opts = {"rows": 300, "rows_per_label": 2, "labels": 50}
    labels = make_table("labels", 400, 0, opts)
    assert len(labels) == 800 and labels["merchant"].nunique() == 400
    assert make_table("cols", 40, 0, opts).shape == (300, 40)
    evaluate = make_table("evaluate", 200, 0, opts)
    assert evaluate["merchant"].nunique() == 50 and evaluate["ref"].nunique() > 190
    table = markdown([{"generator": "copula", "axis": "cols", "size": 40, "fit_s": 1.25}])
    assert "| copula | cols | 40 | 1.2 |" in table


def test_wide_quick_quality_sees_broken_shapes_and_trends():
    import numpy as np
    import pandas as pd

    from benchmarks.bench_wide import quick_quality

    def draw(seed):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=600)
        y = x + rng.normal(0, 0.3, 600)
        return pd.DataFrame({"x": x, "y": y, "c": np.where(x > 0, "hi", "lo")})

    real = draw(0)
    same = quick_quality(real, draw(1))  # another draw of the same distribution
    assert same["shapes"] > 0.9 and same["trends"] > 0.97 and same["detection"] < 0.6
    rng = np.random.default_rng(2)
    shuffled = real.apply(lambda col: col.to_numpy()[rng.permutation(len(col))])  # no joint
    broken = quick_quality(real, shuffled)
    assert broken["shapes"] == 1.0 and broken["trends"] < 0.8 and broken["detection"] > 0.7
    shifted = quick_quality(real, real.assign(x=real["x"] + 2.0))
    assert shifted["shapes"] < 0.8


def test_wide_benchmark_reports_each_grouping(capsys, one_thread):
    import json

    from benchmarks.bench_wide import main

    args = ["--cols", "40", "--rows", "300", "--epochs", "1", "--groups", "auto,1"]
    assert main([*args, "--kv-heads", "4,1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["columns_per_position"] for r in rows] == [2, 2, 1, 1]
    assert [r["kv_heads"] for r in rows] == [4, 1, 4, 1]
    assert [r["local"] for r in rows] == [2, 2, None, None]  # the split layer when grouped
    assert all(r["cols"] == 40 and r["sample_rows_per_s"] > 0 for r in rows)
    assert main([*args[:-1], "auto", "--local", "2,1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["local"] for r in rows] == [2, 1]


def test_a_scale_point_records_the_transformers_grouping(one_thread):
    from benchmarks.scale import _measure, markdown

    args = {"seed": 0, "rows": 300, "min_count": 0, "sample_rows": 50}
    params = {"transformer": {"epochs": 1, "d_model": 16, "n_heads": 2, "n_layers": 1}}
    point = _measure("transformer", "cols", 40, {**args, "params": params, "sample_repeats": 3})
    assert point["cols"] == 40 and point["columns_per_position"] == 2
    runs = point["sample_runs_s"]  # three timed draws, the rate from their median
    assert len(runs) == 3 and point["sample_rows_per_s"] == 50 / sorted(runs)[1]
    assert "columns_per_position" in markdown([{"generator": "transformer", **point}])
    # the draw's quality against as many real rows, scored after the peak RSS is read
    assert 0.0 < point["column_shapes"] <= 1.0 and 0.0 < point["column_pair_trends"] <= 1.0
    assert point["peak_rss_mb"] > 0 and point["quality_s"] > 0
    table = markdown([{"generator": "transformer", **point}])
    assert f"| {point['column_shapes']:.3f} |" in table


def test_a_scale_point_scores_quality_unless_asked_not_to(monkeypatch):
    import benchmarks.scale as scale

    scored = []

    def fake_quality(data, synthetic, seed):
        scored.append((len(data), len(synthetic), seed))
        return {"column_shapes": 0.9, "column_pair_trends": 0.8}

    monkeypatch.setattr(scale, "_quality", fake_quality)
    opts = {"rows": 300, "min_count": 0, "seed": 3, "sample_rows": 120, "params": {}}
    out = scale._measure("marginals", "cols", 20, opts)
    assert scored == [(300, 120, 3)] and out["column_shapes"] == 0.9
    out = scale._measure("marginals", "cols", 20, opts | {"quality": False})
    assert len(scored) == 1 and "column_shapes" not in out and "quality_s" not in out
    assert "peak_rss_mb" in out  # read in the point, before any scoring


def test_scale_quality_scores_a_resample_of_the_real_rows_high():
    from benchmarks.scale import _quality, make_table

    data = make_table("cols", 30, 0, {"rows": 2000})
    fake = data.sample(1000, replace=True, random_state=1).reset_index(drop=True)
    rng = np.random.default_rng(2)
    shuffled = fake.apply(lambda c: c.to_numpy()[rng.permutation(len(c))])
    good, broken = _quality(data, fake, 0), _quality(data, shuffled, 0)
    assert good["column_shapes"] > 0.95 and good["column_pair_trends"] > 0.95
    # every column shuffled on its own: the shapes stay, the pairs' trends go
    assert broken["column_shapes"] > 0.95
    assert broken["column_pair_trends"] < good["column_pair_trends"] - 0.05


def test_a_scale_point_of_a_peer_runs_it_with_the_asked_epochs(monkeypatch):
    import benchmarks.scale as scale

    calls = []

    def fake_peer(name, train, n_rows, seed, quick, target="", epochs=None, **repeats):
        calls.append((name, len(train), n_rows, epochs, repeats["sample_repeats"]))
        repeats["sample_runs"].extend([0.4, 0.5, 0.7])
        rows = train.sample(n_rows, replace=True, random_state=seed).reset_index(drop=True)
        return rows, 8.0, 0.5

    monkeypatch.setattr(scale, "run_peer", fake_peer)
    opts = {"rows": 300, "rows_per_label": 2, "labels": 50, "seed": 0, "sample_rows": 200}
    opts |= {"params": {"mostlyai_argn": {"epochs": 2}}, "sample_repeats": 3}
    out = scale._measure("mostlyai_argn", "labels", 100, opts)
    assert calls == [("mostlyai_argn", 300, 200, 2, 3)]
    assert out["fit_s"] == 8.0 and out["s_per_epoch"] == 4.0
    assert out["sample_rows_per_s"] == 400.0 and out["sample_runs_s"] == [0.4, 0.5, 0.7]
    assert 0.5 < out["merchant_shape"] <= 1.0  # resampled real rows: a close frequency shape
    assert out["column_shapes"] > 0.9  # the peer's rows scored like ours


def test_dp_canary_audit_bounds_epsilon_and_sees_a_copying_generator(adult, one_thread):
    from benchmarks.dp_canary import audit, audit_fit, markdown

    fits = [audit_fit(adult, seed, 400, 200, 400) for seed in (0, 1)]
    for train, canaries, member, _ in fits:
        assert 0 < member.sum() < len(member)
        planted = train.merge(canaries, how="inner")
        assert len(planted) >= member.sum()  # every member canary is in the training rows
    private, _ = audit("dp_marginals", {"epsilon": 1.0}, fits, 0, n_synth=800)
    assert private["members"] + private["nonmembers"] == 400
    assert private["lb_le_accounted"] and private["eps_lb"] <= private["epsilon_spent"] <= 1.0
    copied, dump = audit("copy", {}, fits, 0, n_synth=800)
    assert copied["eps_lb"] > 1.0 and copied["epsilon_spent"] is None
    assert set(dump["scores"]) == {"distance", "density", "classifier"}
    assert {"auc_loglik", "auc_loglik_cal"} <= set(private)  # white-box attacks ran
    table = markdown([private, copied, {**private, "lb_le_accounted": False}])
    assert "| yes |" in table and "(no DP)" in table and "**NO**" in table


def _answer(value, queue) -> None:
    queue.put({"status": "ok", "value": value})


def _hang(seconds, queue) -> None:
    import time

    time.sleep(seconds)


def _die(queue) -> None:
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def _exit(queue) -> None:
    raise SystemExit(3)


def _hang_with_a_grandchild(path, queue) -> None:
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(path, "w") as fh:
        fh.write(str(proc.pid))
    time.sleep(120)


def test_a_timeout_ends_the_processes_the_child_started(tmp_path):
    import time
    from pathlib import Path

    from benchmarks.child import run_in_child

    pid_file = tmp_path / "pid"
    slow = run_in_child(_hang_with_a_grandchild, (str(pid_file),), timeout=10)
    assert slow["status"] == "timeout"
    pid = int(pid_file.read_text())
    for _ in range(50):  # the kill is asynchronous; a zombie has no cmdline
        try:
            alive = Path(f"/proc/{pid}/cmdline").read_bytes() != b""
        except FileNotFoundError:
            alive = False
        if not alive:
            break
        time.sleep(0.1)
    assert not alive


def test_run_in_child_returns_the_result_or_says_why_not():
    from benchmarks.child import run_in_child

    done = run_in_child(_answer, (7,), timeout=60)
    assert done["status"] == "ok" and done["value"] == 7 and done["wall_s"] >= 0
    slow = run_in_child(_hang, (60,), timeout=2)
    assert slow["status"] == "timeout" and "2 s" in slow["error"]
    # A child that dies is reported when it dies, not at the end of its (long) limit; on a
    # loaded machine it may take seconds to start, which a short limit would call a timeout.
    died = run_in_child(_die, (), timeout=600)
    assert died["status"] == "killed" and died["wall_s"] < 300
    failed = run_in_child(_exit, (), timeout=600)
    assert failed["status"] == "error" and "(3)" in failed["error"] and failed["wall_s"] < 300


def test_the_defaults_benchmark_builds_the_real_wide_table_and_scores_each_generator(
    capsys, one_thread
):
    import json

    from benchmarks.bench_defaults import main as bench_defaults
    from benchmarks.bench_defaults import real_wide_table

    table = real_wide_table(50, 2, seed=0)
    assert table.shape == (50, 2 * (15 + 17 + 24))  # two copies of the three shared tables
    assert {"adul0_age", "adul1_age", "bank0_y", "cred1_has_default"} <= set(table.columns)
    # the copies hold other rows (drawn independently)
    assert not table["adul0_age"].equals(table["adul1_age"])
    args = ["--table", "real", "--rows", "300", "--copies", "1", "--generators", "copula,vae"]
    assert bench_defaults([*args, "--params", '{"vae": {"epochs": 1}}']) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["generator"] for r in rows] == ["copula", "vae"]
    assert all(r["cols"] == 56 and r["rows"] == 300 and 0.5 <= r["detection"] <= 1 for r in rows)
    assert [r["default"] for r in rows] == [True, False]  # 300 rows: too few for a network
    assert bench_defaults([*args[:-1], "copula", "--first", "20"]) == 0
    assert json.loads(capsys.readouterr().out)["cols"] == 20


def test_scale_plot_draws_sampling_rate_where_measured(tmp_path, monkeypatch):
    import benchmarks.run as run
    from benchmarks.scale import plot

    figures = []
    monkeypatch.setattr(run, "_save_figure", lambda fig, path: figures.append(fig))
    base = {"axis": "cols", "status": "ok", "peak_rss_mb": 500.0}
    points = [{**base, "generator": g, "size": s} for g in ("a", "b") for s in (10, 100)]
    fits = [{**p, "fit_s": 2.0, "sample_rows_per_s": 1000.0 / p["size"]} for p in points]
    plot(fits, tmp_path / "x.png")
    plot(
        [{**p, "generator": "c", "axis": "evaluate", "evaluate_s": 3.0} for p in points],
        tmp_path / "y.png",
    )
    scored = [{**p, "column_shapes": 0.9, "column_pair_trends": 0.8} for p in fits]
    plot(scored, tmp_path / "z.png")
    labels = [[ax.get_ylabel() for ax in fig.axes] for fig in figures]
    assert labels[0] == ["fit seconds", "sampling rows per second", "peak RSS (MB)"]
    assert labels[1] == ["evaluate seconds", "peak RSS (MB)"]
    assert labels[2] == [*labels[0], "shapes", "pair trends"]  # the draws' quality, linear
    assert [ax.get_yscale() for ax in figures[2].axes] == ["log"] * 3 + ["linear"] * 2


def test_the_wide_evaluation_benchmark_times_both_ways_of_scoring_pairs(capsys, one_thread):
    from benchmarks import bench_wide_evaluate

    out = bench_wide_evaluate.main(["--cols", "48", "--rows", "300", "--sdmetrics"])
    assert out["cols"] == 48 and out["same_pairs"] and out["max_pair_difference"] < 1e-9
    assert 0 < out["column_shapes"] <= 1 and out["one_pass_s"] > 0 and out["sdmetrics_s"] > 0
    assert '"evaluate_s"' in capsys.readouterr().out


def test_the_copy_filter_benchmark_drops_the_same_rows_spilled_or_in_memory():
    from benchmarks.bench_copy_filter import main

    args = ["--rows", "3000", "--own-labels"]
    in_memory = main(args)
    spilled = main([*args, "--spilled", "--part-rows", "800"])
    assert in_memory["method"] == spilled["method"] == "one category"
    assert in_memory["near_copy_distance"] == spilled["near_copy_distance"] >= 1
    assert in_memory["dropped"] == spilled["dropped"] > 0
    assert spilled["filter_mb"] >= 0
    import tempfile
    from pathlib import Path

    assert not list(Path(tempfile.gettempdir()).glob("bench-spilled-*"))  # removed, folder too


def test_temporary_folders_of_tests_stay_in_pytests_own(tmp_path_factory):
    """tests/conftest.py points ``tempfile`` (and child processes, ``TMPDIR``) into pytest's
    base temporary folder, which pytest prunes: a folder code under test forgets does not
    pile up in the system's temporary folder run after run."""
    import os
    import tempfile
    from pathlib import Path

    base = tmp_path_factory.getbasetemp()
    made = Path(tempfile.mkdtemp())
    assert made.is_relative_to(base) and Path(os.environ["TMPDIR"]).is_relative_to(base)


def test_the_worker_sampling_benchmark_writes_the_same_parts_in_every_run(capsys, tmp_path):
    from benchmarks.bench_sample_jobs import main

    args = ["--rows", "3000", "--chunk-size", "1000", "--repeats", "1", "--folder", str(tmp_path)]
    assert main([*args, "--fit-rows", "500", "--jobs", "1,2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["n_jobs"] for r in lines[:-1]] == [1, 2]
    assert all(r["rows_per_s"] > 0 and r["peak_rss_mb"] > 0 for r in lines[:-1])
    assert lines[1]["worker_peak_rss_mb"] > 0 and lines[-1] == {"same_output_every_run": True}
    assert list(tmp_path.iterdir()) == []


def test_the_worker_sampling_benchmark_fits_on_a_parquet_folder(capsys, tmp_path):
    """``--source`` fits on a folder of Parquet parts (bench_stream's table) with fit_parts."""
    from benchmarks.bench_sample_jobs import main
    from benchmarks.bench_stream import write_table

    write_table(tmp_path / "table", 1_200)
    out = tmp_path / "out"
    out.mkdir()
    args = ["--source", str(tmp_path / "table"), "--fit-rows", "1200", "--rows", "2000"]
    assert main([*args, "--jobs", "1", "--repeats", "1", "--folder", str(out)]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert record["data"] == str(tmp_path / "table") and record["rows_per_s"] > 0


def test_the_stream_benchmark_saves_the_model_the_worker_benchmark_draws_from(capsys, tmp_path):
    """``bench_stream --save`` keeps its fitted model; ``bench_sample_jobs --model`` draws
    from that model (its generator named from the file) instead of fitting one."""
    import queue

    from benchmarks.bench_sample_jobs import main
    from benchmarks.bench_stream import _child, write_table

    write_table(tmp_path / "table", 1_200)
    saved, results = tmp_path / "model.sgm", queue.Queue()
    _child(str(tmp_path / "table"), 1_200, 500, "marginals", {}, str(saved), results)
    result = results.get()
    assert result["status"] == "ok" and saved.is_file()
    # independent marginals against real rows: a classifier tells them apart somewhat
    assert 0.5 < result["detection_auc"] <= 1.0
    assert result["detection_rows"] == 500 and result["holdout_rows"] == 250
    out = tmp_path / "out"
    out.mkdir()
    args = ["--model", str(saved), "--rows", "2000", "--jobs", "1", "--repeats", "1"]
    assert main([*args, "--folder", str(out)]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert record["generator"] == "marginals" and record["data"] == str(saved)
    assert "load_s" in record and "fit_s" not in record and record["rows_per_s"] > 0


def test_repeated_draws_time_the_median_and_keep_the_first_draws_metrics(tmp_path, adult):
    """``sample_repeats`` times several draws of the same fitted model: ``sample_s`` is their
    median, every draw is recorded, and the metrics are those of one draw (the first)."""
    import statistics

    table = tmp_path / "small.csv"
    adult.head(300).to_csv(table, index=False)
    once = run_pair("marginals", str(table), 0, target="income", timeout=300)
    thrice = run_pair("marginals", str(table), 0, target="income", timeout=300, sample_repeats=3)
    assert once["status"] == thrice["status"] == "ok", (once, thrice)
    assert "sample_runs_s" not in once and len(thrice["sample_runs_s"]) == 3
    # the median of the exact draws, rounded to 0.01 s; the draws are listed to 0.001 s
    median = statistics.median(thrice["sample_runs_s"])
    assert thrice["sample_s"] == pytest.approx(median, abs=0.0055 + 1e-9)
    for metric in ("column_shapes", "column_pair_trends", "detection_auc"):
        assert thrice[metric] == once[metric]


def test_scored_draws_give_each_draws_tstr_the_first_the_evaluations_own(tmp_path, adult):
    """``score_draws`` scores the TSTR of that many draws of one fitted model, drawing as
    often even when ``sample_repeats`` asks fewer; the first draw's is the evaluation's own
    figure (the same row cap and classifier stream), the mean is over every draw."""
    table = tmp_path / "small.csv"
    adult.head(300).to_csv(table, index=False)
    res = run_pair("marginals", str(table), 0, target="income", timeout=300, score_draws=3)
    assert res["status"] == "ok", res
    assert len(res["sample_runs_s"]) == 3
    draws = res["tstr_roc_auc_draws"]
    assert len(draws) == 3 and len(set(draws)) > 1  # three different draws
    assert draws[0] == res["tstr_roc_auc"]
    assert res["tstr_roc_auc_mean"] == pytest.approx(sum(draws) / 3)
    once = run_pair("marginals", str(table), 0, target="income", timeout=300)
    assert "tstr_roc_auc_draws" not in once and once["tstr_roc_auc"] == res["tstr_roc_auc"]


def test_a_peer_draws_as_often_as_asked(tmp_path, monkeypatch):
    """``run_peer`` hands ``--sample-repeats`` to the peer's script and reports the median of
    the draws' seconds, every draw appended to ``sample_runs``; with ``keep_draws`` it reads
    the later draws' rows back."""
    import sys

    import pandas as pd

    from benchmarks import peers

    script = tmp_path / "sdv_peer.py"
    script.write_text(
        "import argparse, json, pandas as pd\n"
        "p = argparse.ArgumentParser()\n"
        "for f in ('--model', '--train', '--rows', '--seed', '--out', '--timing', '--target'):\n"
        "    p.add_argument(f)\n"
        "p.add_argument('--quick', action='store_true')\n"
        "p.add_argument('--sample-repeats', type=int, default=1)\n"
        "p.add_argument('--keep-draws', type=int, default=1)\n"
        "a = p.parse_args()\n"
        "pd.read_parquet(a.train).head(int(a.rows)).to_parquet(a.out)\n"
        "for i in range(1, a.keep_draws):\n"
        "    pd.read_parquet(a.train).tail(i).to_parquet(f'{a.out}.{i}')\n"
        "runs = [float(i + 1) for i in range(max(a.sample_repeats, a.keep_draws))]\n"
        "json.dump({'fit_s': 0.5, 'sample_s': sorted(runs)[len(runs) // 2], 'sample_runs_s': runs},"
        " open(a.timing, 'w'))\n"
    )
    monkeypatch.setattr(peers, "SCRIPTS", tmp_path)
    monkeypatch.setenv("SYNTHGEN_PEER_SDV_PYTHON", sys.executable)
    train = pd.DataFrame({"x": range(10)})
    runs: list[float] = []
    rows, fit_s, sample_s = peers.run_peer(
        "sdv_ctgan", train, 4, 0, False, sample_repeats=3, sample_runs=runs
    )
    assert len(rows) == 4 and fit_s == 0.5
    assert runs == [1.0, 2.0, 3.0]
    assert sample_s == 2.0
    later: list[pd.DataFrame] = []
    rows, _, _ = peers.run_peer(
        "sdv_ctgan", train, 4, 0, False, sample_runs=runs, later_draws=later, keep_draws=3
    )
    assert len(rows) == 4 and runs[3:] == [1.0, 2.0, 3.0]  # three draws for three kept
    assert [d["x"].tolist() for d in later] == [[9], [8, 9]]  # the peer's second and third


def test_a_crashing_peer_raises_with_what_it_said(monkeypatch):
    """A peer whose script fails (here: SDV is not installed in this environment) is
    reported with its own last words, which a scale or benchmark run records."""
    import sys

    import pandas as pd

    from benchmarks import peers

    monkeypatch.setenv("SYNTHGEN_PEER_SDV_PYTHON", sys.executable)
    said = r"(?s)'sdv_copula' exited with 1: .*No module named 'sdv'"
    with pytest.raises(RuntimeError, match=said):
        peers.run_peer("sdv_copula", pd.DataFrame({"x": range(10)}), 4, 0, False)


def test_the_harnesses_refuse_fewer_than_one_draw(capsys):
    """``--sample-repeats`` below one (or not a number) stops the run at once, naming it."""
    import pytest

    from benchmarks.run import main as run_main
    from benchmarks.scale import main as scale_main

    for main, extra in ((run_main, []), (scale_main, ["--axis", "rows", "--sizes", "100"])):
        for bad in ("0", "two"):
            with pytest.raises(SystemExit) as stop:
                main(["--sample-repeats", bad, *extra])
            assert stop.value.code == 2
            assert "--sample-repeats" in capsys.readouterr().err


def test_scale_rounds_interleave_the_sizes_and_report_medians_and_ratios(
    tmp_path, monkeypatch, capsys
):
    """``--rounds 3``: every size once per round (a slow spell reaches all sizes), the
    summary the medians over the rounds that succeeded, the ratios those medians'."""
    import benchmarks.scale as scale
    from benchmarks.rounds import add_ratios

    calls = []

    def fake_point(generator, axis, size, args):
        calls.append(size)
        slow = 2.0 if 5 <= len(calls) <= 8 else 1.0  # round 2 runs twice as slow
        if generator == "broken" or len(calls) == 10:  # and gen's 100 fails in round 3
            return {"generator": generator, "axis": axis, "size": size, "status": "error",
                    "error": "RuntimeError: boom"}  # fmt: skip
        return {"generator": generator, "axis": axis, "size": size, "status": "ok",
                "fit_s": 1.0, "epoch_s": slow * size / 10,
                "sample_rows_per_s": 1000.0 / size / slow,
                "peak_rss_mb": 100.0 + size + len(calls), "load_1m": float(len(calls)),
                "cols": size}  # fmt: skip

    monkeypatch.setattr(scale, "run_point", fake_point)
    argv = ["--axis", "cols", "--sizes", "10,100", "--generators", "gen,broken"]
    assert scale.main([*argv, "--rounds", "3", "--output", str(tmp_path)]) == 0
    assert calls == [10, 100, 10, 100] * 3
    saved = json.loads(next(tmp_path.glob("scale-cols-2*.json")).read_text())
    assert [r["round"] for r in saved["runs"]] == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    gen10, gen100, broken10, _ = saved["summary"]
    assert (gen10["rounds"], gen100["rounds"], broken10["rounds"]) == (3, 2, 0)
    assert gen10["epoch_s"] == 1.0 and gen100["epoch_s"] == 15.0  # medians of 1, 2, 1 and 10, 20
    assert gen100["epoch_ratio"] == 15.0 and gen100["sampling_ratio"] == 100.0 / 7.5
    assert gen10["peak_rss_mb"] == 115.0  # runs 1, 5, 9
    assert gen10["cols"] == 10 and "round" not in gen10 and "load_1m" not in gen10
    assert broken10["error"] == "RuntimeError: boom"
    out = capsys.readouterr().out
    assert "| gen | cols | 100 | 2 |" in out and "Each round:" in out

    single = add_ratios([{"generator": "g", "epoch_s": 2.0, "sample_rows_per_s": 500.0},
                         {"generator": "g", "epoch_s": 11.0, "sample_rows_per_s": 80.0},
                         {"generator": "h", "sample_rows_per_s": 10.0}])  # fmt: skip
    assert single[1]["epoch_ratio"] == 5.5 and single[1]["sampling_ratio"] == 6.25
    assert "epoch_ratio" not in single[2] and single[2]["sampling_ratio"] == 1.0
    assert "| 6.25 |" in scale.markdown(single)

    with pytest.raises(SystemExit) as stop:
        scale.main([*argv, "--rounds", "0"])
    assert stop.value.code == 2 and "--rounds" in capsys.readouterr().err
