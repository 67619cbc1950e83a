"""Time a full evaluation report on the Adult table.

Protocol: shuffle with seed 0, first 80% train, the rest holdout. The "synthetic" table is a
stand-in of the training size (a bootstrap resample of the training rows: the point is timing,
and a resample is also a useful worst case for the privacy metrics, which must fail it).

Run: ``PYTHONPATH=. python benchmarks/bench_report.py [--out report.html]``
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from synthgen.datasets import load_adult
from synthgen.evaluation import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="bench_report.html", help="HTML report path")
    args = parser.parse_args()

    df = load_adult().sample(frac=1, random_state=0).reset_index(drop=True)
    n_train = int(0.8 * len(df))
    train, holdout = df.iloc[:n_train], df.iloc[n_train:]
    synthetic = train.sample(len(train), replace=True, random_state=1).reset_index(drop=True)

    start = time.perf_counter()
    report = evaluate(train, synthetic, holdout=holdout, target="income", random_state=0)
    t_eval = time.perf_counter() - start
    report.to_html(args.out)
    t_total = time.perf_counter() - start

    with pd.option_context("display.width", 200, "display.max_colwidth", 40):
        print(report.summary()[["group", "metric", "value", "status"]].to_string(index=False))
    print(f"\nprivacy verdict: {report.privacy_verdict}")
    print(f"per-step seconds: {report.meta['timings_s']}")
    print(f"evaluate wall time: {t_eval:.1f} s; with HTML: {t_total:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
