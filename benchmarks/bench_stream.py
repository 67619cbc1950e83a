"""A generator fitted on a Parquet table larger than it may hold: peak memory against rows.

``python -m benchmarks.bench_stream --rows 10000000 --fit-rows 200000 --dir /tmp/big``

Writes (once; reused when ``--dir`` already holds it) a table of Adult rows resampled with
noise plus five generated numeric columns (20 columns) as Parquet parts of 1,000,000 rows in
row groups of 131,072, made part by part so the writer never holds the table either. Then, in
a fresh single-threaded child process, fits ``--generator`` (default the copula; ``--params``
as JSON, e.g. ``'{"epochs": 1, "max_time": 600}'`` for the transformer) with
``fit_parts(model, folder, fit_rows=N)`` (a sample of ``N`` rows for the schema and encoder,
the copula's correlation or a neural generator's compact training rows from every row, one
row group at a time), saves it with ``--save`` (for ``bench_sample_jobs --model``) and draws
``--sample-rows`` rows;
prints and writes (``--output``) fit seconds, sampling rows per second, the child's peak RSS
and the column shapes and pair trends of the synthetic rows against the first part, and the
detection AUC of the first 50,000 synthetic rows against the first part's first 50,000,
with 20,000 held-out rows of the same making that the fit never read (``evaluate_s``: that
evaluation's seconds).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.child import run_in_child
from benchmarks.scale import _adult

PART_ROWS = 1_000_000
GROUP_ROWS = 131_072


def write_parts(folder: Path, n_rows: int, make: Callable[[int, int], pd.DataFrame]) -> list[Path]:
    """Parts of ``PART_ROWS`` rows (part ``i`` of ``n`` rows is ``make(i, n)``), made and
    written one at a time so the writer never holds the table; parts already there are
    reused."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, start in enumerate(range(0, n_rows, PART_ROWS)):
        path = folder / f"part-{i:04d}.parquet"
        paths.append(path)
        if path.exists():
            continue
        frame = make(i, min(PART_ROWS, n_rows - start))
        tmp = path.with_suffix(".tmp")
        frame.to_parquet(tmp, row_group_size=GROUP_ROWS)
        tmp.replace(path)  # a part is there whole or not at all
    return paths


def make_part(i: int, n: int, seed: int = 0) -> pd.DataFrame:
    """Part ``i`` (``n`` rows) of the benchmark table: Adult resampled with noise plus five
    numbers driven by its age."""
    rng = np.random.default_rng([seed, i])
    frame = _adult(n, rng)
    base = (frame["age"].to_numpy(dtype=float) - 38.0) / 13.0
    for j in range(5):
        frame[f"extra{j}"] = base + rng.normal(scale=1.0 + j, size=len(frame))
    return frame


def write_table(folder: Path, n_rows: int, seed: int = 0) -> list[Path]:
    """The parts of the benchmark table."""
    return write_parts(folder, n_rows, lambda i, n: make_part(i, n, seed))


#: The part index of the held-out rows: made like the table's parts, never written with them.
HOLDOUT_PART = 2**31 - 1
#: Rows of each side of the detection AUC (real, synthetic), and of the holdout.
DETECTION_ROWS, HOLDOUT_ROWS = 50_000, 20_000


def _child(
    folder: str,
    fit_rows: int,
    sample_rows: int,
    generator: str,
    params: dict,
    save: str | None,
    queue: Any,
) -> None:
    import torch  # noqa: F401  (the same imports as a user's session)

    import synthgen as sg
    from synthgen.generators.sharded import fit_parts
    from synthgen.parquet_parts import ParquetParts

    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    model = sg.make_generator(generator, random_state=0, **params)
    model = fit_parts(model, folder, fit_rows=fit_rows)
    out["fit_s"] = time.perf_counter() - t0
    out["fit_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rows"] = model.n_train_rows_
    if getattr(model, "history_", None):  # a neural fit: how far training went
        out["training_s"] = model.history_[-1]["time"]
        out["epochs"] = model.n_epochs_
        out["stop_reason"] = model.stop_reason_
    if save is not None:  # for bench_sample_jobs --model
        model.save(save)
    t0 = time.perf_counter()
    synthetic = model.sample(sample_rows, random_state=1)
    out["sample_rows_per_s"] = sample_rows / (time.perf_counter() - t0)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    parts = ParquetParts(folder)
    real = parts.read(parts.units[:1])
    report = sg.evaluate(real, synthetic.iloc[: len(real)], random_state=0)
    out["column_shapes"] = report["column_shapes"].value
    out["column_pair_trends"] = report["column_pair_trends"].value
    # Detection against rows the fit never read: the same making, a part index past the table
    n = min(DETECTION_ROWS, len(real), len(synthetic))
    holdout = make_part(HOLDOUT_PART, min(HOLDOUT_ROWS, max(n // 2, 20)))
    t0 = time.perf_counter()
    report = sg.evaluate(real.iloc[:n], synthetic.iloc[:n], holdout, random_state=0)
    out["detection_auc"] = report["detection_auc"].value
    out["detection_rows"], out["holdout_rows"] = n, len(holdout)
    out["evaluate_s"] = time.perf_counter() - t0
    queue.put({"status": "ok", **out})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_stream")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--fit-rows", type=int, default=200_000)
    parser.add_argument("--sample-rows", type=int, default=1_000_000)
    parser.add_argument("--dir", required=True, help="folder of the Parquet parts (reused)")
    parser.add_argument("--generator", default="copula")
    parser.add_argument("--params", default="{}", help="JSON parameters of the generator")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--output", default=None, help="JSON file for the result")
    parser.add_argument("--save", default=None, help="save the fitted model here")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    write_table(Path(args.dir), args.rows)
    made = time.perf_counter() - t0
    result = run_in_child(
        _child,
        (
            args.dir,
            args.fit_rows,
            args.sample_rows,
            args.generator,
            json.loads(args.params),
            args.save,
        ),
        args.timeout,
        threads=1,
    )
    result = {
        "generator": args.generator,
        "params": json.loads(args.params),
        "rows_asked": args.rows,
        "fit_rows": args.fit_rows,
        "write_s": made,
        **result,
    }
    print(json.dumps(result, indent=2))
    if args.output:
        from synthgen.files import atomic_write

        atomic_write(Path(args.output), json.dumps(result, indent=2))
    return 0 if result.get("status") == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
