"""Runs inside a smartnoise-synth environment: fit MST or AIM at a given epsilon, sample.

Numeric columns are continuous (bounds and bins found privately with ``preprocessor_eps``, a
tenth of epsilon, subtracted from the training budget as smartnoise does), the others
categorical; missing values are allowed (``nullable``). ``OMP_NUM_THREADS`` also caps jax/torch.
AIM's documented knobs can be set (``--rounds``, ``--max-model-size`` in MB; MST has neither and
ignores them, so one ``SYNTHGEN_PEER_SMARTNOISE_ARGS`` serves a run of both); ``--verbose``
prints its progress (one line per selected marginal).
"""

import argparse
import json
import time

import pandas as pd
from snsynth import Synthesizer

parser = argparse.ArgumentParser()
for flag in ("--model", "--train", "--rows", "--seed", "--out", "--timing", "--epsilon"):
    parser.add_argument(flag, required=True)
parser.add_argument("--delta", type=float, default=1e-5)
parser.add_argument("--rounds", type=int, default=None)
parser.add_argument("--max-model-size", type=float, default=None)
parser.add_argument("--verbose", action="store_true")
args = parser.parse_args()
options = {}
if args.model == "aim" and args.rounds is not None:
    options["rounds"] = args.rounds
if args.model == "aim" and args.max_model_size is not None:
    options["max_model_size"] = args.max_model_size

train = pd.read_parquet(args.train)
epsilon = float(args.epsilon)
continuous = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c])]
categorical = [c for c in train.columns if c not in continuous]
for c in categorical:
    train[c] = train[c].astype(object).where(train[c].notna(), None)
synth = Synthesizer.create(
    args.model, epsilon=epsilon, delta=args.delta, verbose=args.verbose, **options
)
t0 = time.perf_counter()
synth.fit(
    train,
    categorical_columns=categorical,
    continuous_columns=continuous,
    preprocessor_eps=0.1 * epsilon,
    nullable=True,
)
fit_s = time.perf_counter() - t0
t0 = time.perf_counter()
rows = synth.sample(int(args.rows))
sample_s = time.perf_counter() - t0
rows = pd.DataFrame(rows, columns=train.columns)
rows.to_parquet(args.out, index=False)
with open(args.timing, "w") as fh:
    json.dump({"fit_s": fit_s, "sample_s": sample_s}, fh)
