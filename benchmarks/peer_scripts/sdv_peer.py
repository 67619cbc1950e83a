"""Runs inside an SDV environment: fit CTGAN / TVAE / GaussianCopula with defaults, sample.

SDV 2.0 takes and returns dicts of tables; older releases take a DataFrame. Both work.
"""

import argparse
import json
import statistics
import time

import pandas as pd
from sdv.metadata import Metadata
from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

parser = argparse.ArgumentParser()
for flag in ("--model", "--train", "--rows", "--seed", "--out", "--timing"):
    parser.add_argument(flag, required=True)
parser.add_argument("--target", default="")  # unused: the peer learns the whole table
parser.add_argument("--quick", action="store_true")
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--sample-repeats", type=int, default=1)  # timings: the median
parser.add_argument("--keep-draws", type=int, default=1)  # draws 2.. as OUT.1, ...
args = parser.parse_args()

train = pd.read_parquet(args.train)
NAME = "table"
dict_api = not hasattr(Metadata, "detect_from_dataframe")
if dict_api:
    metadata = Metadata.detect_from_dataframes({NAME: train})
else:
    metadata = Metadata.detect_from_dataframe(train)
kwargs = {}
if args.model in ("ctgan", "tvae"):
    kwargs["epochs"] = args.epochs or (5 if args.quick else 300)
cls = {"ctgan": CTGANSynthesizer, "tvae": TVAESynthesizer, "copula": GaussianCopulaSynthesizer}
synth = cls[args.model](metadata, **kwargs)
t0 = time.perf_counter()
synth.fit({NAME: train} if dict_api else train)
fit_s = time.perf_counter() - t0
runs = []
for i in range(max(args.sample_repeats, args.keep_draws, 1)):
    t0 = time.perf_counter()
    drawn = synth.sample(int(args.rows))
    drawn = drawn[NAME] if isinstance(drawn, dict) else drawn
    runs.append(time.perf_counter() - t0)
    if 0 < i < args.keep_draws:  # later draws for the utility of several draws
        drawn.to_parquet(f"{args.out}.{i}", index=False)
    if i == 0:  # the rows of the first draw are kept
        rows = drawn
rows.to_parquet(args.out, index=False)
with open(args.timing, "w") as fh:
    json.dump({"fit_s": fit_s, "sample_s": statistics.median(runs), "sample_runs_s": runs}, fh)
