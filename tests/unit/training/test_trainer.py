"""The shared training loop: budgets, early stopping, callbacks, clipping, history, seeding."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from synthgen.exceptions import ConfigurationError, TrainingTimeLimitWarning
from synthgen.training import Callback, Trainer, cpu_has_fast_bfloat16

pytestmark = pytest.mark.usefixtures("one_thread")


class Regression(torch.nn.Module):
    """Fits y = 2x + 1 with SGD; a small, deterministic task."""

    def __init__(self, lr: float = 0.1, sleep: float = 0.0) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(1, 1)
        with torch.no_grad():
            self.lin.weight.zero_()
            self.lin.bias.zero_()
        self.opt = torch.optim.SGD(self.parameters(), lr=lr)
        self.sleep = sleep
        self.seen: list[torch.Tensor] = []

    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        return ((self.lin(batch[:, :1]) - batch[:, 1:]) ** 2).mean()

    def training_step(self, batch, trainer):
        if self.sleep:
            time.sleep(self.sleep)
        self.seen.append(batch[:, 0].clone())
        loss = self.loss(batch)
        trainer.optimize(loss, self.opt)
        return {"loss": loss}

    def validation_loss(self, data, trainer):
        return self.loss(data)


def _data(n: int = 64) -> torch.Tensor:
    x = torch.linspace(-1, 1, n)
    return torch.stack([x, 2 * x + 1], dim=1)


def test_history_records_every_epoch_and_loss_falls():
    trainer = Trainer(max_epochs=6, batch_size=16, device="cpu", random_state=0)
    trainer.fit(Regression(), _data())
    assert [h["epoch"] for h in trainer.history_] == list(range(6))
    assert trainer.history_[-1]["loss"] < trainer.history_[0]["loss"]
    assert trainer.stop_reason_ == "max_epochs" and trainer.n_epochs_ == 6


def test_max_time_stops_training():
    trainer = Trainer(max_epochs=10_000, max_time=0.2, batch_size=8, device="cpu", random_state=0)
    start = time.perf_counter()
    with pytest.warns(TrainingTimeLimitWarning, match="max_time=0.2 s ended training"):
        trainer.fit(Regression(sleep=0.01), _data())
    assert time.perf_counter() - start < 2.0
    assert trainer.stop_reason_ == "max_time"
    assert trainer.n_epochs_ < 10_000


def test_early_stopping_triggers_and_restores_best():
    # A learning rate this large diverges, so the validation loss never improves again.
    task = Regression(lr=5.0)
    trainer = Trainer(
        max_epochs=200,
        batch_size=16,
        device="cpu",
        validation_fraction=0.25,
        patience=3,
        random_state=0,
    )
    trainer.fit(task, _data())
    assert trainer.stop_reason_ == "early_stopping"
    assert trainer.n_epochs_ < 200
    vals = [h["val_loss"] for h in trainer.history_]
    best = min(vals)
    with torch.no_grad():
        assert float(task.validation_loss(_data(), trainer)) < vals[-1]
    assert vals.index(best) == len(vals) - 1 - 3


def test_callback_can_stop():
    class StopAtTwo(Callback):
        def __init__(self):
            self.epochs = []

        def on_epoch_end(self, trainer, epoch, logs):
            self.epochs.append((epoch, logs["loss"]))
            return epoch == 1

    cb = StopAtTwo()
    trainer = Trainer(max_epochs=50, batch_size=16, device="cpu", callbacks=[cb], random_state=0)
    trainer.fit(Regression(), _data())
    assert trainer.n_epochs_ == 2 and trainer.stop_reason_ == "callback"
    assert [e for e, _ in cb.epochs] == [0, 1]


def test_gradient_clipping_bounds_the_norm():
    class Huge(Regression):
        def training_step(self, batch, trainer):
            loss = 1e6 * self.loss(batch)
            trainer.optimize(loss, self.opt)
            grads = torch.cat([p.grad.flatten() for p in self.parameters()])
            self.norms.append(float(grads.norm()))
            return {"loss": loss}

    task = Huge()
    task.norms = []
    Trainer(max_epochs=1, batch_size=16, device="cpu", grad_clip=0.5, random_state=0).fit(
        task, _data()
    )
    assert max(task.norms) <= 0.5 + 1e-5


def test_shuffling_is_seeded_and_leaves_global_rng_alone():
    tasks = [Regression() for _ in range(3)]  # nn.Linear itself draws from the global RNG
    state = torch.get_rng_state().clone()
    orders = []
    for seed, task in zip((3, 3, 4), tasks, strict=True):
        Trainer(max_epochs=1, batch_size=64, device="cpu", random_state=seed).fit(task, _data())
        orders.append(task.seen[0])
    assert torch.equal(orders[0], orders[1])
    assert not torch.equal(orders[0], orders[2])
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("max_epochs", 0),
        ("max_time", -1.0),
        ("batch_size", 2.5),
        ("grad_clip", 0),
        ("validation_fraction", 1.0),
        ("patience", 0),
        ("mixed_precision", "half"),
    ],
)
def test_bad_parameters_name_themselves(param, value):
    with pytest.raises(ConfigurationError, match=param):
        Trainer(**{param: value}, device="cpu")


def test_patience_needs_a_validation_split():
    with pytest.raises(ConfigurationError, match="patience"):
        Trainer(patience=3, device="cpu")


def test_autocast_is_a_no_op_on_cpu_unless_asked():
    trainer = Trainer(device="cpu")
    assert not trainer.amp_enabled
    with trainer.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_cpu_autocast_follows_the_cpus_bfloat16_support():
    trainer = Trainer(device="cpu", mixed_precision="any")
    assert trainer.amp_enabled == cpu_has_fast_bfloat16()
    expected = torch.bfloat16 if cpu_has_fast_bfloat16() else torch.float32
    with trainer.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == expected
    assert not Trainer(device="cpu", mixed_precision=False).amp_enabled


def test_generator_precision_reaches_the_trainer():
    from synthgen.generators.vae import TabularVAE

    rng = np.random.default_rng(0)
    model = TabularVAE(device="cpu")
    assert model.make_trainer(rng).mixed_precision == "any"
    model.set_params(precision="float32")
    assert model.make_trainer(rng).mixed_precision is False
