"""How the :class:`~synthgen.training.Trainer` turns one batch into updates.

The default :class:`Strategy` hands the batch to the task's ``training_step``.
:class:`DPSGDStrategy` trains one module of the task with differentially private SGD: the
trainer draws Poisson batches (its ``sample_rate``), the task supplies one loss per row, and
:class:`~synthgen.privacy.dp.sgd.DPSGD` (the mechanism: per-row gradients, clipping, noise,
accounting) takes the step, until the privacy budget is spent.
"""

from __future__ import annotations

import numbers
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from synthgen.exceptions import ConfigurationError
from synthgen.training.checks import check_positive

if TYPE_CHECKING:
    from synthgen.privacy.dp.accounting import PrivacyLedger
    from synthgen.training.trainer import Trainer

__all__ = ["DPSGDStrategy", "PrivateTask", "Strategy"]


class Strategy:
    """One step per batch through the task's ``training_step(batch, trainer)``."""

    def setup(self, trainer: Trainer, task: Any) -> None:
        """Called once before the first step (after the task moved to the trainer's device)."""

    def step(self, trainer: Trainer, task: Any, batch: Any) -> dict[str, Any]:
        """Train on ``batch``; returns the losses to log."""
        return task.training_step(batch, trainer)

    def teardown(self, trainer: Trainer, task: Any) -> None:
        """Called once after the last step (``trainer.stop_reason_`` is final)."""


@runtime_checkable
class PrivateTask(Protocol):
    """What :class:`DPSGDStrategy` asks of a task.

    ``private_target()`` returns the module to privatise and its optimiser;
    ``private_inputs(batch, trainer)`` the per-row arguments of one Poisson batch (tensors,
    rows first: the rows themselves first, then e.g. each row's noise draws); and
    ``row_loss(params, *row_args)`` the loss of one row under ``params`` (a dict for
    ``torch.func.functional_call``). Optionally, ``after_private_step(trainer) -> dict``
    runs after each private step (a GAN's generator update, which sees the data only through
    the private critic) and returns losses to log; losses computed from real rows outside
    the accountant must not be logged (the history is saved with the model).
    """

    def private_target(self) -> tuple[Any, Any]: ...

    def private_inputs(self, batch: Any, trainer: Trainer) -> tuple[Any, ...]: ...

    def row_loss(self, params: dict[str, Any], *row_args: Any) -> Any: ...


