"""Callbacks of the Trainer: hook order, early stopping, time limits, weight averaging."""

from __future__ import annotations

import warnings

import pytest
import torch

from synthgen.exceptions import ConfigurationError, TrainingTimeLimitWarning
from synthgen.training import EMA, Callback, EarlyStopping, TimeLimit, Trainer
from synthgen.training import callbacks as callbacks_module

pytestmark = pytest.mark.usefixtures("one_thread")


class Regression(torch.nn.Module):
    """Fits y = 2x + 1 with SGD; a second, unrelated module ``other`` has its own optimiser."""

    def __init__(self, lr: float = 0.1, two_optimizers: bool = False) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(1, 1)
        self.other = torch.nn.Linear(1, 1)
        with torch.no_grad():
            for p in self.parameters():
                p.zero_()
        self.opt = torch.optim.SGD(self.lin.parameters(), lr=lr)
        self.opt_other = torch.optim.SGD(self.other.parameters(), lr=lr)
        self.two_optimizers = two_optimizers

    def loss(self, batch: torch.Tensor, net: torch.nn.Module | None = None) -> torch.Tensor:
        return (((net or self.lin)(batch[:, :1]) - batch[:, 1:]) ** 2).mean()

    def training_step(self, batch, trainer):
        loss = self.loss(batch)
        trainer.optimize(loss, self.opt)
        if self.two_optimizers:
            trainer.optimize(self.loss(batch, self.other), self.opt_other)
        return {"loss": loss}

    def validation_loss(self, data, trainer):
        return self.loss(data)


def _data(n: int = 64) -> torch.Tensor:
    x = torch.linspace(-1, 1, n)
    return torch.stack([x, 2 * x + 1], dim=1)


class Recorder(Callback):
    def __init__(self, stop_at_step: int | None = None) -> None:
        self.events: list[tuple] = []
        self.stop_at_step = stop_at_step

    def on_train_begin(self, trainer):
        self.events.append(("train_begin", trainer.total_steps_))

    def on_epoch_begin(self, trainer, epoch):
        self.events.append(("epoch_begin", epoch))

    def on_step_begin(self, trainer, step):
        self.events.append(("step_begin", step, trainer.global_step_))

    def on_before_optimizer_step(self, trainer, optimizer):
        self.events.append(("before_update",))

    def on_optimizer_step(self, trainer, optimizer):
        self.events.append(("update",))

    def on_step_end(self, trainer, step, logs):
        self.events.append(("step_end", step, trainer.global_step_, sorted(logs)))
        return step == self.stop_at_step

    def on_epoch_end(self, trainer, epoch, logs):
        self.events.append(("epoch_end", epoch))

    def on_train_end(self, trainer):
        self.events.append(("train_end",))


def test_hooks_run_in_order_with_the_step_counters():
    rec = Recorder()
    trainer = Trainer(max_epochs=2, batch_size=32, device="cpu", callbacks=[rec], random_state=0)
    trainer.fit(Regression(), _data())
    step = [("before_update",), ("update",)]
    expected = [("train_begin", 4)]
    for epoch in range(2):
        expected.append(("epoch_begin", epoch))
        for k in (2 * epoch, 2 * epoch + 1):
            expected += [("step_begin", k, k), *step, ("step_end", k, k + 1, ["loss"])]
        expected.append(("epoch_end", epoch))
    expected.append(("train_end",))
    assert rec.events == expected
    assert trainer.total_steps_ == trainer.global_step_ == 4 and trainer.steps_per_epoch_ == 2


def test_step_end_can_stop_mid_epoch():
    rec = Recorder(stop_at_step=2)
    trainer = Trainer(max_epochs=9, batch_size=16, device="cpu", callbacks=[rec], random_state=0)
    trainer.fit(Regression(), _data())
    assert trainer.stop_reason_ == "callback"
    assert trainer.global_step_ == 3 and trainer.n_epochs_ == 1


def test_poisson_epochs_plan_round_one_over_q_steps():
    trainer = Trainer(max_epochs=3, sample_rate=0.3, device="cpu", random_state=0)
    trainer.fit(Regression(), _data())
    assert trainer.steps_per_epoch_ == 3 and trainer.total_steps_ == trainer.global_step_ == 9


