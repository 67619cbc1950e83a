"""The one training loop of the library.

A generator hands the :class:`Trainer` a *task*: a ``torch.nn.Module`` with a
``training_step(batch, trainer) -> dict of losses`` method (and, for a validation loss, a
``validation_loss(data, trainer) -> float`` method). The step does its own optimiser updates
through :meth:`Trainer.optimize`, so one loop serves a VAE (one update per batch) and a GAN
(alternating critic and generator updates per batch) alike. A *strategy* may take the step
instead (:class:`~synthgen.training.strategies.DPSGDStrategy`); *callbacks* add early
stopping, schedules, weight averaging and time limits. Everything random goes through the
trainer's explicit generators; the process-wide torch and numpy states are never read. In a
``torch.distributed`` process group every rank trains on its shard of each batch
(:mod:`synthgen.training.distributed`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from synthgen.exceptions import ConfigurationError
from synthgen.training.callbacks import Callback, EarlyStopping, TimeLimit

# generators and privacy/dp/fitting.py import this name from here
from synthgen.training.checks import check_positive as _check_positive  # noqa: F401
from synthgen.training.checks import check_trainer
from synthgen.training.data_parallel import DistributedRun
from synthgen.training.distributed import local_device
from synthgen.training.heap import reuse_freed_memory
from synthgen.training.precision import cpu_has_fast_bfloat16, native_bfloat16
from synthgen.training.rows import RowSubset, on_device, validation_rows
from synthgen.training.strategies import Strategy
from synthgen.training.threads import thread_limit
from synthgen.utils import check_random_state, resolve_device, torch_generator

__all__ = ["Callback", "Trainer", "TrainingTask", "cpu_has_fast_bfloat16"]


@runtime_checkable
class TrainingTask(Protocol):
    """What the trainer trains: a module whose step performs its own optimiser updates."""

    def training_step(self, batch: Any, trainer: Trainer) -> dict[str, Any]: ...


class Trainer:
    """Mini-batch training over a budget of epochs, with callbacks and strategies.

    Parameters
    ----------
    max_epochs : int
        Number of passes over the training rows (fewer when a callback stops training).
    max_time : float, optional
        Opt-in wall-clock budget in seconds: adds a
        :class:`~synthgen.training.callbacks.TimeLimit`, which stops after the batch that
        crosses it and warns that the model then depends on the machine.
    batch_size : int
        Rows per batch (the last, smaller batch of an epoch is kept).
    device : str
        ``"auto"`` (cuda, then mps, then cpu), ``"cpu"``, ``"cuda"``, ...; resolved once.
    grad_clip : float, optional
        Largest total gradient norm per update (``None``: no clipping).
    validation_fraction : float
        Share of rows held out; after each epoch ``task.validation_loss`` on them is logged as
        ``val_loss``. 0 disables it.
    patience : int, optional
        Adds :class:`~synthgen.training.callbacks.EarlyStopping` with this patience (needs
        a validation split); the weights of the best epoch are restored.
    mixed_precision : bool or "cuda"
        Where the forward pass autocasts to bfloat16: ``"cuda"`` (or ``True``) on CUDA devices
        that support it; ``"any"`` also on CPUs with native bfloat16 arithmetic
        (AVX512-BF16 or AMX; see :func:`cpu_has_fast_bfloat16`), where small matrix products
        run several times faster; ``False`` nowhere.
    callbacks : sequence of Callback
        Hooks (see :mod:`synthgen.training.callbacks`); run after the ones ``patience`` and
        ``max_time`` add, in the order given.
    sample_rate : float, optional
        Poisson sampling, as differentially private training needs: each batch takes every
        row independently with this probability, and an epoch is ``round(1 / sample_rate)``
        such batches (some may be empty). ``None``: shuffled batches of ``batch_size``.
    strategy : Strategy, optional
        What a batch does (default: the task's ``training_step``).
    n_threads : int, optional
        CPU threads during :meth:`fit` (torch and BLAS, restored after; see
        :mod:`synthgen.training.threads`). ``None`` keeps the process' setting; generators
        pass their own default. Float rounding depends on it: equal ``n_threads``, equal fit.
    random_state : int, Generator or None
        Seeds the shuffling and every random draw of the task (through :attr:`generator_`).
    verbose : bool
        Show a progress bar with the live loss.

    Attributes
    ----------
    history_ : list of dict
        One entry per epoch: ``epoch``, the averaged losses, ``val_loss`` when monitored,
        and ``time`` (seconds since the start).
    n_epochs_ : int
        Epochs run (a partial last epoch counts).
    stop_reason_ : str
        ``"max_epochs"``, ``"max_time"``, ``"early_stopping"``, ``"callback"`` or the reason
        given to :meth:`request_stop` (e.g. ``"privacy_budget"``); the first one asked for.
    steps_per_epoch_, total_steps_ : int
        Batches per epoch and the planned steps of the fit (``max_epochs`` times the former),
        known from the start of :meth:`fit` (for schedules).
    global_step_ : int
        Batches done so far, over all epochs.
    task_ : torch.nn.Module
        The task of the current (or last) fit.
    device_ : torch.device
        Where the data and the task live.
    generator_ : torch.Generator
        The seeded torch generator the task must use for its own draws.

    Examples
    --------
    >>> import torch
    >>> class Mean(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.mu = torch.nn.Parameter(torch.zeros(1))
    ...         self.opt = torch.optim.SGD([self.mu], lr=0.5)
    ...     def training_step(self, batch, trainer):
    ...         loss = ((batch - self.mu) ** 2).mean()
    ...         trainer.optimize(loss, self.opt)
    ...         return {"loss": loss}
    >>> data = torch.full((40, 1), 3.0)
    >>> trainer = Trainer(max_epochs=5, batch_size=10, device="cpu", random_state=0)
    >>> task = Mean()
    >>> _ = trainer.fit(task, data)
    >>> len(trainer.history_), trainer.total_steps_, round(task.mu.item(), 2)
    (5, 20, 3.0)
    """

    def __init__(
        self,
        *,
        max_epochs: int = 300,
        max_time: float | None = None,
        batch_size: int = 500,
        device: Any = "auto",
        grad_clip: float | None = None,
        validation_fraction: float = 0.0,
        patience: int | None = None,
        mixed_precision: bool | str = True,
        callbacks: Sequence[Any] = (),
        sample_rate: float | None = None,
        strategy: Strategy | None = None,
        n_threads: int | None = None,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.batch_size = batch_size
        self.device = device
        self.grad_clip = grad_clip
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.mixed_precision = mixed_precision
        self.callbacks = callbacks
        self.sample_rate = sample_rate
        self.strategy = strategy
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        check_trainer(self)
        built: list[Any] = []
        if patience is not None:
            built.append(EarlyStopping(patience))
        if max_time is not None:
            built.append(TimeLimit(max_time))
        self.callbacks_ = [*built, *callbacks]
        self.strategy_ = strategy if strategy is not None else Strategy()
        # Under torchrun a bare "cuda" is this rank's GPU (cuda:LOCAL_RANK).
        self.device_ = local_device(resolve_device(device))
        self.rng_ = check_random_state(random_state)
        self.generator_ = torch_generator(self.rng_, self.device_)
        self.history_: list[dict[str, float]] = []
        self.n_epochs_ = 0
        self.stop_reason_ = ""
        self.last_grad_norm_: float | None = None
        self.epoch_ = 0
        self.steps_per_epoch_ = self.total_steps_ = self.global_step_ = 0
        self.task_: Any = None
        self.dist_: DistributedRun | None = None
        self._stop_request: str | None = None

    # -- helpers for tasks and strategies --------------------------------------------------------
    @property
    def amp_enabled(self) -> bool:
        if not self.mixed_precision:
            return False
        return native_bfloat16(self.device_, cpu=self.mixed_precision == "any")

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed-precision context for the forward pass (bfloat16 where :attr:`amp_enabled`).

        bfloat16 keeps float32's exponent range, so no loss scaling is needed.
        """
        if not self.amp_enabled:
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device_type=self.device_.type, dtype=torch.bfloat16)

    def optimize(self, loss: Any, optimizer: Any) -> None:
        """Backpropagate ``loss`` and step ``optimizer``, clipping gradients when asked.

        Callbacks see the update through ``on_before_optimizer_step`` (a schedule sets the
        rate there) and ``on_optimizer_step`` (a moving average folds the new weights in).
        A task that backpropagates its batch in parts (to keep each part's activations
        small) zeroes the gradients, calls ``backward`` on each part's share of the loss and
        then :meth:`apply_gradients`.
        """
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.apply_gradients(optimizer)

    def apply_gradients(self, optimizer: Any) -> None:
        """Step ``optimizer`` with the gradients its parameters hold (the batch's, summed by
        the ``backward`` calls since they were zeroed): averaged over the ranks of a
        distributed run, clipped when asked, with the callbacks' hooks around the step."""
        import torch

        if self.dist_ is not None:  # the global batch's gradient, the same on every rank
            self.dist_.reduce_gradients(optimizer)
        if self.grad_clip is not None:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            norm = torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
            self.last_grad_norm_ = float(norm)
        self.call_hooks("on_before_optimizer_step", optimizer)
        optimizer.step()
        self.call_hooks("on_optimizer_step", optimizer)

    def call_hooks(self, hook: str, *args: Any) -> bool:
        """Call ``hook`` on every callback that has it; whether any returned True."""
        stop = False
        for cb in self.callbacks_:
            method = getattr(cb, hook, None)
            if method is not None and method(self, *args):
                stop = True
        return stop

    def request_stop(self, reason: str) -> None:
        """Stop after the current batch; the first reason asked for is recorded."""
        if self._stop_request is None:
            self._stop_request = reason

    @property
    def stop_requested(self) -> str | None:
        """The reason training will stop after this batch, if one was asked for."""
        return self._stop_request

    # -- the loop ------------------------------------------------------------------------------
    def _steps_per_epoch(self, n_rows: int) -> int:
        if self.sample_rate is not None:
            return max(1, round(1.0 / self.sample_rate))
        return math.ceil(n_rows / self.batch_size)

    def _batches(self, n_rows: int) -> Iterator[Any]:
        import torch

        if self.sample_rate is not None:
            for _ in range(self._steps_per_epoch(n_rows)):
                keep = torch.rand(n_rows, generator=self.generator_, device=self.device_)
                yield torch.nonzero(keep < self.sample_rate).flatten()
            return

        order = torch.randperm(n_rows, generator=self.generator_, device=self.device_)
        for start in range(0, n_rows, self.batch_size):
            yield order[start : start + self.batch_size]

    def fit(self, task: Any, data: Any, *, expand: Any = None) -> Trainer:
        """Train ``task`` on the rows of ``data`` (array or tensor, rows first).

        ``expand``, when given, turns each batch of stored rows (and the validation rows) into
        the rows the task learns: compact encodings are widened one batch at a time.

        Returns
        -------
        self
        """
        import torch

        if not callable(getattr(task, "training_step", None)) and type(self.strategy_) is Strategy:
            raise ConfigurationError("the task must have a training_step(batch, trainer) method")
        self.dist_ = DistributedRun.current(self, task)
        data = on_device(data, self.device_)
        if len(data) == 0:
            raise ConfigurationError("cannot train on an empty table")
        train, valid = data, None
        if self.validation_fraction > 0 and self.dist_ is not None and self.dist_.sharded:
            train, valid = self.dist_.split_local(data, self.validation_fraction, self)
        elif self.validation_fraction > 0:
            n_val = validation_rows(data, self.validation_fraction)
            if 0 < n_val < len(data):
                perm = torch.randperm(len(data), generator=self.generator_, device=self.device_)
                valid, train = data[perm[:n_val]], RowSubset(data, perm[n_val:])
            if valid is not None and not callable(getattr(task, "validation_loss", None)):
                raise ConfigurationError(
                    "validation_fraction > 0 needs a task with a validation_loss method"
                )
        threads = (
            contextlib.nullcontext() if self.n_threads is None else thread_limit(self.n_threads)
        )
        self._expand = (lambda rows: rows) if expand is None else expand
        # (glibc: a step's freed memory kept for the next one, no fresh pages: heap.py)
        with threads, reuse_freed_memory(self.device_.type == "cpu"):
            self._run(task, train, None if valid is None else self._expand(valid))
        return self

    def _run(self, task: Any, train: Any, valid: Any) -> None:
        import torch

        task.to(self.device_)
        dist = self.dist_
        if dist is not None:  # the same starting weights on every rank
            dist.broadcast_module(task)
        self.task_ = task
        self.history_ = []
        self.stop_reason_ = "max_epochs"
        self._stop_request = None
        self.global_step_ = 0
        self.steps_per_epoch_ = self._steps_per_epoch(
            len(train) if dist is None else dist.n_rows(len(train))
        )
        self.total_steps_ = self.max_epochs * self.steps_per_epoch_
        start = time.perf_counter()
        self.strategy_.setup(self, task)
        self.call_hooks("on_train_begin")
        bar = None
        if self.verbose and (dist is None or dist.rank == 0):
            from tqdm.auto import tqdm

            bar = tqdm(total=self.max_epochs, desc="training", unit="epoch")
        shuffle, shared_state = (None, None) if dist is None else dist.split_streams(self)
        for epoch in range(self.max_epochs):
            self.epoch_ = epoch
            task.train()
            self.call_hooks("on_epoch_begin", epoch)
            sums: dict[str, Any] = {}
            n_steps = 0
            if dist is None:
                batches = self._batches(len(train))
            else:
                batches = dist.batches(len(train), self.batch_size, shuffle)
            for idx in batches:
                step = self.global_step_
                self.call_hooks("on_step_begin", step)
                logs = self.strategy_.step(self, task, self._expand(train[idx]))
                for key, value in logs.items():
                    value = value.detach() if torch.is_tensor(value) else value
                    sums[key] = sums.get(key, 0.0) + value
                n_steps += 1
                self.global_step_ = step + 1
                if self.call_hooks("on_step_end", step, logs):
                    self.request_stop("callback")
                if dist is not None:  # a rank's clock (max_time) stops every rank
                    self._stop_request = dist.agree_stop(self._stop_request)
                if self._stop_request is not None:
                    break
            # Losses stay on the device during the epoch: one sync per epoch, not per step.
            record: dict[str, float] = {"epoch": epoch}
            if dist is None:
                record.update({k: float(v) / max(n_steps, 1) for k, v in sums.items()})
            else:
                record.update(dist.mean_logs(sums, n_steps))
            if valid is not None:
                task.eval()
                with torch.no_grad():
                    if dist is None:
                        record["val_loss"] = float(task.validation_loss(valid, self))
                    else:
                        record["val_loss"] = dist.validation_loss(task, valid, self)
            record["time"] = time.perf_counter() - start
            self.history_.append(record)
            self.n_epochs_ = epoch + 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k not in ("epoch",)})
            if self.call_hooks("on_epoch_end", epoch, record):
                self.request_stop("callback")
            if dist is not None:
                self._stop_request = dist.agree_stop(self._stop_request)
            if self._stop_request is not None:
                self.stop_reason_ = self._stop_request
                break
        if bar is not None:
            bar.close()
        if shared_state is not None:  # draws after training: the same on every rank again
            self.generator_.set_state(shared_state)
        task.eval()
        self.elapsed_ = time.perf_counter() - start
        self.strategy_.teardown(self, task)
        self.call_hooks("on_train_end")
        if dist is not None:
            dist.average_buffers(task)
            dist.check_in_step(task)
