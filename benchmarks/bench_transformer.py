"""The transformer generator against TabularARGN (mostlyai-engine) on the benchmark tables.

Protocol: 80/20 split with seed 0, fit on the 80 %, sample len(train) rows. Run from the
repository root::

    python -m benchmarks.bench_transformer                     # adult, ours (+ peer if set)
    python -m benchmarks.bench_transformer --quick             # short budgets, a smoke test
    python -m benchmarks.bench_transformer --datasets adult creditcard_default bank_marketing
    python -m benchmarks.bench_transformer --threads 1 --params '{"max_time": 45}'

The peer runs when ``SYNTHGEN_PEER_MOSTLYAI_PYTHON`` names the Python of a venv with
``mostlyai-engine`` (see :mod:`benchmarks.peers`). Each run happens in its own child process so
the peak resident memory (``ru_maxrss`` of that process and its children) is its own.

Printed per dataset and generator: sdmetrics column shapes and pair trends, detection AUC
(3-fold CV ROC AUC of a gradient-boosted classifier telling holdout rows from as many synthetic
rows; 0.5 is best), TSTR ROC AUC (trained on synthetic, tested on the real holdout), DCR share
(share of synthetic rows closer to a train row than to a holdout row, on equal-size subsamples;
0.5 is ideal), the rate of synthetic rows that copy a train row exactly next to the holdout's
own rate of rows equal to a train row, fit and sample seconds and peak MB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import resource
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.bench_neural import detection_auc, quality, tstr_auc
from benchmarks.datasets import load_dataset, split_train_holdout

PEER = "mostlyai_argn"
COLUMNS = ["shape", "trend", "detection_auc", "tstr_auc", "dcr_share", "copy_rate", "base_rate"]


def _distance_features(frames: list[pd.DataFrame], schema: Any) -> list[np.ndarray]:
    """Numbers scaled by the first frame's spread (missing: median plus a flag), categories
    one-hot over the labels of all frames."""
    ref = frames[0]
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    for spec in schema:
        if spec.kind in ("id", "constant") or spec.name not in ref.columns:
            continue
        if spec.kind in ("numeric", "datetime"):
            values = [_as_float(f[spec.name]) for f in frames]
            med = np.nanmedian(values[0])
            lo, hi = np.nanpercentile(values[0], [1, 99])
            scale = hi - lo if hi > lo else 1.0
            for b, v in zip(blocks, values, strict=True):
                b.append(((np.where(np.isnan(v), med, v) - med) / scale)[:, None])
                b.append(np.isnan(v)[:, None].astype(float))
        else:
            labels = pd.Index(
                pd.concat([f[spec.name].astype("string") for f in frames]).dropna().unique()
            )
            for b, f in zip(blocks, frames, strict=True):
                codes = pd.Categorical(f[spec.name].astype("string"), categories=labels).codes
                onehot = np.zeros((len(f), len(labels) + 1))
                onehot[np.arange(len(f)), codes] = 1.0  # code -1 (missing) is the last column
                blocks_scale = 1.0 / np.sqrt(2.0)  # a category change counts as distance 1
                b.append(onehot * blocks_scale)
    return [np.hstack(b) for b in blocks]


def _as_float(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(col):
        return (
            col.astype("datetime64[ns]").astype("int64").astype(float).where(col.notna()).to_numpy()
        )
    parsed = pd.to_numeric(col, errors="coerce")
    if parsed.notna().sum() < col.notna().sum():  # dates written as strings
        dates = pd.to_datetime(col, errors="coerce")
        return (dates.astype("int64").astype(float)).where(dates.notna()).to_numpy()
    return parsed.astype(float).to_numpy()


def dcr_share(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Any,
    n: int = 5000,
    seed: int = 0,
) -> float:
    """Share of synthetic rows whose nearest train row is closer than their nearest holdout
    row (train and holdout subsampled to the same size; ties count half)."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    m = min(n, len(train), len(holdout))
    tr = train.iloc[rng.choice(len(train), m, replace=False)]
    ho = holdout.iloc[rng.choice(len(holdout), m, replace=False)]
    sy = synthetic.iloc[rng.choice(len(synthetic), min(n, len(synthetic)), replace=False)]
    x_tr, x_ho, x_sy = _distance_features([tr, ho, sy], schema)
    d_tr = NearestNeighbors(n_neighbors=1).fit(x_tr).kneighbors(x_sy)[0][:, 0]
    d_ho = NearestNeighbors(n_neighbors=1).fit(x_ho).kneighbors(x_sy)[0][:, 0]
    return float(np.mean((d_tr < d_ho) + 0.5 * (d_tr == d_ho)))


