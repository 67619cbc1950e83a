"""The transformer's training step and validation loss (what the Trainer runs)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.nn import functional as F  # noqa: N812

from synthgen.generators.transformer.gather import fork
from synthgen.generators.transformer.likelihood import fine_by_column, grouped_nll
from synthgen.generators.transformer.model import TokenTransformer
from synthgen.training import Trainer
from synthgen.training.precision import autocast_dtype

__all__ = ["BACKWARD_BYTES", "TransformerTask"]

#: Activation of one backward pass, in bytes (``rows x cells x width`` elements, padding
#: included, in the precision the fit computes in: 16 MB is 4,194,304 float32 elements or
#: 8,388,608 bfloat16 ones). A batch whose activation passes twice this (a wide table's) is
#: backpropagated in parts of fewer rows, of even size, the gradients summed: the same
#: gradient up to float rounding, with each of the step's many activations as large as the
#: batch's cells small enough for memory the process reuses
#: (:func:`~synthgen.training.heap.reuse_freed_memory`; docs/scale-log.md has the figures).
#: At the default 512 rows and width 64, tables of up to 256 cells a row (padding included)
#: stay one pass in float32, up to 512 in bfloat16. At 1,000 columns a part is 64 rows in
#: float32 and 128 in bfloat16: the same 16 MB, which on a CPU without native bfloat16 took
#: a part about an eighth less time per row than 32 MB of float32 (the step is bound by the
#: memory it touches), and on one with it about 5% less than 12 MB of bfloat16.
BACKWARD_BYTES = 16 * 2**20


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
        # Column-major states, the final layer norm once, read by both heads (padded), in
        # the states' precision: under autocast a wide network's are bfloat16, and the norm
        # of them (computed in float32, rounded once) is what the heads' bfloat16 products
        # read, without a float32 copy of every state and its cast back, forward and backward.
        net = self.net
        x = net.ln_f(net.column_hidden(main, fine, order, inputs))
        numbers = torch.nonzero(net.const("numeric_index")[order] >= 0).ravel()
        if len(numbers):  # the numbers' states for the fine heads, one backward pass for both
            # (the main heads' products backpropagate a gradient of their own: ``owned``)
            x, states = fork(x, numbers, owned=True)
        # The heads' products run in the fit's precision (bfloat16 under autocast: they
        # were 42% of a 1,000-column step in float32, with the same quality in bfloat16);
        # the cross-entropies after them in float32 (autocast computes them so).
        nll = grouped_nll(net, x, order, main[:, order].T).sum()
        if len(numbers):
            cols = order[numbers]
            fine_logits = fine_by_column(net, states, cols, main[:, cols])
            target = fine[:, cols].T
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
        halves = []
        for lo, hi, random in ((0, n - n_random, False), (n - n_random, n, True)):
            if hi <= lo:
                continue
            order = self.canonical
            if random:
                order = torch.randperm(self.n_columns, generator=gen, device=main.device)
            halves.append((lo, hi, order))
        # A wide table's batch goes through in parts of ``rows`` rows, each backpropagated
        # at once (the gradients summed: the batch's, from activations small enough to reuse
        # memory); any other batch is one part per half and one backward pass.
        with trainer.autocast():  # the activations' precision: bfloat16 under autocast
            itemsize = (autocast_dtype(main.device.type) or torch.float32).itemsize
        rows = self.backward_rows(n, itemsize)
        one_pass = rows >= n
        if not one_pass:
            self.optimizer.zero_grad(set_to_none=True)
        total = main.new_zeros((), dtype=torch.float32)
        for lo, hi, order in halves:
            step = math.ceil((hi - lo) / math.ceil((hi - lo) / rows))  # even parts, <= rows
            for a in range(lo, hi, step):
                b = min(a + step, hi)
                part = None if inputs is None else (inputs[0][a:b], inputs[1][a:b])
                with trainer.autocast():
                    nll = self.loss(main[a:b], fine[a:b], order, part)
                if one_pass:
                    total = total + nll
                else:
                    share = nll / n
                    share.backward()
                    total += share.detach()
        if not one_pass:
            trainer.apply_gradients(self.optimizer)
            return {"loss": total}
        loss = total / n
        trainer.optimize(loss, self.optimizer)
        return {"loss": loss}

    def backward_rows(self, n: int, itemsize: int = 4) -> int:
        """Rows of a batch of ``n`` backpropagated at once: all of them, unless their
        activation (cells, padding included, times the width, in elements of ``itemsize``
        bytes) passes twice :data:`BACKWARD_BYTES`; then parts of :data:`BACKWARD_BYTES`
        (at least 16 rows)."""
        per_row = self.net.row_floats * itemsize
        if n * per_row <= 2 * BACKWARD_BYTES:
            return n
        return max(16, BACKWARD_BYTES // per_row)

    def validation_loss(self, data: torch.Tensor, trainer: Trainer) -> float:
        main, fine = self.split(data)
        total = 0.0
        step = self.net.scoring_rows  # fewer rows at once on wide tables
        for lo in range(0, len(main), step):
            sl = slice(lo, lo + step)
            total += float(self.loss(main[sl], fine[sl], self.canonical))
        return total / len(main)
