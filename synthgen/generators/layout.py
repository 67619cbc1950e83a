"""Output layout of the VAE and the GAN: activations and losses over the encoder's spans.

:class:`SpanLayout` gathers the encoded columns once into tanh, other and categorical blocks
(the categorical ones grouped by span width), so a softmax, a cross-entropy or a Gumbel draw
over every categorical block is one vectorised call per width instead of a Python loop per
column, and the blocks are slices, not index copies. Every random draw takes an explicit
``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from synthgen.generators.softmax import log_softmax, softmax
from synthgen.transforms.table import Span

__all__ = ["SpanLayout", "gumbel_noise", "permute_columns"]


class SpanLayout:
    """Index tensors for the continuous and the categorical (softmax) spans.

    Categorical spans are grouped by width, so a softmax, a cross-entropy or a Gumbel draw
    over all of them is one vectorised call per distinct width (no padding to the widest span,
    which would multiply the work when one column has many categories).

    Parameters
    ----------
    spans : sequence of Span
        The encoder's spans. ``tanh``/``identity`` spans are continuous, ``softmax`` spans
        categorical (an ``index`` span is not used by the neural generators).
    device : torch device
        Where the index tensors live.

    Examples
    --------
    >>> spans = [Span("x", "value", 0, 1, "tanh"), Span("x", "mode", 1, 2, "softmax"),
    ...          Span("c", "category", 3, 3, "softmax")]
    >>> layout = SpanLayout(spans)
    >>> layout.n_continuous, layout.n_discrete, len(layout.groups)
    (1, 2, 2)
    """

    def __init__(self, spans: Sequence[Span], device: Any = "cpu") -> None:
        self.spans = list(spans)
        self.dim = max((s.end for s in self.spans), default=0)
        cont = [s for s in self.spans if s.activation in ("tanh", "identity")]
        disc = [s for s in self.spans if s.activation == "softmax"]
        unknown = [s for s in self.spans if s.activation not in ("tanh", "identity", "softmax")]
        if unknown:
            raise ValueError(f"spans with activation {unknown[0].activation!r} are not supported")
        self.cont_spans, self.disc_spans = cont, disc
        self.n_continuous, self.n_discrete = len(cont), len(disc)
        self.cont_idx = torch.tensor(
            [i for s in cont for i in range(s.start, s.end)], dtype=torch.long, device=device
        )
        widths = sorted({s.dim for s in disc})
        #: one ``(n_spans, width)`` index matrix per distinct span width
        self.groups = [
            torch.tensor(
                [list(range(s.start, s.end)) for s in disc if s.dim == w],
                dtype=torch.long,
                device=device,
            )
            for w in widths
        ]
        # The columns gathered once into tanh | other | categorical blocks (groups in order, a
        # group's spans in order), so activations and losses work on slices: one gather and one
        # scatter per call instead of one of each per width and for the tanh columns.
        tanh = [s.start for s in cont if s.activation == "tanh"]
        categorical = [i for s in disc for i in range(s.start, s.end)]
        taken = set(tanh) | set(categorical)
        other = [i for i in range(self.dim) if i not in taken]
        grouped = [i for w in widths for s in disc if s.dim == w for i in range(s.start, s.end)]
        self._n_tanh, self._n_cont = len(tanh), len(tanh) + len(other)
        #: ``(start, spans, width)`` of each group among the gathered categorical columns
        self._blocks: list[tuple[int, int, int]] = []
        start = 0
        for g in self.groups:
            self._blocks.append((start, g.shape[0], g.shape[1]))
            start += g.numel()
        order = torch.tensor(tanh + other + grouped, dtype=torch.long, device=device)
        self._order, self._restore = order, torch.argsort(order)

    def to(self, device: Any) -> SpanLayout:
        self.cont_idx = self.cont_idx.to(device)
        self.groups = [g.to(device) for g in self.groups]
        self._order, self._restore = self._order.to(device), self._restore.to(device)
        return self

    def _gathered_blocks(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """Each group's columns of the gathered categorical columns ``x``, viewed as
        ``(rows, spans, width)``."""
        for start, n, w in self._blocks:
            yield x[:, start : start + n * w].reshape(len(x), n, w)

    def cross_entropy(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-row sum over categorical spans of the cross-entropy against one-hot targets."""
        total = raw.new_zeros(len(raw), dtype=torch.float32)
        x = permute_columns(raw, self._order, self._restore)[:, self._n_cont :]
        t = target[:, self._order[self._n_cont :]]
        for logits, goal in zip(self._gathered_blocks(x), self._gathered_blocks(t), strict=True):
            total = total - (log_softmax(logits.float()) * goal).sum(dim=(1, 2))
        return total

    def activate(
        self,
        raw: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        tau: float = 0.2,
        hard: bool = False,
    ) -> torch.Tensor:
        """Output activations: tanh on tanh spans; softmax (or a Gumbel-softmax draw when a
        ``generator`` is given) on categorical spans; ``hard`` returns one-hot blocks."""
        x = permute_columns(raw, self._order, self._restore)
        parts = [torch.tanh(x[:, : self._n_tanh]), x[:, self._n_tanh : self._n_cont]]
        categorical = x[:, self._n_cont :].float()
        if generator is not None and not hard:
            # Gumbel noise for every categorical column in one draw.
            noise = gumbel_noise(categorical.shape, generator, categorical.device)
            categorical = (categorical + noise) / tau
        for logits in self._gathered_blocks(categorical):
            if hard:
                if generator is None:
                    code = logits.argmax(-1, keepdim=True)
                else:
                    # A draw from softmax(logits / tau) by inverse CDF: one uniform per span
                    # instead of Gumbel noise per category (several times cheaper to sample).
                    # torch's kernel here: saved models keep drawing the rows they drew.
                    cdf = torch.softmax(logits / tau, dim=-1).cumsum(-1)
                    u = torch.rand((*cdf.shape[:-1], 1), generator=generator, device=cdf.device)
                    code = (cdf < u * cdf[..., -1:]).sum(-1, keepdim=True)
                    code = code.clamp_max(logits.shape[-1] - 1)
                probs = torch.zeros_like(logits).scatter_(-1, code, 1.0)
            else:
                probs = softmax(logits)
            parts.append(probs.flatten(1).to(raw.dtype))
        return permute_columns(torch.cat(parts, dim=1), self._restore, self._order)


