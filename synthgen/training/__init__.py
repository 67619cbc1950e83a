"""The training loop shared by the neural generators (:class:`Trainer`) and its callbacks."""

from synthgen.training.threads import default_threads, thread_limit
from synthgen.training.trainer import (
    Callback,
    Trainer,
    TrainingTask,
    cpu_has_fast_bfloat16,
    trainer_for,
)

__all__ = [
    "Callback",
    "Trainer",
    "TrainingTask",
    "cpu_has_fast_bfloat16",
    "default_threads",
    "thread_limit",
    "trainer_for",
]
