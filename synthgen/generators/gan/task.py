"""The GAN's training step: WGAN-GP with training-by-sampling, EMA and the DP critic step."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from synthgen.generators.gan.networks import CriticNet, GeneratorNet
from synthgen.generators.gan.sampler import ConditionalSampler
from synthgen.generators.nn import SpanLayout
from synthgen.training import Trainer
from synthgen.training.optim import adam_options
from synthgen.training.precision import autocast_dtype

__all__ = ["GANTask"]


class GANTask(nn.Module):
    #: Under several processes every rank draws its own batch_size rows per step (the
    #: trainer's batch only paces the epoch): their gradients weigh alike.
    equal_shares = True

    def __init__(
        self,
        gen: GeneratorNet,
        critic: CriticNet,
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
        gp_interval: int = 1,
        expand: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.gen, self.critic = gen, critic
        self.layout, self.sampler, self.data = layout, sampler, data
        # Stored rows -> the encoder's matrix (compact rows are widened per batch).
        self.expand = expand if expand is not None else (lambda rows: rows)
        self.device = next(gen.parameters()).device  # training rows may stay on disk
        self.steps = gen.ar.steps(layout.spans, self.device) if gen.ar is not None else []
        self.batch_size, self.embedding_dim = batch_size, embedding_dim
        self.critic_steps, self.gp_weight, self.tau = critic_steps, gp_weight, tau
        self.gp_interval, self.critic_updates = gp_interval, 0
        # The head (when present) trains at the network's learning rate: larger steps (x10,
        # x30) lowered TSTR on Adult, unlike in the vae, whose teacher forcing needs them.
        self._cond_columns(sampler)
        adam = {"lr": lr, "betas": (0.5, 0.9), "weight_decay": l2, **adam_options()}
        self.opt_g = torch.optim.Adam(gen.parameters(), **adam)
        self.opt_d = torch.optim.Adam(critic.parameters(), **adam)

    def _fake(
        self, cond: torch.Tensor, g: torch.Generator, gen: nn.Module | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(cond)
        z = torch.randn((n, self.embedding_dim), generator=g, device=cond.device)
        x = torch.cat([z, cond], dim=1)
        dtype = autocast_dtype(x.device.type)
        if dtype is not None:
            # The generator's blocks concatenate their input to their output: in autocast's
            # type from the start, they concatenate without promotion and the layers do not
            # cast their inputs again (the layers cast to that type anyway).
            x = x.to(dtype)
        return (gen or self.gen).generate(
            x,
            self.layout,
            self.steps,
            lambda lay, logits: lay.activate(logits, generator=g, tau=self.tau),
        )

    def _cond(self, g: torch.Generator, log_frequency: bool = True, n: int | None = None):
        n = self.batch_size if n is None else n
        if self.sampler.cond_dim:
            return self.sampler.sample(n, g, log_frequency=log_frequency)
        empty = torch.zeros((n, 0), device=self.device)
        return empty, None, None

    def training_step(self, batch: torch.Tensor, trainer: Trainer) -> dict[str, torch.Tensor]:
        # ``batch`` only paces the epoch: real rows are drawn to match the conditions.
        g = trainer.generator_
        for k in range(self.critic_steps):
            cond, flat, span = self._cond(g)
            if flat is None:
                idx = torch.randint(
                    len(self.data), (self.batch_size,), generator=g, device=cond.device
                )
            else:
                idx = self.sampler.real_rows(flat, g)
            real = torch.cat([self.expand(self.data[idx]), cond], dim=1)
            # The last critic step's generated rows serve the generator's step too, as in
            # PyTorch's DCGAN example: the generator has not changed in between, so one
            # forward pass (kept for the generator's gradient) serves both steps.
            last = k == self.critic_steps - 1
            with trainer.autocast():
                with torch.set_grad_enabled(last):
                    raw, fake = self._fake(cond, g)
                drawn = (raw, fake, cond, flat, span)
                fake = torch.cat([fake.detach(), cond], dim=1)
                # One pass of the critic over both halves (pac groups never straddle them).
                score = self.critic(torch.cat([real, fake])).view(2, -1)
                w_dist = score[0].mean() - score[1].mean()
            loss_d = -w_dist
            self.critic_updates += 1
            if self.critic_updates % self.gp_interval == 0:
                # Lazy regularisation: every gp_interval-th update, weighted to match.
                gp = self._gradient_penalty(real, fake, g)
                loss_d = loss_d + self.gp_weight * self.gp_interval * gp
            trainer.optimize(loss_d, self.opt_d)
        loss_g = self._generator_step(trainer, log_frequency=True, drawn=drawn)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g, "w_dist": w_dist.detach()}

    def _generator_step(
        self, trainer: Trainer, log_frequency: bool, drawn: tuple | None = None
    ) -> torch.Tensor:
        """One update of the generator on ``drawn`` ``(raw, fake, cond, flat, span)``, or on
        rows generated here."""
        g = trainer.generator_
        if drawn is None:
            cond, flat, span = self._cond(g, log_frequency)
            with trainer.autocast():
                raw, fake = self._fake(cond, g)
        else:
            raw, fake, cond, flat, span = drawn
        # The critic's weights need no gradient here: only its input does.
        self.critic.requires_grad_(False)
        try:
            with trainer.autocast():
                score = self.critic(torch.cat([fake, cond], dim=1)).mean()
            loss_g = -score
            if flat is not None:
                loss_g = loss_g + self._cond_loss(raw, flat, span)
            trainer.optimize(loss_g, self.opt_g)  # the EMA callback averages after this step
        finally:
            self.critic.requires_grad_(True)
        return loss_g.detach()

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

    # -- DP-SGD of the critic (synthgen.training.DPSGDStrategy) ------------------------------
    def private_target(self) -> tuple[nn.Module, torch.optim.Optimizer]:
        return self.critic, self.opt_d

    def private_inputs(self, batch: torch.Tensor, trainer: Trainer) -> tuple[torch.Tensor, ...]:
        """A Poisson batch of real rows, each conditioned on its own category of a random span
        and paired with a generated row whose condition is drawn at the released frequencies,
        and the mixing weights of the gradient penalty."""
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
        return real, fake, alpha

    def row_loss(self, params: dict[str, torch.Tensor], real, fake, alpha) -> torch.Tensor:
        return self.critic_row_loss(params, real, fake, alpha)

    def after_private_step(self, trainer: Trainer) -> dict[str, torch.Tensor]:
        """An ordinary generator step: the generator sees real rows only through the private
        critic (post-processing). Only its loss is logged: the critic's losses read real rows
        outside the accountant (and the history is saved with the model)."""
        self.critic.zero_grad(set_to_none=True)
        loss_g = self._generator_step(trainer, log_frequency=False)
        self.critic.zero_grad(set_to_none=True)
        return {"loss_g": loss_g}

    def averaged_generator(
        self, gen: GeneratorNet, generator: torch.Generator, batches: int = 50
    ) -> GeneratorNet:
        """The averaged generator ``gen`` ready for sampling: its batch-norm statistics
        recomputed on ``batches`` batches of training conditions (the running statistics
        belong to the last weights), in eval mode."""
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

    def _cond_columns(self, sampler: ConditionalSampler) -> None:
        # Per conditioned span, its output columns padded to the widest span (padding repeats
        # the last column and is masked out), so the condition loss is one gather per batch.
        device = self.device
        dims = torch.tensor([s.dim for s in sampler.spans] or [1], device=device)
        starts = torch.tensor([s.start for s in sampler.spans] or [0], device=device)
        j = torch.arange(int(dims.max()), device=device)
        self.cond_cols = starts[:, None] + torch.minimum(j, dims[:, None] - 1)
        self.cond_pad = j >= dims[:, None]
        #: the output column of a flat condition index ``f`` on span ``i``: ``f + shift[i]``
        self.cond_shift = starts - sampler.span_start.to(device) if sampler.spans else starts

    def _cond_loss(self, raw: torch.Tensor, flat: torch.Tensor, span: torch.Tensor):
        """Cross-entropy of the generated block of each row's conditioned span (keeps the
        generator faithful to the condition), averaged over rows."""
        logits = raw.gather(1, self.cond_cols[span]).masked_fill(self.cond_pad[span], -torch.inf)
        target = raw.gather(1, (flat + self.cond_shift[span])[:, None]).squeeze(1)
        return (torch.logsumexp(logits, dim=1) - target).sum() / len(raw)
