"""Reversible transforms of integer codes ``0..K-1`` (categories, missing flags).

- ``"onehot"``: K columns, softmax activation (GAN, VAE, diffusion).
- ``"frequency"``: one standard-normal score; code k owns the probability interval of its
  frequency (Gaussian copula, independent marginals).
- ``"index"``: the code itself as one number (embedding-based models such as the transformer).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri

from synthgen.transforms import _state
from synthgen.transforms.score_bins import ScoreBins

__all__ = ["DISCRETE_METHODS", "make_discrete_transform"]


class _Codes:
    method = ""

    def __init__(self) -> None:
        self.n_codes = 0
        self.freq: np.ndarray = np.empty(0)

    def fit(
        self,
        codes: np.ndarray,
        n_codes: int,
        rng: np.random.Generator | None,
        score: np.ndarray | None = None,
    ) -> _Codes:
        """Learn code frequencies; ``score`` (one number per row) may order the codes."""
        self.n_codes = int(n_codes)
        counts = np.bincount(codes, minlength=self.n_codes).astype(float)
        self.freq = counts / max(counts.sum(), 1.0)
        return self

    def get_state(self) -> dict[str, Any]:
        return {"method": self.method, "n_codes": self.n_codes, "freq": self.freq.tolist()}

    def set_state(self, state: dict[str, Any]) -> _Codes:
        """Restore :meth:`get_state` output (checked: a saved model is untrusted)."""
        if state.get("method", self.method) != self.method:
            raise ValueError(f"code transform is {state.get('method')!r}, expected {self.method!r}")
        self.n_codes = _state.integer(state, "n_codes", 1, _state.MAX_STATE_LENGTH)
        self.freq = _state.numbers(state, "freq", length=self.n_codes)
        if (self.freq < 0).any() or self.freq.sum() > 1 + 1e-6:
            raise ValueError("freq must be non-negative shares summing to 1")
        return self


class OneHot(_Codes):
    """One column per code.

    Examples
    --------
    >>> t = OneHot().fit(np.array([0, 2, 1]), 3, None)
    >>> t.transform(np.array([2]), None).tolist()
    [[0.0, 0.0, 1.0]]
    >>> t.inverse(np.array([[0.1, 0.7, 0.2]])).tolist()
    [1]
    """

    method = "onehot"

    @property
    def dims(self) -> tuple[tuple[str, int, str], ...]:
        return (("", self.n_codes, "softmax"),)

    def transform(self, codes: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        out = np.zeros((len(codes), self.n_codes))
        out[np.arange(len(codes)), codes] = 1.0
        return out

    def inverse(self, enc: np.ndarray) -> np.ndarray:
        return np.asarray(enc).argmax(axis=1)


class Frequency(_Codes):
    """One normal score per code: code k maps into its own slice of the cumulative frequency.

    The slices follow :attr:`order`. By default that is the code order; given a ``score`` per
    row at fit time, codes are ordered by their mean score, so categories that go with similar
    values elsewhere in the row sit next to each other and a Gaussian copula can express the
    relation.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> codes = np.array([0, 0, 1, 2, 2, 2])
    >>> t = Frequency().fit(codes, 3, rng, score=np.array([5, 5, 0, 1, 1, 1.0]))
    >>> t.order.tolist()
    [1, 2, 0]
    >>> t.inverse(t.transform(codes, rng)).tolist()
    [0, 0, 1, 2, 2, 2]
    """

    method = "frequency"
    dims: tuple[tuple[str, int, str], ...] = (("", 1, "identity"),)

    def __init__(self) -> None:
        super().__init__()
        self.order: np.ndarray = np.empty(0, dtype=np.int64)

    def fit(
        self,
        codes: np.ndarray,
        n_codes: int,
        rng: np.random.Generator | None,
        score: np.ndarray | None = None,
    ) -> Frequency:
        super().fit(codes, n_codes, rng)
        if score is None:
            self.order = np.arange(self.n_codes)
        else:
            sums = np.bincount(codes, weights=score, minlength=self.n_codes)
            counts = np.bincount(codes, minlength=self.n_codes)
            means = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)
            self.order = np.argsort(means, kind="stable")
        return self

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower bound and width of each code's slice of [0, 1], indexed by code."""
        width = self.freq[self.order]
        lower = np.empty(self.n_codes)
        lower[self.order] = np.cumsum(width) - width
        return lower, self.freq

    def transform(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        lower, width = self._bounds()
        u = lower[codes] + width[codes] * (0.02 + 0.96 * rng.random(len(codes)))
        return ndtri(np.clip(u, 1e-9, 1 - 1e-9))[:, None]

    def inverse(self, enc: np.ndarray) -> np.ndarray:
        z = np.asarray(enc, dtype=float).reshape(len(enc), -1)[:, 0]
        return self.order[self._bins()(z)]

    def _bins(self) -> ScoreBins:
        """The slices' lookup (:mod:`.score_bins`), made again when ``freq`` or ``order``
        is replaced (by :meth:`fit` or :meth:`set_state`)."""
        cached = getattr(self, "_cached_bins", None)
        if cached is None or cached[0] is not self.freq or cached[1] is not self.order:
            bins = ScoreBins(np.cumsum(self.freq[self.order]))
            self._cached_bins = cached = (self.freq, self.order, bins)
        return cached[2]

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "order": self.order.tolist()}

    def set_state(self, state: dict[str, Any]) -> Frequency:
        super().set_state(state)
        if "order" not in state:
            self.order = np.arange(self.n_codes)
            return self
        order = _state.numbers(state, "order", length=self.n_codes)
        if not np.array_equal(np.sort(order), np.arange(self.n_codes)):
            raise ValueError("order must be a permutation of the codes")
        self.order = order.astype(np.int64)
        return self


class Index(_Codes):
    """The code as a single number.

    Examples
    --------
    >>> t = Index().fit(np.array([0, 1]), 2, None)
    >>> t.inverse(t.transform(np.array([1, 0]), None)).tolist()
    [1, 0]
    """

    method = "index"
    dims: tuple[tuple[str, int, str], ...] = (("", 1, "index"),)

    def transform(self, codes: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        return codes.astype(float)[:, None]

    def inverse(self, enc: np.ndarray) -> np.ndarray:
        codes = np.rint(np.asarray(enc, dtype=float).reshape(len(enc), -1)[:, 0])
        return np.clip(codes, 0, self.n_codes - 1).astype(np.int64)


DISCRETE_METHODS = {"onehot": OneHot, "frequency": Frequency, "index": Index}


def make_discrete_transform(method: str) -> OneHot | Frequency | Index:
    """A fresh code transform for ``method`` (``"onehot"``, ``"frequency"`` or ``"index"``)."""
    return DISCRETE_METHODS[method]()
