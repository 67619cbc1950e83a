"""The protocol every membership-inference attack follows.

An attack is fitted on what the threat model gives the attacker, the synthetic rows and a
reference sample of the population (rows the generator never saw), and then scores candidate
rows: ``attack.fit(synthetic, reference).scores(candidates)`` returns one number per candidate,
higher meaning "more likely a training member". Scores are only compared within one attack, so
any monotone scale will do. A canary-based differential-privacy audit can use the same call on
its own candidates (inserted and withheld canaries).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from synthgen.evaluation.attacks.space import Rows

__all__ = ["MembershipAttack"]


@runtime_checkable
class MembershipAttack(Protocol):
    """A membership-inference attack: fitted on the attacker's data, scores candidates.

    Attributes
    ----------
    name : str
        Short key (``"distance"``, ``"density"``, ``"classifier"``, ``"shadow"``).
    """

    name: str

    def fit(self, synthetic: Rows, reference: Rows) -> MembershipAttack:
        """Learn from the synthetic rows and the reference rows; returns ``self``."""
        ...

    def scores(self, candidates: Rows) -> np.ndarray:
        """One score per candidate row, higher = more likely a member."""
        ...
