"""The one training loop of the library.

A generator hands the :class:`Trainer` a *task*: a ``torch.nn.Module`` with a
``training_step(batch, trainer) -> dict of losses`` method (and, for early stopping, a
``validation_loss(data, trainer) -> float`` method). The step does its own optimiser updates
through :meth:`Trainer.optimize`, so one loop serves a VAE (one update per batch) and a GAN
(alternating critic and generator updates per batch) alike. Everything random goes through the
trainer's explicit generators; the process-wide torch and numpy states are never read.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from synthgen.exceptions import ConfigurationError
from synthgen.utils import check_random_state, resolve_device, torch_generator

__all__ = ["Callback", "Trainer", "TrainingTask", "cpu_has_fast_bfloat16"]


@runtime_checkable
class TrainingTask(Protocol):
    """What the trainer trains: a module whose step performs its own optimiser updates."""

    def training_step(self, batch: Any, trainer: Trainer) -> dict[str, Any]: ...


class Callback:
    """Hooks called by :class:`Trainer`; subclass and override what you need.

    ``on_epoch_end`` returns ``True`` to stop training after that epoch.
    """

    def on_train_begin(self, trainer: Trainer) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> bool | None:
        """Called after each epoch with its averaged losses; return True to stop."""
        return None

    def on_train_end(self, trainer: Trainer) -> None:
        """Called once after the last epoch."""


def _check_positive(name: str, value: Any, *, integer: bool = False, allow_none: bool = False):
    if value is None and allow_none:
        return None
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        what = "a positive integer" if integer else "a positive number"
        none = " or None" if allow_none else ""
        raise ConfigurationError(f"{name} must be {what}{none}, got {value!r}")
    if not integer and not math.isfinite(value):
        raise ConfigurationError(f"{name} must be finite, got {value!r}")
    return value


class Trainer:
    """Mini-batch training with time and epoch budgets, early stopping and callbacks.

    Parameters
    ----------
    max_epochs : int
        Largest number of passes over the training rows.
    max_time : float, optional
        Wall-clock budget in seconds; training stops after the batch that crosses it.
    batch_size : int
        Rows per batch (the last, smaller batch of an epoch is kept).
    device : str
        ``"auto"`` (cuda, then mps, then cpu), ``"cpu"``, ``"cuda"``, ...; resolved once.
    grad_clip : float, optional
        Largest total gradient norm per update (``None``: no clipping).
    validation_fraction : float
        Share of rows held out to monitor ``task.validation_loss``; 0 disables it.
    patience : int, optional
        Epochs without a better validation loss before stopping (needs a validation split).
        The weights of the best epoch are restored.
    mixed_precision : bool or "cuda"
        Where the forward pass autocasts to bfloat16: ``"cuda"`` (or ``True``) on CUDA devices
        that support it; ``"any"`` also on CPUs with native bfloat16 arithmetic
        (AVX512-BF16 or AMX; see :func:`cpu_has_fast_bfloat16`), where small matrix products
        run several times faster; ``False`` nowhere.
    callbacks : sequence of Callback
        Objects with ``on_epoch_end(trainer, epoch, logs) -> bool`` (and optionally
        ``on_train_begin`` / ``on_train_end``).
    sample_rate : float, optional
        Poisson sampling, as differentially private training needs: each batch takes every
        row independently with this probability, and an epoch is ``round(1 / sample_rate)``
        such batches (some may be empty). ``None``: shuffled batches of ``batch_size``.
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
        a task gave to :meth:`request_stop` (e.g. ``"privacy_budget"``).
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
    >>> len(trainer.history_), round(task.mu.item(), 2)
    (5, 3.0)
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
        self.random_state = random_state
        self.verbose = verbose
        self._check()
        self.device_ = resolve_device(device)
        self.rng_ = check_random_state(random_state)
        self.generator_ = torch_generator(self.rng_, self.device_)
        self.history_: list[dict[str, float]] = []
        self.n_epochs_ = 0
        self.stop_reason_ = ""
        self.last_grad_norm_: float | None = None
        self.epoch_ = 0
        self._stop_request: str | None = None

    def _check(self) -> None:
        _check_positive("max_epochs", self.max_epochs, integer=True)
        _check_positive("max_time", self.max_time, allow_none=True)
        _check_positive("batch_size", self.batch_size, integer=True)
        _check_positive("grad_clip", self.grad_clip, allow_none=True)
        _check_positive("patience", self.patience, integer=True, allow_none=True)
        if self.mixed_precision not in (True, False, "cuda", "any"):
            raise ConfigurationError(
                "mixed_precision must be True, False, 'cuda' or 'any', "
                f"got {self.mixed_precision!r}"
            )
        frac = self.validation_fraction
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 <= frac < 1:
            raise ConfigurationError(f"validation_fraction must lie in [0, 1), got {frac!r}")
        q = self.sample_rate
        if q is not None and (
            isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q <= 1
        ):
            raise ConfigurationError(f"sample_rate must lie in (0, 1] or be None, got {q!r}")
        if self.patience is not None and frac == 0:
            raise ConfigurationError("patience needs validation_fraction > 0")
        for cb in self.callbacks:
            if not callable(getattr(cb, "on_epoch_end", None)):
                raise ConfigurationError(
                    f"callbacks must have an on_epoch_end method, got {type(cb).__name__}"
                )

    # -- helpers for tasks ---------------------------------------------------------------------
    @property
    def amp_enabled(self) -> bool:
        import torch

        if not self.mixed_precision:
            return False
        if self.device_.type == "cuda":
            return bool(torch.cuda.is_bf16_supported())
        return (
            self.device_.type == "cpu"
            and self.mixed_precision == "any"
            and (cpu_has_fast_bfloat16())
        )

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed-precision context for the forward pass (bfloat16 where :attr:`amp_enabled`).

        bfloat16 keeps float32's exponent range, so no loss scaling is needed.
        """
        if not self.amp_enabled:
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device_type=self.device_.type, dtype=torch.bfloat16)

    def optimize(self, loss: Any, optimizer: Any) -> None:
        """Backpropagate ``loss`` and step ``optimizer``, clipping gradients when asked."""
        import torch

        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            norm = torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
            self.last_grad_norm_ = float(norm)
        optimizer.step()

    # -- the loop ------------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        """Ask the loop to stop after the current batch (a task's own budget is spent)."""
        self._stop_request = reason

    def _batches(self, n_rows: int) -> Iterator[Any]:
        import torch

        if self.sample_rate is not None:
            for _ in range(max(1, round(1.0 / self.sample_rate))):
                keep = torch.rand(n_rows, generator=self.generator_, device=self.device_)
                yield torch.nonzero(keep < self.sample_rate).flatten()
            return

        order = torch.randperm(n_rows, generator=self.generator_, device=self.device_)
        for start in range(0, n_rows, self.batch_size):
            yield order[start : start + self.batch_size]

    def fit(self, task: Any, data: Any) -> Trainer:
        """Train ``task`` on the rows of ``data`` (array or tensor, rows first).

        Returns
        -------
        self
        """
        import torch

        if not callable(getattr(task, "training_step", None)):
            raise ConfigurationError("the task must have a training_step(batch, trainer) method")
        data = torch.as_tensor(np.asarray(data) if not torch.is_tensor(data) else data)
        data = data.to(self.device_)
        if len(data) == 0:
            raise ConfigurationError("cannot train on an empty table")
        train, valid = data, None
        if self.validation_fraction > 0:
            n_val = round(len(data) * self.validation_fraction)
            if 0 < n_val < len(data):
                perm = torch.randperm(len(data), generator=self.generator_, device=self.device_)
                valid, train = data[perm[:n_val]], data[perm[n_val:]]
            if valid is not None and not callable(getattr(task, "validation_loss", None)):
                raise ConfigurationError(
                    "validation_fraction > 0 needs a task with a validation_loss method"
                )
        task.to(self.device_)
        self.history_ = []
        self.stop_reason_ = "max_epochs"
        self._stop_request = None
        best, best_state, waited = math.inf, None, 0
        start = time.perf_counter()
        for cb in self.callbacks:
            if hasattr(cb, "on_train_begin"):
                cb.on_train_begin(self)
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.max_epochs, desc="training", unit="epoch")
        out_of_time = False
        for epoch in range(self.max_epochs):
            self.epoch_ = epoch
            task.train()
            sums: dict[str, Any] = {}
            n_steps = 0
            for idx in self._batches(len(train)):
                logs = task.training_step(train[idx], self)
                for key, value in logs.items():
                    value = value.detach() if torch.is_tensor(value) else value
                    sums[key] = sums.get(key, 0.0) + value
                n_steps += 1
                if self.max_time is not None and time.perf_counter() - start > self.max_time:
                    out_of_time = True
                    break
                if self._stop_request is not None:
                    break
            # Losses stay on the device during the epoch: one sync per epoch, not per step.
            record: dict[str, float] = {"epoch": epoch}
            record.update({k: float(v) / max(n_steps, 1) for k, v in sums.items()})
            stop = False
            if valid is not None:
                task.eval()
                with torch.no_grad():
                    val_loss = float(task.validation_loss(valid, self))
                record["val_loss"] = val_loss
                if val_loss < best:
                    best, waited = val_loss, 0
                    if self.patience is not None:
                        best_state = {k: v.detach().clone() for k, v in task.state_dict().items()}
                else:
                    waited += 1
                    if self.patience is not None and waited >= self.patience:
                        self.stop_reason_ = "early_stopping"
                        stop = True
            record["time"] = time.perf_counter() - start
            self.history_.append(record)
            self.n_epochs_ = epoch + 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k not in ("epoch",)})
            for cb in self.callbacks:
                if cb.on_epoch_end(self, epoch, record):
                    self.stop_reason_ = "callback"
                    stop = True
            if self._stop_request is not None and not stop:
                self.stop_reason_ = self._stop_request
                stop = True
            if out_of_time and not stop:
                self.stop_reason_ = "max_time"
                stop = True
            if stop:
                break
        if bar is not None:
            bar.close()
        if best_state is not None:
            task.load_state_dict(best_state)
        task.eval()
        self.elapsed_ = time.perf_counter() - start
        for cb in self.callbacks:
            if hasattr(cb, "on_train_end"):
                cb.on_train_end(self)
        return self


