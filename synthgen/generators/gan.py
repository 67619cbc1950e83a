"""A conditional tabular GAN (CTGAN-class, Xu et al. 2019), written for speed and reproducibility.

* Mode-specific normalisation and one-hot blocks come from the shared encoder (``numeric="gmm"``).
* Training-by-sampling: each row of a batch picks a categorical span uniformly and a category
  with probability proportional to the log of its frequency, so rare categories are learned;
  the real rows of the batch are drawn among those having that category (index tables built
  once, on the device, so no per-step Python loop over rows).
* A PacGAN critic (``pac`` rows judged together) with the WGAN-GP loss; a generator of residual
  blocks; Gumbel-softmax outputs drawn from the trainer's explicit generator.
* Sampling runs the generator in eval mode (fixed batch-norm statistics), so a row does not
  depend on the other rows of its batch, and every draw is seeded.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from synthgen.exceptions import ConfigurationError
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

    def sample_original(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Conditional vectors for generation: a category of a random span, at its real rate."""
        return self.sample(n, generator, log_frequency=False)[0]

    def real_rows(self, flat: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """For each chosen category, the index of a random training row that has it."""
        u = torch.rand(flat.shape, generator=generator, device=flat.device)
        pick = (u * self.count[flat]).long().clamp_max(self.count[flat] - 1)
        return self.rows[self.first[flat] + pick]


class _Generator(nn.Module):
    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        blocks, dim = [], in_dim
        for h in hidden:
            blocks.append(Residual(dim, h))
            dim += h
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(dim, out_dim)

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
    ) -> None:
        super().__init__()
        self.gen, self.critic = gen, critic
        self.layout, self.sampler, self.data = layout, sampler, data
        self.batch_size, self.embedding_dim = batch_size, embedding_dim
        self.critic_steps, self.gp_weight, self.tau = critic_steps, gp_weight, tau
        self.opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.9), weight_decay=l2)
        self.opt_d = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.5, 0.9), weight_decay=l2)

    def _fake(self, cond: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(cond)
        z = torch.randn((n, self.embedding_dim), generator=g, device=cond.device)
        raw = self.gen(torch.cat([z, cond], dim=1)).float()
        return raw, self.layout.activate(raw, generator=g, tau=self.tau)

    def _cond(self, g: torch.Generator):
        if self.sampler.cond_dim:
            return self.sampler.sample(self.batch_size, g)
        empty = torch.zeros((self.batch_size, 0), device=self.data.device)
        return empty, None, None

    def training_step(self, batch: torch.Tensor, trainer: Trainer) -> dict[str, torch.Tensor]:
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
        cond, flat, span = self._cond(g)
        with trainer.autocast():
            raw, fake = self._fake(cond, g)
            score = self.critic(torch.cat([fake, cond], dim=1)).mean()
        loss_g = -score
        if flat is not None:
            loss_g = loss_g + self._cond_loss(raw, flat, span)
        trainer.optimize(loss_g, self.opt_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "w_dist": w_dist.detach()}

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
    grad_clip : float, optional
        Largest gradient norm per update.
    precision : {"auto", "float32"}
        ``"auto"`` runs the generator's and the critic's forward passes in bfloat16 mixed
        precision where the hardware computes bfloat16 natively (CUDA; CPUs with AVX512-BF16
        or AMX), so the time budget buys more epochs; the gradient penalty stays float32.
        ``"float32"`` always trains in float32.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
    random_state : int, optional
        Seed for fitting and sampling.
    verbose : bool
        Progress bars with the live losses.

    Attributes
    ----------
    history_ : list of dict
        Per-epoch ``loss_d``, ``loss_g``, ``w_dist`` (critic's Wasserstein estimate), ``time``.

    Examples
    --------
    >>> import synthgen as sg
    >>> df = sg.datasets.load_adult().head(200)
    >>> model = TabularGAN(epochs=1, random_state=0).fit(df)
    >>> model.sample(5, random_state=1).shape
    (5, 15)
    """

    encoder_params: ClassVar[dict[str, Any]] = {"numeric": "gmm", "discrete": "onehot"}

    def __init__(
        self,
        *,
        epochs: int = 300,
        max_time: float | None = 230.0,
        batch_size: int = 500,
        embedding_dim: int = 128,
        generator_dims: tuple[int, ...] = (256, 256),
        critic_dims: tuple[int, ...] = (256, 256),
        pac: int = 10,
        learning_rate: float = 2e-4,
        l2: float = 1e-6,
        critic_steps: int = 1,
        gp_weight: float = 10.0,
        critic_dropout: float = 0.5,
        tau: float = 0.2,
        grad_clip: float | None = None,
        precision: str = "auto",
        device: str = "auto",
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
        self.grad_clip = grad_clip
        self.precision = precision
        self.device = device
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

    def _gen_factory(self):
        in_dim = self.embedding_dim + self.cond_dim_
        dims = (in_dim, tuple(self.generator_dims), self.encoder_.output_dim)
        return lambda: _Generator(*dims)

    def _fit_encoded(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        pac = self.pac
        batch = -(-self.batch_size // pac) * pac
        trainer = trainer_for(self, rng, batch_size=batch)
        device = trainer.device_
        layout = SpanLayout(self.encoder_.spans, device)
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
        )
        # The data tensor already lives on the device; the trainer only paces epochs over it.
        trainer.fit(task, torch.zeros((len(matrix), 0)))
        self.generator_net_ = gen.eval()
        self.layout_, self.sampler_, self.device_ = layout, sampler, device
        self.history_ = trainer.history_
        self.n_epochs_ = trainer.n_epochs_

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        gen_net, lay = self.generator_net_, self.layout_
        g = torch_generator(rng, self.device_)
        gen_net.eval()

        def draw(size: int) -> torch.Tensor:
            z = torch.randn((size, self.embedding_dim), generator=g, device=self.device_)
            if self.cond_dim_:
                cond = self.sampler_.sample_original(size, g)
                z = torch.cat([z, cond], dim=1)
            raw = gen_net(z).float()
            return lay.activate(raw, generator=g, tau=1.0, hard=True)

        return sample_in_chunks(n_samples, 20_000, draw)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"n_epochs": self.n_epochs_, "history": self.history_, "cond_dim": self.cond_dim_}
        arrays = module_arrays(self.generator_net_, "generator")
        arrays["cond.log_p"] = self.sampler_.log_p.cpu().numpy()
        arrays["cond.real_p"] = self.sampler_.real_p.cpu().numpy()
        return meta, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
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
