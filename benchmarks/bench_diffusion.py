"""The diffusion generator on the benchmark tables (80/20 split, seed 0, sample len(train)).

Run from the repository root::

    python -m benchmarks.bench_diffusion                       # adult, defaults
    python -m benchmarks.bench_diffusion --quick               # short budget, a smoke test
    python -m benchmarks.bench_diffusion --datasets adult creditcard_default bank_marketing
    python -m benchmarks.bench_diffusion --params '{"max_time": 120, "sample_steps": 30}'

Each dataset runs in its own child process so the peak resident memory (``ru_maxrss``) is its
own. Printed per run, one JSON line: fit and sample seconds (len(train) rows), peak MB, and
every key metric of :func:`synthgen.evaluation.evaluate` (column shapes and pair trends,
detection AUC, TSTR and TRTR ROC AUC, DCR share, exact-copy rates) plus the privacy verdict.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
import warnings
from typing import Any

from benchmarks.datasets import load_dataset, split_train_holdout

METRICS = (
    "column_shapes",
    "column_pair_trends",
    "detection_auc",
    "tstr_roc_auc",
    "trtr_roc_auc",
    "dcr_share",
    "exact_copy_rate",
    "exact_copy_excess",
)


def _run(dataset: str, params: dict[str, Any], threads: int, queue) -> None:
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(threads)
    import synthgen as sg
    from synthgen.evaluation import evaluate

    data, target = load_dataset(dataset)
    train, holdout = split_train_holdout(data, random_state=0)
    model = sg.make_generator("diffusion", random_state=0, **params)
    t0 = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    synthetic = model.sample(len(train))
    sample_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = evaluate(
        real=train,
        synthetic=synthetic,
        holdout=holdout,
        target=target,
        schema=model.schema_,
        random_state=0,
    )
    summary = report.summary().set_index("metric")["value"]
    row: dict[str, Any] = {"dataset": dataset, "rows": len(train)}
    row.update({m: round(float(summary[m]), 4) for m in METRICS if m in summary.index})
    row.update(
        {
            "privacy_verdict": str(report.privacy_verdict),
            "epochs": model.n_epochs_,
            "fit_s": round(fit_s, 1),
            "sample_s": round(sample_s, 2),
            "peak_mb": round(peak_mb),
            "params": params,
        }
    )
    queue.put(row)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["adult"])
    parser.add_argument("--params", default="{}", help="JSON of extra generator parameters")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (1 is fastest on a shared, loaded CPU)",
    )
    parser.add_argument("--quick", action="store_true", help="short budget (a smoke test)")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    if args.quick:
        params = {"max_time": 10.0, "sample_steps": 10, **params}
    ctx = mp.get_context("spawn")
    for dataset in args.datasets:
        queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(dataset, params, args.threads, queue))
        proc.start()
        print(json.dumps(queue.get()), flush=True)
        proc.join()


if __name__ == "__main__":
    main()
