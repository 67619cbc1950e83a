"""Runs inside a mostlyai-engine environment: fit TabularARGN with its defaults, sample.

Defaults are the engine's own (model ``MOSTLY_AI/Medium``, its time and epoch budget with
early stopping, flexible generation, value protection). ``--quick`` caps training at one
epoch for a smoke test. ``OMP_NUM_THREADS`` (when set) also sets torch's thread count.
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import pandas as pd
import torch
from mostlyai.engine import TabularARGN

parser = argparse.ArgumentParser()
for flag in ("--model", "--train", "--rows", "--seed", "--out", "--timing"):
    parser.add_argument(flag, required=True)
parser.add_argument("--target", default="")  # unused: the peer learns the whole table
parser.add_argument("--quick", action="store_true")
parser.add_argument("--epochs", type=int, default=None)  # most epochs (cost curves)
parser.add_argument("--sample-repeats", type=int, default=1)  # timings: the median
parser.add_argument("--keep-draws", type=int, default=1)  # draws 2.. as OUT.1, ...
args = parser.parse_args()
if args.model != "tabular":
    raise SystemExit(f"unknown model {args.model!r}: only 'tabular' (TabularARGN)")
if os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

train = pd.read_parquet(args.train)
kwargs = {"max_epochs": 1} if args.quick else {}
if args.epochs is not None:
    kwargs["max_epochs"] = args.epochs
with tempfile.TemporaryDirectory(prefix="mostlyai_peer_") as workspace:
    synth = TabularARGN(
        random_state=int(args.seed), device="cpu", workspace_dir=workspace, verbose=0, **kwargs
    )
    t0 = time.perf_counter()
    synth.fit(train)
    fit_s = time.perf_counter() - t0
    runs = []
    for i in range(max(args.sample_repeats, args.keep_draws, 1)):
        t0 = time.perf_counter()
        drawn = synth.sample(n_samples=int(args.rows))
        runs.append(time.perf_counter() - t0)
        if 0 < i < args.keep_draws:  # later draws for the utility of several draws
            drawn.to_parquet(f"{args.out}.{i}", index=False)
        if i == 0:  # the rows of the first draw are kept
            rows = drawn
rows.to_parquet(args.out, index=False)
with open(args.timing, "w") as fh:
    json.dump({"fit_s": fit_s, "sample_s": statistics.median(runs), "sample_runs_s": runs}, fh)
