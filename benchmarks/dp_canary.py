"""Canary audit of the DP generators: membership AUC and an empirical lower bound on epsilon.

Each fit plants unusual but valid canary rows (every column drawn uniformly over its observed
values or range) in a sample of Adult rows: each canary goes in independently with
probability 1/2 (so members and non-members are exchangeable before the fit, as the one-run
audit of Steinke et al. 2023 assumes). The model is fitted with DP, and each canary is scored
by every attack of :func:`synthgen.evaluation.attacks.membership_scores` (distance to the
closest synthetic row, DOMIAS density ratio, synthetic-vs-population classifier; the
population reference being Adult rows outside the fit) and by a white-box score: the VAE's
evidence lower bound, ``dp_marginals``' log-likelihood under its released conditional tables;
each white-box score also calibrated (LiRA offline) by subtracting the same score under the
same generator fitted on as many population rows without canaries. Scores are turned into
ranks within each fit (a label-blind step) and pooled over ``fits`` independent fits (other
rows, canaries and seeds). Per attack: ROC AUC, and
:func:`~synthgen.evaluation.attacks.epsilon_lower_bound` at the model's delta, with the
confidence split over the attacks (Bonferroni) so the reported maximum holds at 95%. It must
never exceed the accountant's ``epsilon_``.

Runs through ``python -m benchmarks.bench_dp canary`` (see there).
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from benchmarks.datasets import load_dataset

#: the overfitted non-DP VAE: shows what the attacks find when nothing protects the canaries
OVERFIT = "vae_nodp"
OVERFIT_PARAMS = {"epochs": 400, "max_time": None, "device": "cpu", "batch_size": 256}
BLACK_BOX = ("distance", "density", "classifier")


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


def elbo_scores(model, canaries: pd.DataFrame) -> np.ndarray:
    """Minus the VAE's loss (negative ELBO) of each canary at the latent mean."""
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


def marginal_loglik(model, canaries: pd.DataFrame) -> np.ndarray:
    """Log-likelihood of each canary under the fitted ``dp_marginals`` network (white-box):
    the product of its noisy conditional tables, down to the fine bin within each group."""
    pre = model.preprocessor_
    rows = pre.apply(canaries)
    fine = [pre.codes(name, rows) for name in model.attributes_]
    coarse = [g[f] for g, f in zip(model.groups_, fine, strict=True)]
    ll = np.zeros(len(canaries))
    for a, parents in enumerate(model.parents_):
        given = np.zeros(len(canaries), dtype=np.int64)
        for p in parents:
            given = given * len(model.conditionals_[p][0]) + coarse[p]
        ll += np.log(model.conditionals_[a][given, coarse[a]] + 1e-12)
        group, w = model.groups_[a], np.maximum(model.fine_weights_[a], 0.0) + 1e-12
        ll += np.log(w[fine[a]] / np.bincount(group, weights=w)[coarse[a]])
    return ll


#: generator -> (attack name, white-box score)
WHITE_BOX = {
    "vae": ("elbo", elbo_scores),
    OVERFIT: ("elbo", elbo_scores),
    "dp_marginals": ("loglik", marginal_loglik),
}


