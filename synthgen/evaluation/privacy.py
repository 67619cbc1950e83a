"""Privacy: do the synthetic rows give away the training rows?

The evidence is a set of attacks, each measured against a control of unseen rows (the
holdout): the membership-inference ensemble of :mod:`synthgen.evaluation.attacks` (the
strongest attack decides, over all candidates and on the most vulnerable records), the
Anonymeter-style singling-out, linkability and attribute-inference risks, and model-based
attribute inference. They make up the privacy verdict (:data:`VERDICT_METRICS`).

The distance measurements, DCR share, NNDR and exact copies (:data:`DIAGNOSTIC_METRICS`), stay
in the report as *diagnostics, not evidence of privacy*: synthetic data can pass them and still
be open to membership inference (Yao et al., "The DCR Delusion", 2025; Pilgram, El Emam et al.,
Patterns 2025). All distances are the mixed-type distance of
:mod:`synthgen.evaluation.distance`; sizes are bounded by
:class:`~synthgen.evaluation.thresholds.EvaluationLimits`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation import anonymeter
from synthgen.evaluation.attacks.metrics import ATTACK_METRICS, EXPLAIN, attack_metrics
from synthgen.evaluation.data import PreparedData
from synthgen.evaluation.distance import MixedEmbedding, nearest
from synthgen.evaluation.metrics import MetricResult, grade
from synthgen.evaluation.rowcap import copies_of
from synthgen.evaluation.thresholds import EvaluationLimits, PrivacyThresholds

__all__ = [
    "DIAGNOSTIC_METRICS",
    "VERDICT_METRICS",
    "attack_group",
    "attack_secrets",
    "merge_attacks",
    "privacy_metrics",
    "privacy_verdict",
]

#: Metrics that make up the privacy verdict: attacks, each against a control.
VERDICT_METRICS: tuple[str, ...] = (
    "mia_auc",
    "mia_tpr",
    "mia_vulnerable_tpr",
    "singling_out_risk",
    "linkability_risk",
    "attribute_inference_risk",
    "attribute_inference_model_risk",
)

#: Distance measurements shown as diagnostics, not evidence of privacy (outside the verdict).
DIAGNOSTIC_METRICS: tuple[str, ...] = ("dcr_share", "exact_copy_rate", "exact_copy_excess", "nndr")

#: How the report labels a diagnostic.
DIAGNOSTIC_NOTE = "Diagnostic, not evidence of privacy (not part of the verdict): "

_G = "privacy"
_EXPLAIN = {
    "dcr_share": DIAGNOSTIC_NOTE
    + "share of synthetic rows whose nearest training row (in a sample the size of "
    "the holdout) is strictly closer than their nearest holdout row, ties counting half; 0.5 "
    "means no closer to the training rows than to unseen rows (below 0.5 is no risk).",
    "exact_copy_rate": DIAGNOSTIC_NOTE
    + "share of synthetic rows identical to a training row; details give the "
    "base rate: the share of holdout rows identical to a training row.",
    "exact_copy_excess": DIAGNOSTIC_NOTE
    + "exact-copy rate of the synthetic rows minus the base rate of the "
    "holdout (copies beyond what the data produces by chance).",
    "nndr": DIAGNOSTIC_NOTE
    + "median ratio of the distances to the nearest and second-nearest training row, "
    "for synthetic rows (details: the same for holdout rows); values near 0 mean synthetic "
    "rows sit on top of single training rows.",
    "singling_out_risk": "Anonymeter singling-out risk (the worse of univariate and "
    "multivariate predicates): excess success of predicates built from "
    "synthetic rows at isolating one training record, vs the control (holdout); graded on the "
    "lower confidence bound.",
    "linkability_risk": "Anonymeter linkability risk: excess success at linking the two halves "
    "of a record through a common nearest synthetic row, vs the control; graded on the lower "
    "confidence bound.",
    "attribute_inference_risk": "Anonymeter attribute-inference risk (worst secret column): "
    "excess success at guessing a column from the nearest synthetic row on the others, vs the "
    "control; graded on the lower confidence bound.",
    **EXPLAIN,
}


def _skip(name: str, ideal: float | None, direction: str, reason: str) -> MetricResult:
    return MetricResult.skipped(name, _G, ideal, direction, _EXPLAIN[name], reason)


def _risk_metric(
    name: str,
    risk: anonymeter.Risk | None,
    th: PrivacyThresholds,
    details: dict[str, Any],
    reason: str,
) -> MetricResult:
    if risk is None:
        return MetricResult.skipped(
            name,
            _G,
            0.0,
            "lower",
            _EXPLAIN[name],
            reason,
            rule="at_most",
            pass_at=th.risk_pass,
            warn_at=th.risk_warn,
        )
    return MetricResult(
        name,
        _G,
        risk.value,
        0.0,
        "lower",
        grade(risk.ci_low, "at_most", th.risk_pass, th.risk_warn),
        _EXPLAIN[name],
        rule="at_most",
        pass_threshold=th.risk_pass,
        warn_threshold=th.risk_warn,
        details={**risk.to_dict(), "confidence_level": th.confidence_level, **details},
        interval=(risk.ci_low, risk.ci_high),
        graded_value=risk.ci_low,
    )


def _nndr(dist: np.ndarray) -> float:
    d1, d2 = dist[:, 0], dist[:, -1]
    ratio = np.where(d2 > 0, d1 / np.where(d2 > 0, d2, 1.0), 1.0)
    return float(np.median(ratio))


def privacy_metrics(
    prep: PreparedData,
    limits: EvaluationLimits,
    thresholds: PrivacyThresholds,
    rng: np.random.Generator,
    *,
    refit: Callable[[pd.DataFrame, int], pd.DataFrame] | None = None,
    originals: dict[str, pd.DataFrame] | None = None,
    attacks: bool = True,
) -> tuple[list[MetricResult], dict[str, Any]]:
    """Every privacy metric; the distance arrays drawn in the report (``"dcr_train"``,
    ``"dcr_holdout"``) and the attack table (``"attacks"``, see
    :func:`synthgen.evaluation.attacks.metrics.attack_metrics`). With ``attacks=False`` the
    membership and model-inference attacks are left to :func:`attack_group` (on a stream of
    their own; :func:`merge_attacks` puts their metrics in place).

    ``refit`` (fit the generator on a table, return that many rows) enables the shadow-model
    attack; ``originals`` are the frames as given, which it refits on.

    Examples
    --------
    >>> import pandas as pd
    >>> from synthgen.evaluation.data import prepare
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=120), "c": rng.choice(list("abc"), 120)})
    >>> train, holdout = df.iloc[:60], df.iloc[60:]
    >>> res, _ = privacy_metrics(prepare(train, train, holdout), EvaluationLimits(),
    ...                          PrivacyThresholds(), rng)
    >>> {m.name: m.status for m in res}["exact_copy_excess"]
    'fail'
    """
    th = thresholds
    out: list[MetricResult] = []
    # exact copies: every evaluated row against every real row, via row keys (cheap); the
    # flags are already there when the real frame was sampled (sought among all its rows)
    found = prep.copies or copies_of(prep, tuple(f for f in prep.frames if f != "real"))
    copy_rate = float(np.mean(found["synthetic"]))
    base = float(np.mean(found["holdout"])) if prep.has_holdout else 0.0
    out.append(
        MetricResult.info(
            "exact_copy_rate",
            _G,
            copy_rate,
            0.0,
            "lower",
            _EXPLAIN["exact_copy_rate"],
            {"base_rate": base if prep.has_holdout else None},
        )
    )
    out.append(
        MetricResult.graded(
            "exact_copy_excess",
            _G,
            copy_rate - base,
            0.0,
            "lower",
            "at_most",
            th.exact_copy_excess_pass,
            th.exact_copy_excess_warn,
            _EXPLAIN["exact_copy_excess"],
            {
                "copy_rate": copy_rate,
                "base_rate": base,
                "note": None if prep.has_holdout else "no holdout: base rate taken as 0",
            },
        )
    )
    if not prep.has_holdout:
        why = "no holdout given"
        out[1:1] = [_skip("dcr_share", 0.5, "closer to 0.5", why)]
        out.append(_skip("nndr", None, "higher", why))
        out += [
            MetricResult.skipped(n, _G, None, "lower", EXPLAIN[n], why)
            for n in ATTACK_METRICS
            if n != "attribute_inference_model_risk"
        ]
        out += [_risk_metric(n, None, th, {}, why) for n in VERDICT_METRICS[3:6]]
        out.append(_risk_metric("attribute_inference_model_risk", None, th, {}, why))
        return out, {}

    n_ref = min(prep.n_rows("real"), prep.n_rows("holdout"), limits.privacy_rows)
    n_syn = min(prep.n_rows("synthetic"), limits.privacy_rows)
    rows = {
        "real": np.sort(rng.choice(prep.n_rows("real"), n_ref, replace=False)),
        "holdout": np.sort(rng.choice(prep.n_rows("holdout"), n_ref, replace=False)),
        "synthetic": np.sort(rng.choice(prep.n_rows("synthetic"), n_syn, replace=False)),
    }
    all_num = np.concatenate([prep.num[f] for f in ("real", "synthetic", "holdout")])
    emb = MixedEmbedding(
        prep.num["real"],
        [len(prep.categories[c]) for c in prep.categorical],
        num_missing=np.isnan(all_num).any(axis=0),
    )
    T = emb.transform(*prep.take("real", rows["real"]))
    H = emb.transform(*prep.take("holdout", rows["holdout"]))
    S = emb.transform(*prep.take("synthetic", rows["synthetic"]))

    d_st, _ = nearest(S, T, k=2)
    d_sh, _ = nearest(S, H, k=1)
    dt, dh = d_st[:, 0], d_sh[:, 0]
    share = float(np.mean(dt < dh) + 0.5 * np.mean(dt == dh))
    sizes = {"synthetic_rows": n_syn, "reference_rows": n_ref}
    out.insert(
        0,
        MetricResult.graded(
            "dcr_share",
            _G,
            share,
            0.5,
            "closer to 0.5",
            "at_most",
            th.dcr_share_pass,
            th.dcr_share_warn,
            _EXPLAIN["dcr_share"],
            {
                **sizes,
                "median_dcr_train": float(np.median(dt)),
                "median_dcr_holdout": float(np.median(dh)),
            },
        ),
    )
    d_ht, _ = nearest(H, T, k=2)
    out.append(
        MetricResult.info(
            "nndr",
            _G,
            _nndr(d_st),
            None,
            "higher",
            _EXPLAIN["nndr"],
            {"holdout_nndr": _nndr(d_ht), **sizes},
        )
    )

    n_attacks = limits.anonymeter_attacks
    conf = th.confidence_level
    so = anonymeter.singling_out_risk(prep, rows, rng, n_attacks, conf)
    found = {k: v for k, v in so.items() if v is not None}
    worst = max(found, key=lambda k: found[k].ci_low) if found else None
    out.append(
        _risk_metric(
            "singling_out_risk",
            found.get(worst),
            th,
            {"mode": worst, "by_mode": {k: v.to_dict() for k, v in found.items()}},
            "no predicate singles out a synthetic row",
        )
    )
    link, halves = anonymeter.linkability_risk(prep, emb, rows, rng, n_attacks, conf)
    out.append(
        _risk_metric(
            "linkability_risk", link, th, {"column_halves": halves}, "fewer than two columns"
        )
    )
    secrets = attack_secrets(prep, limits)
    inf = anonymeter.attribute_inference_risk(prep, emb, rows, rng, n_attacks, secrets, conf)
    worst = max(inf, key=lambda k: (inf[k].ci_low, inf[k].value)) if inf else None
    out.append(
        _risk_metric(
            "attribute_inference_risk",
            inf.get(worst) if worst else None,
            th,
            {"secret": worst, "by_secret": {k: v.value for k, v in inf.items()}},
            "fewer than two columns",
        )
    )
    found = {"dcr_train": dt, "dcr_holdout": dh}
    if not attacks:
        return out, found
    found_attacks, table = attack_group(prep, limits, th, rng, refit=refit, originals=originals)
    return merge_attacks(out, found_attacks), {**found, "attacks": table}


def attack_secrets(prep: PreparedData, limits: EvaluationLimits) -> list[str]:
    """The columns the attribute-inference attacks try to guess (the target first)."""
    cols = [c for c in prep.columns if c != prep.target]
    secrets = ([prep.target] if prep.target else []) + cols
    return secrets[: limits.max_secret_columns] if len(prep.columns) > 1 else []


def attack_group(
    prep: PreparedData,
    limits: EvaluationLimits,
    thresholds: PrivacyThresholds,
    rng: np.random.Generator,
    *,
    refit: Callable[[pd.DataFrame, int], pd.DataFrame] | None = None,
    originals: dict[str, pd.DataFrame] | None = None,
) -> tuple[list[MetricResult], dict[str, Any]]:
    """The membership and model-inference attacks (a holdout is needed): their metrics and
    table, with a seed drawn from ``rng``."""
    seed = int(rng.integers(2**31))  # the attacks' own seed, recorded in their table
    return attack_metrics(
        prep,
        limits,
        thresholds,
        seed,
        attack_secrets(prep, limits),
        refit=refit,
        originals=originals,
    )


def merge_attacks(out: list[MetricResult], found: list[MetricResult]) -> list[MetricResult]:
    """The privacy metrics with the attacks' in their place: the membership metrics after
    the diagnostics, before the Anonymeter-style risks; the model-inference risk last."""
    return [*out[:4], *found[:3], *out[4:], *found[3:]]


def privacy_verdict(metrics: list[MetricResult]) -> str:
    """``"fail"`` if a verdict metric fails, else ``"warn"`` if one warns or is missing.

    Examples
    --------
    >>> m = MetricResult.graded("mia_auc", "privacy", 0.56, 0.5, "closer to 0.5", "at_most",
    ...                         0.55, 0.6, "")
    >>> privacy_verdict([m])
    'warn'
    """
    status = {m.name: m.status for m in metrics if m.name in VERDICT_METRICS}
    found = [status.get(name, "skipped") for name in VERDICT_METRICS]
    if "fail" in found:
        return "fail"
    if "warn" in found or "skipped" in found:
        return "warn"
    return "pass"