@functools.cache
def cpu_has_fast_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (x86 AVX512-BF16 or AMX-BF16 on Linux).

    Read from the CPU's feature flags, not timed, so the answer (and with it a fit's numbers)
    does not depend on the machine's load. Other platforms answer ``False`` (float32 kept).

    Examples
    --------
    >>> isinstance(cpu_has_fast_bfloat16(), bool)
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        return False
    return False


def trainer_for(generator: Any, rng: np.random.Generator, **overrides: Any) -> Trainer:
    """The :class:`Trainer` a neural generator's own parameters ask for.

    Reads ``epochs``, ``max_time``, ``batch_size``, ``device``, ``grad_clip``,
    ``validation_fraction``, ``patience`` and ``verbose`` from the generator (those it lacks keep
    the Trainer's defaults); a generator's ``precision="auto"`` asks for bfloat16 mixed precision
    wherever it is native (``mixed_precision="any"``), ``"float32"`` for none. ``overrides`` win
    over all of these.
    """
    names = {
        "max_epochs": "epochs",
        "max_time": "max_time",
        "batch_size": "batch_size",
        "device": "device",
        "grad_clip": "grad_clip",
        "validation_fraction": "validation_fraction",
        "patience": "patience",
        "verbose": "verbose",
    }
    kwargs = {
        key: getattr(generator, attr) for key, attr in names.items() if hasattr(generator, attr)
    }
    precision = getattr(generator, "precision", None)
    if precision is not None:
        kwargs["mixed_precision"] = "any" if precision == "auto" else False
    kwargs.update(overrides)
    return Trainer(random_state=rng, **kwargs)
