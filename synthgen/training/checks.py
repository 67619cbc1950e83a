"""Parameter checks shared by the trainer, its callbacks and the generators' training settings."""

from __future__ import annotations

import math
from typing import Any

from synthgen.exceptions import ConfigurationError
from synthgen.training.threads import resolve_n_threads

__all__ = ["HOOKS", "check_positive", "check_trainer"]

#: Every hook a callback may define (a callback needs at least one).
HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_step_begin",
    "on_before_optimizer_step",
    "on_optimizer_step",
    "on_step_end",
    "on_epoch_end",
    "on_train_end",
)


def check_positive(name: str, value: Any, *, integer: bool = False, allow_none: bool = False):
    """``value`` when it is a positive (integer) number, else a ConfigurationError naming ``name``.

    Examples
    --------
    >>> check_positive("patience", 3, integer=True)
    3
    >>> check_positive("max_time", None, allow_none=True) is None
    True
    >>> check_positive("decay", 0)
    Traceback (most recent call last):
    ...
    synthgen.exceptions.ConfigurationError: decay must be a positive number, got 0
    """
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


def check_trainer(trainer: Any) -> None:
    """Validate a :class:`~synthgen.training.Trainer`'s parameters; errors name the parameter."""
    check_positive("max_epochs", trainer.max_epochs, integer=True)
    check_positive("max_time", trainer.max_time, allow_none=True)
    check_positive("batch_size", trainer.batch_size, integer=True)
    check_positive("grad_clip", trainer.grad_clip, allow_none=True)
    check_positive("patience", trainer.patience, integer=True, allow_none=True)
    if trainer.n_threads is not None:
        resolve_n_threads(trainer.n_threads)
    if trainer.mixed_precision not in (True, False, "cuda", "any"):
        raise ConfigurationError(
            f"mixed_precision must be True, False, 'cuda' or 'any', got {trainer.mixed_precision!r}"
        )
    frac = trainer.validation_fraction
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 <= frac < 1:
        raise ConfigurationError(f"validation_fraction must lie in [0, 1), got {frac!r}")
    q = trainer.sample_rate
    if q is not None and (isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q <= 1):
        raise ConfigurationError(f"sample_rate must lie in (0, 1] or be None, got {q!r}")
    if trainer.patience is not None and frac == 0:
        raise ConfigurationError("patience needs validation_fraction > 0")
    for cb in trainer.callbacks:
        if not any(callable(getattr(cb, hook, None)) for hook in HOOKS):
            raise ConfigurationError(
                f"callbacks must be Callback objects (with on_... hooks), got {type(cb).__name__}"
            )
        if getattr(cb, "needs_validation", False) and frac == 0:
            raise ConfigurationError(
                f"{type(cb).__name__} watches the validation loss: it needs validation_fraction > 0"
            )
    if trainer.strategy is not None and not callable(getattr(trainer.strategy, "step", None)):
        raise ConfigurationError(
            f"strategy must be a Strategy, got {type(trainer.strategy).__name__}"
        )
