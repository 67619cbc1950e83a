"""The denoiser: one network that reads a partly noised, partly masked row and the time.

It returns, for every encoded dimension, the predicted Gaussian noise of the numeric dims and
the logits of the categorical (softmax) spans. The default is an MLP with a sinusoidal time
embedding added to the projected input (TabDDPM, TabSyn); any module with the same
``forward(x, t)`` signature can replace it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from synthgen.training.precision import float32

__all__ = ["MLPDenoiser", "timestep_embedding"]


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of continuous times ``t`` in ``[0, 1]`` (shape ``(n, dim)``).

    Times are scaled by 1000 so the frequencies resolve the small steps a sampler takes.
    Computed on the fly (no buffer), so the module holds only learned weights.

    Examples
    --------
    >>> timestep_embedding(torch.tensor([0.0, 1.0]), 8).shape
    torch.Size([2, 8])
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class MLPDenoiser(nn.Module):
    """``in -> width``, plus the time embedding, then ``n_layers`` residual SiLU blocks, then out.

    Parameters
    ----------
    in_dim : int
        Width of the network input (noised numbers, masked one-hots and mask flags).
    out_dim : int
        Width of the output (one value per encoded dimension).
    width : int
        Hidden width.
    n_layers : int
        Hidden blocks; each is ``LayerNorm -> Linear -> SiLU -> Linear`` added to its input,
        which keeps deeper stacks trainable with a large learning rate.
    time_dim : int
        Width of the sinusoidal time features.

    Examples
    --------
    >>> net = MLPDenoiser(5, 4, width=16, n_layers=2)
    >>> net(torch.zeros(3, 5), torch.rand(3, generator=torch.Generator().manual_seed(0))).shape
    torch.Size([3, 4])
    """

    def __init__(
        self, in_dim: int, out_dim: int, width: int = 256, n_layers: int = 3, time_dim: int = 128
    ) -> None:
        super().__init__()
        self.time_dim = time_dim
        self.time = nn.Sequential(nn.Linear(time_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.proj = nn.Linear(in_dim, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.LayerNorm(width), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width)
            )
            for _ in range(n_layers)
        )
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, out_dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Output for rows ``x`` at times ``t``: one time per row, or a single time shared by
        all rows (what a sampler passes: the time network then runs once, not per row)."""
        # Under bfloat16 autocast the hidden blocks run in bfloat16, but the input projection
        # and the output layer stay float32: they are cheap, and the predicted noise of a
        # number needs more than bfloat16's three significant digits.
        with float32(x.device.type):
            h = self.proj(x.float())
        h = h + self.time(timestep_embedding(t.reshape(-1), self.time_dim))
        for block in self.blocks:
            h = h + block(h)
        with float32(x.device.type):
            return self.out(h.float())
