"""Training-by-sampling for the GAN: conditional vectors and the real rows that match them."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synthgen.generators.compact import CompactPlan
from synthgen.generators.nn import SpanLayout

__all__ = ["ConditionalSampler"]


class ConditionalSampler:
    """Conditional vectors and matching real rows for training-by-sampling.

    Parameters
    ----------
    matrix : ndarray or None
        The encoded training rows (``None`` with ``frequencies``: a sampler for generation
        only, as a loaded model needs).
    layout : SpanLayout
        Its spans; the conditioning uses the categorical spans of roles ``category`` and
        ``missing`` (not the mixture modes).
    device : torch device
        Where the tables live.
    frequencies : (ndarray, ndarray), optional
        Saved ``log_p`` and ``real_p`` tables (with ``matrix=None``).
    plan : CompactPlan, optional
        ``matrix`` is the compact matrix of this plan (default: the full matrix).

    Examples
    --------
    >>> from synthgen.transforms.table import Span
    >>> m = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], dtype=np.float32)
    >>> s = ConditionalSampler(m, SpanLayout([Span("c", "category", 0, 2, "softmax")]))
    >>> s.cond_dim
    2
    """

    def __init__(
        self,
        matrix: np.ndarray | None,
        layout: SpanLayout,
        device: Any = "cpu",
        *,
        frequencies: tuple[np.ndarray, np.ndarray] | None = None,
        plan: CompactPlan | None = None,
    ) -> None:
        spans = [s for s in layout.disc_spans if s.role in ("category", "missing") and s.dim > 1]
        self.spans = spans
        self.cond_dim = sum(s.dim for s in spans)
        offsets = np.cumsum([0] + [s.dim for s in spans])
        self.offsets = offsets
        self.span_start = torch.as_tensor(offsets[:-1], dtype=torch.long, device=device)
        if matrix is None:
            # A loaded model: only what generation needs, the saved frequencies per span.
            if frequencies is None:
                raise ValueError("ConditionalSampler needs the matrix or the frequencies")
            self.log_p, self.real_p = (
                torch.as_tensor(np.asarray(f), dtype=torch.float32, device=device)
                for f in frequencies
            )
            return
        if plan is None:  # the full matrix
            span_codes = [matrix[:, s.start : s.end].argmax(axis=1) for s in spans]
        else:
            span_codes = [plan.span_codes(matrix, s) for s in spans]
        # float32 counts, as a sum over the float32 one-hot columns gave them
        counts = [
            np.bincount(c, minlength=s.dim).astype(np.float32)
            for c, s in zip(span_codes, spans, strict=True)
        ]
        freq = np.concatenate(counts) if spans else np.zeros(0)
        # Per span: log-frequency probabilities for training, plain frequencies for sampling.
        log_p = np.zeros((len(spans), max((s.dim for s in spans), default=1)))
        real_p = np.zeros_like(log_p)
        for i, (s, c) in enumerate(zip(spans, counts, strict=True)):
            lf = np.log1p(c)
            log_p[i, : s.dim] = lf / lf.sum()
            real_p[i, : s.dim] = c / c.sum()
        self.log_p = torch.as_tensor(log_p, dtype=torch.float32, device=device)
        self.real_p = torch.as_tensor(real_p, dtype=torch.float32, device=device)
        # Row index tables: the rows of every (span, category), concatenated.
        rows, first = [], []
        pos = 0
        for s, codes in zip(spans, span_codes, strict=True):
            order = np.argsort(codes, kind="stable")
            per = np.bincount(codes, minlength=s.dim)
            first.append(pos + np.r_[0, np.cumsum(per)[:-1]])
            rows.append(order)
            pos += len(order)
        self.rows = torch.as_tensor(
            np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64), device=device
        )
        self.first = torch.as_tensor(
            np.concatenate(first) if first else np.zeros(0, dtype=np.int64), device=device
        )
        self.count = torch.as_tensor(freq.astype(np.int64), device=device)
        self.n_rows = len(matrix)

    def sample(
        self, n: int, generator: torch.Generator, *, log_frequency: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Conditional vectors ``(n, cond_dim)``, the chosen flat category and its span mask."""
        device = self.log_p.device
        span = torch.randint(len(self.spans), (n,), generator=generator, device=device)
        if log_frequency:
            # Training: a category per row by inverse CDF, one uniform each (several times
            # quicker than ``torch.multinomial`` on a batch of short rows).
            cdf = self.log_p[span].cumsum(1)
            u = torch.rand((n, 1), generator=generator, device=device) * cdf[:, -1:]
            cat = (cdf <= u).sum(1).clamp_max(cdf.shape[1] - 1)
        else:
            # Generation keeps its draws, so a saved model samples the rows it always did.
            cat = torch.multinomial(self.real_p[span], 1, generator=generator).squeeze(1)
        flat = self.span_start[span] + cat
        cond = torch.zeros((n, self.cond_dim), device=device)
        cond[torch.arange(n, device=device), flat] = 1.0
        return cond, flat, span

    def cond_of(self, rows: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
        """Conditional vectors stating each row's own category in its span ``span[i]`` (the
        conditions of uniformly drawn real rows, under differential privacy)."""
        cond = rows.new_zeros((len(rows), self.cond_dim))
        for i, s in enumerate(self.spans):
            hit = span == i
            o = int(self.offsets[i])
            cond[hit, o : o + s.dim] = rows[hit, s.start : s.end]
        return cond

    def sample_original(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Conditional vectors for generation: a category of a random span, at its real rate."""
        return self.sample(n, generator, log_frequency=False)[0]

    def real_rows(self, flat: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """For each chosen category, the index of a random training row that has it."""
        u = torch.rand(flat.shape, generator=generator, device=flat.device)
        pick = (u * self.count[flat]).long().clamp_max(self.count[flat] - 1)
        return self.rows[self.first[flat] + pick]
