"""An autoregressive output head shared by the VAE and the GAN.

A factorised decoder draws every column independently given its latent input, so exact or
strong relations between columns (Adult's education and education-num, a label and the
features that predict it) are only as sharp as the latent code. The head adds to each output
block a masked linear map of the blocks decoded before it: columns are decoded in table
order, and within a column the mode and missing-flag one-hots come one step before the
continuous value, so the value can read its own mode. Training can feed the true earlier
values (teacher forcing, the VAE) or the generated ones (the GAN); sampling decodes step by
step, one small matrix product per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from synthgen.generators.nn import SpanLayout
from synthgen.transforms.table import Span

__all__ = ["AutoregressiveHead", "DecodeStep", "span_ranks"]


def span_ranks(spans: Sequence[Span]) -> list[int]:
    """Decoding step of each encoded dimension.

    Examples
    --------
    >>> spans = [Span("x", "value", 0, 1, "tanh"), Span("x", "mode", 1, 2, "softmax"),
    ...          Span("c", "category", 3, 3, "softmax")]
    >>> span_ranks(spans)
    [1, 0, 0, 2, 2, 2]
    """
    columns = list(dict.fromkeys(s.column for s in spans))
    ranks = [0] * max((s.end for s in spans), default=0)
    for s in spans:
        rank = 2 * columns.index(s.column) + (s.role == "value")
        ranks[s.start : s.end] = [rank] * s.dim
    return ranks


class DecodeStep:
    """The spans decoded together in one step, re-based to a contiguous block.

    Parameters
    ----------
    spans : sequence of Span
        All output spans (continuous and softmax) of the encoder.
    members : list of int
        Positions in ``spans`` of the spans of this step.
    device : torch device
        Where the index tensors live.

    Attributes
    ----------
    dims : LongTensor
        The step's columns in the encoded matrix.
    layout : SpanLayout
        The step's spans over its own block.
    sigma_idx : LongTensor
        Positions of the step's continuous spans among all continuous spans.
    """

    def __init__(self, spans: Sequence[Span], members: list[int], device: Any) -> None:
        rebased, dims, pos = [], [], 0
        for i in members:
            s = spans[i]
            rebased.append(Span(s.column, s.role, pos, s.dim, s.activation))
            dims.extend(range(s.start, s.end))
            pos += s.dim
        self.dims = torch.tensor(dims, dtype=torch.long, device=device)
        self.layout = SpanLayout(rebased, device)
        cont = [i for i, s in enumerate(spans) if s.activation != "softmax"]
        self.sigma_idx = torch.tensor(
            [cont.index(i) for i in members if i in cont], dtype=torch.long, device=device
        )


class AutoregressiveHead(nn.Module):
    """Masked linear weights from earlier output blocks to later ones.

    Parameters
    ----------
    ranks : list of int
        Decoding step of each encoded dimension (:func:`span_ranks`); output dimension ``o``
        reads input dimension ``i`` when ``ranks[i] < ranks[o]``.

    Examples
    --------
    >>> from synthgen.generators.nn import build_module
    >>> spans = [Span("a", "category", 0, 2, "softmax"), Span("b", "category", 2, 2, "softmax")]
    >>> head = build_module(lambda: AutoregressiveHead(span_ranks(spans)), "cpu",
    ...                     torch.Generator().manual_seed(0))
    >>> with torch.no_grad():
    ...     head.weight[2:, :2] = 50 * torch.eye(2)  # b copies a
    >>> raw = torch.zeros(4, 4)  # the rest of the network says nothing
    >>> _, out = head.decode(raw, head.steps(spans, "cpu"),
    ...     lambda step, logits: step.layout.activate(logits, hard=True))
    >>> out.tolist()[0]
    [1.0, 0.0, 1.0, 0.0]
    """

    def __init__(self, ranks: list[int]) -> None:
        super().__init__()
        self.ranks = list(ranks)
        dim = len(self.ranks)
        self.weight = nn.Parameter(torch.empty(dim, dim))
        self._mask: torch.Tensor | None = None

    def reset_own_parameters(self) -> None:
        with torch.no_grad():
            self.weight.zero_()  # training starts from the factorised decoder

    def matrix(self) -> torch.Tensor:
        """The masked weights ``(dim, dim)``: row ``o`` holds what output ``o`` reads."""
        w = self.weight
        if self._mask is None or self._mask.device != w.device:
            r = torch.tensor(self.ranks, device=w.device)
            self._mask = (r[None, :] < r[:, None]).to(w.dtype)
        return w * self._mask

    def teacher(self, values: torch.Tensor) -> torch.Tensor:
        """The shift each output gets from the given (true) values of the earlier blocks."""
        return values.float() @ self.matrix().T

    def steps(self, spans: Sequence[Span], device: Any) -> list[DecodeStep]:
        """The decoding steps of the output ``spans``, in order."""
        by_rank: dict[int, list[int]] = {}
        for i, s in enumerate(spans):
            by_rank.setdefault(self.ranks[s.start], []).append(i)
        return [DecodeStep(spans, by_rank[r], device) for r in sorted(by_rank)]

    def decode(self, raw: torch.Tensor, steps: Sequence[DecodeStep], draw) -> tuple:
        """Decode ``raw`` network outputs step by step.

        ``draw(step, logits)`` turns a step's shifted outputs into values (a hard or soft
        sample); each step reads the values drawn before it. With gradients enabled the blocks
        are written out of place, so gradients flow through soft draws. Returns the shifted
        outputs and the values, both ``raw``-shaped.
        """
        weight = self.matrix()
        logits = torch.zeros_like(raw)
        values = torch.zeros_like(raw)
        grad = torch.is_grad_enabled()
        for step in steps:
            z = raw[:, step.dims] + values @ weight[step.dims].T
            v = draw(step, z).to(values.dtype)
            if grad:
                logits = logits.index_copy(1, step.dims, z)
                values = values.index_copy(1, step.dims, v)
            else:
                logits[:, step.dims] = z
                values[:, step.dims] = v
        return logits, values
