"""Cost curves: fit, sampling and evaluation cost against rows, columns and distinct labels.

``python -m benchmarks scale --generators copula,transformer --axis labels --sizes 2000,8000``

Tables are made here (nothing is downloaded, nothing is written but the results): Adult
resampled with noise to the wanted rows, plus, by axis,

- ``rows``: nothing else (``size`` = rows);
- ``cols``: generated columns up to ``size`` columns in all, half numeric and half 6-label
  categories, all driven by one latent factor so that they are correlated;
- ``labels``: a ``merchant`` column with ``size`` distinct labels (each label once, the other
  rows Zipf-distributed over the labels, s = 1.1), ``rows = max(--rows, --rows-per-label *
  size)``; ``--min-count 1`` stores every label (a stress test of the label count);
- ``evaluate``: ``sg.evaluate`` on ``size`` rows with a free-text column, a column of mostly
  unique codes (kind ``text``) and a ``--labels``-label column (synthetic and holdout:
  independent draws of the same process);
- ``export``: ``sg.export`` of Adult plus the free-text and code columns, ``size`` rows.

Every measurement runs in a child process with one thread (torch, BLAS, OpenMP): fit seconds,
seconds per epoch (neural generators: ``s_per_epoch``, the whole fit over its epochs, and
``epoch_s``, the trainer's own clock per epoch, without the one-off schema inference,
encoding and tokenisation before the first), sampling rows per second (``--sample-repeats
N``: from the median of ``N`` draws of the same rows, each draw's seconds in
``sample_runs_s``), peak RSS (``ru_maxrss``, data included) and the RSS once the data is
made; for the labels axis, the column shape of ``merchant`` (sdmetrics' TVComplement on
frequency-ranked labels, as ``sg.evaluate`` scores it); on the rows, cols and labels axes the
first draw's column shapes and pair trends against as many real rows drawn with the seed
(after the peak RSS is read; ``--no-quality`` skips them). Each generator's cost against its
first size: ``epoch_ratio`` (``epoch_s`` over the first size's) and ``sampling_ratio``.

``--rounds N`` measures every point ``N`` times, a round of every point after another, so
that a drift of the machine's speed reaches every size alike; the summary holds each
point's medians over its rounds (``rounds``: how many succeeded) and the ratios of those
medians. Results go to ``--output`` (JSON, markdown and a plot
``scale-<axis>-latest.png``, of the medians); ``--plot docs/images/scale_<axis>.png``
replaces the docs' plot (with this run's points only).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.child import run_in_child
from benchmarks.draws import repeats_arg, timed_draws
from benchmarks.peers import PEERS, run_peer
from benchmarks.rounds import add_ratios, summarize

RESULTS = Path(__file__).resolve().parent / "results"
_TEXT = (
    "the of and to in is was for on that with as by at from his her an were are which this be "
    "or has had not but first one their its new after who they have two been other when "
    "there all during into school time may years more most only over city some world would "
    "where later up such used many can state about national out known university united then"
)
_WORDS = np.array(_TEXT.split(" "))


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _adult(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Adult rows drawn with replacement, numbers jittered (about 5% of their spread)."""
    from benchmarks.datasets import load_dataset

    adult, _ = load_dataset("adult")
    out = adult.iloc[rng.integers(0, len(adult), n_rows)].reset_index(drop=True)
    for col in out.columns:
        if pd.api.types.is_numeric_dtype(out[col]):
            values = out[col].to_numpy(dtype=float)
            noisy = values + rng.normal(0, 0.05 * np.nanstd(values), n_rows)
            noisy = np.clip(noisy, np.nanmin(values), np.nanmax(values))
            out[col] = (
                np.rint(noisy).astype(out[col].dtype) if out[col].dtype.kind == "i" else noisy
            )
    return out


def _wide(frame: pd.DataFrame, n_cols: int, rng: np.random.Generator) -> pd.DataFrame:
    if n_cols <= frame.shape[1]:
        return frame.iloc[:, :n_cols]
    latent = (frame["age"].to_numpy(dtype=float) - 38.0) / 13.0
    extra = {}
    for j in range(n_cols - frame.shape[1]):
        x = 0.7 * latent + 0.7 * rng.normal(size=len(frame))
        if j % 2:
            extra[f"num{j}"] = np.round(x * 10 + j, 2)
        else:
            extra[f"cat{j}"] = np.array(list("abcdef"))[np.digitize(x, [-1, -0.4, 0, 0.4, 1])]
    return pd.concat([frame, pd.DataFrame(extra)], axis=1)


