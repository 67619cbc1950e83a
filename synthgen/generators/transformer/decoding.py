"""Incremental decoding of the transformer: the caches of keys and values, and a decode step.

Sampling visits a row's columns one position at a time and keeps every earlier position's
keys and values. Two layouts exist:

- :class:`KVCache` (``"heads"``): ``(rows, heads, positions, head_dim)`` per layer, read by
  PyTorch's fused attention. Models saved before ``"lanes"`` decode with it, so they draw the
  rows they always drew.
- :class:`LaneCache` (``"lanes"``): ``(positions, heads, head_dim, rows)`` float32 per layer.
  One decoding query per row and head meets a few dozen keys: the fused kernel runs one tiny
  problem per row and head (its overhead dominated sampling: 1.2 of 2.1 s for 26,000 Adult
  rows). In lanes the rows are the innermost axis, so scoring is ``head_dim`` multiply-adds
  and the weighted sum of values one per position, each over every row and head at once
  (attention 3 to 5 times quicker on one CPU thread). The arithmetic is float32 whatever
  the network's precision, each sum in a fixed order.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F  # noqa: N812

__all__ = ["DECODERS", "KVCache", "LaneCache", "lane_attention"]

#: The cache layouts a model can decode with (see the module docstring); models saved before
#: ``"lanes"`` use ``"heads"``.
DECODERS: tuple[str, ...] = ("heads", "lanes")


class KVCache:
    """Keys and values of every layer for ``n`` rows, filled one position at a time.

    Parameters
    ----------
    n_layers, n_rows, n_heads, length, head_dim : int
        Shape of the cache.
    device, dtype : torch device and dtype
        Where the tensors live, and their type (bfloat16 when decoding in bfloat16).
    """

    def __init__(
        self,
        n_layers: int,
        n_rows: int,
        n_heads: int,
        length: int,
        head_dim: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        shape = (n_rows, n_heads, length, head_dim)
        # Uninitialised: a step reads only the positions written before it.
        self.keys = [torch.empty(shape, device=device, dtype=dtype) for _ in range(n_layers)]
        self.values = [torch.empty(shape, device=device, dtype=dtype) for _ in range(n_layers)]
        self.n_rows = n_rows
        self.length = 0


class LaneCache:
    """Keys and values of every layer in lanes: ``(length, n_heads, head_dim, n_rows)``
    float32, the rows innermost.

    Parameters
    ----------
    n_layers, n_rows, n_heads, length, head_dim : int
        Shape of the cache.
    device : torch device
        Where the tensors live.
    """

    def __init__(
        self,
        n_layers: int,
        n_rows: int,
        n_heads: int,
        length: int,
        head_dim: int,
        device: torch.device | str = "cpu",
    ) -> None:
        shape = (length, n_heads, head_dim, n_rows)
        # Uninitialised: a step reads only the positions written before it.
        self.keys = [torch.empty(shape, device=device) for _ in range(n_layers)]
        self.values = [torch.empty(shape, device=device) for _ in range(n_layers)]
        self.query = torch.empty(shape[1:], device=device)  # the step's scaled queries
        self.n_rows = n_rows
        self.length = 0


def lane_attention(
    q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, fused: bool | None = None
) -> torch.Tensor:
    """Softmax attention of one query per row and head: ``q`` ``(heads, head_dim, rows)``,
    already scaled, over ``keys`` and ``values`` ``(positions, heads, head_dim, rows)``;
    returns ``(heads, head_dim, rows)``.

    On a CPU the sums run as in-place multiply-adds, one per ``head_dim`` entry and one per
    position, each over every row and head at once (no ``positions x head_dim x rows``
    temporary, and the same order of additions on every machine); elsewhere as two broadcast
    products (a few large kernels instead of many launches). ``fused`` picks the second way
    (``None``: on any device but a CPU).

    Examples
    --------
    >>> q = torch.tensor([[[1.0, 0.0]]])                    # 1 head, head_dim 1, two rows
    >>> keys = torch.tensor([[[[0.0, 0.0]]], [[[2.0, 0.0]]]])  # two positions
    >>> values = torch.tensor([[[[1.0, 1.0]]], [[[3.0, 5.0]]]])
    >>> lane_attention(q, keys, values)  # row 0 leans to position 1; row 1 averages
    tensor([[[2.7616, 3.0000]]])
    """
    if q.device.type != "cpu" if fused is None else fused:
        weights = torch.softmax((keys * q).sum(2), dim=0)[:, :, None]
        return (weights * values).sum(0)
    scores = keys[:, :, 0] * q[:, 0]  # (positions, heads, rows)
    for j in range(1, q.shape[1]):
        scores.addcmul_(keys[:, :, j], q[:, j])
    weights = torch.softmax(scores, dim=0)[:, :, None]
    out = values[0] * weights[0]
    for j in range(1, len(values)):
        out.addcmul_(values[j], weights[j])
    return out


def lane_step(
    block: torch.nn.Module, x: torch.Tensor, cache: LaneCache, layer: int
) -> torch.Tensor:
    """One pre-norm transformer block (``block``, a ``_Block``) on the next position's
    states ``x`` ``(n, d)``, its keys and values stored in ``cache`` (layer ``layer``).

    The query, key and value come out of one matrix product already in lanes
    (``W @ x.T``: the transpose is the product's, not a copy), and the attention's output
    goes into the projection the same way."""
    n, d = x.shape  # one row at the first position when every row starts alike
    keys, values = cache.keys[layer], cache.values[layer]
    h, hd = keys.shape[1:3]
    qkv = torch.addmm(block.qkv.bias[:, None], block.qkv.weight, block.ln1(x).t())
    qkv = qkv.view(3, h, hd, n)  # (3 d, n) in the network's precision
    pos = cache.length
    keys[pos].copy_(qkv[1])  # broadcast to every row from one
    values[pos].copy_(qkv[2])
    q = cache.query[..., :n].copy_(qkv[0]).mul_(hd**-0.5)
    a = lane_attention(q, keys[: pos + 1, ..., :n], values[: pos + 1, ..., :n]).view(d, n)
    x = x + torch.addmm(block.proj.bias, a.t(), block.proj.weight.t())
    return x + block.fc2(F.gelu(block.fc1(block.ln2(x))))