class _PermuteColumns(torch.autograd.Function):
    # ``x[..., order]`` whose backward is a gather too (autograd's index backward scatters
    # with accumulation, several times slower on CPU). Written for torch.func as well (the
    # per-sample gradients of DP-SGD).
    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, order: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        return x.index_select(-1, order)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.save_for_backward(inputs[2])

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (inverse,) = ctx.saved_tensors
        return grad.index_select(-1, inverse), None, None


def permute_columns(
    x: torch.Tensor, order: torch.Tensor, inverse: torch.Tensor | None = None
) -> torch.Tensor:
    """``x[:, order]`` for a permutation ``order`` of the columns of 2-D ``x`` (``inverse``:
    its inverse permutation, when the caller has it).

    Examples
    --------
    >>> x = torch.arange(6.0).reshape(2, 3).requires_grad_()
    >>> y = permute_columns(x, torch.tensor([2, 0, 1]))
    >>> y.tolist()
    [[2.0, 0.0, 1.0], [5.0, 3.0, 4.0]]
    >>> (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    >>> x.grad.tolist()
    [[2.0, 3.0, 1.0], [2.0, 3.0, 1.0]]
    """
    return _PermuteColumns.apply(x, order, torch.argsort(order) if inverse is None else inverse)


def gumbel_noise(shape: Sequence[int], generator: torch.Generator, device: Any) -> torch.Tensor:
    """Standard Gumbel noise from ``generator`` (``torch.nn.functional.gumbel_softmax`` would
    draw from the global RNG)."""
    u = torch.rand(tuple(shape), generator=generator, device=device)
    return u.clamp_(1e-10, 1.0 - 1e-7).log_().neg_().log_().neg_()  # in place: no temporaries
