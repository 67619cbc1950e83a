"""TabularGAN: training-by-sampling, learning, budgets, parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen.exceptions import ConfigurationError, TrainingTimeLimitWarning
from synthgen.generators.gan import ConditionalSampler, TabularGAN
from synthgen.generators.nn import SpanLayout
from synthgen.schema import Schema
from synthgen.transforms import TableEncoder

pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = {
    "embedding_dim": 8,
    "generator_dims": (32,),
    "critic_dims": (32,),
    "pac": 4,
    "batch_size": 40,
    "device": "cpu",
}


def _rare_table(n: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    c = np.array(["common"] * (n - 5) + ["rare"] * 5)
    return pd.DataFrame({"c": rng.permutation(c), "x": rng.normal(size=n)})


def _sampler(frame: pd.DataFrame):
    enc = TableEncoder(numeric="gmm").fit(frame, Schema.infer(frame), random_state=0)
    matrix = enc.transform(frame, random_state=0)
    return ConditionalSampler(matrix, SpanLayout(enc.spans)), matrix, enc


def test_log_frequency_conditions_cover_rare_categories():
    sampler, matrix, _ = _sampler(_rare_table())
    span = next(s for s in sampler.spans if s.column == "c")
    g = torch.Generator().manual_seed(0)
    cond, _, _ = sampler.sample(4000, g)
    rare_col = span.start + int(matrix[:, span.start : span.end].sum(0).argmin())
    share = float(cond[:, sampler.offsets[0] + (rare_col - span.start)].mean())
    # 5 rows in 1000 (0.5 %): log-frequency conditioning picks it far more often.
    assert share > 0.1
    # Generation conditions use the real rate instead.
    real = sampler.sample_original(4000, g)
    assert float(real[:, sampler.offsets[0] + (rare_col - span.start)].mean()) < 0.05


def test_real_rows_have_the_conditioned_category():
    sampler, matrix, _ = _sampler(_rare_table())
    g = torch.Generator().manual_seed(1)
    _, flat, span = sampler.sample(500, g)
    rows = sampler.real_rows(flat, g).numpy()
    for i in range(len(rows)):
        s = sampler.spans[int(span[i])]
        cat = int(flat[i]) - int(sampler.offsets[int(span[i])])
        assert matrix[rows[i], s.start + cat] == 1.0


def test_learns_the_category_balance_and_a_link():
    rng = np.random.default_rng(0)
    n = 400
    c = rng.choice(["a", "b"], n, p=[0.8, 0.2])
    data = pd.DataFrame({"x": np.where(c == "a", -5.0, 5.0) + rng.normal(0, 0.3, n), "c": c})
    short = TabularGAN(epochs=1, random_state=0, **SMALL).fit(data)
    long = TabularGAN(epochs=60, learning_rate=2e-3, random_state=0, **SMALL).fit(data)

    def agreement(frame):
        return float(((frame["x"] < 0) == (frame["c"] == "a")).mean())

    a, b = short.sample(600, random_state=1), long.sample(600, random_state=1)
    assert agreement(b) > agreement(a)
    assert abs((b["c"] == "a").mean() - 0.8) < 0.1


def test_history_and_time_budget():
    model = TabularGAN(epochs=100_000, max_time=0.5, random_state=0, **SMALL)
    with pytest.warns(TrainingTimeLimitWarning):
        model.fit(_rare_table(200))
    assert 0 < model.n_epochs_ < 100_000
    assert {"loss_d", "loss_g", "w_dist", "time"} <= set(model.history_[0])


def test_sampling_uses_eval_mode_and_is_seeded():
    model = TabularGAN(epochs=1, random_state=0, **SMALL).fit(_rare_table(200))
    assert not model.generator_net_.training
    pd.testing.assert_frame_equal(
        model.sample(30, random_state=3), model.sample(30, random_state=3)
    )


def test_sampling_uses_the_averaged_weights_with_their_own_batch_norm_statistics():
    data = _rare_table(200)
    averaged = TabularGAN(epochs=3, ema=0.9, random_state=0, **SMALL).fit(data)
    last = TabularGAN(epochs=3, ema=None, random_state=0, **SMALL).fit(data)
    bn = [m for m in averaged.generator_net_.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert bn and all(int(m.num_batches_tracked) == 50 for m in bn)  # recomputed
    assert all(m.momentum == 0.1 for m in bn)
    w_avg = averaged.generator_net_.out.weight
    w_last = last.generator_net_.out.weight
    assert not torch.allclose(w_avg, w_last)  # same training, different weights sampled
    assert not averaged.sample(50, random_state=1).equals(last.sample(50, random_state=1))


def test_a_table_without_categories_trains():
    data = pd.DataFrame({"x": np.linspace(0, 1, 80), "y": np.linspace(1, 3, 80) ** 2})
    out = TabularGAN(epochs=1, random_state=0, **SMALL).fit(data).sample(10)
    assert out.shape == (10, 2)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("epochs", 0),
        ("batch_size", 0),
        ("pac", 0),
        ("embedding_dim", -1),
        ("generator_dims", (0,)),
        ("critic_dims", "big"),
        ("critic_steps", 0),
        ("gp_weight", -1.0),
        ("critic_dropout", 1.0),
        ("tau", 0),
        ("ema", 1.0),
        ("ema", 0),
        ("learning_rate", -1e-3),
        ("max_time", 0),
        ("autoregressive", 1),
    ],
)
def test_bad_parameters_raise_in_fit(param, value):
    model = TabularGAN(**{**SMALL, param: value})
    with pytest.raises(ConfigurationError, match=param):
        model.fit(_rare_table(100))


def _copied_column(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a = rng.choice(list("pqrstu"), n)
    return pd.DataFrame({"a": a, "b": np.char.upper(a.astype(str))})


def _copied() -> tuple[pd.DataFrame, Schema]:
    """The table with its schema minus the discovered ``a -> b`` hierarchy: here b must stay
    a modelled column for the autoregressive head to learn it."""
    data = _copied_column()
    return data, Schema.infer(data, structure=False)


def test_autoregressive_generator_feeds_each_column_the_ones_before_it():
    model = TabularGAN(epochs=1, autoregressive=True, random_state=0, **SMALL)
    model.fit(*_copied())
    net = model.generator_net_
    spans = {s.column: s for s in model.encoder_.spans}
    a, b = spans["a"], spans["b"]
    with torch.no_grad():
        # The generator's own output says nothing about b; the head copies the drawn a.
        net.out.weight[b.start : b.end].zero_()
        net.out.bias[b.start : b.end].zero_()
        net.ar.weight.zero_()
        net.ar.weight[b.start : b.end, a.start : a.end] = 20 * torch.eye(a.dim)
    out = model.sample(300, random_state=1)
    assert out["a"].nunique() > 1
    assert (out["b"] == out["a"].str.upper()).all()


def test_autoregressive_generator_trains_its_head_and_survives_save_and_load(tmp_path):
    import synthgen as sg

    model = TabularGAN(epochs=2, autoregressive=True, random_state=0, **SMALL)
    model.fit(*_copied())
    assert model.generator_net_.ar.matrix().abs().sum() > 0
    model.save(tmp_path / "gan.sgm")
    loaded = sg.load(tmp_path / "gan.sgm")
    pd.testing.assert_frame_equal(
        loaded.sample(40, random_state=2), model.sample(40, random_state=2)
    )
    assert TabularGAN(epochs=1, random_state=0, **SMALL).fit(*_copied()).generator_net_.ar is None


@pytest.mark.parametrize(("interval", "critic_steps"), [(1, 1), (3, 2)])
def test_gradient_penalty_every_interval_updates(monkeypatch, interval, critic_steps):
    # Lazy regularisation: the penalty runs on every ``gp_interval``-th critic update only.
    from synthgen.generators.gan.task import GANTask

    calls = []
    original = GANTask._gradient_penalty

    def counting(self, real, fake, g):
        calls.append(self.critic_updates)
        return original(self, real, fake, g)

    monkeypatch.setattr(GANTask, "_gradient_penalty", counting)
    frame = _rare_table(400)
    params = {**SMALL, "gp_interval": interval, "critic_steps": critic_steps}
    model = TabularGAN(epochs=1, random_state=0, **params).fit(frame)
    updates = critic_steps * len(model.history_) * (len(frame) // SMALL["batch_size"])
    assert calls == list(range(interval, updates + 1, interval))


def test_conditions_follow_the_span_frequencies_and_never_pick_padding():
    # Spans of different widths: the probability tables are padded to the widest, and a
    # category is drawn by inverse CDF; draws stay inside each span at its frequencies.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.choice(["x", "y"], 3000, p=[0.9, 0.1]),
            "b": rng.choice(list("pqrstu"), 3000),
        }
    )
    sampler, _, _ = _sampler(frame)
    g = torch.Generator().manual_seed(0)
    for log_frequency, table in ((True, sampler.log_p), (False, sampler.real_p)):
        _, flat, span = sampler.sample(40_000, g, log_frequency=log_frequency)
        for i, s in enumerate(sampler.spans):
            cats = (flat[span == i] - int(sampler.offsets[i])).numpy()
            assert cats.min() >= 0 and cats.max() < s.dim
            share = np.bincount(cats, minlength=s.dim) / len(cats)
            np.testing.assert_allclose(share, table[i, : s.dim].numpy(), atol=0.015)


def test_critic_scores_real_and_fake_halves_apart():
    # The critic step scores real and generated rows in one pass: pac groups must not mix
    # the two halves, so each half's scores equal those of a pass over that half alone.
    from synthgen.generators.gan.networks import CriticNet

    critic = CriticNet(6, (8,), pac=4, p_drop=0.0)
    real, fake = torch.randn(20, 6), torch.randn(20, 6)
    both = critic(torch.cat([real, fake])).view(2, -1)
    torch.testing.assert_close(both[0], critic(real).view(-1))
    torch.testing.assert_close(both[1], critic(fake).view(-1))


def _task(monkeypatch, frame: pd.DataFrame, **params):
    """The training task and trainer of a one-epoch fit of ``frame``."""
    from synthgen.generators.gan.task import GANTask

    seen = {}
    original = GANTask.training_step

    def spy(self, batch, trainer):
        seen["task"], seen["trainer"] = self, trainer
        return original(self, batch, trainer)

    monkeypatch.setattr(GANTask, "training_step", spy)
    TabularGAN(epochs=1, random_state=0, **{**SMALL, **params}).fit(frame)
    monkeypatch.setattr(GANTask, "training_step", original)
    return seen["task"], seen["trainer"]


def test_condition_loss_is_the_cross_entropy_of_each_rows_conditioned_span(monkeypatch):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.choice(["x", "y"], 400), "b": rng.choice(list("pqrstu"), 400)})
    task, trainer = _task(monkeypatch, frame)
    _, flat, span = task._cond(trainer.generator_)
    raw = torch.randn(len(flat), task.layout.dim, requires_grad=True)
    reference = sum(
        torch.nn.functional.cross_entropy(
            raw[span == i, s.start : s.end],
            flat[span == i] - int(task.sampler.offsets[i]),
            reduction="sum",
        )
        for i, s in enumerate(task.sampler.spans)
    ) / len(raw)
    torch.testing.assert_close(task._cond_loss(raw, flat, span), reference)


@pytest.mark.parametrize("critic_steps", [1, 2])
def test_the_generator_step_reuses_the_last_critic_steps_rows(monkeypatch, critic_steps):
    # One forward pass of the generator per critic step: the last one's rows (and graph)
    # serve the generator's update, which leaves the critic's gradients as its step left them.
    task, trainer = _task(monkeypatch, _rare_table(400), critic_steps=critic_steps)
    generated, critic_grads = [], []
    generate = task.gen.generate
    optimize = trainer.optimize

    def counting(*args, **kwargs):
        generated.append(1)
        return generate(*args, **kwargs)

    def recording(loss, optimizer):
        optimize(loss, optimizer)
        critic_grads.append([p.grad.clone() for p in task.critic.parameters()])

    monkeypatch.setattr(task.gen, "generate", counting)
    monkeypatch.setattr(trainer, "optimize", recording)
    task.training_step(None, trainer)
    assert len(generated) == critic_steps
    assert len(critic_grads) == critic_steps + 1
    for after_generator, after_critic in zip(critic_grads[-1], critic_grads[-2], strict=True):
        assert torch.equal(after_generator, after_critic)
    assert all(p.requires_grad for p in task.critic.parameters())