def _row_keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    text = frame[columns].astype("string").fillna("<NA>")
    return pd.util.hash_pandas_object(text, index=False)


def copy_rates(
    train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, schema: Any
) -> tuple[float, float]:
    """Share of synthetic rows equal to a train row, and the holdout's own share (the base
    rate: duplicates that the population itself has)."""
    cols = [c.name for c in schema if c.kind not in ("id",) and c.name in train.columns]
    seen = set(_row_keys(train, cols))
    syn = float(_row_keys(synthetic, cols).isin(seen).mean())
    base = float(_row_keys(holdout, cols).isin(seen).mean())
    return syn, base


def _fit_sample(
    name: str, train: pd.DataFrame, params: dict[str, Any], quick: bool
) -> tuple[pd.DataFrame, float, float, Any]:
    import synthgen as sg

    if name == PEER:
        from benchmarks.peers import run_peer

        synthetic, fit_s, sample_s = run_peer(PEER, train, len(train), 0, quick)
        schema = sg.Schema.infer(train)
        # Peers may return other dtypes: cast back so the metrics compare like with like.
        synthetic = synthetic[list(train.columns)]
        for col in train.columns:
            with contextlib.suppress(TypeError, ValueError):
                synthetic[col] = synthetic[col].astype(train[col].dtype)
        return synthetic, fit_s, sample_s, schema
    model = sg.make_generator(name, random_state=0, **params)
    t0 = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    synthetic = model.sample(len(train))
    sample_s = time.perf_counter() - t0
    return synthetic, fit_s, sample_s, model


def _run(name: str, dataset: str, params: dict[str, Any], quick: bool, threads: int, queue):
    warnings.simplefilter("ignore")
    import torch

    if threads:
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)  # inherited by a peer's process
    data, target = load_dataset(dataset)
    train, holdout = split_train_holdout(data, random_state=0)
    synthetic, fit_s, sample_s, model = _fit_sample(name, train, params, quick)
    schema = model if name == PEER else model.schema_
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    categorical = [c.name for c in schema if c.kind != "numeric" and c.name in train.columns]
    shape, trend = quality(train, synthetic, schema)
    copy, base = copy_rates(train, holdout, synthetic, schema)
    row = {
        "generator": name,
        "dataset": dataset,
        "shape": round(shape, 4),
        "trend": round(trend, 4),
        "detection_auc": round(detection_auc(holdout, synthetic, categorical), 4),
        "tstr_auc": round(tstr_auc(synthetic, holdout, target, categorical), 4),
        "dcr_share": round(dcr_share(train, holdout, synthetic, schema), 4),
        "copy_rate": round(copy, 4),
        "base_rate": round(base, 4),
        "fit_s": round(fit_s, 1),
        "sample_s": round(sample_s, 2),
        "peak_mb": round(max(usage, children) / 1024),
        "epochs": getattr(model, "n_epochs_", None),
        "threads": threads or torch.get_num_threads(),
    }
    queue.put(row)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", nargs="+", default=None, help="default: ours + peer")
    parser.add_argument("--datasets", nargs="+", default=["adult"])
    parser.add_argument("--params", default="{}", help="JSON of extra generator parameters")
    parser.add_argument("--threads", type=int, default=0, help="torch/OMP threads (0: default)")
    parser.add_argument("--quick", action="store_true", help="short budgets (a smoke test)")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    if args.quick:
        params = {"max_time": 10.0, **params}
    names = args.generators
    if names is None:
        names = ["transformer"] + (
            [PEER] if os.environ.get("SYNTHGEN_PEER_MOSTLYAI_PYTHON") else []
        )
    ctx = mp.get_context("spawn")
    for dataset in args.datasets:
        for name in names:
            queue = ctx.Queue()
            proc = ctx.Process(
                target=_run, args=(name, dataset, params, args.quick, args.threads, queue)
            )
            proc.start()
            print(json.dumps(queue.get()), flush=True)
            proc.join()


if __name__ == "__main__":
    main()
