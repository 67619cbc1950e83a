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

from collections.abc import Sequence

import torch
from torch.nn import functional as F  # noqa: N812

__all__ = [
    "DECODERS",
    "KVCache",
    "LaneBlock",
    "LaneCache",
    "NetworkHeads",
    "PreparedFeedForward",
    "PreparedHeads",
    "lane_attention",
]

#: The cache layouts a model can decode with (see the module docstring); models saved before
#: ``"lanes"`` use ``"heads"``.
DECODERS: tuple[str, ...] = ("heads", "lanes")


class KVCache:
    """Keys and values of every layer for ``n`` rows, filled one position at a time.

    Parameters
    ----------
    n_layers, n_rows, n_heads, length, head_dim : int
        Shape of the cache (``n_heads``: the heads of keys and values).
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
        Shape of the cache (``n_heads``: the heads of keys and values).
    device : torch device
        Where the tensors live.
    blocks : sequence of LaneBlock
        The network's blocks prepared for decoding (one per layer).
    query_heads : int, optional
        The query heads (``None``: ``n_heads``; a multiple of it under grouped-query
        attention).
    """

    def __init__(
        self,
        n_layers: int,
        n_rows: int,
        n_heads: int,
        length: int,
        head_dim: int,
        device: torch.device | str = "cpu",
        blocks: Sequence[LaneBlock] = (),
        query_heads: int | None = None,
    ) -> None:
        shape = (length, n_heads, head_dim, n_rows)
        # Uninitialised: a step reads only the positions written before it.
        self.keys = [torch.empty(shape, device=device) for _ in range(n_layers)]
        self.values = [torch.empty(shape, device=device) for _ in range(n_layers)]
        heads = n_heads if query_heads is None else query_heads
        self.query = torch.empty((heads, *shape[2:]), device=device)  # the step's scaled queries
        self.blocks = list(blocks)
        self.n_rows = n_rows
        self.length = 0


