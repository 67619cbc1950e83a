"""The transformer's blocks: pre-norm causal self-attention and a feed-forward layer, and the
attention they run in training, scoring and (with the per-head cache) decoding."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

if TYPE_CHECKING:
    from synthgen.generators.transformer.decoding import KVCache

__all__: list[str] = []


class _Block(nn.Module):
    """Pre-norm transformer block with causal self-attention.

    ``kv_heads`` heads of keys and values (``None``: one per query head) serve the
    ``n_heads`` query heads in groups of ``n_heads // kv_heads`` (grouped-query attention;
    one key/value head is multi-query attention): the cache that decoding reads at every
    step shrinks by that factor. The projection's rows are the queries, then the keys, then
    the values; query head ``i`` reads key/value head ``i // (n_heads // kv_heads)``.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, kv_heads: int | None = None) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.kv_heads = n_heads if kv_heads is None else kv_heads
        if n_heads % self.kv_heads:
            raise ValueError(f"{n_heads} heads cannot share {self.kv_heads} key/value heads")
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, d_model + 2 * self.kv_heads * (d_model // n_heads))
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> torch.Tensor:
        n, t, d = x.shape
        h, kv = self.n_heads, self.kv_heads
        qkv = self.qkv(self.ln1(x))
        if kv == h:
            q, k, v = qkv.view(n, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        else:
            q = qkv[..., :d].view(n, t, h, d // h).transpose(1, 2)
            k, v = qkv[..., d:].view(n, t, 2, kv, d // h).permute(2, 0, 3, 1, 4)
        if cache is None:
            keys, values, causal = k, v, True
        else:
            # Incremental decode: store this position's keys and values, attend to all so far.
            pos = cache.length
            cache.keys[layer][:, :, pos : pos + t] = k
            cache.values[layer][:, :, pos : pos + t] = v
            keys = cache.keys[layer][:, :, : pos + t]
            values = cache.values[layer][:, :, : pos + t]
            causal = pos == 0 and t > 1
        if kv != h:  # every query head its group's keys and values
            keys = keys.repeat_interleave(h // kv, dim=1)
            values = values.repeat_interleave(h // kv, dim=1)
        a = _attention(q, keys, values, causal)
        x = x + self.proj(a.transpose(1, 2).reshape(n, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    """Softmax attention over a row's few dozen (or hundred) positions.

    A decode step (one query per row) goes to the fused kernel: broadcast products
    materialise ``(n, heads, keys, head_dim)`` and made sampling quadratic in the number of
    columns (4x slower at 100 columns, 5x at 200, torch 2.13 on one CPU thread). Under
    bfloat16 on a CPU, the fused kernel is slower than float32 for training, so scores are
    built key-major ``(n, heads, keys, queries)``: a softmax over a short non-last axis
    vectorises across the queries instead of running one tiny row at a time.
    """
    if q.shape[-2] == 1 and not causal:
        return F.scaled_dot_product_attention(q, k, v)
    if q.dtype == torch.bfloat16 and q.device.type == "cpu":
        scores = (k @ q.transpose(-1, -2)) * (q.shape[-1] ** -0.5)  # (n, heads, keys, queries)
        if causal:
            t_k, t_q = scores.shape[-2:]
            future = torch.ones(t_k, t_q, dtype=torch.bool, device=q.device).tril(-1)
            scores = scores.masked_fill(future, -math.inf)
        return torch.softmax(scores, dim=-2).transpose(-1, -2) @ v
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
