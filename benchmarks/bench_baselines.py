"""Baselines on Adult: copula vs independent marginals (80/20 split, seed 0, sample len(train)).

Run: ``.venv/bin/python -m benchmarks.bench_baselines``. Prints fit/sample seconds, peak memory
(max resident set of a child process per generator) and sdmetrics column-shape and pair-trend
scores.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
import warnings

from benchmarks.datasets import load_dataset, split_train_holdout


def _run(key: str, dataset: str, queue) -> None:
    warnings.simplefilter("ignore")
    from sdmetrics.reports.single_table import QualityReport

    import synthgen as sg

    data, _ = load_dataset(dataset)
    train, _ = split_train_holdout(data, random_state=0)
    model = sg.make_generator(key, random_state=0)
    t0 = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    synthetic = model.sample(len(train))
    sample_s = time.perf_counter() - t0
    metadata = {
        "columns": {
            c.name: {"sdtype": "numerical" if c.kind == "numeric" else "categorical"}
            for c in model.schema_
            if c.kind in ("numeric", "categorical", "text")
        }
    }
    cols = list(metadata["columns"])
    report = QualityReport()
    report.generate(train[cols], synthetic[cols], metadata, verbose=False)
    scores = report.get_properties().set_index("Property")["Score"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(
        {
            "generator": key,
            "dataset": dataset,
            "fit_s": round(fit_s, 2),
            "sample_s": round(sample_s, 2),
            "peak_mb": round(peak_mb),
            "shape": round(float(scores["Column Shapes"]), 4),
            "trend": round(float(scores["Column Pair Trends"]), 4),
        }
    )


def main() -> None:
    ctx = mp.get_context("spawn")
    for dataset in ("adult",):
        for key in ("marginals", "copula"):
            queue = ctx.Queue()
            proc = ctx.Process(target=_run, args=(key, dataset, queue))
            proc.start()
            print(queue.get())
            proc.join()


if __name__ == "__main__":
    main()
