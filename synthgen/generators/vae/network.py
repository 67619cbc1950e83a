"""The VAE's network and its training task (what the Trainer runs)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch
from torch import nn

from synthgen.generators.ar_head import AutoregressiveHead
from synthgen.generators.nn import SpanLayout
from synthgen.training import Trainer

__all__ = ["VAENet", "VAETask"]

# Learning-rate multiplier of the autoregressive head's weights.
_AR_LR_FACTOR = 30.0


def _mlp(dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(dims):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


class VAENet(nn.Module):
    def __init__(
        self,
        data_dim: int,
        latent_dim: int,
        hidden: tuple[int, ...],
        n_cont: int,
        ranks: list[int] | None = None,
    ):
        super().__init__()
        self.encoder = _mlp([data_dim, *hidden])
        self.mu = nn.Linear(hidden[-1] if hidden else data_dim, latent_dim)
        self.logvar = nn.Linear(hidden[-1] if hidden else data_dim, latent_dim)
        self.decoder = _mlp([latent_dim, *reversed(hidden)])
        self.out = nn.Linear(hidden[0] if hidden else latent_dim, data_dim)
        # One learned log standard deviation per continuous span.
        self.log_sigma = nn.Parameter(torch.empty(n_cont))
        # Autoregressive head: each output block also reads the blocks decoded before it.
        self.ar = AutoregressiveHead(ranks) if ranks is not None else None

    def reset_own_parameters(self) -> None:
        with torch.no_grad():
            self.log_sigma.fill_(math.log(0.1))

    def sigma(self) -> torch.Tensor:
        # Bounded as in TVAE: below 0.01 the likelihood overfits single points.
        return self.log_sigma.exp().clamp(0.01, 1.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.decoder(z))

    def posterior(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and (clamped) log-variance of the latent code of each row."""
        h = self.encoder(batch)
        return self.mu(h), self.logvar(h).clamp(-10, 10)

    def forward(
        self, batch: torch.Tensor, eps: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decoder output, posterior mean and log-variance, and sigma, for noise ``eps``."""
        mu, logvar = self.posterior(batch)
        z = mu + eps * torch.exp(0.5 * logvar)
        raw = self.decode(z).float()
        if self.ar is not None:  # teacher forcing: the true earlier columns
            raw = raw + self.ar.teacher(batch)
        return raw, mu, logvar, self.sigma()


class VAETask(nn.Module):
    """Training step and validation loss of the VAE (what :class:`Trainer` runs)."""

    def __init__(
        self,
        net: VAENet,
        layout: SpanLayout,
        lr: float,
        l2: float,
        loss_factor: float,
        kl_anneal_epochs: int,
    ) -> None:
        super().__init__()
        self.net = net
        self.layout = layout
        self.loss_factor = loss_factor
        self.kl_anneal_epochs = kl_anneal_epochs
        groups: list[dict[str, Any]] = [
            {"params": [p for n, p in net.named_parameters() if not n.startswith("ar.")]}
        ]
        if net.ar is not None:
            # The autoregressive weights start at zero and must outgrow what the latent code
            # already explains during training: a larger step lets them (x30 beat x10 and
            # x100 on Adult's pair trends).
            groups.append({"params": list(net.ar.parameters()), "lr": lr * _AR_LR_FACTOR})
        self.optimizer = torch.optim.Adam(groups, lr=lr, weight_decay=l2, foreach=True)

    def terms(
        self, outputs: tuple[torch.Tensor, ...], batch: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-row reconstruction and KL terms of the network's outputs."""
        raw, mu, logvar, sigma = outputs
        lay = self.layout
        rec = lay.cross_entropy(raw, batch)
        if lay.n_continuous:
            mean = torch.tanh(raw[:, lay.cont_idx])
            err = (batch[:, lay.cont_idx] - mean) ** 2 / (2 * sigma**2) + torch.log(sigma)
            rec = rec + err.sum(dim=1)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).float().sum(dim=1)
        return rec, kl

    def noise(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        shape = (len(batch), self.net.mu.out_features)
        return torch.randn(shape, generator=generator, device=batch.device, dtype=batch.dtype)

    def loss(
        self, batch: torch.Tensor, generator: torch.Generator, beta: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rec, kl = self.terms(self.net(batch, self.noise(batch, generator)), batch)
        n = len(batch)
        return (self.loss_factor * rec.sum() + beta * kl.sum()) / n, rec.mean(), kl.mean()

    def beta(self, trainer: Trainer) -> float:
        """Weight of the KL term this epoch (a linear warm-up over ``kl_anneal_epochs``)."""
        if not self.kl_anneal_epochs:
            return 1.0
        return min(1.0, (trainer.epoch_ + 1) / (self.kl_anneal_epochs + 1))

    def training_step(self, batch: torch.Tensor, trainer: Trainer) -> dict[str, torch.Tensor]:
        beta = self.beta(trainer)
        with trainer.autocast():
            loss, rec, kl = self.loss(batch, trainer.generator_, beta)
        trainer.optimize(loss, self.optimizer)
        return {"loss": loss, "reconstruction": rec, "kl": kl}

    def row_loss(self, params: dict[str, torch.Tensor], row, eps, beta) -> torch.Tensor:
        """The loss of one row under ``params`` (for per-row gradients)."""
        from torch.func import functional_call

        outputs = functional_call(self.net, params, (row[None], eps[None]))
        rec, kl = self.terms(outputs, row[None])
        return (self.loss_factor * rec + beta * kl).sum()

    # -- DP-SGD (synthgen.training.DPSGDStrategy) -------------------------------------------
    def private_target(self) -> tuple[nn.Module, torch.optim.Optimizer]:
        return self.net, self.optimizer

    def private_inputs(self, batch: torch.Tensor, trainer: Trainer) -> tuple[torch.Tensor, ...]:
        """Each row with its own noise draw and the epoch's KL weight. No losses are logged
        under DP: they are computed from real rows outside the accountant, and the history is
        saved with the model."""
        eps = self.noise(batch, trainer.generator_)
        betas = torch.full((len(batch),), float(self.beta(trainer)), device=batch.device)
        return batch, eps, betas

    def validation_loss(self, data: torch.Tensor, trainer: Trainer) -> float:
        # A fixed seed keeps the validation noise identical across epochs.
        gen = torch.Generator(device=data.device)
        gen.manual_seed(0)
        return float(self.loss(data, gen)[0])
