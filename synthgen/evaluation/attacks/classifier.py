"""Classifier attack: a model trained to tell synthetic rows from reference rows.

Where the generator puts more mass than the population does (around the records it remembers)
the classifier learns to say "synthetic"; its probability is then a density-ratio estimate
(Hilprecht et al., 2019; the classifier form of DOMIAS), read on the candidates. Gradient
boosting with native categorical features sees sharp, local excesses that a kernel density
with one bandwidth smooths away, and the other way round, which is why both are in the ensemble.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from synthgen.evaluation.attacks.binning import WeightedBins
from synthgen.evaluation.attacks.space import AttackSpace, Rows

__all__ = ["ClassifierAttack"]


class ClassifierAttack:
    """Score = the classifier's probability that a candidate is a synthetic row.

    Parameters
    ----------
    space : AttackSpace
    max_iter : int
        Boosting iterations.
    max_rows : int, optional
        Most synthetic rows it learns from (a seeded random sample; all by default).
    random_state : int
        Seed of the classifier and the sample.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rows = lambda a: Rows(a[:, None], np.zeros((len(a), 0), int))
    >>> syn, ref = rows(rng.normal(1, 1, 400)), rows(rng.normal(0, 1, 400))
    >>> attack = ClassifierAttack(AttackSpace([]).fit(syn, ref), max_iter=20).fit(syn, ref)
    >>> s = attack.scores(rows(np.array([-2.0, 3.0])))
    >>> bool(s[1] > s[0])
    True
    """

    name = "classifier"

    def __init__(
        self,
        space: AttackSpace,
        *,
        max_iter: int = 100,
        max_rows: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.space = space
        self.max_iter = max_iter
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, synthetic: Rows, reference: Rows) -> ClassifierAttack:
        if self.max_rows is not None and len(synthetic) > self.max_rows:
            rng = np.random.default_rng([self.random_state, 3])
            synthetic = synthetic.take(np.sort(rng.choice(len(synthetic), self.max_rows, False)))
        X = np.concatenate([self.space.matrix(synthetic), self.space.matrix(reference)])
        y = np.r_[np.ones(len(synthetic)), np.zeros(len(reference))]
        # equal total weight per class: the score should not depend on the two sample sizes
        weight = np.where(y == 1, len(y) / (2 * len(synthetic)), len(y) / (2 * len(reference)))
        # the weighted bins found here in one sort a column, not by the model a quantile at a time
        self.bins_ = WeightedBins().fit(X, weight, self.space.categorical_mask)
        X = self.bins_.transform(X)
        self.model_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            categorical_features=self.space.categorical_mask,
            early_stopping=False,
            random_state=self.random_state,
        ).fit(X, y, sample_weight=weight)
        return self

    def scores(self, candidates: Rows) -> np.ndarray:
        X = self.bins_.transform(self.space.matrix(candidates))
        return self.model_.predict_proba(X)[:, 1]
