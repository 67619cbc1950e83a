"""How well membership scores separate members from non-members: AUC, TPR at low FPR, with
seeded bootstrap intervals, and the selection of the most vulnerable records.

Scores follow one convention everywhere: higher means "more likely a training member".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata

from synthgen.evaluation.distance import nearest

__all__ = [
    "FPRS",
    "AttackScore",
    "outlierness",
    "roc_auc",
    "score_attack",
    "tpr_at_fpr",
]

#: False-positive rates at which the true-positive rate is reported.
FPRS: tuple[float, ...] = (0.001, 0.01, 0.1)


def roc_auc(members: np.ndarray, nonmembers: np.ndarray) -> float:
    """ROC AUC of scores (Mann-Whitney; ties count half).

    Examples
    --------
    >>> roc_auc(np.array([3.0, 2.0]), np.array([1.0, 2.0]))
    0.875
    """
    n_m, n_n = len(members), len(nonmembers)
    ranks = rankdata(np.concatenate([members, nonmembers]))
    return float((ranks[:n_m].sum() - n_m * (n_m + 1) / 2.0) / (n_m * n_n))


def tpr_at_fpr(members: np.ndarray, nonmembers: np.ndarray, fpr: float) -> float:
    """Share of members called members by the best threshold that flags at most
    ``floor(fpr * n_nonmembers)`` non-members.

    The threshold is strict (a score must be *above* it), so non-members tied at the threshold
    are never counted as caught members' company: the rate is the ROC curve's true-positive
    rate at the largest achievable false-positive rate not above ``fpr``, never interpolated
    upward. With fewer than ``1 / fpr`` non-members, this is the rate at zero false positives.

    Examples
    --------
    >>> non = np.arange(100.0)          # non-member scores 0..99
    >>> mem = np.array([99.5, 98.5, 50.0, 200.0])
    >>> tpr_at_fpr(mem, non, 0.01)      # one false positive allowed: threshold 98
    0.75
    >>> tpr_at_fpr(mem, non, 0.001)     # none allowed: threshold 99
    0.5
    """
    allowed = int(np.floor(fpr * len(nonmembers) + 1e-9))
    if allowed >= len(nonmembers):
        return 1.0
    threshold = np.sort(nonmembers)[::-1][allowed]
    return float(np.mean(members > threshold))


@dataclass
class AttackScore:
    """AUC and TPR at each of :data:`FPRS`, each with its bootstrap interval.

    Attributes
    ----------
    auc : float
    auc_interval : tuple of float
    tpr : dict
        FPR -> TPR.
    tpr_interval : dict
        FPR -> (low, high).
    n_members, n_nonmembers : int
    """

    auc: float
    auc_interval: tuple[float, float]
    tpr: dict[float, float]
    tpr_interval: dict[float, tuple[float, float]]
    n_members: int
    n_nonmembers: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (FPRs as text keys such as ``"0.01"``)."""
        return {
            "auc": self.auc,
            "auc_interval": list(self.auc_interval),
            "tpr_at_fpr": {f"{f:g}": self.tpr[f] for f in self.tpr},
            "tpr_interval": {f"{f:g}": list(self.tpr_interval[f]) for f in self.tpr},
            "n_members": self.n_members,
            "n_nonmembers": self.n_nonmembers,
            **self.extra,
        }


def score_attack(
    members: np.ndarray,
    nonmembers: np.ndarray,
    rng: np.random.Generator,
    *,
    n_boot: int = 200,
    confidence: float = 0.95,
    fprs: tuple[float, ...] = FPRS,
) -> AttackScore:
    """AUC and TPR at low FPR, with percentile-bootstrap intervals.

    Members and non-members are resampled separately (the class sizes stay fixed), ``n_boot``
    times, from ``rng``: the same generator state gives the same intervals.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = score_attack(rng.normal(1, 1, 500), rng.normal(0, 1, 500), np.random.default_rng(1))
    >>> 0.7 < s.auc < 0.8, s.auc_interval[0] < s.auc < s.auc_interval[1]
    (True, True)
    """
    members = np.asarray(members, dtype=float)
    nonmembers = np.asarray(nonmembers, dtype=float)
    auc = roc_auc(members, nonmembers)
    tpr = {f: tpr_at_fpr(members, nonmembers, f) for f in fprs}
    boot_auc = np.empty(n_boot)
    boot_tpr = np.empty((n_boot, len(fprs)))
    for b in range(n_boot):
        m = members[rng.integers(len(members), size=len(members))]
        n = nonmembers[rng.integers(len(nonmembers), size=len(nonmembers))]
        boot_auc[b] = roc_auc(m, n)
        boot_tpr[b] = [tpr_at_fpr(m, n, f) for f in fprs]
    tail = 100 * (1 - confidence) / 2
    lo, hi = np.percentile(boot_auc, [tail, 100 - tail])
    tpr_iv = {}
    for j, f in enumerate(fprs):
        a, b = np.percentile(boot_tpr[:, j], [tail, 100 - tail])
        tpr_iv[f] = (float(a), float(b))
    return AttackScore(auc, (float(lo), float(hi)), tpr, tpr_iv, len(members), len(nonmembers))


def outlierness(X: np.ndarray, k: int = 5) -> np.ndarray:
    """Mean distance of each row to its ``k`` nearest *other* rows of ``X``.

    Records far from the rest are the ones a generator can only reproduce by remembering them
    (Meeus et al., "Achilles' Heels", 2024). The row itself is the first neighbour found
    (distance 0, as any exact duplicate), so the first column of neighbours is dropped.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0]])
    >>> outlierness(X, k=1).round(2).tolist()
    [0.1, 0.1, 0.1, 4.8]
    """
    k = min(k, len(X) - 1)
    if k < 1:
        return np.zeros(len(X))
    dist, _ = nearest(X, X, k=k + 1)
    return dist[:, 1:].mean(axis=1)
