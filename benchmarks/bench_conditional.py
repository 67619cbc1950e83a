"""Conditional fidelity on Adult and augmentation on bank marketing.

Run: ``.venv/bin/python -m benchmarks.bench_conditional [--generators copula,marginals]``
(SMOTE-NC needs the benchmark extra: ``pip install -e .[bench]``).

1. Conditional fidelity: fit on Adult's 80% train; sample under ``income == ">50K"`` and under
   ``age in [60, 90]`` as many rows as the real subset has; score column shapes (sdmetrics
   QualityReport, through ``sg.evaluate``) of the conditional sample against the real subset.
2. Augmentation: on bank marketing (target ``y``, ~12% "yes"), a gradient-boosted classifier
   trained on (a) real train, (b) real train + synthetic minority rows up to balance
   (``sg.rebalance``), (c) real train + SMOTE-NC rows up to balance; minority-class F1 and
   balanced accuracy on the real holdout.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

import synthgen as sg
from benchmarks.datasets import load_dataset, split_train_holdout


def conditional_fidelity(generator: str) -> dict[str, float]:
    data, _ = load_dataset("adult")
    train, _ = split_train_holdout(data, random_state=0)
    model = sg.make_generator(generator, random_state=0).fit(train)
    out = {}
    cases = {
        "income=>50K": ({"income": ">50K"}, train["income"] == ">50K"),
        "age in [60,90]": ({"age": sg.Range(60, 90)}, train["age"].between(60, 90)),
    }
    for name, (conditions, mask) in cases.items():
        subset = train[mask].reset_index(drop=True)
        t0 = time.perf_counter()
        synthetic = model.sample(len(subset), conditions=conditions)
        seconds = time.perf_counter() - t0
        report = sg.evaluate(real=subset, synthetic=synthetic, schema=model.schema_)
        scores = report.summary().set_index("metric")["value"]
        out[f"{name} shapes"] = round(float(scores["column_shapes"]), 4)
        out[f"{name} trends"] = round(float(scores["column_pair_trends"]), 4)
        out[f"{name} sample_s"] = round(seconds, 2)
    return out


def _features(frame: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    x = frame.copy()
    for col in reference.columns:
        if reference[col].dtype == object:
            cats = pd.CategoricalDtype(sorted(reference[col].dropna().unique()))
            x[col] = x[col].astype(cats)
    return x


def _score(train: pd.DataFrame, holdout: pd.DataFrame, target: str) -> dict[str, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import balanced_accuracy_score, f1_score

    x_cols = [c for c in train.columns if c != target]
    ref = train[x_cols]
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    clf.fit(_features(train[x_cols], ref), train[target] == "yes")
    pred = clf.predict(_features(holdout[x_cols], ref))
    truth = holdout[target] == "yes"
    return {
        "minority_f1": round(float(f1_score(truth, pred)), 4),
        "balanced_accuracy": round(float(balanced_accuracy_score(truth, pred)), 4),
    }


def _smote_nc(train: pd.DataFrame, target: str, ratio: float) -> pd.DataFrame:
    from imblearn.over_sampling import SMOTENC

    x_cols = [c for c in train.columns if c != target]
    cat_idx = [i for i, c in enumerate(x_cols) if train[c].dtype == object]
    x = train[x_cols].copy()
    for c in x_cols:
        if x[c].dtype == object:
            x[c] = x[c].fillna("__missing__")
    smote = SMOTENC(categorical_features=cat_idx, sampling_strategy=ratio, random_state=0)
    xr, yr = smote.fit_resample(x, train[target])
    out = pd.DataFrame(xr, columns=x_cols)
    out[target] = yr
    for c in x_cols:
        if train[c].dtype != object:
            out[c] = out[c].astype(train[c].dtype)
    return out


def augmentation(generators: list[str], ratio: float = 1.0) -> list[dict]:
    data, target = load_dataset("bank_marketing")
    train, holdout = split_train_holdout(data, random_state=0)
    rows = [{"method": "real only", **_score(train, holdout, target)}]
    try:
        smote = _smote_nc(train, target, ratio)
        rows.append({"method": "SMOTE-NC", **_score(smote, holdout, target)})
    except ImportError:
        rows.append({"method": "SMOTE-NC", "error": "imbalanced-learn not installed"})
    for key in generators:
        model = sg.make_generator(key, random_state=0).fit(train)
        t0 = time.perf_counter()
        extra = sg.rebalance(model, train, target, ratio=ratio, random_state=0)
        seconds = round(time.perf_counter() - t0, 2)
        augmented = pd.concat([train, extra], ignore_index=True)
        rows.append({"method": f"{key} rebalance", **_score(augmented, holdout, target),
                     "sample_s": seconds})  # fmt: skip
    return rows


def main() -> None:
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--generators", default="marginals,copula")
    parser.add_argument("--ratio", type=float, default=1.0, help="minority / majority after")
    parser.add_argument("--skip-conditional", action="store_true")
    args = parser.parse_args()
    generators = args.generators.split(",")
    if not args.skip_conditional:
        print("conditional fidelity on Adult (column shapes of the conditional sample vs subset)")
        for key in generators:
            print(f"  {key}: {conditional_fidelity(key)}", flush=True)
    print(f"augmentation on bank marketing to minority/majority = {args.ratio} (holdout scores)")
    for row in augmentation(generators, args.ratio):
        print(f"  {row}", flush=True)


if __name__ == "__main__":
    main()
