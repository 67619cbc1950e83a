"""Learning-rate schedules over a budget of optimiser steps (never over wall-clock time)."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

from synthgen.exceptions import ConfigurationError
from synthgen.training.callbacks import Callback

if TYPE_CHECKING:
    from synthgen.training.trainer import Trainer

__all__ = ["LRSchedule"]

_DECAYS = ("cosine", "linear", "constant")


class LRSchedule(Callback):
    """Warm-up, then a decay of every parameter group's own learning rate over a step budget.

    Before the update of batch ``k`` (``trainer.global_step_``, from 0) each group's rate is
    its base rate (the one it had when first seen) times::

        warm(k) * decay(min(k / total_steps, 1))
        warm(k)     = min(1, (k + 1) / warmup_steps)                (1 without warm-up)
        cosine(p)   = final_fraction + (1 - final_fraction) * (1 + cos(pi p)) / 2
        linear(p)   = 1 - (1 - final_fraction) * p
        constant(p) = 1

    so groups with their own rate (a head at 30x the network's rate) keep their ratio. The
    decay counts from step 0 (the warm-up multiplies its first steps). The budget is the
    trainer's planned steps, ``trainer.total_steps_`` (epochs x batches per epoch), so an
    early stop leaves the rate where the plan had it. The base rates are put back when
    training ends.

    Parameters
    ----------
    decay : {"cosine", "linear", "constant"}
        Shape of the decay.
    warmup_steps : int
        Steps of linear warm-up (0: none).
    final_fraction : float
        Share of the base rate left at the end of the budget, in [0, 1].
    total_steps : int, optional
        The step budget; ``None`` takes ``trainer.total_steps_``.
    optimizers : optimizer, sequence of optimizers or callable, optional
        Which optimisers to schedule: the objects themselves, or ``optimizers(task)``
        returning them (resolved when training begins); ``None``: every optimiser the task
        steps through ``trainer.optimize`` (or a strategy steps).

    Examples
    --------
    The transformer's schedule (20 warm-up steps, cosine to 5%) and the diffusion model's
    (linear to 5%):

    >>> transformer = LRSchedule(decay="cosine", warmup_steps=20, final_fraction=0.05)
    >>> [round(transformer.factor(k, 100), 3) for k in (0, 19, 50, 100)]
    [0.05, 0.918, 0.525, 0.05]
    >>> diffusion = LRSchedule(decay="linear", final_fraction=0.05)
    >>> [round(diffusion.factor(k, 100), 3) for k in (0, 50, 100)]
    [1.0, 0.525, 0.05]
    """

    def __init__(
        self,
        *,
        decay: str = "cosine",
        warmup_steps: int = 0,
        final_fraction: float = 0.05,
        total_steps: int | None = None,
        optimizers: Any = None,
    ) -> None:
        if decay not in _DECAYS:
            raise ConfigurationError(f"decay must be one of {_DECAYS}, got {decay!r}")
        if (
            isinstance(warmup_steps, bool)
            or not isinstance(warmup_steps, numbers.Integral)
            or warmup_steps < 0
        ):
            raise ConfigurationError(
                f"warmup_steps must be a non-negative integer, got {warmup_steps!r}"
            )
        frac = final_fraction
        if isinstance(frac, bool) or not isinstance(frac, numbers.Real) or not 0 <= frac <= 1:
            raise ConfigurationError(f"final_fraction must lie in [0, 1], got {frac!r}")
        if total_steps is not None and (
            isinstance(total_steps, bool)
            or not isinstance(total_steps, numbers.Integral)
            or total_steps < 1
        ):
            raise ConfigurationError(
                f"total_steps must be a positive integer or None, got {total_steps!r}"
            )
        self.decay, self.warmup_steps, self.final_fraction = decay, warmup_steps, frac
        self.total_steps, self.optimizers = total_steps, optimizers
        self.total_steps_ = 1
        self.last_factor_ = 1.0
        self._base: dict[int, tuple[dict[str, Any], float]] = {}
        self._scope: set[int] | None = None

    def _parts(self, step: int, total_steps: int) -> tuple[float, float]:
        warm = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        p = min(step / max(total_steps, 1), 1.0)
        f = self.final_fraction
        if self.decay == "cosine":
            shape = f + (1 - f) * 0.5 * (1 + math.cos(math.pi * p))
        elif self.decay == "linear":
            shape = 1.0 - (1 - f) * p
        else:
            shape = 1.0
        return warm, shape

    def factor(self, step: int, total_steps: int) -> float:
        """The multiplier of the base rates at batch ``step`` of a ``total_steps`` budget."""
        warm, shape = self._parts(step, total_steps)
        return warm * shape

    def on_train_begin(self, trainer: Trainer) -> None:
        self.total_steps_ = self.total_steps or max(trainer.total_steps_, 1)
        self._base = {}
        self._scope = None
        chosen = self.optimizers
        if chosen is not None:
            if callable(chosen) and not hasattr(chosen, "param_groups"):
                chosen = chosen(trainer.task_)
            if hasattr(chosen, "param_groups"):
                chosen = [chosen]
            self._scope = {id(opt) for opt in chosen}

    def on_before_optimizer_step(self, trainer: Trainer, optimizer: Any) -> None:
        if self._scope is not None and id(optimizer) not in self._scope:
            return
        warm, shape = self._parts(trainer.global_step_, self.total_steps_)
        self.last_factor_ = warm * shape
        for group in optimizer.param_groups:
            entry = self._base.get(id(group))
            if entry is None:
                entry = self._base[id(group)] = (group, float(group["lr"]))
            # (base * warm) * shape, in the order the tasks' own schedules multiplied
            group["lr"] = entry[1] * warm * shape

    def on_train_end(self, trainer: Trainer) -> None:
        for group, base in self._base.values():
            group["lr"] = base
        self._base = {}
