"""Benchmark harness: generators x datasets x seeds -> JSON, a Markdown table and plots.

Each (generator, dataset, seed) runs in its own child process with a time limit, so a crash or
a time-out is recorded and the run goes on, and the child's peak resident memory is the pair's
peak memory. Protocol (``../shared/data/README.md``): shuffle with the seed, first 80% train,
rest holdout; fit on train, sample ``len(train)`` rows; fidelity against train, utility and
privacy against the holdout. ``--sample-repeats N`` draws those rows ``N`` times from the
fitted model (ours and the peers' alike): the metrics are the first draw's, ``sample_s`` the
median draw and ``sample_runs_s`` every draw, so a sampling-time comparison on a busy machine
rests on more than one measurement. ``--score-draws K`` also scores the train-on-synthetic
utility of the first ``K`` draws (``tstr_roc_auc_draws``, and their mean
``tstr_roc_auc_mean``), each as the evaluation scores the first: one draw's TSTR moves from
draw to draw by about as much as engines differ on it.

Usage::

    python -m benchmarks run --generators all --datasets adult --seeds 0
    python -m benchmarks run --quick                     # a few minutes, for development
    python -m benchmarks run --datasets my_table.csv --target label
    python -m benchmarks run --ray --seeds 0,1,2         # pairs as Ray tasks (benchmarks.ray_run)
    python -m benchmarks run --sample-repeats 5          # sampling seconds: median of five
    python -m benchmarks run --score-draws 5             # TSTR: the mean of five draws too

Peers (SDV's CTGAN, TVAE and copula so far) run through
``benchmarks/peers.py`` in their own virtual environments when those are configured.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from benchmarks.child import run_in_child
from benchmarks.datasets import load_dataset, split_train_holdout
from benchmarks.draws import draw_utility, kept_draws, repeats_arg

RESULTS = Path(__file__).resolve().parent / "results"

#: Metrics shown in the Markdown table, in order (keys of the evaluation summary).
TABLE_METRICS = [
    "column_shapes",
    "column_pair_trends",
    "detection_auc",
    "tstr_roc_auc",
    "tstr_roc_auc_mean",
    "trtr_roc_auc",
    "mia_auc",
    "mia_vulnerable_tpr",
    "dcr_share",
    "exact_copy_rate",
]


def _metrics(train, holdout, synthetic, target: str, schema, seed: int) -> dict[str, Any]:
    from synthgen.evaluation import evaluate

    report = evaluate(
        real=train,
        synthetic=synthetic,
        holdout=holdout,
        target=target or None,
        schema=schema,
        random_state=seed,
    )
    out: dict[str, Any] = {}
    for row in report.summary().to_dict("records"):
        value = row.get("value")
        out[str(row.get("metric"))] = None if value is None else float(value)
    out["privacy_verdict"] = report.privacy_verdict
    return out


def _child(
    generator: str,
    dataset: str,
    target: str,
    seed: int,
    params: dict[str, Any],
    quick: bool,
    threads: int | None,
    sample_repeats: int,
    score_draws: int,
    queue,
) -> None:
    warnings.simplefilter("ignore")
    if threads:
        import torch

        # Peers inherit the limit through OMP_NUM_THREADS (set by run_pair for the child).
        torch.set_num_threads(threads)
    try:
        import synthgen as sg
        from benchmarks.peers import PEERS, run_peer

        data, target = load_dataset(dataset, target)
        if quick:
            data = data.sample(min(len(data), 5000), random_state=seed)
        train, holdout = split_train_holdout(data, random_state=seed)
        schema = sg.Schema.infer(data)
        runs: list[float] = []
        later: list = []  # the second to score_draws-th draws (data frames)
        if generator in PEERS:
            synthetic, fit_s, _ = run_peer(
                generator, train, len(train), seed, quick, target,
                sample_repeats=sample_repeats, sample_runs=runs,
                later_draws=later, keep_draws=score_draws,
            )  # fmt: skip
            synthetic = synthetic[train.columns]
            later = [d[train.columns] for d in later]
        else:
            model = sg.make_generator(generator, random_state=seed, **params)
            t0 = time.perf_counter()
            model.fit(train, schema=schema)
            fit_s = time.perf_counter() - t0
            # the metrics are the first draw's
            (synthetic, *later), runs = kept_draws(
                lambda: model.sample(len(train)), sample_repeats, score_draws
            )
        sample_s = statistics.median(runs)
        t0 = time.perf_counter()
        metrics = _metrics(train, holdout, synthetic, target, schema, seed)
        result = {
            "status": "ok",
            "fit_s": round(fit_s, 2),
            "sample_s": round(sample_s, 2),
            "evaluate_s": round(time.perf_counter() - t0, 2),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            **metrics,
        }
        if len(runs) > 1:
            result["sample_runs_s"] = [round(t, 3) for t in runs]
        if later and target:
            result.update(draw_utility(train, holdout, [synthetic, *later], target, schema, seed))
    except Exception as err:  # a crashed pair is recorded, not fatal
        result = {"status": "error", "error": f"{type(err).__name__}: {err}"}
        result["traceback"] = traceback.format_exc(limit=5)
    queue.put(result)


def run_pair(
    generator: str,
    dataset: str,
    seed: int,
    *,
    params: dict[str, Any] | None = None,
    target: str = "",
    timeout: float = 3600.0,
    quick: bool = False,
    threads: int | None = None,
    sample_repeats: int = 1,
    score_draws: int = 1,
) -> dict[str, Any]:
    """Run one (generator, dataset, seed) in a child process; never raises.

    ``threads`` caps the threads of torch and of the BLAS/OpenMP pools, ours and the peers'
    (they inherit ``OMP_NUM_THREADS``); ``sample_repeats`` draws the sample that many times
    and ``score_draws`` scores the TSTR of that many draws (see the module docstring).
    """
    args = (generator, dataset, target, seed, params or {}, quick, threads)
    args += (sample_repeats, score_draws)
    result = run_in_child(_child, args, timeout, threads)
    result.update(generator=generator, dataset=Path(dataset).stem, seed=seed)
    return result


def markdown_table(results: list[dict[str, Any]], metrics: list[str] | None = None) -> str:
    """Mean over seeds per (dataset, generator), as a Markdown table (``metrics``: the metric
    columns, :data:`TABLE_METRICS` by default).

    A ``seeds`` column counts the seeds averaged; where there are several, each metric reads
    ``mean ± standard deviation`` (seconds and memory are plain means). Failed pairs are
    listed under the table.
    """
    import pandas as pd

    metrics = TABLE_METRICS if metrics is None else metrics
    frame = pd.DataFrame(results)
    ok = frame[frame["status"] == "ok"]
    cols = [c for c in ["fit_s", "sample_s", "peak_mb", *metrics] if c in ok.columns]
    lines = []
    if len(ok):
        groups = ok.groupby(["dataset", "generator"])
        mean, std, count = groups[cols].mean(), groups[cols].std(), groups.size()
        header = ["dataset", "generator", "seeds", *cols]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for key in mean.index:
            cells = [str(key[0]), str(key[1]), str(int(count[key]))]
            for col in cols:
                m, sd = mean.loc[key, col], std.loc[key, col]
                if pd.isna(m):
                    cells.append("")
                elif col in metrics and count[key] > 1 and not pd.isna(sd):
                    cells.append(f"{m:.3f} ± {sd:.3f}")
                else:
                    cells.append(str(round(float(m), 3)))
            lines.append("| " + " | ".join(cells) + " |")
    failed = frame[frame["status"] != "ok"]
    for row in failed.to_dict("records"):
        lines.append(
            f"\n- {row['generator']} on {row['dataset']} (seed {row['seed']}): "
            f"{row['status']}: {row.get('error', '')}"
        )
    return "\n".join(lines)


def table_main(argv: list[str]) -> int:
    """``python -m benchmarks table RESULTS.json ...``: one table over several result files."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks table")
    parser.add_argument("files", nargs="+", help="results-*.json files written by run")
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    for name in args.files:
        results.extend(json.loads(Path(name).read_text()))
    print(markdown_table(results))
    return 0


