"""A conditional tabular GAN (CTGAN-class, Xu et al. 2019), written for speed and reproducibility.

* Mode-specific normalisation and one-hot blocks come from the shared encoder (``numeric="gmm"``).
* Training-by-sampling: each row of a batch picks a categorical span uniformly and a category
  with probability proportional to the log of its frequency, so rare categories are learned;
  the real rows of the batch are drawn among those having that category (index tables built
  once, on the device, so no per-step Python loop over rows).
* A PacGAN critic (``pac`` rows judged together) with the WGAN-GP loss; a generator of residual
  blocks; Gumbel-softmax outputs drawn from the trainer's explicit generator.
* Sampling uses an exponential moving average of the generator's weights (Polyak averaging,
  as in Yazici et al. 2019), with batch-norm statistics recomputed for the averaged weights:
  the last iterate of a GAN oscillates around the equilibrium, the average sits closer to it.
* Sampling runs the generator in eval mode (fixed batch-norm statistics), so a row does not
  depend on the other rows of its batch, and every draw is seeded.
"""

from __future__ import annotations

import copy
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from synthgen.exceptions import ConfigurationError
from synthgen.generators.ar_head import AutoregressiveHead, DecodeStep, span_ranks
from synthgen.generators.base import BaseGenerator
from synthgen.generators.nn import (
    Residual,
    SpanLayout,
    build_module,
    check_training_params,
    dropout,
    load_module,
    module_arrays,
    resolve_saved_device,
    sample_in_chunks,
)
from synthgen.generators.registry import register
from synthgen.training import Trainer, trainer_for
from synthgen.utils import torch_generator

__all__ = ["ConditionalSampler", "TabularGAN"]


class ConditionalSampler:
    """Conditional vectors and matching real rows for training-by-sampling.

    Parameters
    ----------
    matrix : ndarray
        The encoded training rows.
    layout : SpanLayout
        Its spans; the conditioning uses the categorical spans of roles ``category`` and
        ``missing`` (not the mixture modes).

    Examples
    --------
    >>> from synthgen.transforms.table import Span
    >>> m = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], dtype=np.float32)
    >>> s = ConditionalSampler(m, SpanLayout([Span("c", "category", 0, 2, "softmax")]))
    >>> s.cond_dim
    2
    """

    def __init__(self, matrix: np.ndarray, layout: SpanLayout, device: Any = "cpu") -> None:
        spans = [s for s in layout.disc_spans if s.role in ("category", "missing") and s.dim > 1]
        self.spans = spans
        self.cond_dim = sum(s.dim for s in spans)
        offsets = np.cumsum([0] + [s.dim for s in spans])
        self.offsets = offsets
        counts = [matrix[:, s.start : s.end].sum(axis=0) for s in spans]
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
        self.span_start = torch.as_tensor(offsets[:-1], dtype=torch.long, device=device)
        # Row index tables: the rows of every (span, category), concatenated.
        rows, first = [], []
        pos = 0
        for s in spans:
            codes = matrix[:, s.start : s.end].argmax(axis=1)
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
        probs = (self.log_p if log_frequency else self.real_p)[span]
        cat = torch.multinomial(probs, 1, generator=generator).squeeze(1)
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


