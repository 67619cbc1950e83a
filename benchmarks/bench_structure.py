"""Structure rules kept by every generator, and what they cost the dependent columns' shapes.

Run: ``.venv/bin/python -m benchmarks.bench_structure [--rows 3000] [--generators a,b]``
(default: copula and transformer, three seeds each).

On :func:`~synthgen.testing.make_structured_table` (neighbourhood -> borough, cadastral ->
district, last_review / reviews_per_month missing together, a latitude / longitude pair,
start < end), each generator is fitted twice with the same seed: with the discovered
structure (the default) and with ``Schema.infer(df, structure=False)``. For each run it
reports the share of sampled rows consistent with every rule and the column-shape score of
each dependent column (sdmetrics ``TVComplement`` for categories, ``KSComplement`` for numbers
and dates, as :mod:`synthgen.evaluation` computes them), plus, for comparison, the
``FixedCombinations`` constraint on the same pairs (consistent by rejection, marginals shifted).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import synthgen as sg
from synthgen.testing import make_structured_table

DEPENDENT = ["borough", "district", "last_review", "reviews_per_month", "latitude", "longitude"]
PAIRS = [("neighbourhood", "borough"), ("cadastral", "district")]


def shape_score(real: pd.Series, synthetic: pd.Series, kind: str) -> float:
    """sdmetrics' per-column shape score (missing cells left out, as sdmetrics does)."""
    from sdmetrics.single_column import KSComplement, TVComplement

    r, s = real.dropna(), synthetic.dropna()
    if kind == "datetime":
        r, s = pd.to_datetime(r), pd.to_datetime(s)
    metric = TVComplement if kind == "categorical" else KSComplement
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(metric.compute(r, s))


def consistency(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float]:
    """Share of synthetic rows meeting each rule as it holds in the real table (a parent's
    placeholder for its rare labels, ``"(other)"``, stands for many parents: its rows are
    left out, and their share reported)."""
    out = {}
    for parent, child in PAIRS:
        truth = dict(zip(real[parent], real[child], strict=True))
        real_parent = synthetic[parent].isin(list(truth))
        mapped = synthetic.loc[real_parent, parent].map(truth)
        out[f"{parent}->{child}"] = float((mapped == synthetic.loc[real_parent, child]).mean())
        out[f"{parent} placeholder share"] = float((~real_parent).mean())
    a, b = synthetic["last_review"].isna(), synthetic["reviews_per_month"].isna()
    out["missing together"] = float((a == b).mean())
    out["start<end"] = float((pd.to_datetime(synthetic["start"]) < synthetic["end"]).mean())
    return out


def run(generator: str, data: pd.DataFrame, schema: sg.Schema, seed: int) -> dict[str, float]:
    t0 = time.perf_counter()
    model = sg.make_generator(generator, random_state=seed).fit(data, schema)
    synthetic = model.sample(len(data), random_state=seed)
    row: dict[str, float] = {"fit_sample_s": round(time.perf_counter() - t0, 1)}
    row.update({k: round(v, 4) for k, v in consistency(data, synthetic).items()})
    for name in DEPENDENT:
        row[name] = round(shape_score(data[name], synthetic[name], schema[name].kind), 4)
    row["borough Manhattan share"] = round(float((synthetic["borough"] == "Manhattan").mean()), 4)
    return row


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--generators", default="copula,transformer")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    data = make_structured_table(args.rows, random_state=0)
    with_rules = sg.Schema.infer(data)
    plain = sg.Schema.infer(data, structure=False)
    fixed = sg.Schema.infer(data, structure=False)
    for pair in PAIRS:
        fixed.add_constraint(sg.FixedCombinations(list(pair)))
    rows = []
    for generator in args.generators.split(","):
        for label, schema in (("structure", with_rules), ("none", plain),
                              ("FixedCombinations", fixed)):  # fmt: skip
            for seed in range(args.seeds):
                row = run(generator, data, schema, seed)
                rows.append({"generator": generator, "rules": label, "seed": seed, **row})
    table = pd.DataFrame(rows).drop(columns="seed").groupby(["generator", "rules"], sort=False)
    summary = table.mean().round(4)
    real_share = float((data["borough"] == "Manhattan").mean())
    print(f"real Manhattan share: {real_share:.4f}")
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(summary.T.to_string())
    return summary


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
