"""Neural generators (VAE, GAN) on the benchmark tables (80/20 split, seed 0, sample len(train)).

Run from the repository root::

    python -m benchmarks.bench_neural                 # vae and gan on adult, defaults
    python -m benchmarks.bench_neural --quick         # short budgets, a smoke test
    python -m benchmarks.bench_neural --generators vae --datasets adult bank_marketing
    python -m benchmarks.bench_neural --params '{"max_time": 30}'

Each generator runs in its own child process so the peak resident memory (``ru_maxrss``) is
its own. Printed per run: fit and sample seconds (len(train) rows and 100,000 rows), peak MB,
sdmetrics column shapes and pair trends, detection AUC (3-fold CV ROC AUC of a gradient-boosted
classifier telling holdout rows from as many synthetic rows; 0.5 is best) and TSTR ROC AUC
(trained on synthetic, tested on the real holdout).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.datasets import load_dataset, split_train_holdout


def _features(frame: pd.DataFrame, categorical: list[str], reference: pd.DataFrame) -> pd.DataFrame:
    """Numbers as floats, categories as integer codes over the reference's labels."""
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        if col in categorical:
            labels = pd.Index(pd.concat([reference[col], frame[col]]).dropna().astype(str).unique())
            out[col] = pd.Categorical(frame[col].astype("string"), categories=labels).codes
        else:
            out[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return out


def detection_auc(real: pd.DataFrame, synthetic: pd.DataFrame, categorical: list[str]) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_score

    n = min(len(real), len(synthetic))
    both = pd.concat([real.iloc[:n], synthetic.iloc[:n]], ignore_index=True)
    x = _features(both, categorical, both)
    y = np.r_[np.zeros(n), np.ones(n)]
    mask = [c in categorical for c in x.columns]
    clf = HistGradientBoostingClassifier(categorical_features=mask, random_state=0)
    return float(cross_val_score(clf, x, y, cv=3, scoring="roc_auc").mean())


def tstr_auc(
    synthetic: pd.DataFrame, holdout: pd.DataFrame, target: str, categorical: list[str]
) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    feats = [c for c in holdout.columns if c != target]
    positive = holdout[target].value_counts().index[-1]  # the minority label
    ref = pd.concat([synthetic[feats], holdout[feats]], ignore_index=True)
    x_syn = _features(synthetic[feats], categorical, ref)
    x_real = _features(holdout[feats], categorical, ref)
    y_syn = (synthetic[target].astype(str) == str(positive)).to_numpy()
    y_real = (holdout[target].astype(str) == str(positive)).to_numpy()
    if y_syn.all() or not y_syn.any():
        return 0.5
    mask = [c in categorical for c in feats]
    clf = HistGradientBoostingClassifier(categorical_features=mask, random_state=0)
    clf.fit(x_syn, y_syn)
    return float(roc_auc_score(y_real, clf.predict_proba(x_real)[:, 1]))


def quality(train: pd.DataFrame, synthetic: pd.DataFrame, schema: Any) -> tuple[float, float]:
    from sdmetrics.reports.single_table import QualityReport

    metadata = {
        "columns": {
            c.name: {"sdtype": "numerical" if c.kind == "numeric" else "categorical"}
            for c in schema
            if c.kind in ("numeric", "categorical", "boolean", "text")
        }
    }
    cols = list(metadata["columns"])
    report = QualityReport()
    report.generate(train[cols], synthetic[cols], metadata, verbose=False)
    scores = report.get_properties().set_index("Property")["Score"]
    return float(scores["Column Shapes"]), float(scores["Column Pair Trends"])


def evaluate(
    name: str,
    dataset: str,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str,
    synthetic: pd.DataFrame,
    schema: Any,
) -> dict[str, Any]:
    categorical = [c.name for c in schema if c.kind != "numeric" and c.name in train.columns]
    shape, trend = quality(train, synthetic, schema)
    out = {
        "generator": name,
        "dataset": dataset,
        "shape": round(shape, 4),
        "trend": round(trend, 4),
        "detection_auc": round(detection_auc(holdout, synthetic, categorical), 4),
    }
    if target:
        out["tstr_auc"] = round(tstr_auc(synthetic, holdout, target, categorical), 4)
    return out


def _run(key: str, dataset: str, params: dict[str, Any], threads: int, queue) -> None:
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(threads)
    import synthgen as sg

    data, target = load_dataset(dataset)
    train, holdout = split_train_holdout(data, random_state=0)
    model = sg.make_generator(key, random_state=0, **params)
    t0 = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    synthetic = model.sample(len(train))
    sample_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.sample(100_000)
    sample_100k_s = time.perf_counter() - t0
    row = evaluate(key, dataset, train, holdout, target, synthetic, model.schema_)
    row.update(
        {
            "epochs": getattr(model, "n_epochs_", None),
            "fit_s": round(fit_s, 1),
            "sample_s": round(sample_s, 2),
            "sample_100k_s": round(sample_100k_s, 2),
            "peak_fit_mb": round(peak_mb),
        }
    )
    queue.put(row)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", nargs="+", default=["vae", "gan"])
    parser.add_argument("--datasets", nargs="+", default=["adult"])
    parser.add_argument("--params", default="{}", help="JSON of extra generator parameters")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (1 is fastest for these small networks on a shared CPU)",
    )
    parser.add_argument("--quick", action="store_true", help="short budgets (a smoke test)")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    if args.quick:
        params = {"max_time": 10.0, **params}
    ctx = mp.get_context("spawn")
    for dataset in args.datasets:
        for key in args.generators:
            queue = ctx.Queue()
            proc = ctx.Process(target=_run, args=(key, dataset, params, args.threads, queue))
            proc.start()
            print(json.dumps(queue.get()), flush=True)
            proc.join()


if __name__ == "__main__":
    main()
