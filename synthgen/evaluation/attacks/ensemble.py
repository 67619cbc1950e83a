"""Run the membership-inference ensemble under one stated threat model.

Threat model (what the attacker has):

* the synthetic rows (all of them, up to ``EvaluationLimits.attack_synthetic_rows``: an
  attack on a sample would miss most of the records a generator copies);
* a *reference* sample of the population: a random half of the holdout (rows the generator
  never saw), at most ``attack_rows`` of them;
* for the shadow attack only, and only when a ``refit`` function is given: the generator's
  training algorithm with its settings, as a black box it can run on its own data.

The attacker does not have the training rows or the fitted model. The *candidates* it must
label are the other half of the holdout (non-members) and as many training rows drawn at random
(members), so the base rate is 50%. Every random choice (the halves, the samples, the attacks'
own seeds, the bootstrap) comes from one seed, recorded in the result.

The *most vulnerable* candidates are the ``vulnerable_records`` members with the largest mean
distance to their 5 nearest other member candidates (the outliers of a random sample of the
training rows, where a generator can only be right by remembering), against the as many
non-members that are most outlying in the same sense within the non-member candidates: both
pools have the same size and come from the same population, so the two groups are matched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.attacks.classifier import ClassifierAttack
from synthgen.evaluation.attacks.local import DensityAttack, DistanceAttack
from synthgen.evaluation.attacks.scoring import AttackScore, outlierness, score_attack
from synthgen.evaluation.attacks.shadow import Refit, ShadowAttack
from synthgen.evaluation.attacks.space import AttackSpace, Rows
from synthgen.evaluation.data import PreparedData
from synthgen.evaluation.thresholds import EvaluationLimits

__all__ = ["ATTACKS", "THREAT_MODEL", "AttackSplit", "MembershipResult", "run_membership_attacks"]

#: Every attack of the ensemble, in the order of the report.
ATTACKS: tuple[str, ...] = ("distance", "density", "classifier", "shadow")

#: What the attacker has, in words (the report shows it).
THREAT_MODEL: dict[str, str] = {
    "attacker_has": "the synthetic rows; a reference sample of the population (half of the "
    "holdout, never seen by the generator); for the shadow attack, the generator's training "
    "algorithm and settings, run as a black box on the reference rows",
    "attacker_lacks": "the training rows, the fitted model and its parameters",
    "candidates": "the other half of the holdout (non-members) and as many random training "
    "rows (members): a 50% base rate",
    "vulnerable_records": "the members with the largest mean distance to their 5 nearest "
    "other member candidates, against as many of the most outlying non-member candidates",
    "scores": "AUC and the true-positive rate at 0.1%, 1% and 10% false positives, with "
    "percentile-bootstrap intervals (members and non-members resampled separately)",
}


@dataclass
class AttackSplit:
    """Row positions of each role (``reference`` and ``nonmembers`` in the holdout, ``members``
    in the training rows, ``synthetic`` in the synthetic rows)."""

    reference: np.ndarray
    nonmembers: np.ndarray
    members: np.ndarray
    synthetic: np.ndarray
    seed: int

    def sizes(self) -> dict[str, int]:
        """Rows of each role."""
        return {
            "synthetic": len(self.synthetic),
            "reference": len(self.reference),
            "member_candidates": len(self.members),
            "nonmember_candidates": len(self.nonmembers),
        }


def attack_split(prep: PreparedData, limits: EvaluationLimits, seed: int) -> AttackSplit:
    """Draw the roles of the threat model (see the module docstring) from ``seed``."""
    rng = np.random.default_rng([seed, 1])
    n_hold = prep.n_rows("holdout")
    order = rng.permutation(n_hold)
    half = n_hold // 2
    reference = np.sort(order[:half][: limits.attack_rows])
    n_cand = min(n_hold - half, limits.attack_rows, prep.n_rows("real"))
    nonmembers = np.sort(order[half:][:n_cand])
    members = np.sort(rng.choice(prep.n_rows("real"), n_cand, replace=False))
    n_syn = min(prep.n_rows("synthetic"), limits.attack_synthetic_rows)
    synthetic = np.sort(rng.choice(prep.n_rows("synthetic"), n_syn, replace=False))
    return AttackSplit(reference, nonmembers, members, synthetic, seed)


@dataclass
class MembershipResult:
    """Scores of every attack that ran, over all candidates and the vulnerable ones."""

    scores: dict[str, dict[str, AttackScore]]
    skipped: dict[str, str]
    split: AttackSplit
    n_vulnerable: int
    seconds: dict[str, float] = field(default_factory=dict)
    space: AttackSpace | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready table: threat model, seed, sizes, and per attack its scores."""
        return {
            "threat_model": dict(THREAT_MODEL),
            "seed": self.split.seed,
            "sizes": {**self.split.sizes(), "vulnerable_records": self.n_vulnerable},
            "attacks": {
                name: {part: s.to_dict() for part, s in parts.items()}
                for name, parts in self.scores.items()
            },
            "skipped": dict(self.skipped),
            "seconds": dict(self.seconds),
        }