class DPSGDStrategy(Strategy):
    """DP-SGD on the task's private module: Poisson batches, per-row clipping, Gaussian noise.

    The trainer must draw Poisson batches (``sample_rate``) and clip nothing itself
    (``grad_clip=None``). Before each step the strategy asks the mechanism whether one more
    step stays within ``epsilon``; when it does not, training stops with the reason
    ``"privacy_budget"``. At the end the steps taken are added to ``ledger`` and
    :attr:`record_` says what was done.

    Parameters
    ----------
    epsilon : float
        The fit's total budget (``ledger`` already holds what earlier steps spent).
    max_grad_norm : float
        Per-row gradient clipping bound.
    n_rows : int
        Rows of the training table as released (the noisy count): sets the expected batch
        size ``sample_rate * n_rows`` that the summed gradients are divided by.
    ledger : PrivacyLedger
        The fit's privacy ledger; DP-SGD's curve is added to it when training ends.
    noise_multiplier : float, optional
        Noise standard deviation over ``max_grad_norm``; ``None`` calibrates the smallest
        one that lets ``planned_steps`` steps fit in the budget.
    planned_steps : int, optional
        Steps to calibrate for; ``None`` takes ``trainer.total_steps_`` (epochs x
        ``round(1 / sample_rate)``).

    Attributes
    ----------
    dp_ : DPSGD
        The mechanism (set up when training begins).
    noise_multiplier_ : float
        The noise multiplier used.
    record_ : dict
        After training: ``noise_multiplier``, ``sample_rate``, ``steps``, ``max_grad_norm``
        and ``stop_reason`` (as saved in a DP model's ``privacy_["dp_sgd"]``).
    epsilon_ : float
        The ledger's total epsilon after training.
    """

    def __init__(
        self,
        *,
        epsilon: float,
        max_grad_norm: float,
        n_rows: int,
        ledger: PrivacyLedger,
        noise_multiplier: float | None = None,
        planned_steps: int | None = None,
    ) -> None:
        self.epsilon = check_positive("epsilon", epsilon)
        self.max_grad_norm = check_positive("max_grad_norm", max_grad_norm)
        if isinstance(n_rows, bool) or not isinstance(n_rows, numbers.Integral) or n_rows < 1:
            raise ConfigurationError(f"n_rows must be a positive integer, got {n_rows!r}")
        self.n_rows = int(n_rows)
        if not callable(getattr(ledger, "rdp", None)):
            raise ConfigurationError(f"ledger must be a PrivacyLedger, got {ledger!r}")
        self.ledger = ledger
        self.noise_multiplier = check_positive(
            "noise_multiplier", noise_multiplier, allow_none=True
        )
        self.planned_steps = check_positive(
            "planned_steps", planned_steps, integer=True, allow_none=True
        )
        self.dp_: Any = None
        self.noise_multiplier_: float | None = None
        self.record_: dict[str, Any] = {}
        self.epsilon_: float | None = None

    def setup(self, trainer: Trainer, task: Any) -> None:
        if trainer.sample_rate is None:
            raise ConfigurationError(
                "DP-SGD needs Poisson batches: give the Trainer a sample_rate "
                "(e.g. batch_size / n_rows)"
            )
        if trainer.grad_clip is not None:
            raise ConfigurationError(
                "grad_clip must be None with DP-SGD: each row's gradient is clipped to "
                "max_grad_norm instead"
            )
        needed = ("private_target", "private_inputs", "row_loss")
        missing = [m for m in needed if not callable(getattr(task, m, None))]
        if missing:
            raise ConfigurationError(
                f"DP-SGD needs a task with {', '.join(needed)} methods (see PrivateTask); "
                f"{type(task).__name__} lacks {', '.join(missing)}"
            )
        # Imported here: opacus is optional, and the privacy package's own imports reach
        # the generators, which import this module.
        from synthgen.privacy.dp.sgd import DPSGD, noise_multiplier_for

        module, self._optimizer = task.private_target()
        q = float(trainer.sample_rate)
        sigma = self.noise_multiplier
        if sigma is None:
            steps = self.planned_steps or trainer.total_steps_
            sigma = noise_multiplier_for(self.epsilon, self.ledger, q, steps)
        self.noise_multiplier_ = float(sigma)
        self.dp_ = DPSGD(
            module,
            self._optimizer,
            task.row_loss,
            noise_multiplier=sigma,
            max_grad_norm=self.max_grad_norm,
            sample_rate=q,
            n_rows=self.n_rows,
            epsilon=self.epsilon,
            ledger=self.ledger,
            generator=trainer.generator_,
        )
        self.record_, self.epsilon_ = {}, None

    def step(self, trainer: Trainer, task: Any, batch: Any) -> dict[str, Any]:
        if not self.dp_.can_step():
            trainer.request_stop("privacy_budget")
            return {}
        inputs = task.private_inputs(batch, trainer)
        trainer.call_hooks("on_before_optimizer_step", self._optimizer)
        self.dp_.step(*inputs)
        trainer.call_hooks("on_optimizer_step", self._optimizer)
        after = getattr(task, "after_private_step", None)
        return dict(after(trainer)) if callable(after) else {}

    def teardown(self, trainer: Trainer, task: Any) -> None:
        dp = self.dp_
        dp.finish()
        self.record_ = {
            "noise_multiplier": dp.noise_multiplier,
            "sample_rate": dp.sample_rate,
            "steps": dp.steps,
            "max_grad_norm": float(self.max_grad_norm),
            "stop_reason": trainer.stop_reason_,
            # the code that clipped and noised the steps (reports name it; the Rényi curve
            # is synthgen's own, synthgen.privacy.dp.sampled_gaussian)
            "opacus_version": metadata.version("opacus"),
        }
        self.epsilon_ = float(self.ledger.epsilon())
