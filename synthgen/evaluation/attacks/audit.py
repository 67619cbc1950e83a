"""Empirical differential-privacy audit: a lower bound on epsilon from canaries' membership
scores (Jagielski et al., "Auditing differentially private machine learning", 2020; Nasr et
al., "Adversary instantiation", 2021; the one-training-run form of Steinke et al., 2023).

A fit that is (epsilon, delta)-DP limits every test that tells "this canary was in the
training data" from "it was not": whatever threshold the attacker puts on its score,

    TPR <= e^epsilon * FPR + delta     and     1 - FPR <= e^epsilon * (1 - TPR) + delta.

So a measured pair (TPR, FPR) *proves* epsilon >= ln((TPR - delta) / FPR). To make that a proof
with a stated confidence rather than a point estimate, the true-positive rate is replaced by its
one-sided Clopper-Pearson lower bound and the false-positive rate by its upper bound, and the
thresholds tried (a fixed grid of "flag the top k scores", chosen without looking at who is a
member) share the error probability (Bonferroni). The result holds with probability at least
``confidence``: it may exceed the true epsilon only with probability ``1 - confidence``.

It is a *lower* bound: it says how much privacy loss this attack demonstrably found, never that
the model is private. A weak attack gives a bound far below the accounted epsilon.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import beta

from synthgen.exceptions import EvaluationError

__all__ = ["EpsilonAudit", "clopper_pearson", "epsilon_lower_bound", "flag_counts"]


def clopper_pearson(successes: int, trials: int, confidence: float, side: str) -> float:
    """One-sided Clopper-Pearson bound on a binomial proportion.

    Parameters
    ----------
    successes, trials : int
        ``0 <= successes <= trials``, ``trials >= 1``.
    confidence : float
        Probability, in (0, 1), that the true proportion is on the stated side of the bound.
    side : {"lower", "upper"}

    Returns
    -------
    float
        The bound (0 for a lower bound with no success, 1 for an upper bound with no failure).

    Examples
    --------
    >>> round(clopper_pearson(0, 100, 0.95, "upper"), 4)  # 1 - 0.05 ** (1 / 100)
    0.0295
    >>> round(clopper_pearson(50, 100, 0.95, "lower"), 3)
    0.414
    """
    if side not in ("lower", "upper"):
        raise EvaluationError(f"side must be 'lower' or 'upper', got {side!r}")
    if trials < 1 or not 0 <= successes <= trials:
        raise EvaluationError(
            f"need 0 <= successes <= trials and trials >= 1, got {successes}/{trials}"
        )
    alpha = 1.0 - confidence
    if side == "lower":
        return 0.0 if successes == 0 else float(beta.ppf(alpha, successes, trials - successes + 1))
    return (
        1.0
        if successes == trials
        else float(beta.ppf(1 - alpha, successes + 1, trials - successes))
    )


def flag_counts(n: int, n_thresholds: int) -> np.ndarray:
    """The grid of "flag the ``k`` highest scores" tried among ``n`` candidates.

    Geometric from both ends: the first bound form wins with few confident guesses at the
    top, the second with few members among the lowest scores.

    Examples
    --------
    >>> flag_counts(1000, 8).tolist()
    [1, 8, 63, 500, 937, 992, 999]
    """
    half = max(1, n // 2)
    low = np.unique(np.round(np.geomspace(1, half, max(1, n_thresholds // 2))).astype(int))
    grid = np.unique(np.concatenate([low, n - low]))
    return grid[(grid >= 1) & (grid <= n - 1)]


@dataclass(frozen=True)
class EpsilonAudit:
    """What :func:`epsilon_lower_bound` found.

    Attributes
    ----------
    epsilon : float
        The lower bound on epsilon (0 when no threshold gives evidence of privacy loss).
    threshold : float or None
        Score above which candidates were called members at the best bound.
    form : str
        ``"tpr/fpr"`` (few false alarms among the flagged), ``"tnr/fnr"`` (few members among
        the unflagged) or ``"none"``.
    tpr, fpr : float
        Measured rates at that threshold.
    tpr_low, fpr_high : float
        Their Clopper-Pearson bounds.
    n_members, n_nonmembers, n_thresholds : int
    confidence, delta : float
    """

    epsilon: float
    threshold: float | None
    form: str
    tpr: float
    fpr: float
    tpr_low: float
    fpr_high: float
    n_members: int
    n_nonmembers: int
    n_thresholds: int
    confidence: float
    delta: float

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready)."""
        return asdict(self)


