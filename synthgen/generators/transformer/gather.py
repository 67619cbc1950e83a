"""Per-column weights gathered in a visiting order, with a backward pass as cheap as the gather.

A training step reads each column's weights (output heads, fine heads, column and query
embeddings) in the order the batch visits the columns: ``weight[order]``. Under autograd,
plain indexing backpropagates by zeroing a gradient as large as the weight and adding the
rows back at their indices. A wide table's batch goes through in several parts
(:data:`.task.BACKWARD_FLOATS`), and each part paid that for every per-column weight: at
1,000 columns the output heads alone are two million floats a part.

When every column is visited (the order is a permutation of the weight's rows, as in every
training step), the gradient of ``weight[order]`` is just the incoming gradient put back in
column order, ``grad[inverse]``: one gather, nothing zeroed, nothing accumulated, and the same
numbers to the bit. In the schema's own order (half of every batch) there is nothing to
gather at all: the weight is used as it is.
"""

from __future__ import annotations

import torch

__all__ = ["take_rows"]


class _Permuted(torch.autograd.Function):
    """``weight[index]`` for a permutation ``index``, backpropagated as ``grad[inverse]``."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor):
        ctx.save_for_backward(inverse)
        return weight.index_select(0, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inverse,) = ctx.saved_tensors
        return grad.index_select(0, inverse), None, None


def take_rows(weight: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``weight[index]`` (rows of ``weight``, ``index`` one-dimensional), with a gather for a
    backward pass when ``index`` is a permutation of the rows, and ``weight`` itself when it
    is the identity (read it, never write to it in place).

    Any other index (a subset of the columns, repeats, or no gradient to compute) is plain
    indexing.

    Examples
    --------
    >>> w = torch.arange(6.0).view(3, 2).requires_grad_()
    >>> out = take_rows(w, torch.tensor([2, 0, 1]))  # rows 2, 0 and 1
    >>> (out.sum(1) * torch.tensor([1.0, 10, 100])).sum().backward()
    >>> w.grad[:, 0].tolist()
    [10.0, 100.0, 1.0]
    >>> take_rows(w, torch.arange(3)) is w, take_rows(w, torch.tensor([1, 1])).tolist()
    (True, [[2.0, 3.0], [2.0, 3.0]])
    """
    n = len(weight)
    if len(index) != n or index.dim() != 1:
        return weight[index]
    rows = torch.arange(n, device=index.device)
    if torch.equal(index, rows):
        return weight
    if not (torch.is_grad_enabled() and weight.requires_grad):
        return weight[index]
    ordered, inverse = torch.sort(index)
    if not torch.equal(ordered, rows):  # repeats: not a permutation
        return weight[index]
    return _Permuted.apply(weight, index, inverse)
