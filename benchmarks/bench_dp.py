"""Differential-privacy benchmark: utility at several epsilons, and a canary audit.

Utility (Adult, protocol of ``../shared/data/README.md``): for each epsilon and each DP
generator, the accountant's epsilon, fit seconds, column pair trends, TSTR ROC AUC, column
shapes and detection AUC from :func:`synthgen.evaluate`; smartnoise-synth's MST and AIM run
beside them in their own environment when ``SYNTHGEN_PEER_SMARTNOISE_PYTHON`` is set
(``SYNTHGEN_PEER_SMARTNOISE_ARGS`` adds flags to its script, e.g. ``--rounds 60 --verbose``
for AIM)::

    python -m benchmarks.bench_dp utility --eps 1,3,10 --generators dp_marginals,vae

Canary audit (:mod:`benchmarks.dp_canary`): canaries, unusual but valid rows, each planted
with probability 1/2 in a sample of Adult rows; each DP generator is fitted at each epsilon
(the settings of ``DP_PARAMS``) and the canaries are scored by the membership attacks and a
white-box score (the VAE's likelihood, ``dp_marginals``' likelihood under its released
tables). Reported: each attack's ROC AUC (0.5: nothing learnt), the empirical lower bound on
epsilon at 95% (Clopper-Pearson, over thresholds and attacks), the accountant's epsilon, and
whether the bound stays below it (it must). ``vae_nodp`` adds an overfitted non-private VAE,
the attacks' power when nothing protects the canaries::

    python -m benchmarks.bench_dp canary --eps 1,3,10 --generators dp_marginals,vae,gan,vae_nodp

Every run is single-threaded (``torch.set_num_threads(1)``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.datasets import load_dataset, split_train_holdout

SCRIPTS = Path(__file__).resolve().parent / "peer_scripts"
PEER_VAR = "SYNTHGEN_PEER_SMARTNOISE_PYTHON"
PEER_ARGS = "SYNTHGEN_PEER_SMARTNOISE_ARGS"
#: generator -> parameters used with epsilon
DP_PARAMS: dict[str, dict[str, Any]] = {
    "dp_marginals": {},
    # DP-SGD wants a smaller network than the non-private defaults: with hidden (256, 256),
    # batch 1000 and the KL warm-up, epsilon 1 gave pair trends 0.673 in a 326 s fit, against
    # 0.679 in 114 s with these.
    "vae": {
        "epochs": 20,
        "max_time": None,
        "hidden": (128, 128),
        "batch_size": 500,
        "kl_anneal_epochs": 0,
        "device": "cpu",
    },
    # DP-SGD's per-row gradients of the critic (with its gradient penalty) make an epoch about
    # 40 times slower than without DP: a few epochs, a smaller critic.
    "gan": {"epochs": 4, "max_time": None, "critic_dims": (128, 128), "device": "cpu"},
}


def _smartnoise(model: str, train: pd.DataFrame, epsilon: float, seed: int):
    python = os.environ.get(PEER_VAR)
    if not python:
        raise RuntimeError(f"set {PEER_VAR} to the smartnoise environment's Python")
    with tempfile.TemporaryDirectory() as tmp:
        data, out, timing = Path(tmp, "t.parquet"), Path(tmp, "s.parquet"), Path(tmp, "t.json")
        train.to_parquet(data, index=False)
        cmd = [python, str(SCRIPTS / "smartnoise_peer.py"), "--model", model]
        cmd += ["--train", str(data), "--rows", str(len(train)), "--seed", str(seed)]
        cmd += ["--out", str(out), "--timing", str(timing), "--epsilon", str(epsilon)]
        cmd += os.environ.get(PEER_ARGS, "").split()
        subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        rows = pd.read_parquet(out)
        return rows, json.loads(timing.read_text())["fit_s"]


def _coerce(rows: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    out = rows[like.columns].copy()
    for c in like.columns:
        if pd.api.types.is_numeric_dtype(like[c]):
            out[c] = pd.to_numeric(out[c], errors="coerce")
            if pd.api.types.is_integer_dtype(like[c]) and not out[c].isna().any():
                out[c] = out[c].round().astype(like[c].dtype)
        else:
            out[c] = out[c].astype(object).where(out[c].notna(), np.nan)
    return out


def utility(eps_list: list[float], generators: list[str], seed: int) -> list[dict[str, Any]]:
    import synthgen as sg

    data, target = load_dataset("adult")
    train, holdout = split_train_holdout(data, random_state=seed)
    schema = sg.Schema.infer(data)
    results = []
    for eps in eps_list:
        for gen in generators:
            row: dict[str, Any] = {"generator": gen, "epsilon": eps}
            try:
                if gen.startswith("smartnoise_"):
                    syn, fit_s = _smartnoise(gen.split("_", 1)[1], train, eps, seed)
                    syn = _coerce(syn, train)
                    row["epsilon_spent"] = eps  # smartnoise reports its budget, not a ledger
                else:
                    model = sg.make_generator(
                        gen, epsilon=eps, random_state=seed, **DP_PARAMS.get(gen, {})
                    )
                    t0 = time.perf_counter()
                    model.fit(train, schema=schema)
                    fit_s = time.perf_counter() - t0
                    syn = model.sample(len(train))
                    row["epsilon_spent"] = round(model.epsilon_, 4)
                report = sg.evaluate(
                    real=train,
                    synthetic=syn,
                    holdout=holdout,
                    target=target,
                    schema=schema,
                    random_state=seed,
                )
                summary = report.summary().set_index("metric")["value"]
                row.update(
                    fit_s=round(fit_s, 1),
                    pair_trends=round(float(summary["column_pair_trends"]), 3),
                    tstr_roc_auc=round(float(summary["tstr_roc_auc"]), 3),
                    column_shapes=round(float(summary["column_shapes"]), 3),
                    detection_auc=round(float(summary["detection_auc"]), 3),
                    verdict=report.privacy_verdict,
                )
            except Exception as err:  # a failed pair is recorded, not fatal
                row["error"] = f"{type(err).__name__}: {err}"
            print(json.dumps(row), flush=True)
            results.append(row)
    return results


def main(argv: list[str] | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_dp")
    sub = parser.add_subparsers(dest="what", required=True)
    u = sub.add_parser("utility")
    u.add_argument("--eps", default="1,3,10")
    u.add_argument("--generators", default="dp_marginals,vae,smartnoise_mst,smartnoise_aim")
    u.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("canary")
    c.add_argument("--eps", default="1,3,10")
    c.add_argument("--generators", default="dp_marginals,vae,gan,vae_nodp")
    c.add_argument("--base-rows", type=int, default=2000)
    c.add_argument("--canaries", type=int, default=500, help="per fit; each in w.p. 1/2")
    c.add_argument("--fits", type=int, default=2, help="independent fits pooled")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--scores-out", default=None, help="JSON file for the pooled scores")
    args = parser.parse_args(argv)
    if args.what == "utility":
        eps = [float(e) for e in args.eps.split(",")]
        utility(eps, args.generators.split(","), args.seed)
    else:
        from benchmarks import dp_canary

        dp_canary.run(
            [float(e) for e in args.eps.split(",")],
            args.generators.split(","),
            DP_PARAMS,
            n_base=args.base_rows,
            n_canaries=args.canaries,
            n_fits=args.fits,
            seed=args.seed,
            scores_out=args.scores_out,
        )


if __name__ == "__main__":
    main()
