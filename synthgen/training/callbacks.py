"""Callbacks of the :class:`~synthgen.training.Trainer`: the hooks, and the built-in ones.

The order of the hooks in one fit::

    on_train_begin(trainer)
    for each epoch:
        on_epoch_begin(trainer, epoch)
        for each batch:
            on_step_begin(trainer, step)          # trainer.global_step_ == step
            ... the task's step; around each optimiser update it makes:
                on_before_optimizer_step(trainer, optimizer)
                on_optimizer_step(trainer, optimizer)
            on_step_end(trainer, step, logs)      # global_step_ == step + 1; True: stop
        on_epoch_end(trainer, epoch, logs)        # logs: the epoch's record; True: stop
    on_train_end(trainer)

A hook that returns ``True`` (``on_step_end``, ``on_epoch_end``) stops training with the reason
``"callback"``; a callback with its own reason calls ``trainer.request_stop(reason)``. The
first reason asked for is the one kept in ``trainer.stop_reason_``.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from synthgen.exceptions import ConfigurationError, TrainingTimeLimitWarning
from synthgen.training.checks import HOOKS, check_positive

if TYPE_CHECKING:
    from synthgen.training.trainer import Trainer

__all__ = ["EMA", "HOOKS", "Callback", "EarlyStopping", "TimeLimit"]


class Callback:
    """Hooks called by :class:`~synthgen.training.Trainer`; subclass and override what you need.

    ``on_step_end`` and ``on_epoch_end`` return ``True`` to stop training (after that step or
    epoch). ``trainer.task_`` is the module being trained, from ``on_train_begin`` on.
    """

    #: The callback reads ``logs["val_loss"]``: the trainer then needs a validation split.
    needs_validation: ClassVar[bool] = False

    def on_train_begin(self, trainer: Trainer) -> None:
        """Called once before the first epoch."""

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Called before each epoch."""

    def on_step_begin(self, trainer: Trainer, step: int) -> None:
        """Called before each batch; ``step`` counts the batches before it, over all epochs."""

    def on_before_optimizer_step(self, trainer: Trainer, optimizer: Any) -> None:
        """Called after the gradients of an update are ready, before ``optimizer.step()``."""

    def on_optimizer_step(self, trainer: Trainer, optimizer: Any) -> None:
        """Called after each ``optimizer.step()`` (several per batch for a GAN)."""

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, Any]) -> bool | None:
        """Called after each batch with its (un-synced) losses; return True to stop."""
        return None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> bool | None:
        """Called after each epoch with its averaged losses; return True to stop."""
        return None

    def on_train_end(self, trainer: Trainer) -> None:
        """Called once after the last epoch."""


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved for ``patience`` epochs.

    The trainer computes ``val_loss`` after each epoch when it holds out rows
    (``validation_fraction > 0``) and the task has a ``validation_loss`` method.

    Parameters
    ----------
    patience : int
        Epochs without a strictly lower validation loss before stopping.
    restore_best : bool
        Load the task's weights of the best epoch back at the end of training (also when
        training ran to its last epoch).

    Attributes
    ----------
    best_ : float
        The lowest validation loss seen.
    best_epoch_ : int or None
        Its epoch.

    Examples
    --------
    >>> EarlyStopping(patience=5).patience
    5
    """

    needs_validation = True

    def __init__(self, patience: int = 10, *, restore_best: bool = True) -> None:
        self.patience = check_positive("patience", patience, integer=True)
        if not isinstance(restore_best, bool):
            raise ConfigurationError(f"restore_best must be True or False, got {restore_best!r}")
        self.restore_best = restore_best
        self.best_ = math.inf
        self.best_epoch_: int | None = None
        self.wait_ = 0
        self._state: dict[str, Any] | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        self.best_, self.best_epoch_, self.wait_, self._state = math.inf, None, 0, None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if "val_loss" not in logs:  # the split came out empty (a tiny table): nothing to watch
            return
        if logs["val_loss"] < self.best_:
            self.best_, self.best_epoch_, self.wait_ = logs["val_loss"], epoch, 0
            if self.restore_best:
                state = trainer.task_.state_dict()
                self._state = {k: v.detach().clone() for k, v in state.items()}
            return
        self.wait_ += 1
        if self.wait_ >= self.patience:
            trainer.request_stop("early_stopping")

    def on_train_end(self, trainer: Trainer) -> None:
        if self._state is not None:
            trainer.task_.load_state_dict(self._state)
            self._state = None


class TimeLimit(Callback):
    """Stop after the step that crosses ``max_time`` seconds of training (opt-in).

    A wall-clock budget makes the model depend on the machine's speed and load: when it ends
    training before the planned steps, a :class:`~synthgen.exceptions.TrainingTimeLimitWarning`
    says so and ``trainer.stop_reason_`` is ``"max_time"``.

    Parameters
    ----------
    max_time : float
        Seconds, counted from the start of training.

    Attributes
    ----------
    cut_short_ : bool
        Whether the limit ended training.

    Examples
    --------
    >>> TimeLimit(30).max_time
    30
    """

    def __init__(self, max_time: float) -> None:
        self.max_time = check_positive("max_time", max_time)
        self.cut_short_ = False
        self._start = 0.0

    def on_train_begin(self, trainer: Trainer) -> None:
        self._start = time.perf_counter()
        self.cut_short_ = False

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, Any]) -> None:
        if trainer.stop_requested is not None or trainer.global_step_ >= trainer.total_steps_:
            return  # already stopping for another reason, or nothing was left to cut
        if time.perf_counter() - self._start <= self.max_time:
            return
        self.cut_short_ = True
        trainer.request_stop("max_time")
        warnings.warn(
            f"max_time={self.max_time:g} s ended training after {trainer.global_step_} of "
            f"{trainer.total_steps_} planned steps (epoch {trainer.epoch_ + 1} of "
            f"{trainer.max_epochs}): the model depends on this machine's speed and load. "
            "Leave max_time=None for a fit that repeats on any machine.",
            TrainingTimeLimitWarning,
            stacklevel=2,
        )


class EMA(Callback):
    """Exponential moving average of a module's weights, updated after each optimiser step
    that moves them.

    After update ``n`` (1, 2, ...) the average is ``avg <- decay_n * avg + (1 - decay_n) * w``
    with ``decay_n = min(decay, (1 + n) / (10 + n))`` under ``warmup`` (TensorFlow's
    ``num_updates`` rule: early on the average forgets fast, so a short fit is not dragged
    back to the initial weights), else ``decay_n = decay``. Only parameters are averaged;
    buffers (batch-norm statistics) belong to the weights that produced them, so a network
    with batch norm recomputes them for the average (``finalize`` is the place for it).

    Parameters
    ----------
    module : torch.nn.Module or callable
        The module to average, or ``module(task) -> torch.nn.Module`` resolved when training
        begins (the task is built after the trainer).
    decay : float
        In (0, 1): the weight of the past in each update.
    warmup : bool
        Use the ``(1 + n) / (10 + n)`` warm-up above.
    finalize : callable, optional
        ``finalize(averaged, trainer)``, called once when training ends (e.g. to recompute
        batch-norm statistics with the trainer's seeded generator).

    Attributes
    ----------
    averaged_ : torch.nn.Module
        A copy of the module holding the average (no gradients), made when training begins.
    n_updates_ : int
        Updates taken.

    Examples
    --------
    >>> EMA.decay_at(1, 0.999), EMA.decay_at(10_000, 0.999), EMA.decay_at(1, 0.9, False)
    (0.18181818181818182, 0.999, 0.9)
    """

    def __init__(
        self,
        module: Any,
        decay: float = 0.999,
        *,
        warmup: bool = True,
        finalize: Callable[[Any, Trainer], Any] | None = None,
    ) -> None:
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay < 1:
            raise ConfigurationError(f"decay must lie in (0, 1), got {decay!r}")
        if not isinstance(warmup, bool):
            raise ConfigurationError(f"warmup must be True or False, got {warmup!r}")
        if not callable(module):
            raise ConfigurationError(
                f"module must be a torch module or a callable of the task, got {module!r}"
            )
        self.module, self.decay, self.warmup, self.finalize = module, decay, warmup, finalize
        self.averaged_: Any = None
        self.n_updates_ = 0
        self._moves: dict[int, tuple[Any, bool]] = {}

    @staticmethod
    def decay_at(n_updates: int, decay: float, warmup: bool = True) -> float:
        """The decay of update number ``n_updates`` (counted from 1)."""
        return min(decay, (1 + n_updates) / (10 + n_updates)) if warmup else decay

    def on_train_begin(self, trainer: Trainer) -> None:
        import torch

        module = self.module
        if not isinstance(module, torch.nn.Module):
            module = module(trainer.task_)
        # A plain copy: no random draw, so the global RNG stays untouched.
        self.module_ = module
        self.averaged_ = copy.deepcopy(module).requires_grad_(False)
        self._avg_params = list(self.averaged_.parameters())
        self._live_params = list(module.parameters())
        self.n_updates_ = 0
        self._params = {id(p) for p in module.parameters()}
        self._moves = {}

    def on_optimizer_step(self, trainer: Trainer, optimizer: Any) -> None:
        # A GAN steps two optimisers per batch: only the one holding these weights counts.
        seen = self._moves.get(id(optimizer))
        if seen is None or seen[0] is not optimizer:
            params = (p for group in optimizer.param_groups for p in group["params"])
            seen = self._moves[id(optimizer)] = (
                optimizer,
                any(id(p) in self._params for p in params),
            )
        if seen[1]:
            self.update()

    def update(self) -> None:
        """Fold the module's current weights into the average (one update)."""
        import torch

        self.n_updates_ += 1
        decay = self.decay_at(self.n_updates_, self.decay, self.warmup)
        with torch.no_grad():
            # One multi-tensor call (the same element-wise lerp as a loop of ``lerp_``).
            torch._foreach_lerp_(self._avg_params, self._live_params, 1.0 - decay)

    def copy_to(self, module: Any = None) -> None:
        """Load the averaged parameters into ``module`` (default: the trained module itself);
        its buffers are left as they are."""
        import torch

        target = self.module_ if module is None else module
        with torch.no_grad():
            for p, avg in zip(target.parameters(), self.averaged_.parameters(), strict=True):
                p.copy_(avg)

    def on_train_end(self, trainer: Trainer) -> None:
        if self.finalize is not None:
            self.finalize(self.averaged_, trainer)
