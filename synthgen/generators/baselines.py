"""Simple baselines: independent marginals, a Gaussian copula, and a leaky copying canary.

Both proper baselines share one representation: the encoder maps every column (and every
missing-value flag) to a standard-normal score through its empirical distribution. Independent
marginals draw each score alone; the copula draws them jointly from the correlation matrix of
the training scores, which keeps pairwise dependence at almost no cost.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from synthgen.exceptions import PersistenceError
from synthgen.generators.base import BaseGenerator
from synthgen.generators.params import Real
from synthgen.generators.tags import GeneratorTags

__all__ = ["CopyCanary", "GaussianCopula", "IndependentMarginals"]


class IndependentMarginals(BaseGenerator):
    """Each column drawn on its own from its empirical distribution.

    Keeps column shapes exactly and loses every relation between columns: a floor to beat.

    Parameters
    ----------
    random_state : int, optional
        Seed for fitting and sampling.
    verbose : bool
        Show a progress bar while sampling.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    >>> IndependentMarginals(random_state=0).fit(df).sample(3).shape
    (3, 2)
    """

    key = "marginals"
    tags = GeneratorTags(conditioning=True)
    encoder_params: ClassVar[dict[str, Any]] = {"numeric": "quantile", "discrete": "frequency"}

    def __init__(self, *, random_state: int | None = None, verbose: bool = False) -> None:
        self.random_state = random_state
        self.verbose = verbose

    def _fit_encoded(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        self.n_scores_ = matrix.shape[1]

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n_samples, self.n_scores_))

    def _sample_encoded_given(
        self, matrix: np.ndarray, known: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        # Columns are independent: fixed scores stay, the others are drawn as usual.
        return np.where(known, matrix, rng.standard_normal(matrix.shape))

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"n_scores": self.n_scores_}, {}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        n = meta.get("n_scores")
        if n != self.encoder_.output_dim or isinstance(n, bool):
            raise PersistenceError(
                f"n_scores is {n!r}, but the encoder produces {self.encoder_.output_dim} scores"
            )
        self.n_scores_ = n


#: The least eigenvalue the copula's correlation keeps (smaller ones are clipped to it).
_EIGEN_FLOOR = 1e-6
#: Shrinkage from which no eigenvalue can fall under ``_EIGEN_FLOOR`` (shrinkage ``s`` keeps
#: every eigenvalue of a correlation matrix at least ``s``; the margin absorbs rounding).
_NO_CLIP_SHRINKAGE = 1e-5


class GaussianCopula(BaseGenerator):
    """Gaussian copula over empirical marginals: the fast default.

    Every column becomes a normal score (numbers through their quantiles, categories through
    their frequency intervals, missing cells through a flag); rows are drawn from a multivariate
    normal with the scores' correlation matrix and mapped back. Category intervals are ordered
    by each category's mean on the table's first principal component, so related categories
    are neighbours and the copula's linear dependence can carry category relations.

    Parameters
    ----------
    shrinkage : float
        Weight pulled from the estimated correlation towards the identity, in [0, 1); a little
        keeps the matrix well conditioned.
    random_state : int, optional
        Seed for fitting and sampling.
    verbose : bool
        Show a progress bar while sampling.

    Examples
    --------
    >>> import synthgen as sg
    >>> df = sg.datasets.load_adult().head(500)
    >>> model = GaussianCopula(random_state=0).fit(df)
    >>> synthetic = model.sample(100, random_state=1)
    >>> list(synthetic.columns) == list(df.columns)
    True
    """

    key = "copula"
    tags = GeneratorTags(conditioning=True)
    encoder_params: ClassVar[dict[str, Any]] = {
        "numeric": "quantile",
        "discrete": "frequency",
        "category_order": "pc1",
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "shrinkage": [Real(0, 1, open_high=True)]
    }

    def __init__(
        self, *, shrinkage: float = 1e-3, random_state: int | None = None, verbose: bool = False
    ) -> None:
        self.shrinkage = shrinkage
        self.random_state = random_state
        self.verbose = verbose

    def _fit_encoded(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        z = matrix.astype(np.float64)
        std = z.std(axis=0)
        centred = (z - z.mean(axis=0)) / np.where(std > 0, std, 1.0)
        self._set_correlation(centred.T @ centred / len(z))

    def _fit_moments(self, covariance: np.ndarray) -> None:
        """Fit from the covariance of every encoded row (a fit streamed in row groups, see
        :mod:`synthgen.generators.streamed`): the correlation :meth:`_fit_encoded` computes."""
        std = np.sqrt(np.maximum(np.diag(covariance), 0.0))
        scale = np.where(std > 1e-12, std, 1.0)
        self._set_correlation(covariance / np.outer(scale, scale))

    def _set_correlation(self, corr: np.ndarray) -> None:
        d = corr.shape[0]
        if d == 0:  # nothing encoded (every column generated without a model)
            self.correlation_ = np.zeros((0, 0))
            self.cholesky_ = np.zeros((0, 0))
            return
        np.fill_diagonal(corr, 1.0)
        corr *= 1.0 - self.shrinkage
        corr[np.diag_indices(d)] += self.shrinkage
        # The scores' correlation has no negative eigenvalue but for rounding, so with enough
        # shrinkage every eigenvalue is at least about ``shrinkage``, above the floor below:
        # Cholesky alone (9 s at 10,000 scores, where the eigendecomposition and the rebuild
        # took 200 s). Otherwise, or where Cholesky still fails, tiny or negative eigenvalues
        # are clipped first.
        if self.shrinkage >= _NO_CLIP_SHRINKAGE:
            try:
                self.cholesky_ = np.linalg.cholesky(corr)
                self.correlation_ = corr
                return
            except np.linalg.LinAlgError:
                pass
        vals, vecs = np.linalg.eigh(corr)
        vals = np.maximum(vals, _EIGEN_FLOOR)
        corr = (vecs * vals) @ vecs.T
        scale = np.sqrt(np.diag(corr))
        corr = corr / np.outer(scale, scale)
        self.correlation_ = corr
        self.cholesky_ = np.linalg.cholesky(corr)

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        noise = rng.standard_normal((n_samples, self.cholesky_.shape[0]))
        return noise @ self.cholesky_.T

    def _sample_encoded_given(
        self, matrix: np.ndarray, known: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Gaussian conditioning: free scores given the fixed ones, per pattern of fixed dims."""
        out = np.array(matrix, dtype=np.float64)
        noise = rng.standard_normal(out.shape)
        patterns, inverse = np.unique(known, axis=0, return_inverse=True)
        corr = self.correlation_
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero(inverse.ravel() == p)
            free, fixed = np.flatnonzero(~pattern), np.flatnonzero(pattern)
            if len(free) == 0:
                continue
            if len(fixed) == 0:
                out[rows] = noise[rows] @ self.cholesky_.T
                continue
            s_ff = corr[np.ix_(fixed, fixed)]
            s_uf = corr[np.ix_(free, fixed)]
            gain = np.linalg.solve(s_ff, s_uf.T).T
            cov = corr[np.ix_(free, free)] - gain @ s_uf.T
            cov = (cov + cov.T) / 2.0 + 1e-9 * np.eye(len(free))
            vals, vecs = np.linalg.eigh(cov)
            root = vecs * np.sqrt(np.maximum(vals, 0.0))
            mean = out[np.ix_(rows, fixed)] @ gain.T
            out[np.ix_(rows, free)] = mean + noise[np.ix_(rows, free)] @ root.T
        return out

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"correlation": self.correlation_}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        # A saved file is untrusted: the matrix must be a correlation matrix of the encoder's
        # width (finiteness is checked when the file is read).
        d = self.encoder_.output_dim
        if "correlation" not in arrays:
            raise PersistenceError("the weights lack the 'correlation' matrix")
        corr = np.asarray(arrays["correlation"], dtype=np.float64)
        if corr.shape != (d, d):
            raise PersistenceError(
                f"the correlation matrix is {corr.shape}, but the encoder produces {d} scores"
            )
        if not (np.allclose(corr, corr.T) and np.allclose(np.diag(corr), 1.0)):
            raise PersistenceError(
                "the saved 'correlation' is not a symmetric unit-diagonal matrix"
            )
        try:
            self.cholesky_ = np.linalg.cholesky(corr) if d else np.zeros((0, 0))
        except np.linalg.LinAlgError:
            raise PersistenceError(
                "the saved 'correlation' matrix is not positive definite"
            ) from None
        self.correlation_ = corr


