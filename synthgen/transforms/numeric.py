"""Reversible transforms of one numeric array (no missing values: those are handled upstream).

Three methods, all with JSON-ready state:

- ``"quantile"``: the empirical quantile function, mapped to a standard normal score
  (copula, diffusion). Point masses (many equal values) get spread over their probability
  interval with random jitter, so the inverse gives the exact value back.
- ``"gmm"``: mode-specific normalisation (Xu et al. 2019): a Gaussian mixture fitted on a bounded
  subsample; each value becomes the one-hot of a mode sampled from its posterior and its scaled
  offset inside that mode (GAN, VAE).
- ``"minmax"``: a linear map of the observed range onto [-1, 1].
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from synthgen.schema.safe import DEFAULT_MIN_COUNT, avoid_rare, safe_quantiles
from synthgen.transforms import _state
from synthgen.transforms.interp import grid_interp

__all__ = ["NUMERIC_METHODS", "make_numeric_transform"]

# Normal scores are clipped here: the extremes of the data map to about +/-8 sigma.
_ZMAX = 8.3


def _interp_both(
    x: np.ndarray, q: np.ndarray, lv: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.searchsorted(q, x, "right")``, ``np.interp(x, q, lv)`` and ``np.interp(x, q, 1 -
    lv)`` from one search: numpy's interpolation formula (and its fallbacks) on the segment
    the search finds, so the results are bit for bit numpy's, at half the cost."""
    hi = np.searchsorted(q, x, side="right")
    last = len(q) - 1
    up = 1.0 - lv
    if last == 0:  # one quantile: the left or right value everywhere
        return hi, np.full(len(x), lv[0]), np.full(len(x), up[0])
    j = np.clip(hi - 1, 0, last - 1)
    q0, q1 = q[j], q[j + 1]
    out = []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for f in (lv, up):
            slope = (f[j + 1] - f[j]) / (q1 - q0)
            y = slope * (x - q0) + f[j]
            bad = np.isnan(y)
            if bad.any():  # as numpy: from the right end, then the flat value
                y[bad] = (slope * (x - q1) + f[j + 1])[bad]
                flat = bad & np.isnan(y) & (f[j] == f[j + 1])
                y[flat] = f[j][flat]
            y[x < q[0]] = f[0]
            y[x >= q[last]] = f[last]
            out.append(y)
    return hi, out[0], out[1]


