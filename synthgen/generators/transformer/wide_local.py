"""The local layer of the wide network: the small network that predicts each cell of a group.

A :class:`~.wide.WideTransformer` position holds a group of columns. Each cell of the group
is predicted from ``top``, the position's hidden state, plus ``rest``: the embeddings of the
cells of the group visited before it and the cell's own query embedding. Two kinds exist
(the model file's ``arch["local"]``):

- ``1``, :class:`NormedLocal` (models saved before ``2``): ``z + fc2(gelu(fc1(ln(z))))``
  with ``z = top + rest``. Sampling runs the whole layer, its layer norm and both matrix
  products, once per cell.
- ``2``, :class:`SplitLocal`: the layer norm reads ``top`` only,
  ``top + rest + fc2(gelu(fc1(ln(top)) + fc1(rest)))`` (``fc1``'s bias counted once). The
  first product is then linear in the cells, so sampling computes ``fc1(ln(top))`` once per
  group and reads each cell's share from a table (:class:`PreparedSplitLocal`): a cell
  costs one matrix product instead of two, and no layer norm.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from synthgen.generators.transformer.decoding import _prepared_linear

__all__ = [
    "LOCAL_KINDS",
    "NormedLocal",
    "PreparedSplitLocal",
    "SplitLocal",
    "accumulate",
    "local_layer",
]

#: The local layers a model file may name (``arch["local"]``; files before it: ``1``).
LOCAL_KINDS: tuple[int, ...] = (1, 2)

#: Token tables of a :class:`PreparedSplitLocal` are built while they hold at most this many
#: floats (32 MB); past it (a column of a million labels) each cell's share is a matrix product.
TABLE_FLOATS = 8_388_608


class NormedLocal(nn.Module):
    """Local layer ``1``: ``z + fc2(gelu(fc1(ln(z))))`` with ``z = top + rest``."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + self.fc2(F.gelu(self.fc1(self.ln(z))))


