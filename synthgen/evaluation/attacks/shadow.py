"""Shadow-model attack: learn from the generator itself what its members look like.

The attacker holds reference rows and can run the generator's training algorithm (the threat
model of Shokri et al., 2017, and Stadler et al., "Synthetic data: anonymisation groundhog day",
2022). Each shadow round splits the reference rows in two halves, refits the generator on one
half (``refit(table, n_rows)``, supplied by a higher layer so that the evaluation never imports
a generator) and draws as many rows as the real synthetic sample. The reference rows, labelled
in or out of that shadow's training half, give training examples for a membership classifier
over features of a row relative to the synthetic rows and to the population: distances to the
nearest and the ``k`` nearest synthetic rows, and the same to the reference rows (the row itself
left out). The classifier then scores the real candidates against the real synthetic rows: it
has learned how this generator's output sits around its training records (how close, how much
closer than the population), not a threshold chosen by hand.

The shadow halves are smaller than the real training set, so the attack models a generator
fitted on less data (which usually remembers more per record); its numbers are one attack of
the ensemble, not an estimate of the others.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from synthgen.evaluation.attacks.space import AttackSpace, Rows

__all__ = ["Refit", "ShadowAttack"]

#: Fits a generator on a table and returns that many rows: ``refit(table, n_rows)``.
Refit = Callable[[pd.DataFrame, int], pd.DataFrame]

_EPS = 1e-3  # distances are logged; exact copies sit at 0


def _features(space: AttackSpace, rows: Rows, syn: Rows, ref: Rows, k: int, in_ref: bool):
    d_s, _ = space.nearest(rows, syn, k=k)
    d_r, _ = space.nearest(rows, ref, k=k + 1 if in_ref else k)
    if in_ref:  # a reference row's nearest reference row is itself (distance 0): drop it
        d_r = d_r[:, 1:]
    d_s, d_r = d_s.astype(float), d_r.astype(float)
    return np.log(
        np.column_stack([d_s[:, 0], d_s.mean(axis=1), d_r[:, 0], d_r.mean(axis=1)]) + _EPS
    )


class ShadowAttack:
    """Membership classifier trained on shadow generators fitted on reference rows.

    Parameters
    ----------
    space : AttackSpace
    refit : callable
        ``refit(table, n_rows) -> DataFrame``: fits the generator under attack (same family and
        settings) on ``table`` and returns ``n_rows`` synthetic rows.
    encode : callable
        ``encode(frame) -> Rows``: brings a refitted generator's rows into the evaluation's
        coding.
    n_shadows : int
        Shadow generators; each splits the reference rows into fresh random halves (the first
        two use the two halves of one split in turn, so every row is in one and out of one).
    k : int
        Neighbours averaged in the features.
    random_state : int
        Seed of the splits.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> frame = lambda a: pd.DataFrame({"x": a})
    >>> rows = lambda f: Rows(f[["x"]].to_numpy(float), np.zeros((len(f), 0), int), f)
    >>> copy = lambda table, n: table.sample(n, replace=True, random_state=0)  # a leaky one
    >>> ref = rows(frame(rng.normal(size=300)))
    >>> members = frame(rng.normal(size=300))
    >>> space = AttackSpace([]).fit(ref)
    >>> attack = ShadowAttack(space, copy, rows, n_shadows=2)
    >>> attack = attack.fit(rows(copy(members, 300)), ref)
    >>> s_in = attack.scores(rows(members))
    >>> s_out = attack.scores(rows(frame(rng.normal(size=300))))
    >>> bool(np.mean(s_in) > np.mean(s_out) + 0.2)
    True
    """

    name = "shadow"

    def __init__(
        self,
        space: AttackSpace,
        refit: Refit,
        encode: Callable[[pd.DataFrame], Rows],
        *,
        n_shadows: int = 2,
        k: int = 5,
        random_state: int = 0,
    ) -> None:
        self.space = space
        self.refit = refit
        self.encode = encode
        self.n_shadows = n_shadows
        self.k = k
        self.random_state = random_state

    def fit(self, synthetic: Rows, reference: Rows) -> ShadowAttack:
        if reference.frame is None:
            raise ValueError("the shadow attack needs the reference rows as a frame")
        rng = np.random.default_rng(self.random_state)
        n = len(reference)
        feats, labels = [], []
        for s in range(self.n_shadows):
            if s % 2 == 0:  # a fresh split; the next shadow trains on its other half
                order = rng.permutation(n)
            inside = np.zeros(n, dtype=bool)
            inside[order[: n // 2] if s % 2 == 0 else order[n // 2 :]] = True
            table = reference.frame.iloc[np.flatnonzero(inside)].reset_index(drop=True)
            shadow = self.encode(self.refit(table, len(synthetic)))
            feats.append(_features(self.space, reference, shadow, reference, self.k, True))
            labels.append(inside.astype(int))
        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        self.model_.fit(np.concatenate(feats), np.concatenate(labels))
        self.synthetic_, self.reference_ = synthetic, reference
        return self

    def scores(self, candidates: Rows) -> np.ndarray:
        f = _features(self.space, candidates, self.synthetic_, self.reference_, self.k, False)
        return self.model_.predict_proba(f)[:, 1]
