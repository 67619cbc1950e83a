"""Privacy-safe export of a table in Parquet parts: time and peak memory against rows.

``python -m benchmarks.bench_export_parts --rows 20000000 --dir /tmp/export-parts``

Writes (once; reused when ``--dir`` already holds it) the ``export`` axis table of
``python -m benchmarks scale`` (Adult's columns resampled with noise, a free-text column and
mostly unique codes) as Parquet parts of 1,000,000 rows in row groups of 131,072, made one
part at a time so the writer never holds the table. Then, in a fresh single-threaded child
process, runs ``sg.export_parts`` (``--generator``, default the copula) into a folder of
Parquet parts next to the table and prints (and writes to ``--output``) its seconds, the
child's peak RSS, the verdict, the copy filter's counts, the rows written and the column
shapes and pair trends the report gives (on its samples). ``--in-memory`` runs
``sg.export`` on the whole table read into memory instead, for the same rows side by side.
``--cols N`` writes the ``cols`` axis table of ``N`` columns instead (half of them
categorical: almost every row's combination is its own, so the near-copy limit is several
categories).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_stream import write_parts
from benchmarks.child import run_in_child
from benchmarks.scale import make_table


def write_table(folder: Path, n_rows: int, seed: int = 0, cols: int = 0) -> list[Path]:
    """The parts of the table (made and written one part at a time; reused when there):
    the ``export`` axis table, or with ``cols`` the ``cols`` axis table of that many
    columns."""

    def make(i: int, n: int):
        if cols:
            return make_table("cols", cols, seed * 100_003 + i, {"rows": n})
        return make_table("export", n, seed * 100_003 + i, {})

    return write_parts(folder, n_rows, make)


def _child(folder: str, output: str, generator: str, in_memory: bool, queue: Any) -> None:
    import synthgen as sg

    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    if in_memory:
        import pandas as pd

        data = pd.read_parquet(folder)
        out["read_s"] = time.perf_counter() - t0
        result = sg.export(data, generator=generator, target="income", random_state=0)
        out["rows_written"] = len(result.synthetic) if result.written else 0
    else:
        result = sg.export_parts(
            folder, output, generator=generator, target="income", random_state=0
        )
        out["rows_written"] = result.log["rows"]["synthetic"] if result.written else 0
        out["rows"] = result.log["rows"]
    out["export_s"] = time.perf_counter() - t0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["verdict"] = result.verdict
    out["copies"] = result.log.get("copies")
    out["column_shapes"] = result.report["column_shapes"].value
    out["column_pair_trends"] = result.report["column_pair_trends"].value
    queue.put({"status": "ok", **out})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_export_parts")
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--dir", required=True, help="folder of the Parquet parts (reused)")
    parser.add_argument("--generator", default="copula")
    parser.add_argument("--in-memory", action="store_true", help="sg.export on the whole table")
    parser.add_argument("--timeout", type=float, default=7200.0)
    parser.add_argument("--output", default=None, help="JSON file for the result")
    parser.add_argument(
        "--cols", type=int, default=0, help="the cols axis table of this many columns instead"
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    table = Path(args.dir) / ("table" if not args.cols else f"table-{args.cols}-cols")
    write_table(table, args.rows, cols=args.cols)
    made = time.perf_counter() - t0
    synthetic = Path(args.dir) / "synthetic"
    shutil.rmtree(synthetic, ignore_errors=True)
    result = run_in_child(
        _child, (str(table), str(synthetic), args.generator, args.in_memory), args.timeout, 1
    )
    written = sorted(synthetic.glob("part-*.parquet")) if synthetic.is_dir() else []
    result = {
        "generator": args.generator,
        "rows_asked": args.rows,
        "cols": args.cols or None,
        "in_memory": args.in_memory,
        "write_s": made,
        "parts_written": len(written),
        "bytes_written": int(np.sum([p.stat().st_size for p in written])),
        **result,
    }
    print(json.dumps(result, indent=2, default=str))
    if args.output:
        from synthgen.files import atomic_write

        atomic_write(Path(args.output), json.dumps(result, indent=2, default=str))
    return 0 if result.get("status") == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
