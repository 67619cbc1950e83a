"""The mixed diffusion process over the shared encoder's matrix: noising, loss and sampling.

Numbers (quantile-normalised to standard normal scores by the encoder) follow a variance-
preserving Gaussian diffusion in continuous time, trained to predict the added noise and
sampled with the deterministic DDIM update. Categorical and missing-flag spans (one-hot
blocks) follow a masked (absorbing-state) diffusion: each span is hidden with probability
``1 - alpha(t)`` and the network predicts its category; sampling unmasks spans step by step
(MDLM, Sahoo et al. 2024; TabDiff, Shi et al. 2025). Both share one time ``t`` and one
network, so every column is denoised given every other.

Conditioning is inpainting: known categories stay visible at every reverse step. Known
numbers are either given to the network clean, with a flag, when it was trained to read them
(``cond_prob > 0``: on that share of training rows a random subset of columns is given clean
and left out of the loss), or else replaced at every step by their forward-noised values at
that step (RePaint, Lugmayr et al. 2022). Clean, flagged values condition far more sharply:
with RePaint a category revealed early is drawn from a still-noisy view of the known numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from synthgen.generators.diffusion.schedules import Schedule
from synthgen.generators.nn import SpanLayout
from synthgen.transforms.numeric import _ZMAX
from synthgen.transforms.table import Span

__all__ = ["MixedDiffusion"]

#: Smallest signal share used for numbers: keeps ``x0 = (x - sigma eps) / sqrt(alpha)`` finite
#: at ``t = 1``, where the cosine schedule reaches exactly 0.
ALPHA_MIN = 1e-4
#: Smallest training time (at ``t = 0`` there is nothing to denoise).
T_MIN = 1e-3

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class MixedDiffusion:
    """Gaussian diffusion on numeric dims plus masked diffusion on one-hot spans.

    Parameters
    ----------
    spans : sequence of Span
        The encoder's spans (``identity``/``tanh`` spans are numbers, ``softmax`` spans are
        one-hot blocks).
    num_schedule, cat_schedule : Schedule
        Signal share over time of the Gaussian and of the masking process.
    device : torch device
        Where the index tensors live.
    cond_prob : float
        Share of training rows on which a random subset of columns is given clean (the
        network learns to condition on exact values); 0 falls back to RePaint for numbers.

    Examples
    --------
    >>> from synthgen.generators.diffusion.schedules import CosineSchedule, LinearSchedule
    >>> spans = [Span("x", "value", 0, 1, "identity"), Span("c", "category", 1, 3, "softmax")]
    >>> proc = MixedDiffusion(spans, CosineSchedule(), LinearSchedule())
    >>> proc.in_dim, proc.out_dim
    (6, 4)
    >>> gen = torch.Generator().manual_seed(0)
    >>> rows = proc.sample(lambda x, t: torch.zeros(len(x), 4), 6, steps=3, generator=gen)
    >>> rows.shape, bool((rows[:, 1:].sum(1) == 1).all())
    (torch.Size([6, 4]), True)
    """

    def __init__(
        self,
        spans: Sequence[Span],
        num_schedule: Schedule,
        cat_schedule: Schedule,
        device: Any = "cpu",
        cond_prob: float = 0.0,
    ) -> None:
        self.layout = SpanLayout(spans, device)
        self.num_schedule = num_schedule
        self.cat_schedule = cat_schedule
        self.num_idx = self.layout.cont_idx
        self.groups = self.layout.groups
        self.dim = self.layout.dim
        self.n_num = len(self.num_idx)
        self.n_disc = self.layout.n_discrete
        self.device = torch.device(device)
        self.cond_prob = float(cond_prob)

    @property
    def in_dim(self) -> int:
        """Network input width: the encoded dims, one mask flag per categorical span and one
        "given clean" flag per number."""
        return self.dim + self.n_disc + self.n_num

    @property
    def out_dim(self) -> int:
        """Network output width: noise per number, logits per category."""
        return self.dim

    # -- forward process ------------------------------------------------------------------------
    def num_alpha(self, t: torch.Tensor) -> torch.Tensor:
        return self.num_schedule.alpha(t).clamp(ALPHA_MIN, 1.0)

    def noise(
        self, x0: torch.Tensor, t: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Draw ``x_t`` given ``x_0``: returns the noised matrix, the Gaussian noise of the
        numeric dims and one boolean mask ``(n, n_spans)`` per span-width group (True: hidden).

        Examples
        --------
        >>> from synthgen.generators.diffusion.schedules import CosineSchedule, LinearSchedule
        >>> spans = [Span("x", "value", 0, 1, "identity"), Span("c", "category", 1, 2, "softmax")]
        >>> proc = MixedDiffusion(spans, CosineSchedule(), LinearSchedule())
        >>> x0 = torch.tensor([[1.0, 0.0, 1.0]])
        >>> xt, eps, masks = proc.noise(x0, torch.tensor([0.0]), torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(xt, x0, atol=1e-3)), bool(masks[0].any())
        (True, False)
        """
        n = len(x0)
        x = x0.clone()
        eps = torch.randn((n, self.n_num), generator=generator, device=x0.device)
        if self.n_num:
            ab = self.num_alpha(t)[:, None]
            x[:, self.num_idx] = ab.sqrt() * x0[:, self.num_idx] + (1 - ab).sqrt() * eps
        keep = self.cat_schedule.alpha(t)[:, None]
        masks = [
            torch.rand((n, idx.shape[0]), generator=generator, device=x0.device) >= keep
            for idx in self.groups
        ]
        return x, eps, masks

    def net_input(
        self, x: torch.Tensor, masks: list[torch.Tensor], given: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Hidden spans become all-zero blocks, and a flag per span says it is hidden; a flag
        per number says it is given clean (``given``, ``(n, n_num)``; none when omitted)."""
        x = x.clone()
        for idx, m in zip(self.groups, masks, strict=True):
            x[:, idx] = x[:, idx] * (~m)[..., None]
        flags = [m.to(x.dtype) for m in masks]
        if given is None:
            given = x.new_zeros((len(x), self.n_num))
        return torch.cat([x, *flags, given.to(x.dtype)], dim=1)

    # -- training -------------------------------------------------------------------------------
    def loss(
        self, net: Denoiser, x0: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean loss per column and its numeric (noise MSE) and categorical (cross-entropy on
        hidden spans) parts, at stratified random times (lower variance than i.i.d. times)."""
        n = len(x0)
        u = torch.rand((1,), generator=generator, device=x0.device)
        grid = torch.arange(n, device=x0.device, dtype=x0.dtype) / n
        t = T_MIN + (1 - T_MIN) * ((u + grid) % 1.0)
        x, eps, masks = self.noise(x0, t, generator)
        given = None
        if self.cond_prob > 0:
            # On a share of rows, give each column clean with a per-row probability, so every
            # size of known subset is seen; given columns leave the loss.
            dev = x0.device
            rows = torch.rand((n, 1), generator=generator, device=dev) < self.cond_prob
            share = torch.rand((n, 1), generator=generator, device=dev)
            given = rows & (torch.rand((n, self.n_num), generator=generator, device=dev) < share)
            x[:, self.num_idx] = torch.where(given, x0[:, self.num_idx], x[:, self.num_idx])
            for j in range(len(self.groups)):
                shown = torch.rand(masks[j].shape, generator=generator, device=dev) < share
                masks[j] = masks[j] & ~(rows & shown)
        out = net(self.net_input(x, masks, given), t).float()
        err = (out[:, self.num_idx] - eps) ** 2
        num = (err if given is None else err * ~given).sum(dim=1)
        cat = out.new_zeros(n)
        for idx, m in zip(self.groups, masks, strict=True):
            logp = torch.log_softmax(out[:, idx], dim=-1)
            ce = -(logp * x0[:, idx]).sum(dim=-1)
            cat = cat + (ce * m).sum(dim=1)
        total = (num + cat) / max(self.n_num + self.n_disc, 1)
        return total.mean(), num.mean(), cat.mean()

    # -- sampling -------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        net: Denoiser,
        n: int,
        *,
        steps: int,
        generator: torch.Generator,
        fixed: torch.Tensor | None = None,
        known: torch.Tensor | None = None,
        solver: str = "dpm2m",
    ) -> torch.Tensor:
        """``n`` encoded rows after ``steps`` reverse steps (one network call each).

        With ``fixed`` and ``known`` (both ``(n, dim)``), the known entries are kept and the
        others are inpainted given them. ``solver`` integrates the numbers: ``"ddim"``
        (first order, deterministic DDIM) or ``"dpm2m"`` (DPM-Solver++(2M), Lu et al. 2022:
        second order from the previous step's ``x_0`` estimate, at no extra network call).
        """
        dev = self.device
        x = torch.zeros((n, self.dim), device=dev)
        x_num = torch.randn((n, self.n_num), generator=generator, device=dev)
        masks = [torch.ones((n, idx.shape[0]), dtype=torch.bool, device=dev) for idx in self.groups]
        known_num = given = None
        if known is not None and fixed is not None:
            fixed, known = fixed.to(dev), known.to(dev)
            known_num = known[:, self.num_idx]
            if not known_num.any():
                known_num = None
            elif self.cond_prob > 0:
                given = known_num
            for j, idx in enumerate(self.groups):
                span_known = known[:, idx].all(dim=-1)
                x[:, idx] = torch.where(span_known[..., None], fixed[:, idx], x[:, idx])
                masks[j] = masks[j] & ~span_known
        times = torch.linspace(1.0, 0.0, steps + 1, device=dev)
        prev_x0: torch.Tensor | None = None
        prev_h = torch.zeros((), device=dev)
        for k in range(steps):
            t, s = times[k], times[k + 1]
            ab_t, ab_s = (
                self.num_alpha(t),
                self.num_alpha(s) if s > 0 else torch.ones((), device=dev),
            )
            if given is not None:
                # The network was trained to read known numbers clean, with their flag.
                x_num = torch.where(given, fixed[:, self.num_idx], x_num)
            elif known_num is not None:
                # RePaint: the known numbers, noised to the current time.
                z = torch.randn(x_num.shape, generator=generator, device=dev)
                noised = ab_t.sqrt() * fixed[:, self.num_idx] + (1 - ab_t).sqrt() * z
                x_num = torch.where(known_num, noised, x_num)
            x[:, self.num_idx] = x_num
            out = net(self.net_input(x, masks, given), t.reshape(1)).float()
            # The x0 estimate is clipped to the encoder's score range; the update is written in
            # x0 (data prediction), so the clipped estimate drives it consistently.
            if self.n_num:
                eps_hat = out[:, self.num_idx]
                x0_hat = ((x_num - (1 - ab_t).sqrt() * eps_hat) / ab_t.sqrt()).clamp(-_ZMAX, _ZMAX)
                if s <= 0:
                    x_num = x0_hat
                else:
                    # Log signal-to-noise half-ratios; DDIM is the first-order update below.
                    lam_t = 0.5 * torch.log(ab_t / (1 - ab_t))
                    h = 0.5 * torch.log(ab_s / (1 - ab_s)) - lam_t
                    d = x0_hat
                    if solver == "dpm2m" and prev_x0 is not None:
                        r = prev_h / h
                        d = (1 + 1 / (2 * r)) * x0_hat - (1 / (2 * r)) * prev_x0
                    ratio = ((1 - ab_s) / (1 - ab_t)).sqrt()
                    x_num = ratio * x_num - ab_s.sqrt() * torch.expm1(-h) * d
                    prev_x0, prev_h = x0_hat, h
            # Masked diffusion: a hidden span is revealed between t and s with probability
            # (alpha(s) - alpha(t)) / (1 - alpha(t)); at s = 0 every span is revealed.
            a_t, a_s = self.cat_schedule.alpha(t), self.cat_schedule.alpha(s)
            reveal = (
                1.0 if s <= 0 else float(((a_s - a_t) / (1 - a_t).clamp_min(1e-12)).clamp(0, 1))
            )
            for j, idx in enumerate(self.groups):
                m = masks[j]
                if not m.any():
                    continue
                u = torch.rand(m.shape, generator=generator, device=dev)
                show = m & (u < reveal)
                x[:, idx] = torch.where(
                    show[..., None], _draw_onehot(out[:, idx], generator), x[:, idx]
                )
                masks[j] = m & ~show
        if self.n_num:
            if known_num is not None:
                x_num = torch.where(known_num, fixed[:, self.num_idx], x_num)
            x[:, self.num_idx] = x_num
        return x


def _draw_onehot(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One-hot draws from ``softmax(logits)`` over the last axis, by inverse CDF (one uniform
    per span instead of Gumbel noise per category)."""
    cdf = torch.softmax(logits, dim=-1).cumsum(-1)
    u = torch.rand((*cdf.shape[:-1], 1), generator=generator, device=cdf.device)
    code = (cdf < u * cdf[..., -1:]).sum(-1, keepdim=True).clamp_max(logits.shape[-1] - 1)
    return torch.zeros_like(logits).scatter_(-1, code, 1.0)
