"""The training loop shared by the neural generators (:class:`Trainer`), its callbacks
(early stopping, learning-rate schedules, weight averaging, time limits), its strategies
(DP-SGD) and the thread settings of a fit."""

from synthgen.training.callbacks import EMA, Callback, EarlyStopping, TimeLimit
from synthgen.training.precision import cpu_has_fast_bfloat16
from synthgen.training.schedules import LRSchedule
from synthgen.training.strategies import DPSGDStrategy, PrivateTask, Strategy
from synthgen.training.threads import default_n_threads, resolve_n_threads, thread_limit
from synthgen.training.trainer import Trainer, TrainingTask

__all__ = [
    "EMA",
    "Callback",
    "DPSGDStrategy",
    "EarlyStopping",
    "LRSchedule",
    "PrivateTask",
    "Strategy",
    "TimeLimit",
    "Trainer",
    "TrainingTask",
    "cpu_has_fast_bfloat16",
    "default_n_threads",
    "resolve_n_threads",
    "thread_limit",
]
