"""The GAN's networks: a generator of residual blocks and a PacGAN critic."""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from synthgen.generators.ar_head import AutoregressiveHead, DecodeStep
from synthgen.generators.nn import Residual, SpanLayout, dropout

__all__ = ["CriticNet", "GeneratorNet"]


class GeneratorNet(nn.Module):
    def __init__(
        self, in_dim: int, hidden: tuple[int, ...], out_dim: int, ranks: list[int] | None = None
    ) -> None:
        super().__init__()
        blocks, dim = [], in_dim
        for h in hidden:
            blocks.append(Residual(dim, h))
            dim += h
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(dim, out_dim)
        # Autoregressive head: each output block also reads the blocks generated before it.
        self.ar = AutoregressiveHead(ranks) if ranks is not None else None

    def generate(
        self, x: torch.Tensor, layout: SpanLayout, steps: list[DecodeStep], activate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Output logits and activated values for inputs ``x``; ``activate(layout, logits)``
        turns logits over a layout into values."""
        raw = self(x).float()
        if self.ar is None:
            return raw, activate(layout, raw)
        return self.ar.decode(raw, steps, lambda step, z: activate(step.layout, z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(x))


class CriticNet(nn.Module):
    def __init__(self, in_dim: int, hidden: tuple[int, ...], pac: int, p_drop: float) -> None:
        super().__init__()
        self.pac = pac
        self.p_drop = p_drop
        dims = [in_dim * pac, *hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(dims))
        self.out = nn.Linear(dims[-1], 1)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(-1, x.shape[1] * self.pac)  # PacGAN: pac rows judged as one
        for layer in self.layers:
            h = torch.nn.functional.leaky_relu(layer(h), 0.2)
            if self.generator is not None:
                h = dropout(h, self.p_drop, self.generator, self.training)
        return self.out(h)
