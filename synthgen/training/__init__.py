"""The training loop shared by the neural generators (:class:`Trainer`) and its callbacks."""

from synthgen.training.trainer import Callback, Trainer, TrainingTask

__all__ = ["Callback", "Trainer", "TrainingTask"]