class SplitLocal(nn.Module):
    """Local layer ``2``: ``top + rest + fc2(gelu(fc1(ln(top)) + fc1(rest)))``.

    Examples
    --------
    >>> layer = SplitLocal(8, 16)
    >>> top, rest = torch.randn(3, 2, 1, 8), torch.randn(3, 2, 4, 8)
    >>> layer(top, rest).shape
    torch.Size([3, 2, 4, 8])
    """

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)

    def forward(self, top: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
        """``top`` ``(..., 1, d)`` (a group's state, broadcast over its cells) and ``rest``
        ``(..., g, d)``."""
        # Each temporary here is as large as the batch's cells: the products run without
        # their biases (``addmm`` would first copy a bias into every row), which join the
        # group's terms instead, and the sums are made in place where autograd allows
        # (neither product's backward reads its output); the group's terms are cast to the
        # products' precision first (a float32 operand broadcast into bfloat16 runs several
        # times slower).
        fc1, fc2 = self.fc1, self.fc2
        a = F.linear(rest, fc1.weight).add_(F.linear(self.ln(top), fc1.weight, fc1.bias))
        out = F.linear(F.gelu(a), fc2.weight).add_(rest)
        return out.add_((top + fc2.bias).to(out.dtype))


def local_layer(kind: int, d_model: int, d_ff: int) -> NormedLocal | SplitLocal:
    """The local layer of ``kind`` (see :data:`LOCAL_KINDS`)."""
    if kind == 1:
        return NormedLocal(d_model, d_ff)
    if kind == 2:
        return SplitLocal(d_model, d_ff)
    raise ValueError(f"unknown local layer {kind!r}: expected one of {LOCAL_KINDS}")


class PreparedSplitLocal:
    """A :class:`SplitLocal` prepared for decoding.

    ``fc1`` of a cell's embedding is read from tables: each token row plus its column's
    embedding through ``fc1`` (and each fine token's), built once per cache while they hold
    at most :data:`TABLE_FLOATS` floats (else a matrix product per cell). ``fc1`` of each
    column's query embedding, plus the bias, is another table. A group's ``fc1(ln(top))``
    is computed when the group starts (:meth:`top_share`).

    Parameters
    ----------
    net : WideTransformer
        The network (its token, column and query embeddings and its local layer).
    dtype : torch dtype
        Precision of ``fc2``'s product (the tables and the residual stay float32).
    """

    def __init__(self, net: nn.Module, dtype: torch.dtype = torch.float32) -> None:
        local = net.local
        w1 = local.fc1.weight.detach()
        self.ln, self.w1, self.dtype = local.ln, w1.t(), dtype
        self.fc2, fc2_bias = _prepared_linear(local.fc2, dtype)
        queries = net.local_query.weight.detach()
        # Each column's query, in the residual (plus fc2's bias) and through fc1 (plus its bias)
        self.query = queries + fc2_bias.float()
        self.query_share = queries @ self.w1 + local.fc1.bias.detach()
        self.offsets, self.fine_offsets = net._offsets, net._fine_offsets
        self.fine_vocab = net.fine_vocab
        self.cells = self.token = self.fine = None
        n_tokens = len(net.token.weight) + len(net.fine_token.weight)
        if n_tokens * w1.shape[0] <= TABLE_FLOATS:
            columns = [c for c, v in enumerate(net.vocab) for _ in range(v + 1)]
            index = torch.tensor(columns, device=w1.device)
            # each token's embedding plus its column's, as the network sums them
            self.cells = net.token.weight.detach() + net.column.weight.detach()[index]
            self.fine_cells = net.fine_token.weight.detach()
            self.token = self.cells @ self.w1
            self.fine = self.fine_cells @ self.w1

    def top_share(self, top: torch.Tensor) -> torch.Tensor:
        """``fc1(ln(top))`` without the bias: a group's share of every cell's first product."""
        return self.ln(top) @ self.w1

    def embed(self, net: nn.Module, prev: tuple) -> torch.Tensor:
        """The embedding of a visited cell, :meth:`.TokenTransformer.embed` of ``prev``
        (its columns and tokens), read from the token-plus-column table when every row
        visited one column."""
        cols, main, fine = prev
        if self.cells is None or not isinstance(cols, int):
            return net.embed(*prev)
        x = F.embedding(main + self.offsets[cols], self.cells)
        if self.fine_vocab[cols]:
            x.add_(F.embedding(fine + self.fine_offsets[cols], self.fine_cells))
        return x

    def add_share(
        self, total: torch.Tensor, net: nn.Module, prev: tuple, cell: torch.Tensor
    ) -> torch.Tensor:
        """``total`` plus ``fc1`` of a visited cell's embedding ``cell`` (without the
        bias), read from the tables (``prev``: the cell's columns and tokens)."""
        if self.token is None:
            return accumulate(total, cell @ self.w1)
        cols, main, fine = prev
        if isinstance(cols, int):
            total = accumulate(total, F.embedding(main + self.offsets[cols], self.token))
            if self.fine_vocab[cols]:
                total.add_(F.embedding(fine + self.fine_offsets[cols], self.fine))
            return total
        x = F.embedding(net.const("offsets")[cols] + main, self.token)
        is_num = net.const("numeric_index")[cols] >= 0
        at = net.const("fine_offsets")[cols] + torch.where(is_num, fine, 0)
        return accumulate(total, x.addcmul_(F.embedding(at, self.fine), is_num.unsqueeze(-1)))

    def __call__(
        self, cells: torch.Tensor, shares: torch.Tensor, cols: torch.Tensor | int
    ) -> torch.Tensor:
        """The layer's output for columns ``cols`` (one for every row, or one per row) from
        ``cells``, the group's state plus the embeddings of its cells visited so far, and
        ``shares``, the same through ``fc1`` (without the bias)."""
        if isinstance(cols, int):
            z, a = cells + self.query[cols], shares + self.query_share[cols]
        else:
            z = cells + F.embedding(cols, self.query)
            a = shares + F.embedding(cols, self.query_share)
        if self.dtype != torch.float32:  # the residual stays float32
            return torch.mm(F.gelu(a).to(self.dtype), self.fc2).float().add_(z)
        # into ``z`` (new here, with ``a``'s rows): ``addmm`` would first copy it into a new
        # output
        return z.addmm_(F.gelu(a), self.fc2)


def accumulate(total: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``total + x``, in place unless ``total`` is one row standing for all of ``x``'s."""
    return total.add_(x) if total.shape == x.shape else total + x
