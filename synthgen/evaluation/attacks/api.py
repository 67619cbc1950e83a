"""Membership scores for any candidate rows, from data frames: the entry point a canary-based
differential-privacy audit (or any other study) uses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.attacks.classifier import ClassifierAttack
from synthgen.evaluation.attacks.local import DensityAttack, DistanceAttack
from synthgen.evaluation.attacks.shadow import Refit, ShadowAttack
from synthgen.evaluation.attacks.space import AttackSpace, Rows
from synthgen.evaluation.data import prepare
from synthgen.exceptions import EvaluationError
from synthgen.schema import Schema

__all__ = ["membership_scores"]

_KNOWN = ("distance", "density", "classifier", "shadow")


def membership_scores(
    synthetic: pd.DataFrame,
    reference: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    attacks: tuple[str, ...] = ("distance", "density", "classifier"),
    refit: Refit | None = None,
    schema: Schema | None = None,
    random_state: int = 0,
    **options: Any,
) -> dict[str, np.ndarray]:
    """Score ``candidates`` with each attack fitted on ``synthetic`` and ``reference`` rows.

    Parameters
    ----------
    synthetic : DataFrame
        The released rows.
    reference : DataFrame
        Rows of the population the attacker holds (never seen by the generator).
    candidates : DataFrame
        Rows to score (e.g. canaries inserted into, and withheld from, the training data).
    attacks : tuple of str
        Among ``"distance"``, ``"density"``, ``"classifier"`` and ``"shadow"`` (which needs
        ``refit``).
    refit : callable, optional
        ``refit(table, n_rows) -> DataFrame`` for the shadow attack.
    schema : Schema, optional
        Column kinds (inferred from ``reference`` when omitted).
    random_state : int
        Seed of the classifier and the shadow splits.
    **options
        ``max_iter`` (classifier), ``n_shadows`` (shadow).

    Returns
    -------
    dict
        Attack name -> one score per candidate, higher = more likely a member.

    Raises
    ------
    EvaluationError
        An unknown attack, the shadow attack without ``refit``, or frames that do not match.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("abc"), 600)})
    >>> train, reference = df.iloc[:300], df.iloc[300:]
    >>> scores = membership_scores(train, reference, train.iloc[:3], attacks=("distance",))
    >>> scores["distance"].tolist()  # copies of the synthetic rows: distance 0
    [-0.0, -0.0, -0.0]
    """
    unknown = [a for a in attacks if a not in _KNOWN]
    if unknown:
        raise EvaluationError(f"unknown attack(s) {unknown!r}; known: {', '.join(_KNOWN)}")
    if "shadow" in attacks and refit is None:
        raise EvaluationError("the shadow attack needs refit=(table, n_rows) -> DataFrame")
    prep = prepare(reference, synthetic, schema=schema)
    syn = Rows.of(prep, "synthetic")
    ref = Rows.of(prep, "real", frame=reference)
    cand = Rows(*prep.encode(candidates, "candidates"))
    space = AttackSpace([len(prep.categories[c]) for c in prep.categorical]).fit(syn, ref)

    def encode(frame: pd.DataFrame) -> Rows:
        return Rows(*prep.encode(frame, "shadow synthetic rows"))

    out: dict[str, np.ndarray] = {}
    for name in attacks:
        if name == "distance":
            attack: Any = DistanceAttack(space)
        elif name == "density":
            attack = DensityAttack(space)
        elif name == "classifier":
            attack = ClassifierAttack(
                space, max_iter=options.get("max_iter", 100), random_state=random_state
            )
        else:
            attack = ShadowAttack(
                space,
                refit,  # type: ignore[arg-type]
                encode,
                n_shadows=options.get("n_shadows", 2),
                random_state=random_state,
            )
        out[name] = attack.fit(syn, ref).scores(cand)
    return out
