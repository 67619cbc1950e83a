"""Sweep for the overfitted-transformer privacy canary (issue 20).

The canary of ``tests/integration/test_privacy_canaries.py``: a transformer overfitted on 1,000
Adult rows that *passes* the DCR-share diagnostic must *fail* the privacy verdict through the
membership-inference ensemble. This script fits the transformer on the first 1,000 rows of
Adult shuffled with seed 0 (as the test does) for each configuration, draws the largest number
of synthetic rows once, and evaluates the first ``n`` of them for each ``n`` against each
holdout size (the holdout is the next rows of the shuffled table; the attacks split it into
reference rows and non-member candidates). Per run it prints the DCR share and its status, the
lower bounds of ``mia_auc``, ``mia_tpr`` and ``mia_vulnerable_tpr`` with the attack that
decided, and the privacy verdict. ``--null`` also evaluates unseen rows of Adult as the
"synthetic" table (the null distribution the limits must pass with margin).

Run (one thread, low priority), e.g. the test's configuration and its neighbours:
``OMP_NUM_THREADS=1 nice -n 10 python -m benchmarks.privacy_canary_sweep --epochs 400
--d-model 128 --n-layers 3 --temperature 3,3.5 --top-p 1,0.9 --rows 50000,200000
--holdout 1000,4000 --attack-rows 0 --model canary.sgm`` (temperature and top-p are sampling
settings: one fit serves them all; ``--model`` keeps the fit for the next run; ``--attack-rows
0`` lets the attacks search every synthetic row, not the evaluation's default cap). The
results are in docs/evaluation.md ("The overfitted-transformer canary").
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

import synthgen as sg
from synthgen.evaluation import EvaluationLimits, evaluate
from synthgen.evaluation.privacy import VERDICT_METRICS

#: The canaries' caps for the parts of the report they do not test (as in the test).
FAST = EvaluationLimits(hgb_max_iter=30, anonymeter_attacks=200, precision_recall_rows=800)
MIA = ("mia_auc", "mia_tpr", "mia_vulnerable_tpr")
TRAIN_ROWS = 1000


def shuffled_adult() -> pd.DataFrame:
    """Adult shuffled with seed 0: the first 1,000 rows train, the next ones are held out."""
    return sg.datasets.load_adult().sample(frac=1, random_state=0).reset_index(drop=True)


def fit(train: pd.DataFrame, epochs: int, **params):
    """The overfitting transformer: no validation, no early stopping, no regularisation."""
    return sg.make_generator(
        "transformer",
        epochs=epochs,
        **params,
        patience=None,
        validation_fraction=0.0,
        token_dropout=0.0,
        weight_decay=0.0,
        n_threads=1,
        random_state=0,
    ).fit(train)


def line(label: str, report, seconds: float) -> str:
    """One row of the sweep table."""
    dcr = report["dcr_share"]
    copies = report["exact_copy_rate"].value
    cells = [f"{label:38s}", f"dcr {dcr.value:.3f} {dcr.status:4s}", f"copies {copies:.3f}"]
    for name in MIA:
        m = report[name]
        cells.append(f"{name} {m.graded_value:.3f} ({m.details['attack'][:5]}) {m.status:4s}")
    failing = [n for n in VERDICT_METRICS if report[n].status == "fail"]
    cells.append(f"verdict {report.privacy_verdict} {','.join(failing) or '-'}")
    cells.append(f"{seconds:.0f} s")
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", default="120", help="comma-separated epochs")
    parser.add_argument("--d-model", type=int, default=None, help="width (preset: 64)")
    parser.add_argument("--n-layers", type=int, default=None, help="layers (preset: 2)")
    parser.add_argument("--n-sub-bins", type=int, default=32, help="fine bins per coarse bin")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="peak step size")
    parser.add_argument("--batch-size", type=int, default=500, help="rows per step")
    parser.add_argument(
        "--precision", default="auto", help="auto (bfloat16 where native) or float32"
    )
    parser.add_argument("--temperature", default="1.0", help="comma-separated sample_temperature")
    parser.add_argument("--rows", default="5000", help="comma-separated synthetic rows")
    parser.add_argument("--holdout", default="1000", help="comma-separated holdout sizes")
    parser.add_argument("--top-p", default="1.0", help="comma-separated top_p (nucleus)")
    parser.add_argument(
        "--attack-rows",
        type=int,
        default=None,
        help="synthetic rows the attacks search (default: the evaluation's limit; 0: all)",
    )
    parser.add_argument(
        "--sample-precision", default=None, help="decode in: auto or float32 (default: as fit)"
    )
    parser.add_argument("--model", default=None, help="a .sgm file: fit once, reuse after")
    parser.add_argument("--null", action="store_true", help="also unseen rows as synthetic")
    args = parser.parse_args()
    rows = [int(n) for n in args.rows.split(",")]
    holdouts = [int(h) for h in args.holdout.split(",")]

    df = shuffled_adult()
    train = df.iloc[:TRAIN_ROWS].reset_index(drop=True)

    def split(h: int) -> pd.DataFrame:
        return df.iloc[TRAIN_ROWS : TRAIN_ROWS + h].reset_index(drop=True)

    if args.null:
        for h in holdouts:
            rest = df.iloc[TRAIN_ROWS + h :].reset_index(drop=True)
            for n in rows:
                t0 = time.perf_counter()
                report = evaluate(
                    train, rest.iloc[:n], holdout=split(h), target="income", limits=FAST
                )
                label = f"unseen rows, n={min(n, len(rest))}, holdout={h}"
                print(line(label, report, time.perf_counter() - t0), flush=True)
    limits = FAST
    if args.attack_rows is not None:
        limits = replace(FAST, attack_synthetic_rows=args.attack_rows or max(rows))
    for epochs in [int(e) for e in args.epochs.split(",")]:
        t0 = time.perf_counter()
        saved = Path(args.model) if args.model else None
        if saved is not None and saved.exists():
            model = sg.load(saved)
        else:
            model = fit(
                train,
                epochs,
                d_model=args.d_model,
                n_layers=args.n_layers,
                n_sub_bins=args.n_sub_bins,
                learning_rate=args.learning_rate,
                batch_size=args.batch_size,
                precision=args.precision,
            )
            if saved is not None:
                model.save(saved)
        fitted = time.perf_counter() - t0
        if args.sample_precision is not None:
            model.precision = args.sample_precision  # read when sampling: no refit needed
        print(
            f"epochs={epochs} d_model={args.d_model} n_layers={args.n_layers}"
            f" n_sub_bins={args.n_sub_bins} lr={args.learning_rate} batch={args.batch_size}"
            f" {args.precision}: fit {fitted:.0f} s,"
            f" final loss {model.history_[-1]['loss']:.3f}",
            flush=True,
        )
        settings = [
            (float(t), float(p)) for t in args.temperature.split(",") for p in args.top_p.split(",")
        ]
        for temperature, top_p in settings:
            model.sample_temperature = temperature  # sampling settings: no refit needed
            model.top_p = top_p
            synthetic = model.sample(max(rows), random_state=1)
            for h in holdouts:
                for n in rows:
                    t1 = time.perf_counter()
                    report = evaluate(
                        train, synthetic.iloc[:n], holdout=split(h), target="income", limits=limits
                    )
                    label = f"epochs={epochs}, T={temperature:g}, p={top_p:g}, n={n}, h={h}"
                    print(line(label, report, time.perf_counter() - t1), flush=True)


if __name__ == "__main__":
    main()