def test_the_first_stop_reason_is_kept():
    class Asks(Regression):
        def training_step(self, batch, trainer):
            trainer.request_stop("task_budget")
            return super().training_step(batch, trainer)

    class AlsoStops(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            return True

    trainer = Trainer(max_epochs=5, batch_size=16, device="cpu", callbacks=[AlsoStops()])
    trainer.fit(Asks(), _data())
    assert trainer.stop_reason_ == "task_budget" and trainer.global_step_ == 1


# -- early stopping --------------------------------------------------------------------------
def _early(**kwargs) -> tuple[Trainer, Regression]:
    # A learning rate this large diverges, so the validation loss never improves again.
    task = Regression(lr=5.0)
    common = {"max_epochs": 200, "batch_size": 16, "device": "cpu", "random_state": 0}
    trainer = Trainer(validation_fraction=0.25, **common, **kwargs).fit(task, _data())
    return trainer, task


def test_early_stopping_callback_matches_the_patience_parameter():
    by_param, task_a = _early(patience=3)
    by_callback, task_b = _early(callbacks=[EarlyStopping(3)])
    assert by_callback.stop_reason_ == "early_stopping"

    def untimed(history):
        return [{k: v for k, v in h.items() if k != "time"} for h in history]

    assert untimed(by_callback.history_) == untimed(by_param.history_)
    assert torch.equal(task_a.lin.weight, task_b.lin.weight)


def test_early_stopping_restores_the_best_weights_only_when_asked():
    stopper = EarlyStopping(3, restore_best=False)
    trainer, task = _early(callbacks=[stopper])
    vals = [h["val_loss"] for h in trainer.history_]
    assert stopper.best_epoch_ == len(vals) - 1 - 3 and stopper.best_ == min(vals)
    with torch.no_grad():  # the last (diverged) weights were kept
        assert float(task.validation_loss(_data(), trainer)) > min(vals)


def test_early_stopping_needs_a_validation_split():
    with pytest.raises(ConfigurationError, match=r"EarlyStopping.*validation_fraction"):
        Trainer(callbacks=[EarlyStopping(2)], device="cpu")
    with pytest.raises(ConfigurationError, match="patience"):
        EarlyStopping(0)


# -- time limit ------------------------------------------------------------------------------
class FakeClock:
    """A clock that advances one second per reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_time_limit_cuts_short_with_a_warning(monkeypatch):
    monkeypatch.setattr(callbacks_module.time, "perf_counter", FakeClock())
    limit = TimeLimit(2.5)
    trainer = Trainer(max_epochs=10, batch_size=16, device="cpu", callbacks=[limit])
    with pytest.warns(TrainingTimeLimitWarning, match=r"after \d+ of 40 planned steps"):
        trainer.fit(Regression(), _data())
    assert trainer.stop_reason_ == "max_time" and limit.cut_short_
    assert trainer.global_step_ < trainer.total_steps_


def test_time_limit_is_silent_when_nothing_is_cut(monkeypatch):
    # The clock passes the limit on the very last step: all planned steps ran, no warning.
    monkeypatch.setattr(callbacks_module.time, "perf_counter", FakeClock())
    trainer = Trainer(max_epochs=1, batch_size=64, max_time=0.5, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer.fit(Regression(), _data())
    assert trainer.stop_reason_ == "max_epochs"


def test_bad_callbacks_are_refused():
    with pytest.raises(ConfigurationError, match="callbacks"):
        Trainer(callbacks=[object()], device="cpu")
    with pytest.raises(ConfigurationError, match="max_time"):
        TimeLimit(0)


# -- moving average --------------------------------------------------------------------------
def _reference_average(trajectory: list[torch.Tensor], decay: float) -> torch.Tensor:
    """The moving average as the gan and diffusion tasks computed it before the callback."""
    avg = trajectory[0].clone()
    for n, w in enumerate(trajectory[1:], start=1):
        avg.lerp_(w, 1.0 - min(decay, (1 + n) / (10 + n)))
    return avg


class Trajectory(Callback):
    def __init__(self) -> None:
        self.weights: list[torch.Tensor] = []

    def on_train_begin(self, trainer):
        self.weights = [trainer.task_.lin.weight.detach().clone()]

    def on_optimizer_step(self, trainer, optimizer):
        if optimizer is trainer.task_.opt:
            self.weights.append(trainer.task_.lin.weight.detach().clone())


@pytest.mark.parametrize("two_optimizers", [False, True])
def test_ema_follows_the_updates_of_its_own_module(two_optimizers):
    task = Regression(two_optimizers=two_optimizers)
    ema, path = EMA(lambda t: t.lin, decay=0.9), Trajectory()
    trainer = Trainer(max_epochs=3, batch_size=16, device="cpu", callbacks=[path, ema])
    trainer.fit(task, _data())
    # The other module's optimiser steps are not updates of this average.
    assert ema.n_updates_ == trainer.global_step_ == 12
    assert torch.equal(ema.averaged_.weight, _reference_average(path.weights, 0.9))
    assert not ema.averaged_.weight.requires_grad
    assert not torch.equal(ema.averaged_.weight, task.lin.weight)


def test_ema_without_warmup_and_copy_to():
    task = Regression()
    ema = EMA(task.lin, decay=0.5, warmup=False)
    trainer = Trainer(max_epochs=1, batch_size=64, device="cpu", callbacks=[ema])
    before = task.lin.weight.detach().clone()
    trainer.fit(task, _data())
    assert torch.equal(ema.averaged_.weight, (before + task.lin.weight.detach()) / 2)
    ema.copy_to()
    assert torch.equal(task.lin.weight, ema.averaged_.weight)


def test_ema_finalize_hook_sees_the_average_and_the_trainer():
    seen = []
    ema = EMA(lambda t: t.lin, finalize=lambda avg, trainer: seen.append((avg, trainer)))
    trainer = Trainer(max_epochs=1, batch_size=32, device="cpu", callbacks=[ema])
    trainer.fit(Regression(), _data())
    assert seen == [(ema.averaged_, trainer)]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"decay": 1.0}, "decay"), ({"decay": 0}, "decay"), ({"warmup": 1}, "warmup")],
)
def test_ema_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(ConfigurationError, match=name):
        EMA(torch.nn.Linear(1, 1), **kwargs)
