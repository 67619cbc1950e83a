"""Sampling to disk in worker processes (``sample_to(..., n_jobs=k)``) against one process.

Fits a generator (one torch thread) on ``--fit-rows`` rows of a shared dataset, saves it, then
for each repeat and each ``--jobs`` value draws ``--rows`` rows into a Parquet folder (or a CSV
file with ``--csv``) in a fresh process that loads the saved model, so each figure has its own
peak RSS (the sampling process, and its largest worker). Prints one JSON line per run (wall
seconds with the workers' start-up, rows per second, peak RSS) and a last one saying whether
every run wrote the same bytes::

    OMP_NUM_THREADS=1 python -m benchmarks.bench_sample_jobs --rows 10000000 --jobs 1,2
    OMP_NUM_THREADS=1 python -m benchmarks.bench_sample_jobs --generator transformer \\
        --params '{"epochs": 1}' --fit-rows 20000 --rows 1000000 --jobs 1,2
    OMP_NUM_THREADS=1 python -m benchmarks.bench_sample_jobs --source /tmp/big \
        --rows 50000000 --jobs 1,2      # fitted on bench_stream's 10M x 20 Parquet table
    OMP_NUM_THREADS=1 python -m benchmarks.bench_sample_jobs --model /tmp/model.sgm \
        --rows 1000000 --chunk-size 262144 --jobs 1,2   # bench_stream --save's model
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import resource
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any


def _digest(path: Path) -> str:
    """SHA-256 of the written rows: each part's bytes, or the CSV file's."""
    h = hashlib.sha256()
    if path.is_dir():
        for part in sorted(path.iterdir()):
            h.update(part.name.encode())
            h.update(part.read_bytes())
    else:
        h.update(path.read_bytes())
    return h.hexdigest()


def _run(model_path: str, out: str, rows: int, chunk: int, jobs: int, queue: Any) -> None:
    warnings.simplefilter("ignore")
    import synthgen as sg

    model = sg.load(model_path)
    t0 = time.perf_counter()
    model.sample_to(out, rows, chunk_size=chunk, random_state=0, n_jobs=jobs)
    seconds = time.perf_counter() - t0
    queue.put(
        {
            "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "worker_peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            ),
            "digest": _digest(Path(out)),
        }
    )


def _model(args: argparse.Namespace) -> Any:
    """The saved model ``--model``, or ``--generator`` fitted (one torch thread) on
    ``--source`` or ``--dataset``."""
    import synthgen as sg
    from benchmarks.datasets import load_dataset

    if args.model is not None:
        return sg.load(args.model)
    model = sg.make_generator(args.generator, random_state=0, **json.loads(args.params))
    if "n_threads" in model.get_params():  # neural: one thread per process
        model.set_params(n_threads=1)
    if args.source is not None:
        from synthgen.generators.sharded import fit_parts

        return fit_parts(model, args.source, fit_rows=args.fit_rows or 200_000)
    data, _ = load_dataset(args.dataset)
    return model.fit(data if args.fit_rows is None else data.iloc[: args.fit_rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_sample_jobs")
    parser.add_argument("--generator", default="copula")
    parser.add_argument("--params", default="{}", help="generator parameters (JSON)")
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--fit-rows", type=int, default=None, help="rows to fit on (all)")
    parser.add_argument(
        "--source",
        default=None,
        help="fit on this Parquet folder with fit_parts (e.g. bench_stream's 20-column table, "
        "--fit-rows rows for the schema) instead of --dataset",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="draw from this saved model (e.g. bench_stream --save's) instead of fitting one",
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-size", type=int, default=1_000_000)
    parser.add_argument("--jobs", default="1,2", help="comma-separated n_jobs values")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--csv", action="store_true", help="write one .csv file, not Parquet")
    parser.add_argument("--folder", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    model = _model(args)
    fit_s = time.perf_counter() - t0
    generator = args.generator if args.model is None else model.key
    root = Path(tempfile.mkdtemp(dir=args.folder))
    digests = set()
    ctx = multiprocessing.get_context("spawn")
    try:
        saved = root / "model.sgm"
        model.save(saved)
        for repeat in range(args.repeats):
            for jobs in (int(j) for j in args.jobs.split(",")):
                out = root / ("rows.csv" if args.csv else "rows")
                queue = ctx.Queue()
                run = (str(saved), str(out), args.rows, args.chunk_size, jobs, queue)
                child = ctx.Process(target=_run, args=run)
                child.start()
                record = queue.get()
                child.join()
                digests.add(record.pop("digest"))
                shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink()
                print(
                    json.dumps(
                        {
                            "generator": generator,
                            "data": args.model or args.source or args.dataset,
                            "rows": args.rows,
                            "chunk_size": args.chunk_size,
                            "format": "csv" if args.csv else "parquet",
                            "n_jobs": jobs,
                            "repeat": repeat,
                            ("load_s" if args.model else "fit_s"): round(fit_s, 1),
                            **record,
                        }
                    ),
                    flush=True,
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"same_output_every_run": len(digests) == 1}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
