"""The default generator's choice on wide tables: each generator fitted with its defaults.

Run: ``.venv/bin/python -m benchmarks.bench_defaults --table real --rows 10000 --copies 2``
(one thread; every generator fitted with the same seed, in one process, one after another).

``synthgen.generators.defaults`` picks a generator from the table's size alone; this script
measures the candidates on wide tables around its limits:

- ``--table real``: the shared Adult, bank marketing and creditcard tables side by side, each
  ``--copies`` times, every copy its own ``--rows`` rows drawn without replacement (56 real
  columns a copy: each block keeps its real marginals and dependencies, the blocks are
  independent). Needs ``../shared/data``.
- ``--table cols``: the generated ``cols`` table of :mod:`benchmarks.scale` with ``--cols``
  columns (Adult resampled with noise plus columns that follow a shared Gaussian latent
  factor: a table made for the copula).

``--first N`` keeps the table's first ``N`` columns (the VAE's head was compared on the first
80 and 100 of ``--table real --rows 15000 --copies 2 --seed 1``).

Each line reports fit and sampling seconds and the quick scores of
:func:`benchmarks.bench_wide.quick_quality` (column shapes, Spearman pair trends, detection
AUC) of ``len(table)`` sampled rows against the table. One seed of one table: compare the
generators within a run.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import pandas as pd

#: The shared tables a copy of ``--table real`` holds, and their columns' prefix.
REAL_TABLES = (("adult", "adul"), ("bank_marketing", "bank"), ("creditcard_default", "cred"))


def real_wide_table(rows: int, copies: int, seed: int) -> pd.DataFrame:
    """The shared tables side by side, ``copies`` times, ``rows`` rows each (see the module
    docstring); columns are prefixed ``<table><copy>_``."""
    from benchmarks.datasets import load_dataset

    rng = np.random.default_rng(seed)
    blocks = []
    for name, prefix in REAL_TABLES:
        frame, _ = load_dataset(name)
        if rows > len(frame):
            raise SystemExit(f"--rows {rows}: {name} has {len(frame)} rows")
        for copy in range(copies):
            pick = rng.choice(len(frame), rows, replace=False)
            blocks.append(frame.iloc[pick].reset_index(drop=True).add_prefix(f"{prefix}{copy}_"))
    return pd.concat(blocks, axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_defaults")
    parser.add_argument("--table", choices=("real", "cols"), default="real")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--copies", type=int, default=2, help="copies of the real tables")
    parser.add_argument("--cols", type=int, default=200, help="columns of the cols table")
    parser.add_argument("--first", type=int, default=None, help="keep the first N columns")
    parser.add_argument("--generators", default="transformer,vae,copula")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--params", default="{}", help='JSON parameters per generator, {"vae": {"epochs": 5}}'
    )
    args = parser.parse_args(argv)

    import torch

    import synthgen as sg
    from benchmarks.bench_wide import fit_and_sample, quick_quality
    from benchmarks.scale import make_table
    from synthgen.generators.defaults import default_generator

    torch.set_num_threads(1)
    params: dict[str, dict[str, Any]] = json.loads(args.params)
    if args.table == "real":
        table = real_wide_table(args.rows, args.copies, args.seed)
    else:
        table = make_table("cols", args.cols, args.seed, {"rows": args.rows})
    if args.first is not None:
        table = table.iloc[:, : args.first]
    default = default_generator(*table.shape)
    for key in args.generators.split(","):
        model = sg.make_generator(key, random_state=args.seed, **params.get(key, {}))
        synthetic, fit_s, sample_s = fit_and_sample(model, table, args.seed)
        row = {
            "table": args.table,
            "rows": len(table),
            "cols": table.shape[1],
            "generator": key,
            "default": key == default,
            "fit_s": round(fit_s, 1),
            "sample_s": round(sample_s, 2),
            **quick_quality(table, synthetic, args.seed),
        }
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
