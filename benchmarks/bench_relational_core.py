"""Fit and sample times of the multi-table model on baseball and cdnow, with the key checks.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.bench_relational_core --data baseball
--generator copula`` (``--param epochs=4`` to change a generator parameter). Split per
subject (parent keys shuffled with seed 0, the first 80% with all their children is train);
fit on train, sample ``scale=1``; prints (and with ``--json`` writes) the seconds and the
checks: every foreign key resolves, no duplicate primary key, every sequence in order.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd

import synthgen as sg

DATA = {
    "baseball": ("players", ["players", "batting", "fielding"]),
    "cdnow": ("users", ["users", "purchases"]),
}


def load_split(name: str, root: str = "../shared/data") -> dict[str, pd.DataFrame]:
    """The train subjects (80% of the parent keys, shuffled with seed 0) and their rows."""
    parent, names = DATA[name]
    tables = {t: pd.read_csv(f"{root}/{name}/{t}.csv.gz") for t in names}
    keys = tables[parent]["id"].to_numpy()
    keys = keys[np.random.default_rng(0).permutation(len(keys))]
    train = set(keys[: int(0.8 * len(keys))].tolist())
    out = {parent: tables[parent][tables[parent]["id"].isin(train)].reset_index(drop=True)}
    for t in names[1:]:
        fk = f"{parent}_id"
        out[t] = tables[t][tables[t][fk].isin(train)].reset_index(drop=True)
    return out


def checks(model: sg.RelationalSynthesizer, out: dict[str, pd.DataFrame]) -> dict[str, float]:
    meta = model.metadata_
    result = {}
    for fk in meta.foreign_keys:
        ok = out[fk.child][fk.column].isin(out[fk.parent][fk.parent_column]).mean()
        result[f"fk_resolved_{fk.child}"] = float(ok)
    for name, t in meta.tables.items():
        if t.primary_key:
            result[f"pk_unique_{name}"] = float(not out[name][t.primary_key].duplicated().any())
        if t.sequence_key:
            fk = meta.parents_of(name)[0]
            frame = out[name]
            order = frame[t.sequence_key]
            if order.dtype == object:
                order = pd.to_datetime(order)
            steps = order.groupby(frame[fk.column], sort=False).diff().dropna()
            zero = pd.Timedelta(0) if steps.dtype.kind == "m" else 0
            bad = frame.loc[steps.index[steps < zero], fk.column].nunique()
            result[f"in_order_{name}"] = 1.0 - bad / max(frame[fk.column].nunique(), 1)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", choices=sorted(DATA), required=True)
    parser.add_argument("--generator", default="transformer")
    parser.add_argument("--param", action="append", default=[], help="KEY=VALUE (JSON value)")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args(argv)
    params: dict = {"n_threads": 1} if args.generator == "transformer" else {}
    for item in args.param:
        key, _, value = item.partition("=")
        params[key] = json.loads(value)
    tables = load_split(args.data)
    model = sg.RelationalSynthesizer(args.generator, params, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sg.PersonalDataWarning)
        model.fit(tables)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    out = model.sample(random_state=1)
    sample_s = time.perf_counter() - start
    figures = {
        "data": args.data,
        "generator": args.generator,
        "params": params,
        "fit_s": round(fit_s, 1),
        "sample_s": round(sample_s, 1),
        "rows_real": {t: len(f) for t, f in tables.items()},
        "rows_synthetic": {t: len(f) for t, f in out.items()},
        "fit_seconds_per_table": model.fit_seconds_,
        "epochs": {
            t: [getattr(m, "n_epochs_", None) for m in (p.model, p.next_model) if m is not None]
            for t, p in model.plans_.items()
        },
        "epoch_seconds": {
            t: [
                [round(h.get("time", 0.0), 1) for h in getattr(m, "history_", [])][:3]
                for m in (p.model, p.next_model)
                if m is not None
            ]
            for t, p in model.plans_.items()
        },
        "cpu_s": round(time.process_time(), 1),
        **checks(model, out),
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(figures, fh, indent=1)


if __name__ == "__main__":
    main()
