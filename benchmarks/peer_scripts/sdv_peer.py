"""Runs inside an SDV environment: fit CTGAN / TVAE / GaussianCopula with defaults, sample."""

import argparse
import json
import time

import pandas as pd
from sdv.metadata import Metadata
from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

parser = argparse.ArgumentParser()
for flag in ("--model", "--train", "--rows", "--seed", "--out", "--timing"):
    parser.add_argument(flag, required=True)
parser.add_argument("--quick", action="store_true")
parser.add_argument("--epochs", type=int, default=None)
args = parser.parse_args()

train = pd.read_parquet(args.train)
metadata = Metadata.detect_from_dataframe(train)
kwargs = {}
if args.model in ("ctgan", "tvae"):
    kwargs["epochs"] = args.epochs or (5 if args.quick else 300)
cls = {"ctgan": CTGANSynthesizer, "tvae": TVAESynthesizer, "copula": GaussianCopulaSynthesizer}
synth = cls[args.model](metadata, **kwargs)
t0 = time.perf_counter()
synth.fit(train)
fit_s = time.perf_counter() - t0
t0 = time.perf_counter()
rows = synth.sample(int(args.rows))
sample_s = time.perf_counter() - t0
rows.to_parquet(args.out, index=False)
with open(args.timing, "w") as fh:
    json.dump({"fit_s": fit_s, "sample_s": sample_s}, fh)
