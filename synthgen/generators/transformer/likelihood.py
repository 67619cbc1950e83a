"""The heads' likelihood of every visited column: the main heads scored in groups of
vocabulary, the fine heads a number at a time."""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F  # noqa: N812

from synthgen.generators.transformer.gather import lookup, take

__all__ = ["MOVE_LOGITS", "fine_by_column", "grouped_nll", "one_width"]

#: A state moved between the vocabulary groups (a copy forward and one backward) costs about
#: as much as this many logits (:func:`one_width`).
MOVE_LOGITS = 64


def grouped_nll(
    net: Any, h: torch.Tensor, order: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Negative log-likelihood ``(C, n)`` of main tokens ``target`` ``(C, n)`` of columns
    ``order`` (as visited) under final-normed states ``h`` ``(C or more, n, d)``, both
    column-major (:meth:`.TokenTransformer.main_nll` takes and gives them a row at a time).

    Columns are scored in groups of similar vocabulary size (``net.vocab_groups()``), each
    padded only to its group's widest vocabulary: one 100,000-label column does not make
    every other column's logits 100,000 wide. The states are gathered once, in the order of
    their groups, and split: one gather whatever the number of groups (a permutation of the
    states, whose backward is a gather too, :func:`.gather.take`). With one group, or
    groups whose widths differ little (:func:`one_width`), every column is scored at once
    and no state moves.

    Examples
    --------
    >>> from synthgen.generators.transformer.model import TokenTransformer
    >>> net = TokenTransformer([3, 40, 2], [0, 32, 0], d_model=8, n_layers=1, n_heads=2)
    >>> net.initialize(torch.Generator().manual_seed(0))
    >>> main, order = torch.tensor([[0, 5, 1], [2, 39, 0]]), torch.tensor([2, 0, 1])
    >>> h = net.final_norm(net.column_hidden(main, torch.zeros_like(main), order))
    >>> grouped_nll(net, h, order, main[:, order].T).shape
    torch.Size([3, 2])
    """
    widths = net.vocab_groups()
    group = net.const("vocab_group")[order]
    sizes = torch.bincount(group, minlength=len(widths)).tolist()
    width = one_width(sizes, widths)
    if width is not None:  # every column at once, padded to the widest: no states moved
        return _nll(net, h, order, target, width)
    out = h.new_empty(target.shape, dtype=torch.float32)  # (h may be bfloat16)
    by_group = torch.argsort(group, stable=True)
    # a permutation of every state (the padding's after the columns'): its backward a
    # gather too (:func:`.gather.take`)
    pad = h.shape[0] - len(order)
    every = torch.cat([by_group, torch.arange(len(order), h.shape[0], device=h.device)])
    pieces = take(h, every).split([*sizes, pad])[:-1]
    for pos, piece, width in zip(by_group.split(sizes), pieces, widths, strict=True):
        if len(pos):
            out[pos] = _nll(net, piece, order[pos], target[pos], width)
    return out


def one_width(sizes: list[int], widths: list[int]) -> int | None:
    """The width every column is scored at in one product, or ``None`` to score the
    vocabulary groups apart (``sizes`` columns of each group of ``widths``).

    Apart, the states are permuted by group (a copy forward and backward as large as the
    states); at once, every column's logits are as wide as the widest group's. One product
    is taken while its extra logits cost less than moving the states: under
    :data:`MOVE_LOGITS` a column on average (at 1,000 columns of 7 and 32 labels, one
    product makes the training step about a tenth quicker).

    Examples
    --------
    >>> one_width([4, 0, 0], [3, 40, 1312]), one_width([500, 500], [7, 32])
    (3, 32)
    >>> one_width([20, 1], [8, 100_000]) is None
    True
    """
    used = [(size, width) for size, width in zip(sizes, widths, strict=True) if size]
    if not used:
        return None
    columns, widest = sum(size for size, _ in used), max(width for _, width in used)
    apart = sum(size * width for size, width in used) + MOVE_LOGITS * columns
    return widest if len(used) == 1 or columns * widest <= apart else None


def _nll(
    net: Any, h: torch.Tensor, cols: torch.Tensor, target: torch.Tensor, width: int
) -> torch.Tensor:
    """Negative log-likelihood ``(t, n)`` of ``target`` ``(t, n)`` under states ``h``
    ``(t or more, n, d)`` of columns ``cols``, their heads cut to ``width`` logits: a
    product per column over its rows, the bias joining it.

    States past the ``t`` columns (a wide network's short last group) are scored by heads
    of zeros against no target: their gradient is zero where it lies, instead of the
    gradient of a slice of the states, a zeroed tensor as large as all of them with the
    slice's copied in (two passes over a wide batch's states)."""
    t, pad = len(cols), h.shape[0] - len(cols)
    w = take(net.head_w, cols)[:, :width]
    b = take(net.head_b, cols)[:, :width] + net.const("vocab_mask")[cols, :width]
    if pad:
        w, b = F.pad(w, (0, 0, 0, 0, 0, pad)), F.pad(b, (0, 0, 0, pad))
        target = F.pad(target, (0, 0, 0, pad), value=-100)  # ignored: a zero loss
    logits = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2)).flatten(0, 1)
    nll = F.cross_entropy(logits, target.flatten(), reduction="none")
    return nll.view(t + pad, -1)[:t]


def fine_by_column(
    net: Any, h: torch.Tensor, cols: torch.Tensor, coarse: torch.Tensor
) -> torch.Tensor:
    """Fine-bin logits ``(t, n, F)`` of numeric columns ``cols`` ``(t,)`` from final-normed
    states ``h`` ``(t, n, d)`` and their coarse bins ``coarse`` ``(n, t)``, column-major
    (:meth:`.TokenTransformer.visited_fine_logits` takes and gives them a row at a time).

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
    >>> by_column = fine_by_column(net, h.transpose(0, 1), torch.tensor([1]), coarse)
    >>> by_column.shape
    torch.Size([1, 5, 32])
    >>> per_row = net.fine_logits(h, torch.tensor([1]), coarse, normed=True)
    >>> torch.allclose(by_column.transpose(0, 1), per_row, atol=1e-6)
    True
    """
    k = net.const("numeric_index")[cols]
    ctx = lookup(net.coarse_ctx.weight, net.const("offsets")[cols, None] + coarse.T)
    z = ctx.add_(h)  # the lookup's backward reads only its indices
    w1, b1 = take(net.fine_w1, k), take(net.fine_b1, k)
    w2, b2 = take(net.fine_w2, k), take(net.fine_b2, k)
    a = F.gelu(torch.baddbmm(b1.unsqueeze(1), z, w1.transpose(1, 2)))
    return torch.baddbmm(b2.unsqueeze(1), a, w2.transpose(1, 2))
