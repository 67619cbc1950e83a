"""LRSchedule: step-based warm-up and decay of every parameter group's own rate."""

from __future__ import annotations

import math

import pytest
import torch

from synthgen.exceptions import ConfigurationError
from synthgen.training import Callback, LRSchedule, Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


class TwoGroups(torch.nn.Module):
    """A body at the base rate and a head at 30x (as the vae's autoregressive head)."""

    def __init__(self) -> None:
        super().__init__()
        self.body, self.head = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
        self.opt = torch.optim.SGD(
            [{"params": self.body.parameters()}, {"params": self.head.parameters(), "lr": 0.3}],
            lr=0.01,
        )
        self.other = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.5)

    def training_step(self, batch, trainer):
        loss = ((self.head(self.body(batch)) - batch) ** 2).mean()
        trainer.optimize(loss, self.opt)
        trainer.optimize(loss.detach().requires_grad_(), self.other)
        return {"loss": loss}


class Rates(Callback):
    """The rates each optimiser steps with (read after the schedule set them)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, list[float]]] = []

    def on_optimizer_step(self, trainer, optimizer):
        self.seen.append((id(optimizer), [g["lr"] for g in optimizer.param_groups]))


def _fit(schedule: LRSchedule, epochs: int = 3, **kwargs) -> tuple[Trainer, TwoGroups, Rates]:
    task, rates = TwoGroups(), Rates()
    trainer = Trainer(
        max_epochs=epochs, batch_size=16, device="cpu", callbacks=[schedule, rates], **kwargs
    )
    trainer.fit(task, torch.linspace(-1, 1, 64)[:, None])
    return trainer, task, rates


@pytest.mark.parametrize("decay", ["cosine", "linear", "constant"])
def test_each_group_follows_its_own_base_rate(decay):
    schedule = LRSchedule(decay=decay, warmup_steps=3, optimizers=lambda task: task.opt)
    trainer, task, rates = _fit(schedule)
    body = [lr for key, lr in rates.seen if key == id(task.opt)]
    assert len(body) == trainer.total_steps_ == 12
    for k, (lr_body, lr_head) in enumerate(body):
        factor = schedule.factor(k, 12)
        assert lr_body == pytest.approx(0.01 * factor) and lr_head == pytest.approx(0.3 * factor)
    # Outside the schedule's scope, and after training, the rates are the base ones.
    assert {tuple(lr) for key, lr in rates.seen if key == id(task.other)} == {(0.5,)}
    assert [g["lr"] for g in task.opt.param_groups] == [0.01, 0.3]


def test_factor_shapes():
    cos = LRSchedule(decay="cosine", final_fraction=0.1)
    assert cos.factor(0, 10) == 1.0 and cos.factor(10, 10) == pytest.approx(0.1)
    assert cos.factor(5, 10) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2)))
    assert cos.factor(50, 10) == pytest.approx(0.1)  # past the budget: stays at the floor
    lin = LRSchedule(decay="linear", final_fraction=0.0)
    assert [lin.factor(k, 4) for k in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    warm = LRSchedule(decay="constant", warmup_steps=4)
    assert [warm.factor(k, 100) for k in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_the_schedule_is_a_function_of_steps_not_of_when_training_stops():
    class StopAt(Callback):
        def on_step_end(self, trainer, step, logs):
            return step == 4

    full = _fit(LRSchedule(), epochs=3)[2].seen
    task, rates = TwoGroups(), Rates()
    Trainer(
        max_epochs=3, batch_size=16, device="cpu", callbacks=[LRSchedule(), rates, StopAt()]
    ).fit(task, torch.linspace(-1, 1, 64)[:, None])
    # Five batches, two optimisers each, at the rates of the full plan (not compressed).
    assert len(rates.seen) == 10
    assert [lr for _, lr in rates.seen] == [lr for _, lr in full][:10]


def test_an_explicit_budget_overrides_the_trainers():
    schedule = LRSchedule(decay="linear", final_fraction=0.0, total_steps=4)
    _, task, rates = _fit(schedule, epochs=2)
    body = [lr[0] for key, lr in rates.seen if key == id(task.opt)]
    assert body[4:] == [0.0] * 4


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"decay": "step"}, "decay"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"final_fraction": 1.5}, "final_fraction"),
        ({"total_steps": 0}, "total_steps"),
    ],
)
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(ConfigurationError, match=name):
        LRSchedule(**kwargs)