class QuantileNormal:
    """Map values to standard-normal scores through their empirical distribution.

    The stored table is not the data (see :func:`synthgen.schema.safe.safe_quantiles`): at
    most one entry per ``min_count`` rows, interpolated, its ends the means of the
    ``min_count`` most extreme values. Values held by many rows (point masses) come back
    exactly; ``min_count=1`` keeps the exact empirical table, which gives every value back.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.array([1.0, 2.0, 2.0, 3.0, 10.0])
    >>> t = QuantileNormal(min_count=1).fit(x, rng)
    >>> z = t.transform(x, rng)
    >>> np.allclose(t.inverse(z), x)
    True
    >>> t = QuantileNormal().fit(np.arange(100.0), rng)
    >>> len(t.quantiles), bool(np.isin(t.quantiles, np.arange(100.0)).any())
    (21, False)
    """

    method = "quantile"
    dims: tuple[tuple[str, int, str], ...] = (("value", 1, "identity"),)

    def __init__(self, n_quantiles: int = 1000, min_count: int = DEFAULT_MIN_COUNT) -> None:
        self.n_quantiles = n_quantiles
        self.min_count = min_count
        self.levels: np.ndarray = np.empty(0)
        self.quantiles: np.ndarray = np.empty(0)

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> QuantileNormal:
        return self._use(
            safe_quantiles(np.asarray(x, dtype=float), self.n_quantiles, self.min_count)
        )

    def _use(self, quantiles: np.ndarray) -> QuantileNormal:
        """Take ``quantiles`` (sorted), their even levels, and the decoder's two tables: the
        lower tail's, and the upper tail's (levels and values reversed)."""
        self.quantiles = quantiles
        self.levels = np.linspace(0.0, 1.0, len(quantiles))
        self._grid = np.stack([self.levels, (1.0 - self.levels)[::-1]])
        self._values = np.stack([quantiles, quantiles[::-1]])
        return self

    def _tails(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Lower- and upper-tail probabilities of ``x`` (both kept so extremes stay precise).

        Values tied on a point mass are spread uniformly over that mass, so decoding gives
        the exact value back.
        """
        q, lv = self.quantiles, self.levels
        hi, u, s = _interp_both(x, q, lv)
        lo = hi.copy()  # equal to hi unless x is one of the quantiles
        on = np.flatnonzero(x == q[np.maximum(hi - 1, 0)])
        lo[on] = np.searchsorted(q, x[on], side="left")
        tied = hi - lo > 1
        if tied.any():
            a = lv[lo[tied]]
            width = lv[hi[tied] - 1] - a
            r = width * (0.02 + 0.96 * rng.random(int(tied.sum())))
            u[tied] = a + r
            s[tied] = (1.0 - a) - r
        return u, s

    def transform(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u, s = self._tails(x, rng)
        with np.errstate(divide="ignore"):
            z = np.where(u < 0.5, ndtri(u), -ndtri(s))
        return np.clip(z, -_ZMAX, _ZMAX)[:, None]

    def inverse(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float).reshape(len(z), -1)[:, 0]
        # each side from its own tail (precise at both ends): the lower tail's table for
        # z < 0, the upper tail's for the rest
        side = (~(z < 0)).astype(np.intp)
        return grid_interp(ndtr(-np.abs(z)), self._grid, self._values, side)

    def get_state(self) -> dict[str, Any]:
        return {"method": self.method, "quantiles": self.quantiles.tolist()}

    def set_state(self, state: dict[str, Any]) -> QuantileNormal:
        _check_method(state, self.method)
        quantiles = _state.numbers(state, "quantiles", min_length=2)
        if (np.diff(quantiles) < 0).any():
            raise ValueError("quantiles must be sorted")
        return self._use(quantiles)


class ModeNormal:
    """Mode-specific normalisation with a Gaussian mixture fitted on a bounded subsample.

    A column with at most ``max_discrete`` distinct values (a code such as years of education)
    gets one exact mode per value, so it is generated like a category and keeps its exact
    relation to other columns. Otherwise, a value held by at least ``spike_share`` of the rows
    and by ``spike_ratio`` times the share an even spread over the distinct values would give
    (a point mass: the zeros of a capital gain, the 40 of weekly hours) gets a mode of its own
    that decodes to exactly that value, whatever the generator outputs in the value slot; the
    Gaussian modes model the other values. Without this, a point mass becomes a narrow
    Gaussian whose decoded values scatter around it, which distribution tests (and detection
    classifiers) see at once.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 1, 300), rng.normal(50, 2, 300)])
    >>> t = ModeNormal(max_modes=5).fit(x, rng)
    >>> enc = t.transform(x, rng)
    >>> enc.shape[1] == 1 + len(t.means)
    True
    >>> bool(np.abs(t.inverse(enc) - x).max() < 1e-6)
    True
    >>> gains = np.where(rng.random(1000) < 0.9, 0.0, rng.lognormal(8, 1, 1000))
    >>> t = ModeNormal().fit(gains, rng)
    >>> enc = t.transform(gains, rng)
    >>> enc[:, 0] += rng.normal(0, 0.05, len(enc))  # a generator's imperfect value output
    >>> bool((t.inverse(enc)[gains == 0] == 0).all())
    True
    """

    method = "gmm"

    def __init__(
        self,
        max_modes: int = 10,
        max_fit_rows: int = 5000,
        min_weight: float = 5e-3,
        spike_share: float = 0.02,
        max_discrete: int = 16,
        spike_ratio: float = 0.0,
        min_count: int = DEFAULT_MIN_COUNT,
    ):
        self.min_count = min_count
        self.max_modes = max_modes
        self.max_fit_rows = max_fit_rows
        self.min_weight = min_weight
        self.spike_share = spike_share
        self.max_discrete = max_discrete
        self.spike_ratio = spike_ratio
        self.means: np.ndarray = np.empty(0)
        self.stds: np.ndarray = np.empty(0)
        self.weights: np.ndarray = np.empty(0)
        self.spikes: np.ndarray = np.empty(0, dtype=bool)

    @property
    def dims(self) -> tuple[tuple[str, int, str], ...]:
        return (("value", 1, "tanh"), ("mode", len(self.means), "softmax"))

    def fit(self, x: np.ndarray, rng: np.random.Generator) -> ModeNormal:
        self._fit_modes(x, rng)
        # An exact mode is a value held by min_count rows or more; a Gaussian mode's mean must
        # not be a value held by fewer (a mode fitted to one outlier would store it).
        gauss = ~self.spikes
        if gauss.any():
            self.means[gauss] = avoid_rare(self.means[gauss], x, self.min_count)
        return self

    def _fit_modes(self, x: np.ndarray, rng: np.random.Generator) -> None:
        values, counts = np.unique(x, return_counts=True)  # point masses: on every row
        share = counts / max(len(x), 1)
        common = counts >= self.min_count  # only these may be stored as exact values
        if 1 < len(values) <= self.max_discrete and common.all():
            # a few distinct values: one exact mode each
            self.means, self.stds = values.astype(float), np.ones(len(values))
            self.weights = share
            self.spikes = np.ones(len(values), dtype=bool)
            return
        if 1 < len(values) <= self.max_discrete:
            spike_values = values[common]  # the rare values go to a Gaussian mode
        else:
            top = np.argsort(-share, kind="stable")[: max(self.max_modes - 1, 0)]
            # (with spike_ratio > 0, the common ages of an age column are not point masses)
            bar = max(self.spike_share, self.spike_ratio / len(values))
            top = top[(share[top] >= bar) & common[top]]
            spike_values = np.sort(values[top])
        spike_weights = share[np.isin(values, spike_values)]
        rest_x = x[~np.isin(x, spike_values)]
        if len(spike_values) and len(rest_x) == 0:  # only point masses
            self.means, self.stds = spike_values.astype(float), np.ones(len(spike_values))
            self.weights = spike_weights / spike_weights.sum()
            self.spikes = np.ones(len(spike_values), dtype=bool)
            return
        self._fit_gaussians(rest_x, rng, max(self.max_modes - len(spike_values), 1))
        rest_share = 1.0 - float(spike_weights.sum())
        self.means = np.concatenate([spike_values.astype(float), self.means])
        self.stds = np.concatenate([np.ones(len(spike_values)), self.stds])
        self.weights = np.concatenate([spike_weights, rest_share * self.weights])
        self.weights = self.weights / self.weights.sum()
        self.spikes = np.arange(len(self.means)) < len(spike_values)

    def _fit_gaussians(self, x: np.ndarray, rng: np.random.Generator, max_modes: int) -> None:
        from sklearn.mixture import BayesianGaussianMixture

        if len(x) > self.max_fit_rows:
            x = rng.choice(x, self.max_fit_rows, replace=False)
        span = float(np.ptp(x)) if len(x) else 0.0
        floor = max(span * 1e-3, 1e-6)
        distinct = np.unique(x)
        k = int(min(max_modes, len(distinct)))
        if k <= 1:
            self.means = np.array([float(x.mean()) if len(x) else 0.0])
            self.stds = np.array([max(float(x.std()) if len(x) else 0.0, floor)])
            self.weights = np.array([1.0])
            return
        gmm = BayesianGaussianMixture(
            n_components=k,
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=1e-3,
            max_iter=100,
            n_init=1,
            random_state=int(rng.integers(2**31 - 1)),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmm.fit(x.reshape(-1, 1))
        keep = gmm.weights_ > self.min_weight
        if not keep.any():
            keep = gmm.weights_ >= gmm.weights_.max()
        self.means = gmm.means_.ravel()[keep]
        self.stds = np.maximum(np.sqrt(gmm.covariances_.ravel()[keep]), floor)
        self.weights = gmm.weights_[keep] / gmm.weights_[keep].sum()

    def _mode_posterior(self, x: np.ndarray) -> np.ndarray:
        """Posterior ``(n, modes)`` of each value's mode: a value equal to a point mass
        belongs to it, any other value to the Gaussian modes by their densities."""
        spikes = self.spikes
        z = (x[:, None] - self.means[None, :]) / self.stds[None, :]
        logp = -0.5 * z**2 - np.log(self.stds)[None, :] + np.log(self.weights)[None, :]
        logp[:, spikes] = -np.inf
        on_spike = x[:, None] == self.means[None, spikes]
        hit = on_spike.any(axis=1)
        if hit.any():
            logp[hit] = -np.inf
            logp[np.ix_(hit, spikes)] = np.where(on_spike[hit], 0.0, -np.inf)
        if spikes.all():  # only point masses: a stray value goes to the nearest one
            miss = ~hit
            logp[miss] = -np.abs(x[miss, None] - self.means[None, :])
        logp -= logp.max(axis=1, keepdims=True)
        p = np.exp(logp)
        return p / p.sum(axis=1, keepdims=True)

    def transform(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        p = self._mode_posterior(x)
        # Sample each value's mode from its posterior (as CTGAN) with inverse-CDF draws.
        mode = (p.cumsum(axis=1) < rng.random((len(x), 1))).sum(axis=1)
        mode = np.minimum(mode, len(self.means) - 1)
        value = np.where(self.spikes[mode], 0.0, (x - self.means[mode]) / (4.0 * self.stds[mode]))
        out = np.zeros((len(x), 1 + len(self.means)))
        out[:, 0] = value
        out[np.arange(len(x)), 1 + mode] = 1.0
        return out

    def inverse(self, enc: np.ndarray) -> np.ndarray:
        enc = np.asarray(enc, dtype=float)
        mode = enc[:, 1:].argmax(axis=1)
        out = enc[:, 0] * 4.0 * self.stds[mode] + self.means[mode]
        return np.where(self.spikes[mode], self.means[mode], out)

    def get_state(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "means": self.means.tolist(),
            "stds": self.stds.tolist(),
            "weights": self.weights.tolist(),
            "spikes": self.spikes.tolist(),
        }

    def set_state(self, state: dict[str, Any]) -> ModeNormal:
        _check_method(state, self.method)
        self.means = _state.numbers(state, "means", min_length=1, max_length=_MAX_MODES)
        k = len(self.means)
        self.stds = _state.numbers(state, "stds", length=k)
        self.weights = _state.numbers(state, "weights", length=k)
        if "spikes" in state:
            self.spikes = _state.numbers(state, "spikes", length=k, dtype=bool)
        else:
            self.spikes = np.zeros(k, dtype=bool)
        if (self.stds <= 0).any() or (self.weights < 0).any() or self.weights.sum() <= 0:
            raise ValueError("mixture stds must be positive and weights non-negative")
        return self


class MinMax:
    """Linear map of ``[min, max]`` onto ``[-1, 1]``.

    Examples
    --------
    >>> t = MinMax().fit(np.array([0.0, 5.0, 10.0]), np.random.default_rng(0))
    >>> t.transform(np.array([5.0]), None).ravel().tolist()
    [0.0]
    """

    method = "minmax"
    dims: tuple[tuple[str, int, str], ...] = (("value", 1, "tanh"),)

    def __init__(self) -> None:
        self.low = 0.0
        self.high = 1.0

    def fit(self, x: np.ndarray, rng: np.random.Generator | None) -> MinMax:
        if len(x):
            self.low, self.high = float(x.min()), float(x.max())
        return self

    def transform(self, x: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        width = max(self.high - self.low, 1e-12)
        return (2.0 * (x - self.low) / width - 1.0)[:, None]

    def inverse(self, enc: np.ndarray) -> np.ndarray:
        v = np.clip(np.asarray(enc, dtype=float)[:, 0], -1.0, 1.0)
        return (v + 1.0) / 2.0 * (self.high - self.low) + self.low

    def get_state(self) -> dict[str, Any]:
        return {"method": self.method, "low": self.low, "high": self.high}

    def set_state(self, state: dict[str, Any]) -> MinMax:
        _check_method(state, self.method)
        self.low, self.high = _state.number(state, "low"), _state.number(state, "high")
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


#: Most mixture modes a saved ``"gmm"`` state may hold.
_MAX_MODES = 10_000


def _check_method(state: dict[str, Any], method: str) -> None:
    if state.get("method", method) != method:
        raise ValueError(f"numeric transform is {state.get('method')!r}, expected {method!r}")


NUMERIC_METHODS = {"quantile": QuantileNormal, "gmm": ModeNormal, "minmax": MinMax}


def make_numeric_transform(method: str, **kwargs: Any) -> QuantileNormal | ModeNormal | MinMax:
    """A fresh numeric transform for ``method`` (``"quantile"``, ``"gmm"`` or ``"minmax"``)."""
    return NUMERIC_METHODS[method](**kwargs)
