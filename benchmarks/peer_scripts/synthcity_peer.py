"""Runs inside a synthcity environment: fit TabDDPM (``ddpm``) with its defaults, sample.

synthcity pins an old torch, so it lives in its own virtual environment. ``--quick`` caps
training at a few iterations for a smoke test. ``OMP_NUM_THREADS`` (when set) also sets
torch's thread count. The target column is passed on so TabDDPM's own conditioning is used
as its defaults intend (``is_classification`` follows the target's kind).
"""

import argparse
import json
import os
import statistics
import time

import pandas as pd
import torch
from synthcity.plugins import Plugins
from synthcity.plugins.core.dataloader import GenericDataLoader

parser = argparse.ArgumentParser()
for flag in ("--model", "--train", "--rows", "--seed", "--out", "--timing"):
    parser.add_argument(flag, required=True)
parser.add_argument("--target", default="")
parser.add_argument("--quick", action="store_true")
parser.add_argument("--sample-repeats", type=int, default=1)  # timings: the median
parser.add_argument("--keep-draws", type=int, default=1)  # draws 2.. as OUT.1, ...
args = parser.parse_args()
if os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

train = pd.read_parquet(args.train)
kwargs = {"random_state": int(args.seed)}
if args.quick:
    kwargs["n_iter"] = 10
plugin = Plugins().get(args.model, **kwargs)
loader = GenericDataLoader(train, target_column=args.target or None)
t0 = time.perf_counter()
plugin.fit(loader)
fit_s = time.perf_counter() - t0
runs = []
for i in range(max(args.sample_repeats, args.keep_draws, 1)):
    t0 = time.perf_counter()
    drawn = plugin.generate(count=int(args.rows)).dataframe()
    runs.append(time.perf_counter() - t0)
    if 0 < i < args.keep_draws:  # later draws for the utility of several draws
        drawn[list(train.columns)].to_parquet(f"{args.out}.{i}", index=False)
    if i == 0:  # the rows of the first draw are kept
        rows = drawn
rows = rows[list(train.columns)]
rows.to_parquet(args.out, index=False)
with open(args.timing, "w") as fh:
    json.dump({"fit_s": fit_s, "sample_s": statistics.median(runs), "sample_runs_s": runs}, fh)
