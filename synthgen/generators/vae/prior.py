"""The VAE's latent prior: a Gaussian mixture fitted to latent codes of training rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from synthgen.generators.vae.network import VAENet

__all__ = ["LatentMixture", "fit_latent_mixture"]

# Rows whose latent codes the mixture prior is fitted on (EM cost grows with them).
_PRIOR_ROWS = 5_000


class LatentMixture:
    """A full-covariance Gaussian mixture over latent codes, sampled with torch generators.

    Parameters
    ----------
    weights : tensor ``(k,)``
        Component probabilities.
    means : tensor ``(k, d)``
        Component means.
    scales : tensor ``(k, d, d)``
        Lower Cholesky factors of the component covariances.

    Examples
    --------
    >>> mix = LatentMixture(torch.tensor([1.0]), torch.ones(1, 2), torch.eye(2)[None] * 0.5)
    >>> gen = torch.Generator().manual_seed(0)
    >>> z = mix.transform(torch.randn(1000, 2, generator=gen), gen)
    >>> [round(v, 1) for v in z.mean(0).tolist()], [round(v, 1) for v in z.std(0).tolist()]
    ([1.0, 1.0], [0.5, 0.5])
    """

    def __init__(self, weights: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> None:
        self.weights, self.means, self.scales = weights, means, scales

    def transform(self, eps: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Map standard normal draws ``eps`` ``(n, d)`` to draws from the mixture."""
        comp = torch.multinomial(self.weights, len(eps), replacement=True, generator=generator)
        out = torch.empty_like(eps)
        for c in range(len(self.weights)):  # per component: no (n, d, d) gather in memory
            rows = torch.nonzero(comp == c).ravel()
            out[rows] = self.means[c] + eps[rows] @ self.scales[c].T
        return out

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays to save under ``prefix``."""
        return {
            f"{prefix}.{name}": getattr(self, name).detach().cpu().numpy()
            for name in ("weights", "means", "scales")
        }

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], prefix: str, device: Any
    ) -> LatentMixture | None:
        """The mixture saved by :meth:`arrays`, or ``None`` when none was saved."""
        if f"{prefix}.weights" not in arrays:
            return None
        return cls(
            *(
                torch.as_tensor(np.asarray(arrays[f"{prefix}.{n}"]), device=device)
                for n in ("weights", "means", "scales")
            )
        )


def fit_latent_mixture(
    net: VAENet,
    matrix: np.ndarray,
    n_components: int,
    device: Any,
    generator: torch.Generator,
    rng: np.random.Generator,
    expand: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> LatentMixture:
    """Fit a :class:`LatentMixture` to posterior draws ``mu + sigma * eps`` of training rows
    (at most ``_PRIOR_ROWS`` of them, chosen with ``rng``; ``expand`` widens stored rows, see
    :mod:`synthgen.generators.compact`)."""
    from sklearn.mixture import GaussianMixture

    rows = matrix
    if len(rows) > _PRIOR_ROWS:
        rows = matrix[np.sort(rng.choice(len(matrix), _PRIOR_ROWS, replace=False))]
    codes = []
    with torch.no_grad():
        for lo in range(0, len(rows), 8192):
            batch = torch.from_numpy(rows[lo : lo + 8192]).to(device)
            batch = batch if expand is None else expand(batch)
            mu, logvar = net.posterior(batch)
            eps = torch.randn(mu.shape, generator=generator, device=mu.device)
            codes.append((mu + eps * torch.exp(0.5 * logvar)).float().cpu().numpy())
    z = np.concatenate(codes).astype(np.float64)
    k = min(n_components, len(z))
    gmm = GaussianMixture(
        k,
        covariance_type="full",
        reg_covar=1e-4,
        max_iter=200,
        random_state=int(rng.integers(2**31 - 1)),
    ).fit(z)
    as_t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)  # noqa: E731
    return LatentMixture(
        as_t(gmm.weights_), as_t(gmm.means_), as_t(np.linalg.cholesky(gmm.covariances_))
    )
