"""Attacks that look at the synthetic rows around a candidate: distance and density ratio.

* :class:`DistanceAttack`: a member is likely close to a synthetic row (distance to the closest
  synthetic record, the classic DCR attack; Chen et al., "GAN-Leaks", 2020).
* :class:`DensityAttack`: DOMIAS (van Breugel et al., 2023): a member sits where the synthetic
  rows are *denser than the population* around it. The ratio of a kernel density of the
  synthetic rows to one of the reference rows (both Gaussian kernels of the same bandwidth,
  truncated to the nearest rows, which hold almost all of the mass) removes what the distance
  attack mistakes for leakage: rows in crowded parts of the population are close to synthetic
  rows whether or not they were trained on.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from synthgen.evaluation.attacks.scoring import outlierness
from synthgen.evaluation.attacks.space import AttackSpace, Rows

__all__ = ["DensityAttack", "DistanceAttack"]


class DistanceAttack:
    """Score = minus the distance to the closest synthetic row.

    Examples
    --------
    >>> rows = lambda a: Rows(np.array(a, dtype=float)[:, None], np.zeros((len(a), 0), int))
    >>> space = AttackSpace([]).fit(rows([0.0, 10.0]), rows([5.0]))
    >>> attack = DistanceAttack(space).fit(rows([0.0, 10.0]), rows([5.0]))
    >>> attack.scores(rows([0.0, 4.0])).round(3).tolist()
    [-0.0, -0.4]
    """

    name = "distance"

    def __init__(self, space: AttackSpace) -> None:
        self.space = space

    def fit(self, synthetic: Rows, reference: Rows) -> DistanceAttack:
        self.synthetic_ = synthetic
        return self

    def scores(self, candidates: Rows) -> np.ndarray:
        dist, _ = self.space.nearest(candidates, self.synthetic_, k=1)
        return -dist[:, 0].astype(float)


class DensityAttack:
    """Score = log density of the synthetic rows minus log density of the reference rows.

    Parameters
    ----------
    space : AttackSpace
    k : int
        Nearest rows of each set that make up the (truncated) kernel sum.
    bandwidth : float, optional
        Kernel width in the embedding; default: half the median distance of a reference row
        to its nearest other reference row (narrow enough to see the synthetic rows pile up
        on a remembered record, wide enough to average over several rows elsewhere).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rows = lambda a: Rows(a[:, None], np.zeros((len(a), 0), int))
    >>> members = rng.normal(size=200)
    >>> synthetic = members + rng.normal(scale=0.01, size=200)  # remembers its members
    >>> space = AttackSpace([]).fit(rows(synthetic))
    >>> attack = DensityAttack(space).fit(rows(synthetic), rows(rng.normal(size=200)))
    >>> s_in, s_out = attack.scores(rows(members)), attack.scores(rows(rng.normal(size=200)))
    >>> bool(np.median(s_in) > np.median(s_out))
    True
    """

    name = "density"

    def __init__(self, space: AttackSpace, *, k: int = 20, bandwidth: float | None = None):
        self.space = space
        self.k = k
        self.bandwidth = bandwidth

    def fit(self, synthetic: Rows, reference: Rows) -> DensityAttack:
        self.synthetic_ = synthetic
        self.reference_ = reference
        h = self.bandwidth
        if h is None:
            embedded = self.space.embed(reference)
            spacing = outlierness(embedded[: min(len(embedded), 2000)], k=1)
            h = 0.5 * float(np.median(spacing[spacing > 0])) if np.any(spacing > 0) else 1.0
        self.bandwidth_ = max(float(h), 1e-3)
        return self

    def _log_density(self, query: Rows, ref: Rows) -> np.ndarray:
        dist, _ = self.space.nearest(query, ref, k=self.k)
        kernel = -0.5 * (dist.astype(float) / self.bandwidth_) ** 2
        return logsumexp(kernel, axis=1) - np.log(len(ref))

    def scores(self, candidates: Rows) -> np.ndarray:
        return self._log_density(candidates, self.synthetic_) - self._log_density(
            candidates, self.reference_
        )
