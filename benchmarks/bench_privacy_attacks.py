"""The membership-inference attack table of each generator on Adult (80/20 split, seed 0).

For each generator: fit its defaults on the training rows (or load a saved model from
``--models DIR/KEY.sgm``), draw as many rows as it trained on, run the full report
(``sg.evaluate``, with the shadow-model attack for the generators cheap to refit, or for every
one with ``--full``) and print, per attack, AUC and TPR at 0.1% / 1% / 10% FPR over all
candidates and the TPR at 1% FPR on the 100 most vulnerable records, with the privacy verdict
and the report's wall time.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_privacy_attacks.py
--generators copula,transformer [--models /tmp/models] [--full]``
"""

from __future__ import annotations

import argparse
import os
import time

import synthgen as sg
from synthgen.evaluation.split import split_train_holdout
from synthgen.generators import cheap_to_refit, get_generator_class

DEFAULT = "copula,marginals,dp_marginals,copy,transformer,vae,diffusion,gan"


def _model(key: str, train, models: str | None):
    path = os.path.join(models, f"{key}.sgm") if models else None
    if path and os.path.exists(path):
        return sg.load(path), "loaded"
    params = {"epsilon": 3.0} if key == "dp_marginals" else {}
    if get_generator_class(key).tags.neural:
        params["n_threads"] = 1
    t0 = time.perf_counter()
    model = sg.make_generator(key, random_state=0, **params).fit(train)
    return model, f"fitted in {time.perf_counter() - t0:.0f} s"


def _row(name: str, parts: dict) -> str:
    a, v = parts["all"], parts["vulnerable"]
    t = a["tpr_at_fpr"]
    lo, hi = v["tpr_interval"]["0.01"]
    return (
        f"  {name:10s} AUC {a['auc']:.3f} [{a['auc_interval'][0]:.3f}, {a['auc_interval'][1]:.3f}]"
        f"  TPR@0.1% {t['0.001']:.3f}  @1% {t['0.01']:.3f}  @10% {t['0.1']:.3f}"
        f"  | vulnerable TPR@1% {v['tpr_at_fpr']['0.01']:.3f} [{lo:.3f}, {hi:.3f}]"
        f" AUC {v['auc']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--generators", default=DEFAULT)
    parser.add_argument("--models", default=None, help="folder of saved KEY.sgm models")
    parser.add_argument("--full", action="store_true", help="shadow attack for neural too")
    args = parser.parse_args()

    data = sg.datasets.load_adult()
    train, holdout = split_train_holdout(data, random_state=0)
    for key in args.generators.split(","):
        model, how = _model(key, train, args.models)
        synthetic = model.sample(len(train), random_state=1)
        refit = sg.shadow_refit(model) if (args.full or cheap_to_refit(model)) else None
        t0 = time.perf_counter()
        report = sg.evaluate(
            train,
            synthetic,
            holdout=holdout,
            target="income",
            random_state=0,
            generator=key,
            refit=refit,
            privacy=getattr(model, "privacy_", None),
        )
        report.to_html(os.devnull)
        seconds = time.perf_counter() - t0
        table = report.meta["privacy_attacks"]
        print(f"{key} ({how}): privacy verdict {report.privacy_verdict}; report {seconds:.1f} s")
        for reason in report.verdicts["privacy"]["reasons"]:
            print(f"  - {reason}")
        for name, parts in table["attacks"].items():
            print(_row(name, parts) + f"  ({table['seconds'][name]:.1f} s)")
        for name, why in table["skipped"].items():
            print(f"  {name:10s} skipped: {why}")
        dcr, copies = report["dcr_share"].value, report["exact_copy_rate"].value
        print(f"  diagnostics: dcr_share {dcr:.3f}, exact copies {copies:.4f}")
        print(f"  timings: {report.meta['timings_s']}", flush=True)


if __name__ == "__main__":
    main()
