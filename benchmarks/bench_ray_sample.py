"""Sampling to Parquet on a local Ray against one process: seconds, and identical parts.

Fits a generator (default: the Gaussian copula, seconds) on a dataset, draws ``--rows`` rows
into a Parquet folder with ``model.sample_to`` in this process (one thread) and with
``synthgen.ray_sampling.sample_to_ray`` on a local Ray of ``--cpus`` CPUs, and prints one JSON
line: both wall-clock times, rows per second and whether every part file is byte-identical::

    OMP_NUM_THREADS=1 python -m benchmarks.bench_ray_sample --rows 20000000 --cpus 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
import warnings
from pathlib import Path


def _same_parts(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_ray_sample")
    parser.add_argument("--generator", default="copula")
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--folder", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    import ray

    import synthgen as sg
    from benchmarks.datasets import load_dataset
    from synthgen.ray_sampling import sample_to_ray

    data, _ = load_dataset(args.dataset)
    model = sg.make_generator(args.generator, random_state=0)
    if "n_threads" in model.get_params():  # neural: one thread, in both runs
        model.set_params(n_threads=1)
    model.fit(data)
    root = Path(tempfile.mkdtemp(dir=args.folder))
    try:
        t0 = time.perf_counter()
        alone = model.sample_to(root / "alone", args.rows, random_state=0)
        alone_s = time.perf_counter() - t0
        repo = str(Path(__file__).resolve().parents[1])
        env = {"PYTHONPATH": repo, "OMP_NUM_THREADS": "1"}
        ray.init(num_cpus=args.cpus, include_dashboard=False, runtime_env={"env_vars": env})
        t0 = time.perf_counter()
        spread = sample_to_ray(model, root / "ray", args.rows, random_state=0)
        ray_s = time.perf_counter() - t0
        record = {
            "generator": args.generator,
            "dataset": args.dataset,
            "rows": args.rows,
            "ray_cpus": args.cpus,
            "one_process_s": round(alone_s, 1),
            "ray_s": round(ray_s, 1),
            "one_process_rows_per_s": round(args.rows / alone_s),
            "ray_rows_per_s": round(args.rows / ray_s),
            "identical_parts": _same_parts(alone, spread),
        }
        ray.shutdown()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
