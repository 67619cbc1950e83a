"""The Rényi curve of the subsampled Gaussian mechanism, vectorised.

DP-SGD's privacy per step is that of the Gaussian mechanism on a Poisson subsample (Mironov,
Talwar and Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism", 2019): at
an integer order ``a`` the log of ``A_a`` is a finite sum of ``a + 1`` binomial terms; at a
fractional order it is two alternating series, summed until their terms fall below
``exp(-30)``. opacus' ``compute_rdp`` sums them one term at a time in Python, about half a
second for the 176 orders of :data:`~synthgen.privacy.dp.accounting.ORDERS`, and the noise
search of every private fit asks for a dozen curves. Here each order's terms are computed as
arrays and summed as a signed sum scaled by the largest term: the same formulas and the same
stopping rule, in about 20 ms. Tested against opacus at many sample rates and noise
multipliers: within 5e-8 relative or 1e-12 absolute (both lose digits where ``A`` is close to
1: small sample rates, much noise, orders near 1), and closer to a high-precision integral
than opacus in every case checked (``mpmath``, 80 digits: relative errors of 6e-9 to 8e-3
against 1e-8 to 5e-2 at orders 1.1 to 1.3 and sample rates down to 1e-5). Where opacus'
binomial coefficient overflows (integer orders past about a thousand) the order's value is
``inf``, as there, so no order the accountant skipped before is used now.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = ["subsampled_gaussian_rdp"]

#: A series stops after its first term whose log is below this (as opacus' does).
_STOP = -30.0

#: Terms of a fractional order's series computed at once (more in further blocks).
_BLOCK = 256

#: Most terms of a fractional order's series (a guard; far past any practical noise).
_MOST_TERMS = 1 << 22


def subsampled_gaussian_rdp(
    sample_rate: float, noise_multiplier: float, orders: np.ndarray
) -> np.ndarray:
    """The Rényi divergence of one step of the subsampled Gaussian mechanism at ``orders``.

    Parameters
    ----------
    sample_rate : float
        Probability that a row is in a step's batch (Poisson sampling), in [0, 1].
    noise_multiplier : float
        The noise's standard deviation over the clipping norm.
    orders : array of float
        Rényi orders, each above 1.

    Returns
    -------
    ndarray
        One value per order (``inf`` where it does not exist or overflows).

    Examples
    --------
    >>> rdp = subsampled_gaussian_rdp(1.0, 2.0, np.array([2.0, 8.0]))  # no subsampling
    >>> rdp.tolist()  # a / (2 sigma^2)
    [0.25, 1.0]
    >>> small = subsampled_gaussian_rdp(0.01, 2.0, np.array([2.0, 8.0]))  # a 1% sample
    >>> bool((0 < small).all() and (small < rdp).all())
    True
    """
    q, sigma = float(sample_rate), float(noise_multiplier)
    out = np.empty(len(orders))
    for k, alpha in enumerate(np.asarray(orders, dtype=float)):
        if q == 0:
            out[k] = 0.0
        elif sigma == 0 or math.isinf(alpha):
            out[k] = math.inf
        elif q == 1.0:
            out[k] = alpha / (2 * sigma**2)
        else:
            out[k] = _log_a(q, sigma, alpha) / (alpha - 1)
    return out


def _log_a(q: float, sigma: float, alpha: float) -> float:
    if float(alpha).is_integer():
        return _log_a_int(q, sigma, int(alpha))
    return _log_a_frac(q, sigma, alpha)


def _log_a_int(q: float, sigma: float, alpha: int) -> float:
    """log A at an integer order: ``a + 1`` positive terms."""
    i = np.arange(alpha + 1, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_coef = np.log(special.binom(alpha, i))  # inf where it overflows, as in opacus
        terms = log_coef + i * math.log(q) + (alpha - i) * math.log(1 - q)
        terms = terms + (i * i - i) / (2 * sigma**2)
    if np.isposinf(terms).any():
        return math.inf
    return _signed_log_sum(terms, np.ones_like(terms))


def _log_a_frac(q: float, sigma: float, alpha: float) -> float:
    """log A at a fractional order: two series of alternating signs, each summed up to and
    including the first term where both are below ``exp(-30)``."""
    z0 = sigma**2 * math.log(1 / q - 1) + 0.5
    parts0, parts1, signs = [], [], []
    start = 0
    while start < _MOST_TERMS:
        i = np.arange(start, start + _BLOCK, dtype=float)
        coef = special.binom(alpha, i)
        j = alpha - i
        with np.errstate(divide="ignore"):
            log_coef = np.log(np.abs(coef))
        log_t0 = log_coef + i * math.log(q) + j * math.log(1 - q)
        log_t1 = log_coef + j * math.log(q) + i * math.log(1 - q)
        log_e0 = math.log(0.5) + _log_erfc((i - z0) / (math.sqrt(2) * sigma))
        log_e1 = math.log(0.5) + _log_erfc((z0 - j) / (math.sqrt(2) * sigma))
        s0 = log_t0 + (i * i - i) / (2 * sigma**2) + log_e0
        s1 = log_t1 + (j * j - j) / (2 * sigma**2) + log_e1
        done = np.flatnonzero(np.maximum(s0, s1) < _STOP)
        stop = int(done[0]) + 1 if len(done) else _BLOCK
        parts0.append(s0[:stop])
        parts1.append(s1[:stop])
        signs.append(np.where(coef[:stop] > 0, 1.0, -1.0))
        if len(done):
            break
        start += _BLOCK
    else:
        raise ArithmeticError("the subsampled Gaussian's series did not converge")
    sign = np.concatenate(signs)
    a0 = _signed_log_sum(np.concatenate(parts0), sign)
    a1 = _signed_log_sum(np.concatenate(parts1), sign)
    return float(np.logaddexp(a0, a1))


def _signed_log_sum(log_terms: np.ndarray, sign: np.ndarray) -> float:
    """log of the sum of ``sign * exp(log_terms)`` (which is positive), scaled by the
    largest term."""
    top = float(np.max(log_terms))
    if math.isinf(top):
        return top
    total = float(np.dot(sign, np.exp(log_terms - top)))
    if total <= 0:
        raise ArithmeticError("the subsampled Gaussian's series summed to zero or below")
    return top + math.log(total)


def _log_erfc(x: np.ndarray) -> np.ndarray:
    """log(erfc(x)), accurate far into the tail."""
    return math.log(2) + special.log_ndtr(-x * 2**0.5)