def audit_fit(
    data: pd.DataFrame, seed: int, n_base: int, n_canaries: int, n_reference: int
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Training rows, canaries, their membership and the attacker's population sample."""
    rng = np.random.default_rng([seed, 20])
    base = data.sample(n_base, random_state=seed)
    reference = data.drop(base.index).sample(n_reference, random_state=seed)
    canaries = make_canaries(data, n_canaries, rng)
    member = rng.random(n_canaries) < 0.5
    train = pd.concat([base, canaries[member]], ignore_index=True)
    train = train.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return train, canaries, member, reference.reset_index(drop=True)


def _fit_scores(
    key: str, params: dict[str, Any], fit: tuple, seed: int, n_synth: int
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    import synthgen as sg
    from synthgen.evaluation.attacks import membership_scores

    train, canaries, _, reference = fit
    # one public schema for every table fitted here (a structure rule inferred from fewer rows,
    # e.g. two columns missing together, can be broken by the reference model's rows)
    schema = sg.Schema.infer(pd.concat([train, canaries, reference], ignore_index=True))
    model = sg.make_generator("vae" if key == OVERFIT else key, random_state=seed, **params)
    t0 = time.perf_counter()
    model.fit(train, schema=schema)
    info = {
        "fit_s": time.perf_counter() - t0,
        "epsilon_spent": getattr(model, "epsilon_", None),
        "delta": getattr(model, "delta_", 0.0),
    }
    syn = model.sample(n_synth, random_state=seed)
    scores = membership_scores(
        syn, reference, canaries, attacks=BLACK_BOX, schema=schema, random_state=seed
    )
    white = WHITE_BOX.get(key)
    if white is not None:
        name, score = white
        scores[name] = score(model, canaries)
        # calibrated (LiRA-offline style): minus the score under the same generator fitted on
        # as many population rows without canaries, which removes how typical each canary is
        ref_model = sg.make_generator(
            "vae" if key == OVERFIT else key, random_state=seed + 1000, **params
        )
        ref_model.fit(reference.iloc[: len(train)], schema=schema)
        scores[f"{name}_cal"] = scores[name] - score(ref_model, canaries)
    # ranks within the fit (label-blind) put the fits' scores on one scale before pooling
    return {k: rankdata(v) / len(v) for k, v in scores.items()}, info


def audit(
    key: str,
    params: dict[str, Any],
    fits: list[tuple],
    seed: int,
    n_synth: int,
    confidence: float = 0.95,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One generator at one setting over all fits: the table row and the pooled scores."""
    from sklearn.metrics import roc_auc_score

    from synthgen.evaluation.attacks import epsilon_lower_bound

    pooled: dict[str, list[np.ndarray]] = {}
    members, fit_s, spent, delta = [], 0.0, [], 0.0
    for i, fit in enumerate(fits):
        scores, info = _fit_scores(key, params, fit, seed + i, n_synth)
        for k, v in scores.items():
            pooled.setdefault(k, []).append(v)
        members.append(fit[2])
        fit_s += info["fit_s"]
        spent.append(info["epsilon_spent"])
        delta = max(delta, float(info["delta"] or 0.0))
    member = np.concatenate(members)
    flat = {k: np.concatenate(v) for k, v in pooled.items()}
    each = 1.0 - (1.0 - confidence) / len(flat)  # the max over attacks holds at `confidence`
    row: dict[str, Any] = {
        "generator": key,
        "epsilon": params.get("epsilon"),
        "epsilon_spent": None if spent[0] is None else round(max(spent), 4),
        "fits": len(fits),
        "members": int(member.sum()),
        "nonmembers": int((~member).sum()),
        "fit_s": round(fit_s, 1),
    }
    best = None
    for name, s in flat.items():
        row[f"auc_{name}"] = round(float(roc_auc_score(member, s)), 3)
        bound = epsilon_lower_bound(s[member], s[~member], delta=delta, confidence=each)
        row[f"eps_lb_{name}"] = round(bound.epsilon, 3)
        if best is None or bound.epsilon > best[1].epsilon:
            best = (name, bound)
    assert best is not None
    row["eps_lb"] = round(best[1].epsilon, 3)
    row["eps_lb_attack"] = best[0] if best[1].epsilon > 0 else None
    row["eps_lb_tpr_fpr"] = (round(best[1].tpr, 3), round(best[1].fpr, 3))
    if row["epsilon_spent"] is not None:
        row["lb_le_accounted"] = bool(best[1].epsilon <= row["epsilon_spent"])
    dump = {"member": member.tolist(), "scores": {k: v.tolist() for k, v in flat.items()}}
    return row, dump


def markdown(rows: list[dict[str, Any]]) -> str:
    """The docs' table."""
    lines = [
        "| generator | epsilon | accounted epsilon | AUC distance / density / classifier"
        " | AUC white-box raw / calibrated | epsilon lower bound (attack) | lb <= accounted"
        " | fit s (all fits) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        aucs = " / ".join(f"{r[f'auc_{a}']:.3f}" for a in BLACK_BOX)
        white = [
            r[f"auc_{a}{c}"] for a in ("elbo", "loglik") for c in ("", "_cal") if f"auc_{a}{c}" in r
        ]
        aucs += " | " + (" / ".join(f"{w:.3f}" for w in white) or "-")
        attack = f" ({r['eps_lb_attack']})" if r.get("eps_lb_attack") else ""
        ok = {True: "yes", False: "**NO**"}.get(r.get("lb_le_accounted"), "(no DP)")
        lines.append(
            f"| `{r['generator']}` | {r['epsilon'] or '-'} | {r['epsilon_spent'] or '-'} | "
            f"{aucs} | {r['eps_lb']:.2f}{attack} | {ok} | {r['fit_s']} |"
        )
    return "\n".join(lines)


def run(
    eps_list: list[float],
    generators: list[str],
    dp_params: dict[str, dict[str, Any]],
    *,
    n_base: int,
    n_canaries: int,
    n_fits: int,
    seed: int,
    scores_out: str | None = None,
) -> list[dict[str, Any]]:
    """The whole grid, one fit at a time; prints a JSON line per row and the table."""
    data, _ = load_dataset("adult")
    fits = [audit_fit(data, seed + i, n_base, n_canaries, 10_000) for i in range(n_fits)]
    n_synth = 10_000
    rows, dumps = [], {}
    for key in generators:
        settings = (
            [OVERFIT_PARAMS]
            if key == OVERFIT
            else [{**dp_params.get(key, {}), "epsilon": e} for e in eps_list]
        )
        for params in settings:
            t0 = time.perf_counter()
            try:
                row, dump = audit(key, params, fits, seed, n_synth)
            except Exception as err:  # a failed setting is recorded, not fatal
                row = {"generator": key, "epsilon": params.get("epsilon"), "error": repr(err)}
                dump = None
            row["wall_s"] = round(time.perf_counter() - t0, 1)
            print(json.dumps(row), flush=True)
            rows.append(row)
            if dump is not None:
                dumps[f"{key}@{params.get('epsilon')}"] = dump
    print(markdown([r for r in rows if "error" not in r]), flush=True)
    if scores_out:
        from synthgen.files import atomic_write

        atomic_write(scores_out, json.dumps({"rows": rows, "scores": dumps}))
    return rows
