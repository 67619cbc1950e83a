"""The heads' likelihood of every visited column: the main heads scored in groups of
vocabulary, the fine heads a number at a time."""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F  # noqa: N812

from synthgen.generators.transformer.gather import take

__all__ = ["fine_by_column", "grouped_nll"]


def grouped_nll(
    net: Any, h: torch.Tensor, order: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Negative log-likelihood ``(n, C)`` of main tokens ``target`` of columns ``order`` (as
    visited) under final-normed states ``h`` ``(n, C or more, d)``
    (:meth:`.TokenTransformer.main_nll`).

    Columns are scored in groups of similar vocabulary size (``net.vocab_groups()``), each
    padded only to its group's widest vocabulary: one 100,000-label column does not make
    every other column's logits 100,000 wide. The states are gathered once, in the order of
    their groups, and split: one gather whatever the number of groups (a permutation of the
    states, whose backward is a gather too, :func:`.gather.take`), none with one group.

    Examples
    --------
    >>> from synthgen.generators.transformer.model import TokenTransformer
    >>> net = TokenTransformer([3, 40, 2], [0, 32, 0], d_model=8, n_layers=1, n_heads=2)
    >>> net.initialize(torch.Generator().manual_seed(0))
    >>> main, order = torch.tensor([[0, 5, 1], [2, 39, 0]]), torch.tensor([2, 0, 1])
    >>> h = net.final_norm(net.hidden(main, torch.zeros_like(main), order))
    >>> grouped_nll(net, h, order, main[:, order]).shape
    torch.Size([2, 3])
    """
    out = h.new_empty(target.shape)
    widths = net.vocab_groups()
    group = net.const("vocab_group")[order]
    sizes = torch.bincount(group, minlength=len(widths)).tolist()
    by_group = torch.argsort(group, stable=True)  # (one group: 0 .. C - 1)
    if sum(size > 0 for size in sizes) == 1:
        pieces = [h[:, : len(order)]] * len(sizes)
    else:
        # a permutation of every state (the padding's after the columns'): its backward a
        # gather too (:func:`.gather.take`)
        pad = h.shape[1] - len(order)
        every = torch.cat([by_group, torch.arange(len(order), h.shape[1], device=h.device)])
        pieces = take(h, every, dim=1).split([*sizes, pad], dim=1)[:-1]
    for pos, piece, width in zip(by_group.split(sizes), pieces, widths, strict=True):
        if len(pos) == 0:
            continue
        cols = order[pos]
        w = take(net.head_w, cols)[:, :width]
        b = take(net.head_b, cols)[:, :width] + net.const("vocab_mask")[cols, :width]
        logits = (torch.einsum("ntd,tvd->ntv", piece, w) + b).flatten(0, 1)
        nll = F.cross_entropy(logits, target[:, pos].flatten(), reduction="none")
        out[:, pos] = nll.view(len(h), len(pos))
    return out


def fine_by_column(
    net: Any, h: torch.Tensor, cols: torch.Tensor, coarse: torch.Tensor
) -> torch.Tensor:
    """Fine-bin logits ``(t, n, F)`` of numeric columns ``cols`` ``(t,)`` from final-normed
    states ``h`` ``(n, t, d)`` and their coarse bins ``coarse`` ``(n, t)``, column-major
    (:meth:`.TokenTransformer.visited_fine_logits`).

    Each number has its own two-layer head, so the products are batched over the numbers:
    laid out a number at a time, every product reads its rows where they lie, and each
    bias joins its product (``baddbmm``), instead of ``einsum`` copying the states into that
    layout and the logits back, under autograd both ways, twice. At 1,000 columns a
    training part of 64 rows ran the fine heads in about three quarters of the time.

    Examples
    --------
    >>> from synthgen.generators.transformer.model import TokenTransformer
    >>> net = TokenTransformer([3, 40, 2], [0, 32, 0], d_model=8, n_layers=1, n_heads=2)
    >>> net.initialize(torch.Generator().manual_seed(0))
    >>> h, coarse = torch.randn(5, 1, 8), torch.randint(0, 40, (5, 1))
    >>> by_column = fine_by_column(net, h, torch.tensor([1]), coarse)
    >>> by_column.shape
    torch.Size([1, 5, 32])
    >>> per_row = net.fine_logits(h, torch.tensor([1]), coarse, normed=True)
    >>> torch.allclose(by_column.transpose(0, 1), per_row, atol=1e-6)
    True
    """
    k = net.const("numeric_index")[cols]
    ctx = net.coarse_ctx(net.const("offsets")[cols, None] + coarse.T)  # (t, n, d)
    z = ctx.add_(h.transpose(0, 1))  # the lookup's backward reads only its indices
    w1, b1 = take(net.fine_w1, k), take(net.fine_b1, k)
    w2, b2 = take(net.fine_w2, k), take(net.fine_b2, k)
    a = F.gelu(torch.baddbmm(b1.unsqueeze(1), z, w1.transpose(1, 2)))
    return torch.baddbmm(b2.unsqueeze(1), a, w2.transpose(1, 2))