class CopyCanary(BaseGenerator):
    """A deliberately leaky generator that returns training rows: a canary for the privacy
    evaluators, which must flag it. Never use it to share data.

    Examples
    --------
    >>> import pandas as pd
    >>> import synthgen as sg
    >>> df = pd.DataFrame({"x": [1, 2, 3, 4, 5], "c": list("abcab")})
    >>> exact = sg.Schema.infer(df, min_count=1)  # store every label and value
    >>> rows = CopyCanary(random_state=0).fit(df, schema=exact).sample(5)
    >>> bool(rows.merge(df, how="left", indicator=True)["_merge"].eq("both").all())
    True
    """

    key = "copy"
    tags = GeneratorTags(canary=True)
    # Every label keeps its code (no cap on labels): the canary copies rows exactly.
    encoder_params: ClassVar[dict[str, Any]] = {
        "numeric": "minmax",
        "discrete": "index",
        "max_codes": None,
    }

    def __init__(self, *, random_state: int | None = None, verbose: bool = False) -> None:
        self.random_state = random_state
        self.verbose = verbose

    def _fit_encoded(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        self.rows_ = matrix

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        return self.rows_[rng.integers(0, len(self.rows_), n_samples)]

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"rows": self.rows_}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        rows = arrays.get("rows")
        if rows is None or rows.ndim != 2 or rows.shape[1] != self.encoder_.output_dim:
            raise PersistenceError("the saved 'rows' do not match the encoder's width")
        if len(rows) == 0:
            raise PersistenceError("the saved 'rows' are empty")
        self.rows_ = rows