def _labels(n_rows: int, n_labels: int, rng: np.random.Generator) -> np.ndarray:
    """Every label once, the other rows Zipf (s = 1.1) over the labels."""
    rest = n_rows - n_labels
    p = np.arange(1, n_labels + 1, dtype=float) ** -1.1
    idx = np.concatenate([rng.permutation(n_labels), rng.choice(n_labels, rest, p=p / p.sum())])
    return np.char.add("m", rng.permutation(idx).astype(str)).astype(object)


def _text(n_rows: int, rng: np.random.Generator) -> np.ndarray:
    lengths = rng.integers(4, 16, n_rows)
    words = _WORDS[rng.integers(0, len(_WORDS), int(lengths.sum()))]
    cuts = np.cumsum(lengths)[:-1]
    return np.array([" ".join(w) for w in np.split(words, cuts)], dtype=object)


def make_table(axis: str, size: int, seed: int, args: dict[str, Any]) -> pd.DataFrame:
    """The benchmark table of one (axis, size)."""
    rng = np.random.default_rng(seed)
    if axis == "rows":
        return _adult(size, rng)
    if axis == "cols":
        return _wide(_adult(args["rows"], rng), size, rng)
    if axis == "labels":
        n = max(args["rows"], args["rows_per_label"] * size)
        frame = _adult(n, rng)
        frame["merchant"] = _labels(n, size, rng)
        return frame
    if axis in ("evaluate", "export"):
        frame = _adult(size, rng)
        frame["note"] = _text(size, rng)  # detected as free text: generated, not learned
        # mostly unique codes with a space: kind "text" without a semantic type (learned)
        refs = rng.integers(0, 2**32, size)
        frame["ref"] = np.char.add(np.char.add(np.char.mod("%08x", refs), " "), "QZ").astype(object)
        if axis == "evaluate":
            frame["merchant"] = _labels(size, min(args["labels"], size), rng)
        return frame
    raise SystemExit(f"unknown axis {axis!r}")


def _label_shape(real: pd.Series, synthetic: pd.Series) -> float:
    from synthgen.evaluation.data import prepare

    prep = prepare(real.to_frame(), synthetic.to_frame())
    n = prep.n_compact(real.name)
    p = np.bincount(prep.compact_codes("real")[:, 0], minlength=n) / len(real)
    q = np.bincount(prep.compact_codes("synthetic")[:, 0], minlength=n) / len(synthetic)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


#: The scores of a point's draw (``_quality``), drawn on a linear scale in the plot.
_QUALITY = ("column_shapes", "column_pair_trends")


def _quality(data: pd.DataFrame, synthetic: pd.DataFrame, seed: int) -> dict[str, float]:
    """Column shapes and pair trends of ``synthetic`` against as many rows of ``data``
    drawn with ``seed`` (every row when it has no more)."""
    from synthgen.evaluation.data import prepare
    from synthgen.evaluation.quality import quality_report_scores

    real = data.sample(min(len(data), len(synthetic)), random_state=seed)
    scores = quality_report_scores(prepare(real.reset_index(drop=True), synthetic))
    return {k: float(scores[k]) for k in _QUALITY}


def _scored(
    out: dict[str, Any], data: pd.DataFrame, synthetic: pd.DataFrame, args: dict[str, Any]
) -> dict[str, Any]:
    """``out`` with the quality of ``synthetic`` (unless ``--no-quality``) and its seconds."""
    if args.get("quality", True):
        t0 = time.perf_counter()
        out |= _quality(data, synthetic, args["seed"])
        out["quality_s"] = time.perf_counter() - t0
    return out