def plot(results: list[dict[str, Any]], out: Path) -> None:
    """Quality against fit time, and per-metric bars with the spread over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    frame = pd.DataFrame(results)
    ok = frame[frame["status"] == "ok"]
    if ok.empty or "column_pair_trends" not in ok:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for (dataset, gen), grp in ok.groupby(["dataset", "generator"]):
        ax.scatter(
            grp["fit_s"].mean(), grp["column_pair_trends"].mean(), label=f"{gen} / {dataset}"
        )
    if (ok["fit_s"] > 0).all():  # a fit rounded to 0.00 s has no place on a log axis
        ax.set_xscale("log")
    ax.set_xlabel("fit seconds" + (" (log)" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel("column pair trends")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save_figure(fig, out / "quality_vs_time.png")
    metrics = [m for m in TABLE_METRICS if m in ok]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        stats = ok.groupby(["dataset", "generator"])[metric].agg(["mean", "std"]).fillna(0.0)
        labels = [f"{g}\n{d}" for d, g in stats.index]
        ax.bar(range(len(stats)), stats["mean"], yerr=stats["std"], capsize=3)
        ax.set_xticks(range(len(stats)), labels, fontsize=6, rotation=90)
        ax.set_title(metric, fontsize=8)
    fig.tight_layout()
    _save_figure(fig, out / "metrics.png")


def _save_figure(fig, path: Path) -> None:
    """Render to memory, then write the file atomically (no half-written PNG)."""
    import io

    import matplotlib.pyplot as plt

    from synthgen.files import atomic_write

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    atomic_write(path, buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks run")
    parser.add_argument("--generators", default="all", help="comma list, 'all' or peer names")
    parser.add_argument("--datasets", default="adult", help="comma list of names or CSV paths")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--target", default="", help="target column of CSV/Parquet datasets")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per pair")
    parser.add_argument("--quick", action="store_true", help="5,000-row samples of each table")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per pair")
    parser.add_argument(
        "--sample-repeats",
        type=repeats_arg,
        default=1,
        help="draw the sample this many times; sample_s is the median (metrics: the first)",
    )
    parser.add_argument(
        "--score-draws",
        type=repeats_arg,
        default=1,
        help="score the TSTR of this many draws too (tstr_*_draws, tstr_*_mean)",
    )
    parser.add_argument(
        "--params", default="{}", help="JSON parameters of synthgen generators (not peers)"
    )
    parser.add_argument(
        "--ray",
        action="store_true",
        help="run the pairs as Ray tasks (pip install 'synthgen[ray]')",
    )
    parser.add_argument("--ray-address", default=None, help="a Ray cluster (default: local Ray)")
    parser.add_argument("--ray-cpus", type=int, default=None, help="CPUs of the local Ray")
    args = parser.parse_args(argv)

    import synthgen as sg

    generators = sg.list_generators() if args.generators == "all" else args.generators.split(",")
    datasets = args.datasets.split(",")
    from benchmarks.peers import PEERS

    params = json.loads(args.params)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    pairs = [
        {
            "generator": generator,
            "dataset": dataset,
            "seed": seed,
            "target": args.target,
            "timeout": args.timeout,
            "quick": args.quick,
            "threads": args.threads,
            "sample_repeats": args.sample_repeats,
            "score_draws": args.score_draws,
            "params": None if generator in PEERS else params,
        }
        for dataset in datasets
        for generator in generators
        for seed in (int(s) for s in args.seeds.split(","))
    ]

    def report(res: dict[str, Any]) -> None:
        brief = {k: res.get(k) for k in ["status", "fit_s", "sample_s", *TABLE_METRICS]}
        name = f"{res['generator']:>12} {res['dataset']:>20} seed {res['seed']}"
        print(f"{name}: {brief}", flush=True)

    if args.ray:  # the same pairs as Ray tasks, the results in the same order
        from benchmarks.ray_run import run_grid_on_ray
        from synthgen.exceptions import ConfigurationError

        try:
            results = run_grid_on_ray(
                pairs,
                threads=args.threads,
                address=args.ray_address,
                cpus=args.ray_cpus,
                report=report,
            )
        except ConfigurationError as err:  # ray missing, a bad --threads: one line, no traceback
            raise SystemExit(f"python -m benchmarks run: {err}") from None
    else:
        results = []
        for kwargs in pairs:
            results.append(run_pair(**kwargs))
            report(results[-1])
    from synthgen.files import atomic_write

    stamp = time.strftime("%Y%m%d-%H%M%S")
    atomic_write(out / f"results-{stamp}.json", json.dumps(results, indent=2))
    table = markdown_table(results)
    command = "python -m benchmarks run " + " ".join(argv or [])
    atomic_write(out / "latest.md", f"Command: `{command.strip()}`\n\n{table}\n")
    plot(results, out)
    print(table)
    return 0
