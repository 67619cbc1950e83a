"""Slices gathered in a visiting order, with a backward pass as cheap as the gather.

A training step reads each column's weights (output heads, fine heads, column and query
embeddings) in the order the batch visits the columns, ``weight[order]``, and the main heads
read the (column-major) states grouped by vocabulary size, ``states[by_group]``. Under
autograd, plain indexing backpropagates by zeroing a gradient as large as the whole input
and adding the slices back at their indices. A wide table's batch goes through in parts
(:data:`.task.BACKWARD_BYTES`), and each part paid that for every per-column weight: at
1,000 columns the output heads alone are two million floats a part.

When the index is a permutation (every column is visited, as in every training step), the
gradient is just the incoming one put back in order, ``grad[inverse]``: one gather, nothing
zeroed, nothing accumulated, and the same numbers to the bit. In the schema's own order (half
of every batch) there is nothing to gather at all: the input is used as it is.

The cells' token embeddings, :func:`lookup`, backpropagate on the CPU by adding each cell's
gradient into its token's row (``index_add_``: the same sums in the same order as
``embedding``'s own backward, which runs a kernel per cell and took about half again as long).

The fine heads read the numbers' states out of every state the main heads read,
``states[numbers]``: :func:`fork` gives both, and backpropagates the subset's gradient
straight into the whole's (one pass) instead of into a zeroed tensor as large as the states
that autograd then adds to the main heads' gradient (two more passes over a wide batch);
in place when the main heads' gradient is known to be their own (``owned``).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F  # noqa: N812

__all__ = ["fork", "lookup", "take"]


class _Permuted(torch.autograd.Function):
    """``x.index_select(dim, index)`` for a permutation ``index``, backpropagated as
    ``grad.index_select(dim, inverse)``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor, dim: int):
        ctx.save_for_backward(inverse)
        ctx.dim = dim
        return x.index_select(dim, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inverse,) = ctx.saved_tensors
        return grad.index_select(ctx.dim, inverse), None, None, None


class _Fork(torch.autograd.Function):
    """``(x, x.index_select(dim, index))``, the two gradients summed in one pass."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, index: torch.Tensor, dim: int, owned: bool):
        ctx.save_for_backward(index)
        ctx.dim, ctx.shape, ctx.owned = dim, x.shape, owned
        return x.view_as(x), x.index_select(dim, index)

    @staticmethod
    def backward(ctx, whole: torch.Tensor | None, part: torch.Tensor | None):
        (index,) = ctx.saved_tensors
        if part is None:
            return whole, None, None, None
        if whole is None:
            whole = part.new_zeros(ctx.shape)
            return whole.index_add_(ctx.dim, index, part), None, None, None
        if ctx.owned:  # the caller's word: no other gradient shares this tensor
            return whole.index_add_(ctx.dim, index, part), None, None, None
        # out of place: autograd may hold the incoming gradient elsewhere
        return whole.index_add(ctx.dim, index, part), None, None, None


class _Lookup(torch.autograd.Function):
    """``F.embedding(index, weight)``, backpropagated by one ``index_add_`` of the rows."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, index: torch.Tensor):
        ctx.save_for_backward(index)
        ctx.rows = len(weight)
        return F.embedding(index, weight)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        width = grad.shape[-1]
        out = grad.new_zeros(ctx.rows, width)
        return out.index_add_(0, index.flatten(), grad.reshape(-1, width)), None


def lookup(weight: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``F.embedding(index, weight)``: rows of ``weight`` at ``index`` (any shape), whose
    backward on the CPU adds the gradient of every looked-up row into its row of a zeroed
    gradient in one ``index_add_`` (the same numbers as ``embedding``'s backward, quicker).

    Examples
    --------
    >>> w = torch.arange(6.0).view(3, 2).requires_grad_()
    >>> out = lookup(w, torch.tensor([[2, 0], [2, 2]]))
    >>> out[0].tolist()
    [[4.0, 5.0], [0.0, 1.0]]
    >>> out.sum().backward()
    >>> w.grad[:, 0].tolist()
    [1.0, 0.0, 3.0]
    """
    if weight.device.type != "cpu" or not (torch.is_grad_enabled() and weight.requires_grad):
        return F.embedding(index, weight)  # (on a GPU, index_add_ adds in no fixed order)
    return _Lookup.apply(weight, index)


def fork(
    x: torch.Tensor, index: torch.Tensor, dim: int = 0, *, owned: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` and ``x.index_select(dim, index)``, read by two consumers: under autograd the
    gradient of ``x`` is the whole's plus the subset's added at ``index`` in one pass (the
    same numbers as plain indexing's, to the bit).

    The sum is made out of place (a copy of the whole's gradient: autograd may hand the
    same tensor to another input, as a sum's backward does) unless ``owned``: the caller
    knows the whole's reader backpropagates a tensor of its own (a product's gradient, a
    gather's), and the subset's is added into it.

    Examples
    --------
    >>> x = torch.arange(6.0).view(3, 2).requires_grad_()
    >>> whole, part = fork(x, torch.tensor([2, 0]))
    >>> part.tolist()
    [[4.0, 5.0], [0.0, 1.0]]
    >>> (whole.sum() + 10 * part[0].sum()).backward()
    >>> x.grad[:, 0].tolist()
    [1.0, 1.0, 11.0]
    """
    if not (torch.is_grad_enabled() and x.requires_grad):
        return x, x.index_select(dim, index)
    return _Fork.apply(x, index, dim, owned)


def take(x: torch.Tensor, index: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """``x.index_select(dim, index)`` (``index`` one-dimensional, not negative), with a gather
    for a backward pass when ``index`` is a permutation of the ``x.shape[dim]`` slices, and
    ``x`` itself when it is the identity (read it, never write to it in place).

    Any other index (a subset, repeats, or nothing to differentiate) is a plain gather.

    Examples
    --------
    >>> w = torch.arange(6.0).view(3, 2).requires_grad_()
    >>> out = take(w, torch.tensor([2, 0, 1]))  # rows 2, 0 and 1
    >>> (out.sum(1) * torch.tensor([1.0, 10, 100])).sum().backward()
    >>> w.grad[:, 0].tolist()
    [10.0, 100.0, 1.0]
    >>> take(w, torch.arange(3)) is w, take(w, torch.tensor([1, 1])).tolist()
    (True, [[2.0, 3.0], [2.0, 3.0]])
    >>> take(w, torch.tensor([1, 0]), dim=1).tolist()
    [[1.0, 0.0], [3.0, 2.0], [5.0, 4.0]]
    """
    n = x.shape[dim]
    if len(index) != n or index.dim() != 1:
        return x.index_select(dim, index)
    slices = torch.arange(n, device=index.device)
    if torch.equal(index, slices):
        return x
    if not (torch.is_grad_enabled() and x.requires_grad):
        return x.index_select(dim, index)
    ordered, inverse = torch.sort(index)
    if not torch.equal(ordered, slices):  # repeats: not a permutation
        return x.index_select(dim, index)
    return _Permuted.apply(x, index, inverse, dim)