def _measure(generator: str, axis: str, size: int, args: dict[str, Any]) -> dict[str, Any]:
    import synthgen as sg

    data = make_table(axis, size, args["seed"], args)
    out: dict[str, Any] = {"rows": len(data), "cols": data.shape[1], "data_rss_mb": _rss_mb()}
    if axis == "evaluate":
        synthetic = make_table(axis, size, args["seed"] + 1, args)
        holdout = make_table(axis, max(20, size // 4), args["seed"] + 2, args)
        out["data_rss_mb"] = _rss_mb()  # the three frames
        t0 = time.perf_counter()
        report = sg.evaluate(data, synthetic, holdout, target="income", random_state=0)
        out["evaluate_s"] = time.perf_counter() - t0
        out["timings_s"] = report.meta["timings_s"]
        return out
    if axis == "export":
        t0 = time.perf_counter()
        result = sg.export(data, generator=generator, target="income", force=True, random_state=0)
        out["export_s"] = time.perf_counter() - t0
        out["verdict"] = getattr(result, "verdict", None)
        return out
    n_sample = min(len(data), args["sample_rows"])
    if generator in PEERS:  # in its own environment: fit and sample in one child process
        epochs = args["params"].get(generator, {}).get("epochs")
        runs: list[float] = []
        synthetic, out["fit_s"], sample_s = run_peer(
            generator, data, n_sample, args["seed"], quick=False, epochs=epochs,
            sample_repeats=args.get("sample_repeats", 1), sample_runs=runs,
        )  # fmt: skip
        if epochs:
            out["s_per_epoch"] = out["fit_s"] / epochs
        out["sample_rows_per_s"] = n_sample / sample_s
        if len(runs) > 1:
            out["sample_runs_s"] = runs
        if "merchant" in data:
            real = data["merchant"].sample(n_sample, random_state=0).reset_index(drop=True)
            out["merchant_shape"] = _label_shape(real, synthetic["merchant"])
        return _scored(out, data, synthetic, args)  # (the peer's peak is its own process's)
    schema = sg.Schema.infer(data, min_count=args["min_count"]) if args["min_count"] else None
    if "merchant" in data:
        out["labels_stored"] = len((schema or sg.Schema.infer(data))["merchant"].categories or [])
    params = dict(args["params"].get(generator, {}))
    model = sg.make_generator(generator, random_state=args["seed"], **params)
    t0 = time.perf_counter()
    model.fit(data, schema=schema)
    out["fit_s"] = time.perf_counter() - t0
    epochs = getattr(model, "n_epochs_", None)
    if epochs:
        out["s_per_epoch"] = out["fit_s"] / epochs
        # The trainer's own clock (its steps and validation), without the fit's one-off
        # work before the first epoch (schema inference, encoding, tokenisation)
        history = getattr(model, "history_", None) or [{}]
        if "time" in history[-1]:
            out["epoch_s"] = history[-1]["time"] / epochs
    if "columns_per_position" in getattr(model, "arch_", {}):  # the transformer's grouping
        out["columns_per_position"] = model.arch_["columns_per_position"]
    synthetic, runs = timed_draws(  # the same rows each time
        lambda: model.sample(n_sample, random_state=1), args.get("sample_repeats", 1)
    )
    out["sample_rows_per_s"] = n_sample / statistics.median(runs)
    if len(runs) > 1:
        out["sample_runs_s"] = runs
    if "merchant" in data:
        real = data["merchant"].sample(n_sample, random_state=0).reset_index(drop=True)
        out["merchant_shape"] = _label_shape(real, synthetic["merchant"])
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return _scored(out, data, synthetic, args)


def _child(generator: str, axis: str, size: int, args: dict[str, Any], queue) -> None:
    warnings.simplefilter("ignore")
    try:
        if generator not in ("copula", "marginals", "copy") or axis == "export":
            import torch  # only where used: its import alone holds ~300 MB

            torch.set_num_threads(1)
        result = {"status": "ok", **_measure(generator, axis, size, args)}
    except Exception as err:  # a crashed point is recorded, not fatal
        result = {"status": "error", "error": f"{type(err).__name__}: {err}"}
        result["traceback"] = traceback.format_exc(limit=5)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.setdefault("peak_rss_mb", usage.ru_maxrss / 1024)  # (or read before scoring)
    if generator in PEERS:  # the peer's own process (its data copy included)
        result["host_rss_mb"] = usage.ru_maxrss / 1024
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result["cpu_s"] = usage.ru_utime + usage.ru_stime  # the whole child, data making included
    queue.put(result)


def run_point(generator: str, axis: str, size: int, args: dict[str, Any]) -> dict[str, Any]:
    """One measurement in a fresh single-threaded child process; never raises."""
    result = run_in_child(_child, (generator, axis, size, args), args["timeout"], threads=1)
    load = os.getloadavg()
    result.update(generator=generator, axis=axis, size=size, load_1m=round(load[0], 2))
    return result


_COLUMNS = ["generator", "axis", "size", "round", "rounds", "rows", "cols", "labels_stored",
            "columns_per_position", "fit_s", "s_per_epoch", "epoch_s", "epoch_ratio",
            "sample_rows_per_s", "sampling_ratio", "merchant_shape", "column_shapes",
            "column_pair_trends", "evaluate_s", "export_s", "cpu_s", "peak_rss_mb", "data_rss_mb",
            "load_1m", "status"]  # fmt: skip
_SCORES = ("merchant_shape", *_QUALITY)  # shown to three decimals


def markdown(results: list[dict[str, Any]]) -> str:
    """The results as a markdown table (numbers rounded)."""
    cols = [c for c in _COLUMNS if any(r.get(c) is not None for r in results)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in results:
        cells = []
        for c in cols:
            v = r.get(c)
            if isinstance(v, float):
                digits = 3 if c in _SCORES else 2 if c.endswith("_ratio") else None
                v = f"{v:,.{digits}f}" if digits else f"{v:,.1f}" if v < 100 else f"{v:,.0f}"
            cells.append("" if v is None else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Fit seconds, sampling rows per second (where measured), peak RSS (log-log) and the
    draws' column shapes and pair trends (where scored; a linear scale) against size, one
    line per generator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmarks.run import _save_figure

    ok = pd.DataFrame([r for r in results if r.get("status") == "ok"])
    if ok.empty:
        return
    metric = next(m for m in ("fit_s", "evaluate_s", "export_s") if m in ok)
    panels = {metric: metric.replace("_s", " seconds")}
    if "sample_rows_per_s" in ok:
        panels["sample_rows_per_s"] = "sampling rows per second"
    panels["peak_rss_mb"] = "peak RSS (MB)"
    panels |= {c: c.replace("column_", "").replace("_", " ") for c in _QUALITY if c in ok}
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.5))
    for gen, grp in ok.groupby("generator"):
        for ax, column in zip(axes, panels, strict=True):
            ax.plot(grp["size"], grp[column], marker="o", label=gen)
    axis = ok["axis"].iloc[0]
    for ax, (column, what) in zip(axes, panels.items(), strict=True):
        ax.set_xscale("log")
        ax.set_yscale("linear" if column in _QUALITY else "log")
        ax.set_xlabel(axis)
        ax.set_ylabel(what)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    _save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks scale")
    parser.add_argument("--generators", default="copula")
    parser.add_argument("--axis", choices=["rows", "cols", "labels", "evaluate", "export"])
    parser.add_argument("--sizes", required=True, help="comma list of sizes along the axis")
    parser.add_argument("--rows", type=int, default=30_000, help="rows of the cols/labels axes")
    parser.add_argument("--rows-per-label", type=int, default=2)
    parser.add_argument("--labels", type=int, default=100_000, help="labels (evaluate axis)")
    parser.add_argument("--min-count", type=int, default=0, help="schema min_count (0: default)")
    parser.add_argument("--sample-rows", type=int, default=100_000)
    parser.add_argument(
        "--sample-repeats",
        type=repeats_arg,
        default=1,
        help="draws timed; rows/s from their median",
    )
    parser.add_argument(
        "--rounds", type=repeats_arg, default=1, help="times every point is measured"
    )
    parser.add_argument(
        "--quality",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="score column shapes and pair trends of the draws (rows, cols, labels axes)",
    )
    parser.add_argument("--params", default="{}", help='JSON {"generator": {param: value}}')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per point")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--plot", default="", help="PNG path (default: in --output)")
    args = parser.parse_args(argv)
    opts = vars(args) | {"params": json.loads(args.params)}
    runs = []
    for round_ in range(1, args.rounds + 1):
        for generator in args.generators.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                res = run_point(generator, args.axis, size, opts)
                if args.rounds > 1:
                    res["round"] = round_
                runs.append(res)
                shown = {k: res.get(k) for k in _COLUMNS if res.get(k) is not None}
                error = {"error": res["error"]} if "error" in res else {}
                print(json.dumps(shown | error), flush=True)
    from synthgen.files import atomic_write

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if args.rounds > 1:
        results = summarize(runs)
        saved: Any = {"summary": results, "runs": runs}
        table = f"{markdown(results)}\n\nEach round:\n\n{markdown(runs)}"
    else:
        results = saved = add_ratios(runs)
        table = markdown(results)
    atomic_write(out / f"scale-{args.axis}-{stamp}.json", json.dumps(saved, indent=2))
    command = "python -m benchmarks scale " + " ".join(argv or [])
    atomic_write(out / f"scale-{args.axis}-latest.md", f"Command: `{command.strip()}`\n\n{table}\n")
    plot(results, Path(args.plot) if args.plot else out / f"scale-{args.axis}-latest.png")
    print(table)
    return 0