def lane_attention(
    q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, fused: bool | None = None
) -> torch.Tensor:
    """Softmax attention of one query per row and head: ``q`` ``(heads, head_dim, rows)``,
    already scaled, over ``keys`` and ``values`` ``(positions, kv_heads, head_dim, rows)``;
    returns ``(heads, head_dim, rows)``. Query head ``i`` reads key/value head
    ``i // (heads // kv_heads)`` (grouped-query attention; ``kv_heads == heads`` is the plain
    kind): a group's keys and values are read once for all its query heads.

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
    heads, kv = q.shape[0], keys.shape[1]
    if kv != heads:  # (kv, group) query heads; keys and values broadcast over the group
        head_dim, n = q.shape[1], q.shape[2]
        q = q.view(kv, heads // kv, head_dim, n)
        keys, values = keys.unsqueeze(2), values.unsqueeze(2)
        return _lane_attention(q, keys, values, fused).view(heads, head_dim, n)
    return _lane_attention(q, keys, values, fused)


def _lane_attention(
    q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, fused: bool | None
) -> torch.Tensor:
    """:func:`lane_attention` with ``q`` ``(*heads, head_dim, rows)`` and ``keys`` and
    ``values`` ``(positions, *heads, head_dim, rows)``, heads broadcast."""
    if q.device.type != "cpu" if fused is None else fused:
        weights = torch.softmax((keys * q).sum(-2), dim=0).unsqueeze(-2)
        return (weights * values).sum(0)
    # Views made in one call each (``unbind``): slicing in the loop cost as much as a
    # multiply-add on a few hundred rows.
    ks, qs = keys.unbind(-2), q.unbind(-2)
    scores = ks[0] * qs[0]  # (positions, *heads, rows)
    for k, qj in zip(ks[1:], qs[1:], strict=True):
        scores.addcmul_(k, qj)
    vs, ws = values.unbind(0), torch.softmax(scores, dim=0).unsqueeze(-2).unbind(0)
    out = vs[0] * ws[0]
    for v, w in zip(vs[1:], ws[1:], strict=True):
        out.addcmul_(v, w)
    return out


class LaneBlock:
    """A transformer block's weights prepared once for decoding in lanes.

    The matrices are cast to the decoding precision ``dtype`` here, once per cache, instead of
    by autocast in every step, and the attention's scale is folded into the query rows; the
    keys' bias is dropped and the values' bias joins the projection's (see ``__init__``). The
    residual stream, layer norms, the queries' bias and the cache stay float32; a step then
    runs no elementwise operation that mixes two precisions (those run several times slower
    than either on a CPU), except adding the queries' bias.

    Parameters
    ----------
    block : _Block
        The trained block (pre-norm attention and feed-forward layers).
    dtype : torch dtype
        Precision of the matrix products (bfloat16 where the machine has native bfloat16).
    """

    def __init__(self, block: torch.nn.Module, dtype: torch.dtype = torch.float32) -> None:
        w, b = block.qkv.weight.detach(), block.qkv.bias.detach()
        d = w.shape[1]
        h, kv = block.n_heads, block.kv_heads
        scale = (d // h) ** -0.5
        self.qkv = torch.cat([w[:d] * scale, w[d:]]).to(dtype)  # (d + 2 kv head_dim, d)
        self.query_bias = (b[:d] * scale).view(h, d // h, 1)  # float32, in lanes
        # A key's bias adds the same q.b to every position's score (softmax ignores it), and
        # the weights sum to one, so the value's bias passes through the attention unchanged:
        # it joins the projection's bias (keys and values are stored without one).
        value_bias = b[d + kv * (d // h) :]
        if kv != h:  # each query head's group's bias
            value_bias = value_bias.view(kv, d // h).repeat_interleave(h // kv, dim=0).flatten()
        proj = block.proj.weight.detach()
        self.proj = proj.t().to(dtype)
        self.proj_bias = (block.proj.bias.detach() + proj @ value_bias).to(dtype)
        self.ffn = PreparedFeedForward(block.ln2, block.fc1, block.fc2, dtype)
        self.ln1 = block.ln1
        self.dtype = dtype

    def step(self, x: torch.Tensor, cache: LaneCache, layer: int) -> torch.Tensor:
        """The block on the next position's float32 states ``x`` ``(n, d)``, its keys and
        values stored in ``cache`` (layer ``layer``).

        The query, key and value come out of one matrix product already in lanes
        (``W @ x.T``: the transpose is the product's, not a copy)."""
        n, d = x.shape  # one row at the first position when every row starts alike
        keys, values = cache.keys[layer], cache.values[layer]
        kv, hd = keys.shape[1:3]
        qkv = torch.mm(self.qkv, self.ln1(x).to(self.dtype).t())
        query, kv_rows = qkv[:d].view(d // hd, hd, n), qkv[d:].view(2, kv, hd, n)
        pos = cache.length
        lanes = slice(None) if n == 1 else slice(n)  # one row's broadcast to every lane
        keys[pos, ..., lanes].copy_(kv_rows[0])
        values[pos, ..., lanes].copy_(kv_rows[1])
        q = torch.add(query, self.query_bias, out=cache.query[..., :n])
        a = lane_attention(q, keys[: pos + 1, ..., :n], values[: pos + 1, ..., :n]).view(d, n)
        x = torch.addmm(self.proj_bias, a.t().to(self.dtype), self.proj).float().add_(x)
        return self.ffn(x)


class PreparedFeedForward:
    """A pre-norm residual feed-forward layer (``x + fc2(gelu(fc1(ln(x))))``) prepared for
    decoding: the matrices transposed and cast to ``dtype`` once; the layer norm and the
    residual stay float32. A block's second half (:class:`LaneBlock`) and the wide network's
    local layer (:mod:`.wide`) run through it."""

    def __init__(
        self,
        ln: torch.nn.LayerNorm,
        fc1: torch.nn.Linear,
        fc2: torch.nn.Linear,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.ln, self.dtype = ln, dtype
        self.fc1, self.fc1_bias = _prepared_linear(fc1, dtype)
        self.fc2, self.fc2_bias = _prepared_linear(fc2, dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        z = F.gelu(torch.addmm(self.fc1_bias, self.ln(x).to(self.dtype), self.fc1))
        return torch.addmm(self.fc2_bias, z, self.fc2).float().add_(x)


def _prepared_linear(
    layer: torch.nn.Linear, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """A linear layer's transposed weight and its bias in ``dtype`` (for ``addmm``)."""
    return layer.weight.detach().t().to(dtype), layer.bias.detach().to(dtype)


class PreparedHeads:
    """The output heads of a network prepared once per sampling call for drawing (models
    whose ``draws`` are ``"fused"``): per column, views of its main head's matrix and bias,
    and of a number's fine-head layers, applied as ``addmm`` (the bias added inside the
    matrix product) in float32. No weight is copied, whatever the vocabularies.

    The logits equal :meth:`.TokenTransformer.column_logits` and ``fine_logits`` up to
    float32 rounding (not bit for bit: those models keep the ``"cdf"`` draws).

    Parameters
    ----------
    net : TokenTransformer
        The fitted network.

    Examples
    --------
    >>> from synthgen.generators.transformer.model import TokenTransformer
    >>> net = TokenTransformer([3, 5], [0, 4], d_model=8, n_layers=1, n_heads=2)
    >>> net.initialize(torch.Generator().manual_seed(0))
    >>> heads, h = PreparedHeads(net), torch.randn(6, 8)
    >>> normed = heads.norm(h)
    >>> coarse = torch.zeros(6, dtype=torch.long)
    >>> heads.main_logits(normed, 1).shape, heads.fine_logits(normed, 1, coarse).shape
    (torch.Size([6, 5]), torch.Size([6, 4]))
    >>> torch.allclose(heads.main_logits(normed, 1), net.column_logits(h, 1), atol=1e-6)
    True
    """

    def __init__(self, net: torch.nn.Module) -> None:
        w, b = net.head_w.detach(), net.head_b.detach()
        self.main = [(b[c, :v], w[c, :v].t()) for c, v in enumerate(net.vocab)]
        self.fine: dict[int, tuple[torch.Tensor, ...]] = {}
        for k, c in enumerate(net.numeric_columns):
            self.fine[c] = (
                net.fine_b1[k].detach(),
                net.fine_w1[k].detach().t(),
                net.fine_b2[k].detach(),
                net.fine_w2[k].detach().t(),
            )
        self.ln = net.ln_f
        self.coarse = net.coarse_ctx.weight.detach()
        self.offsets = list(net._offsets)

    def norm(self, hidden: torch.Tensor) -> torch.Tensor:
        """The final layer norm (float32), read by both heads of a number."""
        return self.ln(hidden.float())

    def main_logits(self, normed: torch.Tensor, column: int) -> torch.Tensor:
        """Logits ``(n, vocab)`` of ``column`` from normed states ``(n, d)``."""
        bias, weight = self.main[column]
        return torch.addmm(bias, normed, weight)

    def fine_logits(self, normed: torch.Tensor, column: int, coarse: torch.Tensor) -> torch.Tensor:
        """Fine-bin logits ``(n, fine vocab)`` of number ``column`` given its coarse bins
        ``coarse`` ``(n,)``."""
        b1, w1, b2, w2 = self.fine[column]
        z = normed + F.embedding(coarse + self.offsets[column], self.coarse)
        return torch.addmm(b2, F.gelu(torch.addmm(b1, z, w1)), w2)


class NetworkHeads:
    """The network's own output heads behind :class:`PreparedHeads`' methods: the draws of
    models saved with ``"cdf"`` or ``"multinomial"`` draws, which keep their logits bit for
    bit (:meth:`.TokenTransformer.final_norm`, ``column_logits`` and ``fine_logits``).

    Examples
    --------
    >>> from synthgen.generators.transformer.model import TokenTransformer
    >>> net = TokenTransformer([3, 5], [0, 4], d_model=8, n_layers=1, n_heads=2)
    >>> net.initialize(torch.Generator().manual_seed(0))
    >>> own, prepared, h = NetworkHeads(net), PreparedHeads(net), torch.randn(6, 8)
    >>> coarse = torch.tensor([0, 1, 2, 3, 4, 0])
    >>> a = own.fine_logits(own.norm(h), 1, coarse)
    >>> torch.allclose(a, prepared.fine_logits(prepared.norm(h), 1, coarse), atol=1e-6)
    True
    """

    def __init__(self, net: torch.nn.Module) -> None:
        self.net = net

    def norm(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.net.final_norm(hidden)

    def main_logits(self, normed: torch.Tensor, column: int) -> torch.Tensor:
        return self.net.column_logits(normed, column, normed=True)

    def fine_logits(self, normed: torch.Tensor, column: int, coarse: torch.Tensor) -> torch.Tensor:
        col = torch.tensor([column], device=normed.device)
        return self.net.fine_logits(normed[:, None], col, coarse[:, None], normed=True)[:, 0]
