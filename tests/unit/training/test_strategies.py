"""DPSGDStrategy on a toy task: steps, accounting, the budget, misuse."""

from __future__ import annotations

import importlib.metadata

import pytest
import torch
from torch.func import functional_call

from synthgen.exceptions import ConfigurationError
from synthgen.privacy.dp.accounting import PrivacyLedger
from synthgen.privacy.dp.sgd import DPSGD
from synthgen.training import Callback, DPSGDStrategy, PrivateTask, Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

N_ROWS = 64


class Toy(torch.nn.Module):
    """Regression of the third column on the first two, trained privately row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)
        with torch.no_grad():
            self.lin.weight.zero_()
            self.lin.bias.zero_()
        self.opt = torch.optim.SGD(self.lin.parameters(), lr=0.5)
        self.inputs_seen = 0

    def private_target(self):
        return self.lin, self.opt

    def private_inputs(self, batch, trainer):
        self.inputs_seen += 1
        # A per-row extra drawn from the trainer's generator (as a vae's noise).
        scale = 1 + 0.01 * torch.rand(len(batch), generator=trainer.generator_)
        return batch, scale

    def row_loss(self, params, row, scale):
        pred = functional_call(self.lin, params, (row[None, :2],))
        return (scale * (pred - row[2]) ** 2).sum()

    def after_private_step(self, trainer):
        return {"public": torch.tensor(1.0)}


def _data() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_ROWS, 2, generator=g)
    return torch.cat([x, (x @ torch.tensor([[1.5], [-2.0]])) + 0.5], dim=1)


def _ledger() -> PrivacyLedger:
    ledger = PrivacyLedger(delta=1e-5)
    ledger.add_zcdp("preprocessing", 0.01)  # something spent before training
    return ledger


def _fit(
    epochs: int = 2, q: float = 0.25, task: Toy | None = None, **strategy_kwargs
) -> tuple[Trainer, Toy]:
    kwargs = {"epsilon": 50.0, "max_grad_norm": 1.0, "n_rows": N_ROWS, "ledger": _ledger()}
    kwargs.update(strategy_kwargs)
    trainer = Trainer(
        max_epochs=epochs,
        sample_rate=q,
        device="cpu",
        strategy=DPSGDStrategy(**kwargs),
        random_state=0,
    )
    task = Toy() if task is None else task
    trainer.fit(task, _data())
    return trainer, task


def test_toy_task_is_a_private_task():
    assert isinstance(Toy(), PrivateTask)


def test_a_private_step_changes_the_weights_and_logs_only_public_losses():
    trainer, task = _fit(epochs=1, q=1.0, noise_multiplier=1.0)
    assert trainer.strategy_.dp_.steps == 1 == task.inputs_seen
    assert float(task.lin.weight.detach().abs().sum()) > 0
    assert set(trainer.history_[0]) == {"epoch", "public", "time"}


def test_the_accountant_matches_dpsgds_own_accounting():
    trainer, task = _fit(epochs=3, epsilon=8.0, noise_multiplier=1.2)
    strategy = trainer.strategy_
    steps = strategy.record_["steps"]
    assert steps == trainer.total_steps_ == 12 and trainer.stop_reason_ == "max_epochs"
    reference = DPSGD(
        torch.nn.Linear(2, 1),
        torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1),
        task.row_loss,
        noise_multiplier=1.2,
        max_grad_norm=1.0,
        sample_rate=0.25,
        n_rows=N_ROWS,
        epsilon=8.0,
        ledger=_ledger(),
        generator=torch.Generator(),
    )
    assert strategy.epsilon_ == pytest.approx(reference.epsilon(steps), rel=1e-12)
    assert strategy.ledger.epsilon() == strategy.epsilon_
    assert strategy.record_ == {
        "noise_multiplier": 1.2,
        "sample_rate": 0.25,
        "steps": 12,
        "max_grad_norm": 1.0,
        "stop_reason": "max_epochs",
        "opacus_version": importlib.metadata.version("opacus"),  # the accountant's code
    }


def test_calibrated_noise_spends_the_budget_over_the_planned_steps():
    trainer, _ = _fit(epochs=3, epsilon=2.0)
    strategy = trainer.strategy_
    assert trainer.stop_reason_ == "max_epochs" and strategy.record_["steps"] == 12
    assert 1.9 < strategy.epsilon_ <= 2.0


def test_training_stops_when_the_budget_is_spent():
    trainer, _ = _fit(epochs=50, epsilon=3.0, noise_multiplier=1.5)
    dp = trainer.strategy_.dp_
    assert trainer.stop_reason_ == "privacy_budget" == trainer.strategy_.record_["stop_reason"]
    assert 0 < dp.steps < trainer.total_steps_ and trainer.n_epochs_ < 50
    assert dp.epsilon(dp.steps) <= 3.0 < dp.epsilon(dp.steps + 1)
    assert trainer.strategy_.epsilon_ <= 3.0


def test_private_fits_are_seeded_and_leave_the_global_rng_alone():
    a, b = Toy(), Toy()  # (nn.Linear itself draws from the global RNG)
    state = torch.get_rng_state().clone()
    _fit(task=a, noise_multiplier=1.0)
    _fit(task=b, noise_multiplier=1.0)
    assert torch.equal(a.lin.weight, b.lin.weight)
    assert torch.equal(torch.get_rng_state(), state)


def test_callbacks_see_the_private_updates():
    class Count(Callback):
        before = after = 0

        def on_before_optimizer_step(self, trainer, optimizer):
            self.before += 1

        def on_optimizer_step(self, trainer, optimizer):
            assert optimizer is trainer.task_.opt
            self.after += 1

    count = Count()
    strategy = DPSGDStrategy(
        epsilon=50.0, max_grad_norm=1.0, n_rows=N_ROWS, ledger=_ledger(), noise_multiplier=1.0
    )
    trainer = Trainer(
        max_epochs=2, sample_rate=0.5, device="cpu", strategy=strategy, callbacks=[count]
    )
    trainer.fit(Toy(), _data())
    assert count.before == count.after == strategy.dp_.steps == 4


def test_misuse_is_explained():
    def fit(task, **trainer_kwargs):
        strategy = DPSGDStrategy(epsilon=1.0, max_grad_norm=1.0, n_rows=10, ledger=_ledger())
        Trainer(device="cpu", strategy=strategy, **trainer_kwargs).fit(task, _data())

    with pytest.raises(ConfigurationError, match="sample_rate"):
        fit(Toy())
    with pytest.raises(ConfigurationError, match="grad_clip"):
        fit(Toy(), sample_rate=0.5, grad_clip=1.0)
    with pytest.raises(ConfigurationError, match="row_loss"):
        fit(torch.nn.Linear(1, 1), sample_rate=0.5)
    with pytest.raises(ConfigurationError, match="n_rows"):
        DPSGDStrategy(epsilon=1.0, max_grad_norm=1.0, n_rows=0, ledger=_ledger())
    with pytest.raises(ConfigurationError, match="ledger"):
        DPSGDStrategy(epsilon=1.0, max_grad_norm=1.0, n_rows=10, ledger=None)
