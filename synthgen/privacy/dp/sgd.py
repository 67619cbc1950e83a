"""DP-SGD for the neural generators, on opacus' optimizer.

Each step draws a Poisson batch (every row in with probability ``sample_rate``: the sampling
the accountant assumes; see :class:`~synthgen.training.Trainer`'s ``sample_rate``), computes one
gradient per row with ``torch.func``, and hands them to opacus' ``DPOptimizer``, which clips each
to ``max_grad_norm`` and adds Gaussian noise of ``noise_multiplier * max_grad_norm`` drawn from
the trainer's seeded generator. The subsampled Gaussian's Rényi curve (the formulas of opacus'
``compute_rdp``, summed as arrays: :mod:`~synthgen.privacy.dp.sampled_gaussian`) is added to
the model's :class:`~synthgen.privacy.dp.accounting.PrivacyLedger` (which already holds the
private preprocessing), and a step that would take the total past the budget is not taken:
training stops there.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from synthgen.exceptions import ConfigurationError
from synthgen.privacy.dp.accounting import ORDERS, PrivacyLedger, epsilon_from_rdp
from synthgen.privacy.dp.sampled_gaussian import subsampled_gaussian_rdp

__all__ = ["DPSGD", "noise_multiplier_for", "require_opacus", "sgd_rdp"]


def require_opacus() -> Any:
    """Import opacus, or explain how to get it."""
    try:
        import opacus
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigurationError(
            "differentially private training (epsilon=...) needs opacus: pip install 'synthgen[dp]'"
        ) from None
    return opacus


def sgd_rdp(sample_rate: float, noise_multiplier: float, steps: int) -> np.ndarray:
    """Rényi curve (at :data:`ORDERS`) of ``steps`` subsampled Gaussian steps.

    One step's curve (:func:`~synthgen.privacy.dp.sampled_gaussian.subsampled_gaussian_rdp`,
    the formulas of opacus' ``compute_rdp`` summed as arrays: about 20 ms where opacus took
    half a second) is kept per ``(sample_rate, noise_multiplier)`` in a process: the noise
    search of :func:`noise_multiplier_for` asks for the same ones on every fit of a table.

    Examples
    --------
    >>> one, ten = sgd_rdp(0.01, 1.1, 1), sgd_rdp(0.01, 1.1, 10)
    >>> finite = np.isfinite(ten)  # the largest orders' values pass the largest float
    >>> bool(np.allclose(ten[finite], 10 * one[finite])), bool(sgd_rdp(0.01, 1.1, 0).any())
    (True, False)
    """
    if steps <= 0:
        return np.zeros_like(ORDERS)
    with np.errstate(over="ignore"):  # a huge order's value times the steps: inf
        return np.array(_one_step_rdp(float(sample_rate), float(noise_multiplier))) * steps


@functools.lru_cache(maxsize=4096)
def _one_step_rdp(sample_rate: float, noise_multiplier: float) -> tuple[float, ...]:
    """One subsampled Gaussian step's Rényi curve at :data:`ORDERS`, as a tuple (cached:
    kept immutable)."""
    rdp = subsampled_gaussian_rdp(sample_rate, noise_multiplier, ORDERS)
    return tuple(np.nan_to_num(rdp, nan=np.inf).tolist())


def noise_multiplier_for(
    epsilon: float, ledger: PrivacyLedger, sample_rate: float, steps: int
) -> float:
    """The smallest noise multiplier that keeps ``steps`` steps within ``epsilon`` in total.

    Examples
    --------
    >>> ledger = PrivacyLedger(delta=1e-5)
    >>> sigma = noise_multiplier_for(3.0, ledger, 0.02, 500)
    >>> ledger.add_rdp("sgd", sgd_rdp(0.02, sigma, 500))
    >>> 2.9 < ledger.epsilon() <= 3.0
    True
    """
    base = ledger.rdp()
    delta = ledger.delta - ledger.delta_threshold

    def eps(sigma: float) -> float:
        return epsilon_from_rdp(base + sgd_rdp(sample_rate, sigma, steps), delta)

    lo, hi = 0.3, 1.0
    while eps(hi) > epsilon:
        hi *= 2
        if hi > 1e4:
            raise ConfigurationError(
                f"epsilon={epsilon} is too small for {steps} training steps at sample rate "
                f"{sample_rate:.3g}: lower epochs or batch_size"
            )
    if eps(lo) <= epsilon:
        return lo
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        if eps(mid) <= epsilon:
            hi = mid
        else:
            lo = mid
    return hi


class DPSGD:
    """Noisy clipped steps of one module's parameters, with the privacy spent so far.

    Parameters
    ----------
    module : torch.nn.Module
        The trained network.
    optimizer : torch.optim.Optimizer
        Its optimiser (wrapped in opacus' ``DPOptimizer``).
    row_loss : callable
        ``row_loss(params, row, *extras) -> scalar``: the loss of one row under the
        parameters ``params`` (a dict for ``torch.func.functional_call``).
    noise_multiplier, max_grad_norm, sample_rate : float
        DP-SGD settings; the expected batch size is ``sample_rate * n_rows``.
    n_rows : int
        Rows of the training table (the noisy count from the private preprocessing).
    epsilon : float
        The total budget; a step that would spend more is refused.
    ledger : PrivacyLedger
        The model's ledger; DP-SGD's curve is added to it as steps are taken.
    generator : torch.Generator
        Source of the noise.
    """

    def __init__(
        self,
        module: Any,
        optimizer: Any,
        row_loss: Callable[..., Any],
        *,
        noise_multiplier: float,
        max_grad_norm: float,
        sample_rate: float,
        n_rows: int,
        epsilon: float,
        ledger: PrivacyLedger,
        generator: Any,
    ) -> None:
        require_opacus()
        from opacus.optimizers import DPOptimizer

        self.module = module
        self.row_loss = row_loss
        self.noise_multiplier = float(noise_multiplier)
        self.sample_rate = float(sample_rate)
        self.epsilon_budget = float(epsilon)
        self.ledger = ledger
        self._base = ledger.rdp()
        self.steps = 0
        self.optimizer = DPOptimizer(
            optimizer,
            noise_multiplier=self.noise_multiplier,
            max_grad_norm=float(max_grad_norm),
            expected_batch_size=max(1, round(self.sample_rate * n_rows)),
            loss_reduction="mean",
            generator=generator,
        )

    def epsilon(self, steps: int | None = None) -> float:
        """Total epsilon after ``steps`` DP-SGD steps (default: those taken)."""
        steps = self.steps if steps is None else steps
        rdp = self._base + sgd_rdp(self.sample_rate, self.noise_multiplier, steps)
        return epsilon_from_rdp(rdp, self.ledger.delta - self.ledger.delta_threshold)

    def can_step(self) -> bool:
        """Whether one more step stays within the budget."""
        return self.epsilon(self.steps + 1) <= self.epsilon_budget * (1 + 1e-9)

    def step(self, batch: Any, *extras: Any) -> None:
        """One noisy step on ``batch`` (rows first; may be empty)."""
        import torch
        from torch.func import grad, vmap

        params = {k: v.detach() for k, v in self.module.named_parameters() if v.requires_grad}
        if len(batch):
            in_dims = (None, 0) + (0,) * len(extras)
            grads = vmap(grad(self.row_loss), in_dims=in_dims)(params, batch, *extras)
        else:  # an empty Poisson batch: only noise
            grads = {k: torch.zeros((1, *v.shape), device=v.device) for k, v in params.items()}
        for name, p in self.module.named_parameters():
            if name in grads:
                p.grad_sample = grads[name].detach()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.steps += 1

    def finish(self) -> None:
        """Record the steps taken in the ledger."""
        self.ledger.add_rdp("DP-SGD", sgd_rdp(self.sample_rate, self.noise_multiplier, self.steps))