#: Neighbours searched once per candidate among the synthetic rows (the density attack's k).
NEIGHBOURS = 20


def _make(name, space, limits, seed, refit, encode):
    if name == "distance":
        return DistanceAttack(space)
    if name == "density":
        return DensityAttack(space, k=NEIGHBOURS)
    if name == "classifier":
        return ClassifierAttack(
            space,
            max_iter=limits.hgb_max_iter,
            max_rows=limits.attack_rows,
            random_state=seed,
        )
    return ShadowAttack(space, refit, encode, n_shadows=limits.shadow_models, random_state=seed)


def run_membership_attacks(
    prep: PreparedData,
    limits: EvaluationLimits,
    seed: int,
    *,
    refit: Refit | None = None,
    originals: dict[str, pd.DataFrame] | None = None,
    attacks: tuple[str, ...] = ATTACKS,
    confidence: float = 0.95,
) -> MembershipResult:
    """Fit every attack on the attacker's data and score the candidates.

    Parameters
    ----------
    prep : PreparedData
        With a holdout.
    limits : EvaluationLimits
        Row caps, bootstrap rounds, vulnerable records, shadow models.
    seed : int
        The one seed of the split, the attacks and the bootstrap.
    refit : callable, optional
        ``refit(table, n_rows)``: fits the generator under attack on ``table`` and returns
        ``n_rows`` rows. Without it the shadow attack is skipped.
    originals : dict, optional
        The frames as given (``"holdout"``), in the prepared order: the shadow generators
        are refitted on original rows, not on the evaluation's coded copy.
    attacks : tuple of str
        Which attacks to run.
    """
    split = attack_split(prep, limits, seed)
    holdout = (originals or {}).get("holdout")
    synthetic = Rows.of(prep, "synthetic", split.synthetic)
    reference = Rows.of(prep, "holdout", split.reference, holdout)
    members = Rows.of(prep, "real", split.members)
    nonmembers = Rows.of(prep, "holdout", split.nonmembers)
    all_num = np.concatenate([prep.num[f] for f in prep.frames])
    space = AttackSpace(
        [len(prep.categories[c]) for c in prep.categorical],
        num_missing=np.isnan(all_num).any(axis=0),
    ).fit(synthetic, reference)

    # the vulnerable records: most outlying members and non-members, each in its own pool
    n_vuln = min(limits.vulnerable_records, len(members) // 2)
    vuln_m = np.argsort(-outlierness(space.embed(members)), kind="stable")[:n_vuln]
    vuln_n = np.argsort(-outlierness(space.embed(nonmembers)), kind="stable")[:n_vuln]

    # one neighbour search of the candidates among the synthetic rows serves every attack
    for cand in (members, nonmembers):
        space.nearest(cand, synthetic, NEIGHBOURS)

    def encode(frame: pd.DataFrame) -> Rows:
        return Rows(*prep.encode(frame, "shadow synthetic rows"))

    scores: dict[str, dict[str, AttackScore]] = {}
    skipped: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for name in attacks:
        t0 = time.perf_counter()
        if name == "shadow" and refit is None:
            skipped[name] = "no refit function given (the generator is not available here)"
            continue
        if name == "shadow" and reference.frame is None:
            skipped[name] = "the original holdout rows were not given"
            continue
        attack = _make(name, space, limits, seed, refit, encode)
        try:
            attack.fit(synthetic, reference)
        except Exception as exc:
            if name != "shadow":
                raise
            skipped[name] = f"refitting the generator failed: {type(exc).__name__}: {exc}"
            continue
        s_m, s_n = attack.scores(members), attack.scores(nonmembers)
        # one bootstrap stream per attack: its intervals do not depend on which others ran
        boot = np.random.default_rng([seed, 2, ATTACKS.index(name)])
        kw = {"n_boot": limits.attack_bootstrap, "confidence": confidence}
        scores[name] = {
            "all": score_attack(s_m, s_n, boot, **kw),
            "vulnerable": score_attack(s_m[vuln_m], s_n[vuln_n], boot, **kw),
        }
        seconds[name] = round(time.perf_counter() - t0, 3)
    return MembershipResult(scores, skipped, split, n_vuln, seconds, space)
