"""Membership-inference attacks on synthetic data, and model-based attribute inference.

Every attack follows one protocol (:class:`MembershipAttack`): fitted on what the threat model
gives the attacker, the synthetic rows and a reference sample of the population, it scores
candidate rows, higher meaning "more likely a training member". :func:`membership_scores`
scores any candidates from data frames (for canary audits); :func:`run_membership_attacks`
runs the whole ensemble under the report's threat model (see :mod:`.ensemble`);
:func:`epsilon_lower_bound` turns canaries' scores into an empirical lower bound on epsilon
(see :mod:`.audit`).

>>> from synthgen.evaluation.attacks import ATTACKS
>>> ATTACKS
('distance', 'density', 'classifier', 'shadow')
"""

from synthgen.evaluation.attacks.api import membership_scores
from synthgen.evaluation.attacks.audit import (
    EpsilonAudit,
    clopper_pearson,
    epsilon_lower_bound,
    flag_counts,
)
from synthgen.evaluation.attacks.base import MembershipAttack
from synthgen.evaluation.attacks.classifier import ClassifierAttack
from synthgen.evaluation.attacks.ensemble import (
    ATTACKS,
    THREAT_MODEL,
    MembershipResult,
    run_membership_attacks,
)
from synthgen.evaluation.attacks.local import DensityAttack, DistanceAttack
from synthgen.evaluation.attacks.scoring import (
    FPRS,
    AttackScore,
    outlierness,
    roc_auc,
    score_attack,
    tpr_at_fpr,
)
from synthgen.evaluation.attacks.shadow import Refit, ShadowAttack
from synthgen.evaluation.attacks.space import AttackSpace, Rows

__all__ = [
    "ATTACKS",
    "FPRS",
    "THREAT_MODEL",
    "AttackScore",
    "AttackSpace",
    "ClassifierAttack",
    "DensityAttack",
    "DistanceAttack",
    "EpsilonAudit",
    "MembershipAttack",
    "MembershipResult",
    "Refit",
    "Rows",
    "ShadowAttack",
    "clopper_pearson",
    "epsilon_lower_bound",
    "flag_counts",
    "membership_scores",
    "outlierness",
    "roc_auc",
    "run_membership_attacks",
    "score_attack",
    "tpr_at_fpr",
]
