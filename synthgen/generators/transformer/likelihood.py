"""The main heads' likelihood of every visited column, scored in groups of vocabulary."""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F  # noqa: N812

__all__ = ["grouped_nll"]


def grouped_nll(
    net: Any, h: torch.Tensor, order: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Negative log-likelihood ``(n, C)`` of main tokens ``target`` of columns ``order`` (as
    visited) under final-normed states ``h`` ``(n, C or more, d)``
    (:meth:`.TokenTransformer.main_nll`).

    Columns are scored in groups of similar vocabulary size (``net.vocab_groups()``), each
    padded only to its group's widest vocabulary: one 100,000-label column does not make
    every other column's logits 100,000 wide. The states are gathered once, in the order of
    their groups, and split: one gather (and, under autograd, one zeroed gradient as large
    as the states) whatever the number of groups, none with one group.

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
        pieces = h[:, by_group].split(sizes, dim=1)
    for pos, piece, width in zip(by_group.split(sizes), pieces, widths, strict=True):
        if len(pos) == 0:
            continue
        cols = order[pos]
        w = net.head_w[cols, :width]
        b = net.head_b[cols, :width] + net.const("vocab_mask")[cols, :width]
        logits = (torch.einsum("ntd,tvd->ntv", piece, w) + b).flatten(0, 1)
        nll = F.cross_entropy(logits, target[:, pos].flatten(), reduction="none")
        out[:, pos] = nll.view(len(h), len(pos))
    return out