def _scores(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise EvaluationError(f"{name} must be numbers (membership scores)") from None
    if arr.ndim != 1 or len(arr) == 0:
        raise EvaluationError(
            f"{name} must be a non-empty 1-D array of scores, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise EvaluationError(f"{name} holds {int((~np.isfinite(arr)).sum())} non-finite score(s)")
    return arr


def epsilon_lower_bound(
    members: Any,
    nonmembers: Any,
    *,
    delta: float = 0.0,
    confidence: float = 0.95,
    n_thresholds: int = 20,
) -> EpsilonAudit:
    """Lower bound on epsilon shown by membership scores of inserted and withheld canaries.

    Parameters
    ----------
    members : array-like of float
        Scores of the canaries that were in the training data (higher = "member").
    nonmembers : array-like of float
        Scores of the canaries that were not.
    delta : float
        The delta of the guarantee being audited, in [0, 1).
    confidence : float
        Probability that the bound does not exceed the true epsilon, in (0, 1); shared by
        all thresholds and both rates (Bonferroni).
    n_thresholds : int
        Number of thresholds tried (see :func:`flag_counts`).

    Returns
    -------
    EpsilonAudit

    Raises
    ------
    EvaluationError
        Empty, non-1-D or non-finite scores; a confidence, delta or threshold count out of
        range.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> same = epsilon_lower_bound(rng.normal(size=500), rng.normal(size=500))
    >>> same.epsilon
    0.0
    >>> apart = epsilon_lower_bound(rng.normal(3, 1, 500), rng.normal(size=500))
    >>> 2.0 < apart.epsilon < 6.0, apart.form
    (True, 'tpr/fpr')
    """
    mem, non = _scores(members, "members"), _scores(nonmembers, "nonmembers")
    if not 0.0 < confidence < 1.0:
        raise EvaluationError(f"confidence must be in (0, 1), got {confidence!r}")
    if not 0.0 <= delta < 1.0:
        raise EvaluationError(f"delta must be in [0, 1), got {delta!r}")
    if isinstance(n_thresholds, bool) or not isinstance(n_thresholds, (int, np.integer)):
        raise EvaluationError(f"n_thresholds must be an integer, got {n_thresholds!r}")
    if n_thresholds < 1:
        raise EvaluationError(f"n_thresholds must be at least 1, got {n_thresholds}")
    ranked = np.sort(np.concatenate([mem, non]))[::-1]
    counts = flag_counts(len(ranked), int(n_thresholds))
    # two bounds per threshold share the error probability
    each = 1.0 - (1.0 - confidence) / (2 * max(1, len(counts)))
    best = EpsilonAudit(
        0.0, None, "none", 0.0, 0.0, 0.0, 1.0, len(mem), len(non), len(counts), confidence, delta
    )
    for k in counts:
        # strictly above the (k+1)-th highest score: ties never decide who is flagged
        threshold = float(ranked[k])
        tp, fp = int((mem > threshold).sum()), int((non > threshold).sum())
        tpr_low = clopper_pearson(tp, len(mem), each, "lower")
        fpr_high = clopper_pearson(fp, len(non), each, "upper")
        candidates = []
        if tpr_low > delta:
            candidates.append((np.log((tpr_low - delta) / fpr_high), "tpr/fpr"))
        if 1.0 - fpr_high > delta:
            candidates.append((np.log((1.0 - fpr_high - delta) / (1.0 - tpr_low)), "tnr/fnr"))
        for value, form in candidates:
            if value > best.epsilon:
                best = EpsilonAudit(
                    float(value),
                    threshold,
                    form,
                    tp / len(mem),
                    fp / len(non),
                    tpr_low,
                    fpr_high,
                    len(mem),
                    len(non),
                    len(counts),
                    confidence,
                    delta,
                )
    return best
