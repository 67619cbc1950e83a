"""Privacy accounting: one Rényi-DP curve per model, converted to (epsilon, delta) once.

Every differentially private step of synthgen is a Gaussian mechanism: noisy counts and
histograms (zero-concentrated DP, ``rho``), private selection by the exponential mechanism
(``rho = eps**2 / 8``) and DP-SGD with Poisson sampling (the subsampled Gaussian of opacus'
RDP accountant). All of them are Rényi-DP curves ``eps(alpha)``, which add up over steps at
each order ``alpha`` (zCDP is the special case ``eps(alpha) = rho * alpha``). The total
curve is converted to ``(epsilon, delta)`` with the conversion of Balle et al. (2020), the one
opacus uses. Thresholded label discovery (see :mod:`synthgen.privacy.dp.preprocess`) adds a
fixed share of ``delta`` on top.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthgen.exceptions import ConfigurationError

__all__ = [
    "ORDERS",
    "PrivacyLedger",
    "check_budget",
    "epsilon_from_rdp",
    "rho_for_epsilon",
]

#: Rényi orders the curves are evaluated at: opacus' default alphas and larger integers
#: (integer orders keep the subsampled Gaussian's curve fast to compute).
ORDERS = np.unique(
    np.concatenate(
        [
            1.0 + np.arange(1, 100) / 10.0,
            np.arange(12, 64),
            np.round(np.geomspace(64, 4096, 25)),
        ]
    )
)


def check_budget(epsilon: Any, delta: Any) -> tuple[float, float]:
    """Validate a privacy budget; errors name the parameter.

    Examples
    --------
    >>> check_budget(3, 1e-5)
    (3.0, 1e-05)
    >>> check_budget(0, 1e-5)
    Traceback (most recent call last):
    ...
    synthgen.exceptions.ConfigurationError: epsilon must be a positive finite number, got 0
    """
    for name, value in (("epsilon", epsilon), ("delta", delta)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigurationError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise ConfigurationError(f"epsilon must be a positive finite number, got {epsilon!r}")
    if not 0 < delta < 1:
        raise ConfigurationError(f"delta must lie strictly between 0 and 1, got {delta!r}")
    return float(epsilon), float(delta)


def epsilon_from_rdp(rdp: np.ndarray, delta: float, orders: np.ndarray = ORDERS) -> float:
    """Smallest epsilon of an RDP curve at ``delta`` (Balle et al. 2020, as in opacus).

    Examples
    --------
    >>> round(epsilon_from_rdp(0.1 * ORDERS, 1e-5), 2)  # rho = 0.1 zCDP
    1.91
    """
    if delta <= 0:
        return math.inf
    rdp = np.asarray(rdp, dtype=float)
    eps = rdp - (math.log(delta) + np.log(orders)) / (orders - 1) + np.log((orders - 1) / orders)
    eps = eps[np.isfinite(eps)]
    return float(max(eps.min(), 0.0)) if len(eps) else math.inf


def rho_for_epsilon(epsilon: float, delta: float) -> float:
    """The largest zCDP ``rho`` whose curve converts to at most ``epsilon`` at ``delta``.

    Examples
    --------
    >>> rho = rho_for_epsilon(1.0, 1e-5)
    >>> round(epsilon_from_rdp(rho * ORDERS, 1e-5), 6)
    1.0
    """
    lo, hi = 0.0, max(1.0, epsilon)
    while epsilon_from_rdp(hi * ORDERS, delta) < epsilon:
        hi *= 2
    for _ in range(80):
        mid = (lo + hi) / 2
        if epsilon_from_rdp(mid * ORDERS, delta) <= epsilon:
            lo = mid
        else:
            hi = mid
    # A hair below the bound: a fit splits rho into shares whose curves the ledger adds up
    # again, and floating-point rounding of that sum must not tip it past ``epsilon``.
    return lo * (1.0 - 1e-9)


@dataclass
class PrivacyLedger:
    """What each private step of a fit spent, as RDP curves; converts the sum to (eps, delta).

    Parameters
    ----------
    delta : float
        The target delta of the whole fit.
    delta_threshold : float
        The share of ``delta`` reserved for thresholded label discovery (0 when none).

    Examples
    --------
    >>> ledger = PrivacyLedger(delta=1e-5)
    >>> ledger.add_zcdp("histograms", 0.05)
    >>> ledger.add_zcdp("marginals", 0.05)
    >>> round(ledger.epsilon(), 2)
    1.91
    """

    delta: float
    delta_threshold: float = 0.0
    entries: dict[str, np.ndarray] = field(default_factory=dict)

    def add_rdp(self, name: str, rdp: np.ndarray) -> None:
        """Add the RDP curve (at :data:`ORDERS`) of step ``name``."""
        rdp = np.asarray(rdp, dtype=float)
        self.entries[name] = self.entries.get(name, 0.0) + rdp

    def add_zcdp(self, name: str, rho: float) -> None:
        """Add a ``rho``-zCDP step (Gaussian mechanisms, exponential mechanism)."""
        self.add_rdp(name, rho * ORDERS)

    def rdp(self) -> np.ndarray:
        total = np.zeros_like(ORDERS)
        for curve in self.entries.values():
            total = total + curve
        return total

    def epsilon(self) -> float:
        """The epsilon spent so far at ``delta`` (the threshold share included)."""
        if not self.entries:
            return 0.0
        return epsilon_from_rdp(self.rdp(), self.delta - self.delta_threshold)

    def spent(self) -> dict[str, Any]:
        """JSON-ready summary: epsilon, delta and each step's epsilon on its own."""
        conv = self.delta - self.delta_threshold
        return {
            "epsilon": self.epsilon(),
            "delta": self.delta,
            "accounting": "Renyi DP (zCDP + subsampled Gaussian), Balle et al. 2020 conversion",
            "delta_threshold": self.delta_threshold,
            "steps": {k: epsilon_from_rdp(v, conv) for k, v in self.entries.items()},
        }