class _Generator(nn.Module):
    def __init__(
        self, in_dim: int, hidden: tuple[int, ...], out_dim: int, ranks: list[int] | None = None
    ) -> None:
        super().__init__()
        blocks, dim = [], in_dim
        for h in hidden:
            blocks.append(Residual(dim, h))
            dim += h
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(dim, out_dim)
        # Autoregressive head: each output block also reads the blocks generated before it.
        self.ar = AutoregressiveHead(ranks) if ranks is not None else None

    def generate(
        self, x: torch.Tensor, layout: SpanLayout, steps: list[DecodeStep], activate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Output logits and activated values for inputs ``x``; ``activate(layout, logits)``
        turns logits over a layout into values."""
        raw = self(x).float()
        if self.ar is None:
            return raw, activate(layout, raw)
        return self.ar.decode(raw, steps, lambda step, z: activate(step.layout, z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(x))


class _Critic(nn.Module):
    def __init__(self, in_dim: int, hidden: tuple[int, ...], pac: int, p_drop: float) -> None:
        super().__init__()
        self.pac = pac
        self.p_drop = p_drop
        dims = [in_dim * pac, *hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(dims))
        self.out = nn.Linear(dims[-1], 1)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(-1, x.shape[1] * self.pac)  # PacGAN: pac rows judged as one
        for layer in self.layers:
            h = torch.nn.functional.leaky_relu(layer(h), 0.2)
            if self.generator is not None:
                h = dropout(h, self.p_drop, self.generator, self.training)
        return self.out(h)


class _GANTask(nn.Module):
    def __init__(
        self,
        gen: _Generator,
        critic: _Critic,
        layout: SpanLayout,
        sampler: ConditionalSampler,
        data: torch.Tensor,
        *,
        batch_size: int,
        embedding_dim: int,
        lr: float,
        l2: float,
        critic_steps: int,
        gp_weight: float,
        tau: float,
        ema: float | None,
    ) -> None:
        super().__init__()
        self.gen, self.critic = gen, critic
        self.ema = ema
        self.ema_gen: _Generator | None = None
        self.ema_steps = 0
        if ema is not None:
            self.ema_gen = copy.deepcopy(gen).requires_grad_(False)
        self.layout, self.sampler, self.data = layout, sampler, data
        self.steps = gen.ar.steps(layout.spans, data.device) if gen.ar is not None else []
        self.batch_size, self.embedding_dim = batch_size, embedding_dim
        self.critic_steps, self.gp_weight, self.tau = critic_steps, gp_weight, tau
        # The head (when present) trains at the network's learning rate: larger steps (x10,
        # x30) lowered TSTR on Adult, unlike in the vae, whose teacher forcing needs them.
        self.opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.9), weight_decay=l2)
        self.opt_d = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.5, 0.9), weight_decay=l2)

    def _fake(
        self, cond: torch.Tensor, g: torch.Generator, gen: nn.Module | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(cond)
        z = torch.randn((n, self.embedding_dim), generator=g, device=cond.device)
        return (gen or self.gen).generate(
            torch.cat([z, cond], dim=1),
            self.layout,
            self.steps,
            lambda lay, logits: lay.activate(logits, generator=g, tau=self.tau),
        )

    def _cond(self, g: torch.Generator, log_frequency: bool = True, n: int | None = None):
        n = self.batch_size if n is None else n
        if self.sampler.cond_dim:
            return self.sampler.sample(n, g, log_frequency=log_frequency)
        empty = torch.zeros((n, 0), device=self.data.device)
        return empty, None, None

    #: the critic's DP-SGD driver when training with differential privacy (set by the generator)
    dp: Any = None

    def training_step(self, batch: torch.Tensor, trainer: Trainer) -> dict[str, torch.Tensor]:
        if self.dp is not None:
            return self._private_step(batch, trainer)
        # ``batch`` only paces the epoch: real rows are drawn to match the conditions.
        g = trainer.generator_
        for _ in range(self.critic_steps):
            cond, flat, _ = self._cond(g)
            if flat is None:
                idx = torch.randint(
                    len(self.data), (self.batch_size,), generator=g, device=cond.device
                )
            else:
                idx = self.sampler.real_rows(flat, g)
            real = torch.cat([self.data[idx], cond], dim=1)
            with trainer.autocast():
                _, fake = self._fake(cond, g)
                fake = torch.cat([fake, cond], dim=1).detach()
                w_dist = self.critic(real).mean() - self.critic(fake).mean()
            gp = self._gradient_penalty(real, fake, g)
            loss_d = -w_dist + self.gp_weight * gp
            trainer.optimize(loss_d, self.opt_d)
        loss_g = self._generator_step(trainer, log_frequency=True)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g, "w_dist": w_dist.detach()}

    def _generator_step(self, trainer: Trainer, log_frequency: bool) -> torch.Tensor:
        g = trainer.generator_
        cond, flat, span = self._cond(g, log_frequency)
        with trainer.autocast():
            raw, fake = self._fake(cond, g)
            score = self.critic(torch.cat([fake, cond], dim=1)).mean()
        loss_g = -score
        if flat is not None:
            loss_g = loss_g + self._cond_loss(raw, flat, span)
        trainer.optimize(loss_g, self.opt_g)
        self._update_average()
        return loss_g.detach()

    def _update_average(self) -> None:
        if self.ema_gen is None:
            return
        # A short warm-up (as TensorFlow's moving averages): early on the average forgets fast,
        # so a short fit is not dragged back towards the initial weights.
        self.ema_steps += 1
        decay = min(self.ema, (1 + self.ema_steps) / (10 + self.ema_steps))
        with torch.no_grad():
            for avg, p in zip(self.ema_gen.parameters(), self.gen.parameters(), strict=True):
                avg.lerp_(p, 1.0 - decay)

    def critic_row_loss(
        self, params: dict[str, torch.Tensor], real: torch.Tensor, fake: torch.Tensor, alpha
    ) -> torch.Tensor:
        """The critic's loss on one real row paired with one generated row: the Wasserstein
        term and the gradient penalty at their mix (for per-row gradients; ``pac`` is 1)."""
        from torch.func import functional_call, grad

        def score(x: torch.Tensor) -> torch.Tensor:
            return functional_call(self.critic, params, (x[None],)).sum()

        slope = grad(score)(alpha * real + (1 - alpha) * fake)
        penalty = (torch.sqrt((slope**2).sum() + 1e-12) - 1) ** 2
        return score(fake) - score(real) + self.gp_weight * penalty

    def _private_step(self, batch: torch.Tensor, trainer: Trainer) -> dict[str, torch.Tensor]:
        """One DP-SGD step of the critic on a Poisson batch of real rows, each conditioned on
        its own category of a random span and paired with a generated row whose condition is
        drawn at the released frequencies; then an ordinary generator step (the generator sees
        real rows only through the private critic: post-processing)."""
        if not self.dp.can_step():
            trainer.request_stop("privacy_budget")
            return {}
        g = trainer.generator_
        n = len(batch)
        real = fake = alpha = batch
        if n:
            cond = batch.new_zeros((n, 0))
            if self.sampler.cond_dim:
                span = torch.randint(
                    len(self.sampler.spans), (n,), generator=g, device=batch.device
                )
                cond = self.sampler.cond_of(batch, span)
            real = torch.cat([batch, cond], dim=1)
            with torch.no_grad():  # a full batch keeps the batch-norm statistics sound
                fake_cond = self._cond(g, False, max(n, self.batch_size))[0]
                fake = torch.cat([self._fake(fake_cond, g)[1], fake_cond], dim=1)[:n]
            alpha = torch.rand((n, 1), generator=g, device=batch.device)
        self.dp.step(real, fake, alpha)
        self.critic.zero_grad(set_to_none=True)
        loss_g = self._generator_step(trainer, log_frequency=False)
        self.critic.zero_grad(set_to_none=True)
        # Only the generator's loss is logged: the critic's losses read real rows outside the
        # accountant (and the history is saved with the model).
        return {"loss_g": loss_g}

    def averaged_generator(self, generator: torch.Generator, batches: int = 50) -> _Generator:
        """The generator for sampling: the averaged weights, their batch-norm statistics
        recomputed on ``batches`` batches of training conditions (the running statistics
        belong to the last weights), in eval mode; the last weights without averaging."""
        gen = self.ema_gen
        if gen is None:
            return self.gen.eval()
        norms = [m for m in gen.modules() if isinstance(m, nn.BatchNorm1d)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a plain average over the batches below
        gen.train()
        with torch.no_grad():
            for _ in range(batches):
                self._fake(self._cond(generator)[0], generator, gen)
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        return gen.eval()

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, g: torch.Generator):
        pac = self.critic.pac
        alpha = torch.rand((len(real) // pac, 1, 1), generator=g, device=real.device)
        alpha = alpha.expand(-1, pac, real.shape[1]).reshape(real.shape)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        out = self.critic(mixed)
        (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
        norms = grad.reshape(-1, pac * real.shape[1]).norm(dim=1)
        return ((norms - 1) ** 2).mean()

    def _cond_loss(self, raw: torch.Tensor, flat: torch.Tensor, span: torch.Tensor):
        """Cross-entropy of the generated block of each row's conditioned span (keeps the
        generator faithful to the condition)."""
        total = raw.new_zeros(())
        for i, s in enumerate(self.sampler.spans):
            rows = span == i
            target = flat[rows] - int(self.sampler.offsets[i])
            logits = raw[rows, s.start : s.end]
            total = total + nn.functional.cross_entropy(logits, target, reduction="sum")
        return total / len(raw)


@register("gan")
class TabularGAN(BaseGenerator):
    """Conditional Wasserstein GAN for mixed tables (CTGAN-class).

    Parameters
    ----------
    epochs : int
        Largest number of passes (``n_rows / batch_size`` steps each).
    max_time : float, optional
        Training budget in seconds of wall clock.
    batch_size : int
        Rows per step (rounded up to a multiple of ``pac``).
    embedding_dim : int
        Width of the noise vector.
    generator_dims, critic_dims : tuple of int
        Widths of the generator's residual blocks and of the critic's layers.
    pac : int
        Rows the critic judges together (PacGAN; against mode collapse).
    learning_rate : float
        Adam step size of both networks.
    l2 : float
        Weight decay.
    critic_steps : int
        Critic updates per generator update.
    gp_weight : float
        Weight of the WGAN gradient penalty.
    critic_dropout : float
        Dropout in the critic, in [0, 1).
    tau : float
        Gumbel-softmax temperature of the categorical outputs.
    ema : float, optional
        Decay of the exponential moving average of the generator's weights that sampling uses
        (``None``: the last weights).
    autoregressive : bool
        Give the generator an autoregressive head (:mod:`synthgen.generators.ar_head`): each
        column's output also reads the values generated for the columns before it, in
        training and sampling. Sharpens exact relations between columns; off by default
        because it costs about 30% of the epochs a time budget buys and did not raise
        train-on-synthetic utility on Adult.
    grad_clip : float, optional
        Largest gradient norm per update.
    precision : {"auto", "float32"}
        ``"auto"`` runs the generator's and the critic's forward passes in bfloat16 mixed
        precision where the hardware computes bfloat16 natively (CUDA; CPUs with AVX512-BF16
        or AMX), so the time budget buys more epochs; the gradient penalty stays float32.
        ``"float32"`` always trains in float32.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
    epsilon : float, optional
        Train with (``epsilon``, ``delta``)-differential privacy; ``None``: no DP. Only the
        critic reads real rows, so only the critic trains with DP-SGD (opacus' optimizer and
        accountant; per-row gradients of the Wasserstein loss and gradient penalty); the
        generator learns from the private critic alone. Preprocessing is private
        (``preprocess_share`` of the budget), the conditions come from the released
        frequencies, real rows are drawn by Poisson sampling instead of training-by-sampling,
        the critic judges single rows (``pac`` 1) without dropout, and training runs in
        float32. The noise is calibrated so that ``epochs`` epochs spend the budget exactly.
    delta : float
        Differential-privacy delta (with ``epsilon``).
    max_grad_norm : float
        Per-row gradient clipping norm of the critic's DP-SGD (replaces ``grad_clip``).
    noise_multiplier : float, optional
        DP-SGD noise as a multiple of ``max_grad_norm``; ``None`` calibrates it to the budget.
    preprocess_share : float
        Share of the budget for private bounds, label lists and encoder statistics.
    min_category_count : int
        With ``epsilon``: labels held by fewer rows are never released.
    random_state : int, optional
        Seed for fitting and sampling.
    verbose : bool
        Progress bars with the live losses.

    Attributes
    ----------
    history_ : list of dict
        Per-epoch ``loss_d``, ``loss_g``, ``w_dist`` (critic's Wasserstein estimate), ``time``;
        with ``epsilon`` only ``loss_g`` (the critic's losses read real rows).
    epsilon_, delta_ : float
        With ``epsilon``: the privacy the accountant says was spent.

    Examples
    --------
    >>> import synthgen as sg
    >>> df = sg.datasets.load_adult().head(200)
    >>> model = TabularGAN(epochs=1, random_state=0).fit(df)
    >>> model.sample(5, random_state=1).shape
    (5, 15)
    """

    #: Point masses must stand out from an even spread (3x its share): the common ages of an
    #: age column stay in Gaussian modes (Adult pair trends 0.906 -> 0.921 in one comparison).
    encoder_params: ClassVar[dict[str, Any]] = {
        "numeric": "gmm",
        "discrete": "onehot",
        "spike_ratio": 3.0,
    }

    def __init__(
        self,
        *,
        epochs: int = 500,
        max_time: float | None = 360.0,
        batch_size: int = 500,
        embedding_dim: int = 128,
        generator_dims: tuple[int, ...] = (256, 256),
        critic_dims: tuple[int, ...] = (256, 256),
        pac: int = 5,
        learning_rate: float = 5e-4,
        l2: float = 1e-6,
        critic_steps: int = 1,
        gp_weight: float = 10.0,
        critic_dropout: float = 0.5,
        tau: float = 0.2,
        ema: float | None = 0.999,
        autoregressive: bool = False,
        grad_clip: float | None = None,
        precision: str = "auto",
        device: str = "auto",
        epsilon: float | None = None,
        delta: float = 1e-5,
        max_grad_norm: float = 1.0,
        noise_multiplier: float | None = None,
        preprocess_share: float = 0.1,
        min_category_count: int = 10,
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.epochs = epochs
        self.max_time = max_time
        self.batch_size = batch_size
        self.embedding_dim = embedding_dim
        self.generator_dims = generator_dims
        self.critic_dims = critic_dims
        self.pac = pac
        self.learning_rate = learning_rate
        self.l2 = l2
        self.critic_steps = critic_steps
        self.gp_weight = gp_weight
        self.critic_dropout = critic_dropout
        self.tau = tau
        self.ema = ema
        self.autoregressive = autoregressive
        self.grad_clip = grad_clip
        self.precision = precision
        self.device = device
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.noise_multiplier = noise_multiplier
        self.preprocess_share = preprocess_share
        self.min_category_count = min_category_count
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def _fast_params(cls) -> dict[str, Any]:
        return {
            "epochs": 2,
            "batch_size": 40,
            "embedding_dim": 8,
            "generator_dims": (16,),
            "critic_dims": (16,),
            "pac": 4,
            "device": "cpu",
        }

    def _check_params(self) -> None:
        check_training_params(self)
        if self.epsilon is not None:
            from synthgen.privacy.dp.fitting import check_dp_sgd_params

            check_dp_sgd_params(self)
            if self.critic_steps != 1:
                raise ConfigurationError(
                    f"critic_steps must be 1 with epsilon (one DP-SGD step per batch), "
                    f"got {self.critic_steps!r}"
                )
        for name in ("embedding_dim", "pac", "critic_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigurationError(f"{name} must be a positive integer, got {v!r}")
        for name in ("generator_dims", "critic_dims"):
            dims = getattr(self, name)
            if not isinstance(dims, (tuple, list)) or not all(
                isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in dims
            ):
                raise ConfigurationError(
                    f"{name} must be a tuple of positive integers, got {dims!r}"
                )
        for name in ("l2", "gp_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ConfigurationError(f"{name} must be a non-negative number, got {v!r}")
        if not isinstance(self.critic_dropout, (int, float)) or not 0 <= self.critic_dropout < 1:
            raise ConfigurationError(
                f"critic_dropout must lie in [0, 1), got {self.critic_dropout!r}"
            )
        if isinstance(self.tau, bool) or not isinstance(self.tau, (int, float)) or self.tau <= 0:
            raise ConfigurationError(f"tau must be a positive number, got {self.tau!r}")
        ema = self.ema
        if ema is not None and (
            isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0 < ema < 1
        ):
            raise ConfigurationError(f"ema must lie in (0, 1) or be None, got {self.ema!r}")

    def _gen_factory(self):
        in_dim = self.embedding_dim + self.cond_dim_
        dims = (in_dim, tuple(self.generator_dims), self.encoder_.output_dim)
        ranks = span_ranks(self.encoder_.spans) if self.autoregressive else None
        return lambda: _Generator(*dims, ranks)

    def _prepare(self, data, schema, rng):
        if self.epsilon is None:
            return super()._prepare(data, schema, rng)
        from synthgen.privacy.dp.fitting import private_prepare

        mapped, dp_schema, surrogate, n_rows, _ = private_prepare(self, data, schema, rng)
        self._surrogate = surrogate  # released marginals: the conditions' frequencies
        return mapped, dp_schema, surrogate, n_rows

    def _fit_encoded(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        private = self.epsilon is not None
        pac = 1 if private else self.pac
        batch = -(-self.batch_size // pac) * pac
        overrides: dict[str, Any] = {"batch_size": batch}
        if private:
            sample_rate = min(1.0, batch / max(self.n_train_rows_, 1))
            overrides.update(sample_rate=sample_rate, grad_clip=None, mixed_precision=False)
        trainer = trainer_for(self, rng, **overrides)
        device = trainer.device_
        layout = SpanLayout(self.encoder_.spans, device)
        if private:
            released = self.encoder_.transform(self._surrogate, random_state=rng)
            del self._surrogate
            sampler = ConditionalSampler(released, layout, device)
        else:
            sampler = ConditionalSampler(matrix, layout, device)
        self.cond_dim_ = sampler.cond_dim
        data = torch.from_numpy(matrix).to(device)
        gen = build_module(self._gen_factory(), device, trainer.generator_)
        critic_in = self.encoder_.output_dim + sampler.cond_dim
        critic = build_module(
            lambda: _Critic(critic_in, tuple(self.critic_dims), pac, self.critic_dropout),
            device,
            trainer.generator_,
        )
        if not private:  # no dropout under DP-SGD: per-row gradients need a fixed critic
            critic.generator = trainer.generator_
        task = _GANTask(
            gen,
            critic,
            layout,
            sampler,
            data,
            batch_size=batch,
            embedding_dim=self.embedding_dim,
            lr=self.learning_rate,
            l2=self.l2,
            critic_steps=self.critic_steps,
            gp_weight=self.gp_weight,
            tau=self.tau,
            ema=self.ema,
        )
        if private:
            from synthgen.privacy.dp.fitting import dp_sgd_driver, record_dp_sgd

            task.dp = dp_sgd_driver(self, critic, task.opt_d, task.critic_row_loss, trainer)
            # Poisson batches of the real rows feed the critic's DP-SGD steps.
            trainer.fit(task, data)
            record_dp_sgd(self, task.dp, trainer, trained="critic")
            task.dp = None
        else:
            # The data tensor already lives on the device; the trainer only paces epochs.
            trainer.fit(task, torch.zeros((len(matrix), 0)))
        self.generator_net_ = task.averaged_generator(trainer.generator_)
        self.layout_, self.sampler_, self.device_ = layout, sampler, device
        self.history_ = trainer.history_
        self.n_epochs_ = trainer.n_epochs_

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        gen_net, lay = self.generator_net_, self.layout_
        g = torch_generator(rng, self.device_)
        gen_net.eval()
        steps = gen_net.ar.steps(lay.spans, self.device_) if gen_net.ar is not None else []

        def draw(size: int) -> torch.Tensor:
            z = torch.randn((size, self.embedding_dim), generator=g, device=self.device_)
            if self.cond_dim_:
                cond = self.sampler_.sample_original(size, g)
                z = torch.cat([z, cond], dim=1)
            return gen_net.generate(
                z,
                lay,
                steps,
                lambda span_lay, logits: span_lay.activate(logits, generator=g, tau=1.0, hard=True),
            )[1]

        return sample_in_chunks(n_samples, 20_000, draw)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"n_epochs": self.n_epochs_, "history": self.history_, "cond_dim": self.cond_dim_}
        if getattr(self, "privacy_", None) is not None:
            meta["privacy"] = self.privacy_
        arrays = module_arrays(self.generator_net_, "generator")
        arrays["cond.log_p"] = self.sampler_.log_p.cpu().numpy()
        arrays["cond.real_p"] = self.sampler_.real_p.cpu().numpy()
        return meta, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.autoregressive = "generator.ar.weight" in arrays  # what the saved network has
        self.device_ = resolve_saved_device(self.device)
        self.layout_ = SpanLayout(self.encoder_.spans, self.device_)
        self.cond_dim_ = int(meta["cond_dim"])
        self.generator_net_ = load_module(self._gen_factory(), arrays, "generator", self.device_)
        # Only what generation needs: the condition spans and their real frequencies.
        sampler = ConditionalSampler.__new__(ConditionalSampler)
        spans = [s for s in self.layout_.disc_spans if s.role in ("category", "missing")]
        sampler.spans = [s for s in spans if s.dim > 1]
        sampler.cond_dim = self.cond_dim_
        sampler.offsets = np.cumsum([0] + [s.dim for s in sampler.spans])
        sampler.span_start = torch.as_tensor(
            sampler.offsets[:-1], dtype=torch.long, device=self.device_
        )
        sampler.log_p = torch.as_tensor(arrays["cond.log_p"], device=self.device_)
        sampler.real_p = torch.as_tensor(arrays["cond.real_p"], device=self.device_)
        self.sampler_ = sampler
        self.n_epochs_ = int(meta["n_epochs"])
        self.history_ = list(meta["history"])
        if "privacy" in meta:
            self.privacy_ = dict(meta["privacy"])
            self.epsilon_ = float(self.privacy_["epsilon"])
            self.delta_ = float(self.privacy_["delta"])
