"""The transformer's training step and validation loss (what the Trainer runs)."""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F  # noqa: N812

from synthgen.generators.transformer.model import TokenTransformer
from synthgen.training import Trainer

__all__ = ["TransformerTask"]


class TransformerTask(torch.nn.Module):
    """Training step and validation loss (what :class:`Trainer` runs)."""

    def __init__(self, model: Any, net: TokenTransformer, n_columns: int) -> None:
        super().__init__()
        self.net = net
        self.n_columns = n_columns
        self.n_sub_bins = model.n_sub_bins
        self.token_dropout = float(model.token_dropout)
        self.random_order = float(model.random_order)
        self.base_lr = float(model.learning_rate)
        self.optimizer = torch.optim.AdamW(
            net.parameters(),
            lr=self.base_lr,
            weight_decay=model.weight_decay,
            betas=(0.9, 0.99),
            foreach=True,
        )
        self.canonical: torch.Tensor | None = None

    def split(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return batch[:, : self.n_columns], batch[:, self.n_columns :]

    def loss(
        self,
        main: torch.Tensor,
        fine: torch.Tensor,
        order: torch.Tensor,
        inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Summed negative log-likelihood of the rows, visiting columns in ``order``."""
        # The final layer norm once, read by both heads; the states as computed (padded).
        x = self.net.final_norm(self.net.hidden(main, fine, order, inputs, padded=True))
        nll = self.net.main_nll(x, order, main[:, order], normed=True).sum()
        fine_logits = self.net.visited_fine_logits(x, order, main, normed=True)
        if fine_logits.shape[1]:
            cols = order[self.net.const("numeric_index")[order] >= 0]
            target = fine[:, cols]
            # A missing number has no fine bin ("none" token): nothing to predict.
            target = torch.where(target >= self.n_sub_bins, -100, target)
            nll = nll + F.cross_entropy(
                fine_logits.flatten(0, 1), target.flatten(), reduction="sum", ignore_index=-100
            )
        return nll

    def training_step(self, batch: torch.Tensor, trainer: Trainer) -> dict[str, torch.Tensor]:
        gen = trainer.generator_
        main, fine = self.split(batch)
        n = len(main)
        inputs = None
        if self.token_dropout > 0:
            # Value-level dropout: hide some input tokens behind each column's mask token, so
            # no prediction can lean on one exact combination of values (less memorisation).
            hide = torch.rand(main.shape, generator=gen, device=main.device) < self.token_dropout
            vocab = torch.tensor(self.net.vocab, device=main.device)
            fine_vocab = torch.tensor(self.net.fine_vocab, device=main.device)
            inputs = (torch.where(hide, vocab, main), torch.where(hide, fine_vocab + 1, fine))
        # Part of the batch in schema order (used for free sampling), the rest in one random
        # column order (so any subset of columns can be conditioned on).
        n_random = round(n * self.random_order)
        total = main.new_zeros((), dtype=torch.float32)
        for lo, hi, random in ((0, n - n_random, False), (n - n_random, n, True)):
            if hi <= lo:
                continue
            order = self.canonical
            if random:
                order = torch.randperm(self.n_columns, generator=gen, device=main.device)
            part = None if inputs is None else (inputs[0][lo:hi], inputs[1][lo:hi])
            with trainer.autocast():
                total = total + self.loss(main[lo:hi], fine[lo:hi], order, part)
        loss = total / n
        trainer.optimize(loss, self.optimizer)
        return {"loss": loss}

    def validation_loss(self, data: torch.Tensor, trainer: Trainer) -> float:
        main, fine = self.split(data)
        total = 0.0
        step = self.net.scoring_rows  # fewer rows at once on wide tables
        for lo in range(0, len(main), step):
            sl = slice(lo, lo + step)
            total += float(self.loss(main[sl], fine[sl], self.canonical))
        return total / len(main)
