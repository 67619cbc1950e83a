"""Data-parallel training benchmark: one process against N under ``torchrun``.

Fits a generator (default: the transformer) on the training split of a dataset (protocol of
``../shared/data/README.md``: shuffle with the seed, 80% train) with one CPU thread per
process, and prints one JSON line from rank 0: the world size, the training loop's seconds
and rows per second (rows x epochs / seconds in the Trainer, encoding excluded), the whole
fit's seconds and CPU seconds (summed over the ranks: on a loaded machine the wall-clock
speed-up depends on the other processes, the CPU cost does not), and with ``--evaluate`` the
quality metrics of ``benchmarks.run``::

    OMP_NUM_THREADS=1 python -m benchmarks.bench_ddp --epochs 1
    OMP_NUM_THREADS=1 torchrun --standalone --nproc-per-node 2 -m benchmarks.bench_ddp --epochs 1
    OMP_NUM_THREADS=1 torchrun --standalone --nproc-per-node 2 -m benchmarks.bench_ddp --evaluate
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any

from benchmarks.datasets import load_dataset, split_train_holdout


def _total(value: float) -> float:
    """``value`` summed over the ranks (itself in a plain process)."""
    from synthgen.training import distributed

    if not distributed.is_initialised():
        return value
    import torch

    buf = torch.tensor([value], dtype=torch.float64)
    distributed.torch_dist().all_reduce(buf)
    return float(buf.item())


def run(
    generator: str,
    dataset: str,
    seed: int,
    epochs: int | None,
    evaluate: bool,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Fit (and evaluate) in this process, one of a torchrun group or alone; rank 0's record."""
    import synthgen as sg
    from benchmarks.run import _metrics
    from synthgen.training import distributed

    warnings.simplefilter("ignore")
    data, target = load_dataset(dataset)
    train, holdout = split_train_holdout(data, random_state=seed)
    schema = sg.Schema.infer(data)
    params: dict[str, Any] = {"random_state": seed, "n_threads": 1}
    if epochs is not None:
        params["epochs"] = epochs
    params.update(extra or {})
    model = sg.make_generator(generator, **params)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(train, schema=schema)
    fit_s = time.perf_counter() - t0
    cpu_s = _total(time.process_time() - c0)
    world = distributed.world_size()
    distributed.finish()
    if not distributed.is_main_process():
        return None
    train_s = model.history_[-1]["time"]
    record: dict[str, Any] = {
        "generator": generator,
        "dataset": dataset,
        "seed": seed,
        "world": world,
        "epochs": model.n_epochs_,
        "fit_s": round(fit_s, 2),
        "fit_cpu_s_all_ranks": round(cpu_s, 2),
        "train_s": round(train_s, 2),
        "rows_per_s": round(len(train) * model.n_epochs_ / train_s, 1),
    }
    if evaluate:
        synthetic = model.sample(len(train))
        record.update(_metrics(train, holdout, synthetic, target, schema, seed))
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_ddp")
    parser.add_argument("--generator", default="transformer")
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="default: the generator's")
    parser.add_argument("--evaluate", action="store_true", help="sample and score (rank 0)")
    parser.add_argument("--params", default="{}", help="JSON of further generator parameters")
    args = parser.parse_args(argv)
    extra = json.loads(args.params)
    record = run(args.generator, args.dataset, args.seed, args.epochs, args.evaluate, extra)
    if record is not None:
        print(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
