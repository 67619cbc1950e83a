"""The attacks' results as report metrics: the worst attack decides.

* ``mia_auc``: the ensemble's worst AUC, graded on its bootstrap lower bound;
* ``mia_vulnerable_tpr``: the worst true-positive rate at 1% false positives on the most
  vulnerable records, graded on its lower bound;
* ``mia_tpr``: the worst rate at 1% false positives over all candidates, graded on its lower
  bound (the vulnerable records are few, this rate is measured on thousands);
* ``attribute_inference_model_risk``: the worst column of the model-based attribute inference,
  graded on the lower bound of its interval like the Anonymeter-style risks.

"Worst" is the attack (or column) with the highest lower bound: the one whose evidence of a
leak is the strongest, not the one with the noisiest point estimate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.anonymeter import Risk
from synthgen.evaluation.attacks.ensemble import MembershipResult, run_membership_attacks
from synthgen.evaluation.attacks.inference import model_inference_risks
from synthgen.evaluation.attacks.shadow import Refit
from synthgen.evaluation.attacks.space import Rows
from synthgen.evaluation.data import PreparedData
from synthgen.evaluation.metrics import MetricResult, grade
from synthgen.evaluation.thresholds import EvaluationLimits, PrivacyThresholds

__all__ = ["ATTACK_METRICS", "EXPLAIN", "attack_metrics"]

_G = "privacy"
#: Key FPR of the graded rates.
KEY_FPR = 0.01

EXPLAIN = {
    "mia_auc": "ROC AUC of the strongest membership-inference attack of the ensemble "
    "(distance to the closest synthetic row, DOMIAS density ratio, synthetic-vs-reference "
    "classifier, shadow models when the generator can be refitted) at telling training rows "
    "from unseen rows; 0.5 is chance; graded on the lower bound of its bootstrap interval.",
    "mia_vulnerable_tpr": "True-positive rate at 1% false positives of the strongest attack on "
    "the most vulnerable records (the most outlying training rows, against as many outlying "
    "unseen rows); graded on the lower bound of its bootstrap interval, the limits being "
    "margins over chance (details.chance: about 0.02 with 100 records).",
    "mia_tpr": "True-positive rate at 1% false positives of the strongest attack over all "
    "candidates; graded on the lower bound of its bootstrap interval, the limits being margins "
    "over chance (details.chance: about 0.01 with thousands of candidates).",
    "attribute_inference_model_risk": "Model-based attribute inference (worst column): a "
    "classifier trained on the synthetic rows guesses each column from the others; excess "
    "accuracy on training rows over unseen rows (the control); graded on the lower bound.",
}

#: Metrics this module makes, in report order.
ATTACK_METRICS: tuple[str, ...] = tuple(EXPLAIN)


def _worst(values: dict[str, tuple[float, tuple[float, float]]]) -> str:
    return max(values, key=lambda k: (values[k][1][0], values[k][0]))


def chance_tpr(fpr: float, n_nonmembers: int) -> float:
    """True-positive rate of a random score at the threshold of :func:`tpr_at_fpr`: with ``k``
    false positives allowed among ``n`` non-members, a member beats the ``k + 1``-th highest of
    ``n`` random scores with probability ``(k + 1) / (n + 1)`` (about ``fpr`` for large ``n``;
    0.048 at 1% FPR with 20 non-members, where no false positive is allowed).

    Examples
    --------
    >>> round(chance_tpr(0.01, 3257), 4), round(chance_tpr(0.01, 20), 3)
    (0.0101, 0.048)
    """
    allowed = int(np.floor(fpr * n_nonmembers + 1e-9))
    return (allowed + 1) / (n_nonmembers + 1)


def _graded_interval(
    name: str,
    values: dict[str, tuple[float, tuple[float, float]]],
    pass_at: float,
    warn_at: float,
    details: dict[str, Any],
    ideal: float,
    direction: str,
) -> MetricResult:
    worst = _worst(values)
    value, (lo, hi) = values[worst]
    return MetricResult(
        name,
        _G,
        value,
        ideal,
        direction,
        grade(lo, "at_most", pass_at, warn_at),
        EXPLAIN[name],
        rule="at_most",
        pass_threshold=pass_at,
        warn_threshold=warn_at,
        details={"attack": worst, "by_attack": {k: v[0] for k, v in values.items()}, **details},
        interval=(lo, hi),
        graded_value=lo,
    )


def membership_metrics(result: MembershipResult, th: PrivacyThresholds) -> list[MetricResult]:
    """``mia_auc``, ``mia_tpr`` and ``mia_vulnerable_tpr`` of an ensemble run."""
    common = {"confidence_level": th.confidence_level, **result.split.sizes()}
    scores = result.scores
    if not scores:
        why = "no membership attack could run"
        return [
            MetricResult.skipped(n, _G, None, "lower", EXPLAIN[n], why)
            for n in ("mia_auc", "mia_tpr", "mia_vulnerable_tpr")
        ]
    auc = {k: (s["all"].auc, s["all"].auc_interval) for k, s in scores.items()}
    vul = {
        k: (s["vulnerable"].tpr[KEY_FPR], s["vulnerable"].tpr_interval[KEY_FPR])
        for k, s in scores.items()
    }
    tpr = {k: (s["all"].tpr[KEY_FPR], s["all"].tpr_interval[KEY_FPR]) for k, s in scores.items()}
    # the limits are margins over what a random score reaches at this many non-members
    first = next(iter(scores.values()))
    chance_all = chance_tpr(KEY_FPR, first["all"].n_nonmembers)
    chance_v = chance_tpr(KEY_FPR, first["vulnerable"].n_nonmembers)
    out = [
        _graded_interval(
            "mia_auc", auc, th.mia_auc_pass, th.mia_auc_warn, common, 0.5, "closer to 0.5"
        ),
        _graded_interval(
            "mia_vulnerable_tpr",
            vul,
            chance_v + th.mia_vulnerable_tpr_pass,
            chance_v + th.mia_vulnerable_tpr_warn,
            {
                **common,
                "vulnerable_records": result.n_vulnerable,
                "fpr": KEY_FPR,
                "chance": chance_v,
            },
            KEY_FPR,
            "lower",
        ),
    ]
    out.insert(
        1,
        _graded_interval(
            "mia_tpr",
            tpr,
            chance_all + th.mia_tpr_pass,
            chance_all + th.mia_tpr_warn,
            {**common, "fpr": KEY_FPR, "chance": chance_all},
            KEY_FPR,
            "lower",
        ),
    )
    return out


def _risk_metric(risks: dict[str, Risk], th: PrivacyThresholds) -> MetricResult:
    name = "attribute_inference_model_risk"
    if not risks:
        return MetricResult.skipped(
            name,
            _G,
            0.0,
            "lower",
            EXPLAIN[name],
            "no column can be predicted from others",
            rule="at_most",
            pass_at=th.risk_pass,
            warn_at=th.risk_warn,
        )
    worst = max(risks, key=lambda k: (risks[k].ci_low, risks[k].value))
    r = risks[worst]
    return MetricResult(
        name,
        _G,
        r.value,
        0.0,
        "lower",
        grade(r.ci_low, "at_most", th.risk_pass, th.risk_warn),
        EXPLAIN[name],
        rule="at_most",
        pass_threshold=th.risk_pass,
        warn_threshold=th.risk_warn,
        details={
            **r.to_dict(),
            "secret": worst,
            "by_secret": {k: v.value for k, v in risks.items()},
            "confidence_level": th.confidence_level,
        },
        interval=(r.ci_low, r.ci_high),
        graded_value=r.ci_low,
    )


def attack_metrics(
    prep: PreparedData,
    limits: EvaluationLimits,
    th: PrivacyThresholds,
    seed: int,
    secrets: list[str],
    *,
    refit: Refit | None = None,
    originals: dict[str, pd.DataFrame] | None = None,
) -> tuple[list[MetricResult], dict[str, Any]]:
    """The attack metrics and the full attack table (for the report's meta)."""
    result = run_membership_attacks(
        prep, limits, seed, refit=refit, originals=originals, confidence=th.confidence_level
    )
    split = result.split
    space_rows = {
        "synthetic": Rows.of(prep, "synthetic", split.synthetic),
        "members": Rows.of(prep, "real", split.members),
        "nonmembers": Rows.of(prep, "holdout", split.nonmembers),
    }
    risks = model_inference_risks(
        prep,
        result.space,
        space_rows["synthetic"],
        space_rows["members"],
        space_rows["nonmembers"],
        secrets,
        max_iter=max(5, limits.hgb_max_iter // 10),
        random_state=seed,
        confidence=th.confidence_level,
    )
    table = result.to_dict()
    table["attribute_inference"] = {k: v.to_dict() for k, v in risks.items()}
    metrics = [*membership_metrics(result, th), _risk_metric(risks, th)]
    return metrics, table
