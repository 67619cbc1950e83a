"""Differential-privacy benchmark: utility at several epsilons, and a canary audit.

Utility (Adult, protocol of ``../shared/data/README.md``): for each epsilon and each DP
generator, the accountant's epsilon, fit seconds, column pair trends and TSTR ROC AUC from
:func:`synthgen.evaluate`; smartnoise-synth's MST and AIM run beside them in their own
environment when ``SYNTHGEN_PEER_SMARTNOISE_PYTHON`` is set (``SYNTHGEN_PEER_SMARTNOISE_ARGS``
adds flags to its script, e.g. ``--rounds 60 --verbose`` for AIM)::

    python -m benchmarks.bench_dp utility --eps 1,3,10 --generators dp_marginals,vae

Canary audit: ``n_canaries`` unusual but valid rows (each column drawn uniformly over its
observed values or range) are made; half are inserted into a training table, half are not.
A model is fitted with DP and one without (trained to overfit: many epochs on a small
table), and each canary is scored by how close the synthetic rows come to it (minus the
distance to its nearest synthetic row) and, for the VAE, by its evidence lower bound under the
trained network (a white-box likelihood attack). The membership-inference ROC AUC of inserted
against not-inserted canaries is 0.5 when the model tells nothing about who was in::

    python -m benchmarks.bench_dp canary --eps 1

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
                    verdict=report.privacy_verdict,
                )
            except Exception as err:  # a failed pair is recorded, not fatal
                row["error"] = f"{type(err).__name__}: {err}"
            print(json.dumps(row), flush=True)
            results.append(row)
    return results


def make_canaries(data: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Unusual but valid rows: each column uniform over its observed values or range."""
    cols = {}
    for c in data.columns:
        col = data[c].dropna()
        if pd.api.types.is_numeric_dtype(col) and col.nunique() > 20:
            lo, hi = float(col.min()), float(col.max())
            values = rng.uniform(lo, hi, n)
            cols[c] = np.round(values).astype(col.dtype) if col.dtype.kind in "iu" else values
        else:
            labels = col.unique()
            cols[c] = labels[rng.integers(0, len(labels), n)]
    return pd.DataFrame(cols)[list(data.columns)].astype(data.dtypes.to_dict())


def _distance_scores(model, canaries: pd.DataFrame, schema, n_synth: int, seed: int):
    from synthgen.evaluation.data import prepare
    from synthgen.evaluation.distance import MixedEmbedding, nearest

    syn = model.sample(n_synth, random_state=seed)
    prep = prepare(syn, canaries, None, schema=schema)
    n_cats = [len(prep.categories[c]) for c in prep.categorical]
    emb = MixedEmbedding(prep.num["real"], n_cats)
    ref = emb.transform(prep.num["real"], prep.codes["real"])
    dist, _ = nearest(emb.transform(prep.num["synthetic"], prep.codes["synthetic"]), ref)
    return -dist[:, 0]


def _elbo_scores(model, canaries: pd.DataFrame) -> np.ndarray:
    import torch

    from synthgen.generators.vae.network import VAETask

    rows = canaries
    if getattr(model, "preprocessor_", None) is not None:
        rows = model.preprocessor_.apply(canaries)
    x = torch.from_numpy(model.encoder_.transform(rows, random_state=0))
    task = VAETask(model.net_, model.layout_, 1e-3, 0.0, model.loss_factor, 0)
    with torch.no_grad():
        eps = torch.zeros((len(x), model.latent_dim))
        rec, kl = task.terms(model.net_(x, eps), x)
    return -(model.loss_factor * rec + kl).numpy()


def canary(eps: float, n_base: int, n_canaries: int, seed: int) -> list[dict[str, Any]]:
    from sklearn.metrics import roc_auc_score

    import synthgen as sg

    data, _ = load_dataset("adult")
    rng = np.random.default_rng(seed)
    base = data.sample(n_base, random_state=seed).reset_index(drop=True)
    canaries = make_canaries(data, 2 * n_canaries, rng)
    member = np.zeros(2 * n_canaries, dtype=bool)
    member[rng.choice(2 * n_canaries, n_canaries, replace=False)] = True
    train = pd.concat([base, canaries[member]], ignore_index=True)
    train = train.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    schema = sg.Schema.infer(pd.concat([train, canaries], ignore_index=True))
    runs = [
        ("dp_marginals", {"epsilon": eps}),
        ("vae", {"epsilon": eps, "epochs": 30, "max_time": None, "device": "cpu"}),
        ("vae", {"epochs": 400, "max_time": None, "device": "cpu", "batch_size": 256}),
        ("copula", {}),
    ]
    results = []
    for key, params in runs:
        model = sg.make_generator(key, random_state=seed, **params)
        t0 = time.perf_counter()
        model.fit(train, schema=schema)
        row: dict[str, Any] = {
            "generator": key,
            "epsilon": params.get("epsilon"),
            "epsilon_spent": round(getattr(model, "epsilon_", float("nan")), 4),
            "fit_s": round(time.perf_counter() - t0, 1),
            "epochs": params.get("epochs"),
        }
        dist = _distance_scores(model, canaries, schema, 20 * n_base, seed)
        row["mia_auc_distance"] = round(float(roc_auc_score(member, dist)), 3)
        if key == "vae":
            row["mia_auc_elbo"] = round(
                float(roc_auc_score(member, _elbo_scores(model, canaries))), 3
            )
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
    c.add_argument("--eps", type=float, default=1.0)
    c.add_argument("--base-rows", type=int, default=2000)
    c.add_argument("--canaries", type=int, default=100)
    c.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.what == "utility":
        eps = [float(e) for e in args.eps.split(",")]
        utility(eps, args.generators.split(","), args.seed)
    else:
        canary(args.eps, args.base_rows, args.canaries, args.seed)


if __name__ == "__main__":
    main()
