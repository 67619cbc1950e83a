"""The transformer on wide tables: columns per attention position against cost and quality.

Run: ``.venv/bin/python -m benchmarks.bench_wide --cols 200 --rows 10000 --epochs 8
--groups auto,1`` (one torch thread; each setting fitted with the same seed).
``--kv-heads 4,1`` crosses the groupings with heads of keys and values (``preset``: the
size preset's), ``--local 2,1`` with the kind of local layer (``1``: the layer of models
saved before the split one, docs/transformer.md).

The table is the ``cols`` axis of :mod:`benchmarks.scale` (Adult resampled with noise plus
generated columns that follow a shared latent factor). For each ``columns_per_position``
setting it reports fit seconds, epochs run, sampling rows per second (as many rows as the
table) and three quick fidelity scores of the sample against the table, computed the same way
for every setting (no sdmetrics: its pair trends take minutes at 200 columns):

- ``shapes``: mean over columns of 1 - total variation distance, numbers on 20 bins at the
  table's quantiles, categories on their labels;
- ``trends``: 1 - half the mean absolute difference of Spearman correlations over all column
  pairs (categories as label codes);
- ``detection``: ROC AUC of a histogram gradient-boosting classifier telling table rows from
  sample rows (3-fold, folded so 0.5 is best).

Quality figures of one seed on one synthetic table: compare settings within a run.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import pandas as pd


def _codes(real: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both frames as integer codes: numbers binned at the real quantiles, labels coded."""
    out_r, out_s = {}, {}
    for col in real.columns:
        r, s = real[col], synthetic[col]
        if pd.api.types.is_numeric_dtype(r):
            qs = np.nanquantile(r.astype(float), np.linspace(0, 1, 21)[1:-1])
            edges = np.unique(qs)
            out_r[col] = np.where(r.isna(), -1, np.searchsorted(edges, r.astype(float)))
            out_s[col] = np.where(s.isna(), -1, np.searchsorted(edges, s.astype(float)))
        else:
            labels = {v: i for i, v in enumerate(pd.unique(r.astype(str)))}
            out_r[col] = r.astype(str).map(labels).fillna(-2).to_numpy()
            out_s[col] = s.astype(str).map(labels).fillna(-2).to_numpy()
    return pd.DataFrame(out_r), pd.DataFrame(out_s)


def quick_quality(real: pd.DataFrame, synthetic: pd.DataFrame, seed: int = 0) -> dict[str, float]:
    """``shapes``, ``trends`` and ``detection`` of ``synthetic`` against ``real``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    r, s = _codes(real, synthetic)
    shapes = []
    for col in r.columns:
        keys = sorted(set(r[col]) | set(s[col]))
        p = r[col].value_counts(normalize=True).reindex(keys, fill_value=0)
        q = s[col].value_counts(normalize=True).reindex(keys, fill_value=0)
        shapes.append(1 - 0.5 * np.abs(p - q).sum())
    upper = np.triu_indices(r.shape[1], 1)
    diff = np.abs(
        np.nan_to_num(r.rank().corr().to_numpy()[upper])
        - np.nan_to_num(s.rank().corr().to_numpy()[upper])
    )
    x = pd.concat([r, s]).to_numpy(float)
    y = np.r_[np.zeros(len(r)), np.ones(len(s))]
    clf = HistGradientBoostingClassifier(random_state=seed)
    p = cross_val_predict(clf, x, y, cv=3, method="predict_proba")[:, 1]
    auc = roc_auc_score(y, p)
    return {
        "shapes": round(float(np.mean(shapes)), 4),
        "trends": round(float(1 - diff.mean() / 2), 4),
        "detection": round(float(max(auc, 1 - auc)), 4),
    }


def fit_and_sample(model: Any, table: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, float, float]:
    """``model`` fitted on ``table``, then ``len(table)`` rows drawn with seed ``seed + 1``:
    the rows, the fit seconds and the sampling seconds."""
    t0 = time.perf_counter()
    model.fit(table)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    synthetic = model.sample(len(table), random_state=seed + 1)
    return synthetic, fit_s, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_wide")
    parser.add_argument("--cols", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--groups", default="auto,1", help="columns_per_position settings")
    parser.add_argument("--kv-heads", default="preset", help="kv_heads settings")
    parser.add_argument("--local", default="2", help="local layer kinds (wide networks)")
    parser.add_argument(
        "--local-ff", default="0.5", help="local layer widths, times d_model (wide networks)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

    from benchmarks.scale import make_table
    from synthgen.generators.transformer import TabularTransformer

    torch.set_num_threads(1)
    table = make_table("cols", args.cols, args.seed, {"rows": args.rows})
    settings = [
        (g if g == "auto" else int(g), None if kv == "preset" else int(kv), int(local), float(ff))
        for g in args.groups.split(",")
        for kv in args.kv_heads.split(",")
        for local in args.local.split(",")
        for ff in args.local_ff.split(",")
    ]
    for group, kv_heads, local, ff in settings:
        model = TabularTransformer(
            size="small",
            epochs=args.epochs,
            columns_per_position=group,
            kv_heads=kv_heads,
            random_state=args.seed,
            n_threads=1,
        )
        model._local_kind = local
        model._local_ff = ff
        synthetic, fit_s, sample_s = fit_and_sample(model, table, args.seed)
        row = {
            "cols": table.shape[1],
            "rows": len(table),
            "columns_per_position": model.arch_["columns_per_position"],
            "kv_heads": model.arch_["kv_heads"],
            "local": model.arch_.get("local"),
            "local_ff": model.arch_.get("local_ff"),
            "epochs": model.n_epochs_,
            "fit_s": round(fit_s, 1),
            "sample_rows_per_s": round(len(table) / sample_s),
            **quick_quality(table, synthetic, args.seed),
        }
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
