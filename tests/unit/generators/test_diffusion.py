"""TabularDiffusion: schedules, forward process, learning, inpainting, sampling cost, params."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen.exceptions import ConfigurationError
from synthgen.generators.diffusion import CosineSchedule, LinearSchedule, TabularDiffusion
from synthgen.generators.diffusion.process import MixedDiffusion
from synthgen.generators.diffusion.schedules import make_schedule
from synthgen.generators.nn import build_module
from synthgen.transforms.table import Span

pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = {
    "width": 64,
    "n_layers": 2,
    "time_dim": 16,
    "batch_size": 60,
    "max_time": None,
    "learning_rate": 3e-3,
    "ema_decay": 0.0,
    "device": "cpu",
}


def _linked(n: int = 240) -> pd.DataFrame:
    """A number and a category that are strongly tied: ``c`` is "hi" exactly when ``x > 0``."""
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, n)
    return pd.DataFrame({"x": x, "c": np.where(x > 0, "hi", "lo")})


@pytest.fixture(scope="module")
def linked_model() -> TabularDiffusion:
    # Module scope runs before the per-test thread fixture: set one thread here too.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return TabularDiffusion(epochs=100, sample_steps=20, random_state=0, **SMALL).fit(_linked())
    finally:
        torch.set_num_threads(before)


# -- schedules -------------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", [CosineSchedule(), LinearSchedule()], ids=repr)
def test_schedule_is_monotone_with_the_right_endpoints(schedule):
    t = torch.linspace(0, 1, 201)
    a = schedule.alpha(t)
    assert float(a[0]) == pytest.approx(1.0, abs=1e-6)
    assert float(a[-1]) == pytest.approx(0.0, abs=1e-6)
    assert bool((a[1:] < a[:-1]).all()), "alpha must fall strictly over time"
    assert bool(((a >= 0) & (a <= 1)).all())


def test_make_schedule_accepts_names_and_instances_and_names_the_parameter():
    assert isinstance(make_schedule("cosine"), CosineSchedule)
    own = LinearSchedule()
    assert make_schedule(own) is own
    with pytest.raises(ConfigurationError, match="cat_schedule"):
        make_schedule("sqrt", "cat_schedule")


# -- forward process -------------------------------------------------------------------------
def _process() -> MixedDiffusion:
    spans = [
        Span("x", "value", 0, 1, "identity"),
        Span("y", "value", 1, 1, "identity"),
        Span("c", "category", 2, 3, "softmax"),
    ]
    return MixedDiffusion(spans, CosineSchedule(), LinearSchedule())


def test_forward_noising_matches_its_closed_form():
    proc = _process()
    n = 4000
    x0 = torch.zeros((n, 5))
    x0[:, 0], x0[:, 1], x0[:, 3] = 2.0, -1.0, 1.0
    t = torch.full((n,), 0.6)
    xt, eps, masks = proc.noise(x0, t, torch.Generator().manual_seed(0))
    ab = float(CosineSchedule().alpha(torch.tensor(0.6)))
    expected = ab**0.5 * x0[:, :2] + (1 - ab) ** 0.5 * eps
    assert torch.allclose(xt[:, :2], expected, atol=1e-6)
    # The noise is standard normal and the masking rate is 1 - alpha_cat(t) = 0.6.
    assert abs(float(eps.mean())) < 0.05 and abs(float(eps.std()) - 1) < 0.05
    assert float(masks[0].float().mean()) == pytest.approx(0.6, abs=0.03)
    # Hidden spans reach the network as zeros plus a flag; visible ones unchanged.
    inp = proc.net_input(xt, masks)
    hidden = masks[0][:, 0]
    assert bool((inp[hidden, 2:5] == 0).all()) and bool((inp[hidden, 5] == 1).all())
    assert bool((inp[~hidden, 2:5] == x0[~hidden, 2:5]).all())


def test_noise_at_time_zero_leaves_rows_intact():
    proc = _process()
    x0 = torch.tensor([[0.5, -0.3, 0.0, 0.0, 1.0]])
    xt, _, masks = proc.noise(x0, torch.zeros(1), torch.Generator().manual_seed(1))
    assert torch.allclose(xt, x0, atol=1e-3) and not masks[0].any()


# -- solvers ---------------------------------------------------------------------------------
def test_solvers_map_noise_to_a_gaussian_and_second_order_converges_faster():
    """With the exact denoiser of N(0, 0.25) data, the probability-flow ODE ends at std 0.5."""
    proc = MixedDiffusion(
        [Span("x", "value", 0, 1, "identity")], CosineSchedule(), LinearSchedule()
    )

    def oracle(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = proc.num_alpha(t)
        x0 = ab.sqrt() * 0.25 * x / (ab * 0.25 + 1 - ab)
        return (x - ab.sqrt() * x0) / (1 - ab).sqrt()

    def std(steps: int, solver: str) -> float:
        gen = torch.Generator().manual_seed(0)
        return float(proc.sample(oracle, 20_000, steps=steps, generator=gen, solver=solver).std())

    assert abs(std(10, "dpm2m") - 0.5) < abs(std(10, "ddim") - 0.5)
    assert std(50, "dpm2m") == pytest.approx(0.5, abs=0.02)
    assert std(50, "ddim") == pytest.approx(0.5, abs=0.03)


# -- learning --------------------------------------------------------------------------------
def _mean_loss(model: TabularDiffusion, net: torch.nn.Module, matrix: torch.Tensor) -> float:
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        return float(np.mean([float(model.process_.loss(net, matrix, gen)[0]) for _ in range(20)]))


def test_training_lowers_the_denoising_loss_against_the_untrained_network(linked_model):
    model = linked_model
    matrix = torch.from_numpy(model.encoder_.transform(_linked(), random_state=0))
    untrained = build_module(
        model._factory(model.process_), "cpu", torch.Generator().manual_seed(0)
    )
    assert _mean_loss(model, model.net_, matrix) < 0.8 * _mean_loss(model, untrained, matrix)
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]


# -- inpainting ------------------------------------------------------------------------------
def test_inpainting_keeps_known_dims_that_differ_per_row(linked_model):
    model = linked_model
    rng = np.random.default_rng(0)
    matrix = model.encoder_.transform(_linked(), random_state=0)[:50]
    known = np.zeros(matrix.shape, dtype=bool)
    known[::2, 0] = True  # the number on even rows
    known[1::3, 1:] = True  # the category on every third row
    out = model._sample_encoded_given(matrix, known, rng)
    assert out.shape == matrix.shape
    assert np.array_equal(out[known], matrix[known])
    free_cat = ~known[:, 1]
    assert np.allclose(out[free_cat, 1:].sum(1), 1.0), "free categories must be one-hot"


def test_inpainting_shifts_the_conditional_distribution(linked_model):
    model = linked_model
    hi = model.sample(200, conditions={"c": "hi"}, random_state=0)
    lo = model.sample(200, conditions={"c": "lo"}, random_state=0)
    assert (hi["c"] == "hi").all() and (lo["c"] == "lo").all()
    # The number follows the category it was drawn with.
    assert (hi["x"] > 0).mean() > 0.75 and (lo["x"] < 0).mean() > 0.75
    rows = pd.DataFrame({"x": [1.5] * 100 + [-1.5] * 100})
    given_x = model.sample(conditions=rows, random_state=0)
    assert np.allclose(given_x["x"], rows["x"])
    assert (given_x["c"][:100] == "hi").mean() > 0.75
    assert (given_x["c"][100:] == "lo").mean() > 0.75


# -- sampling --------------------------------------------------------------------------------
def test_fewer_sample_steps_mean_fewer_denoiser_calls(linked_model):
    model = linked_model
    calls = []
    hook = model.net_.register_forward_hook(lambda *_: calls.append(1))
    try:
        counts = {}
        for steps in (3, 10):
            calls.clear()
            model.set_params(sample_steps=steps, sample_batch_size=1000)
            model.sample(40, random_state=0)
            counts[steps] = len(calls)
    finally:
        hook.remove()
        model.set_params(sample_steps=20, sample_batch_size=8192)
    assert counts == {3: 3, 10: 10}


def test_sampling_in_small_batches_needs_one_pass_per_batch(linked_model):
    model = linked_model
    calls = []
    hook = model.net_.register_forward_hook(lambda *_: calls.append(1))
    try:
        model.set_params(sample_steps=2, sample_batch_size=16)
        out = model.sample(40, random_state=0)
    finally:
        hook.remove()
        model.set_params(sample_steps=20, sample_batch_size=8192)
    assert len(out) == 40 and len(calls) == 2 * 3


def test_sampling_is_deterministic_for_a_seed(linked_model):
    model = linked_model
    a = model.sample(30, random_state=5)
    b = model.sample(30, random_state=5)
    c = model.sample(30, random_state=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    ca = model.sample(10, conditions={"c": "hi"}, random_state=5)
    cb = model.sample(10, conditions={"c": "hi"}, random_state=5)
    pd.testing.assert_frame_equal(ca, cb)


def test_fit_is_deterministic_for_a_seed():
    data = _linked(60)
    params = {**SMALL, "epochs": 2, "sample_steps": 3, "ema_decay": 0.9, "random_state": 3}
    a = TabularDiffusion(**params).fit(data).sample(20)
    b = TabularDiffusion(**params).fit(data).sample(20)
    pd.testing.assert_frame_equal(a, b)


# -- parameters ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("width", 0),
        ("n_layers", 1.5),
        ("time_dim", True),
        ("sample_steps", 0),
        ("sample_batch_size", -3),
        ("weight_decay", -1.0),
        ("ema_decay", 1.0),
        ("num_schedule", "sqrt"),
        ("cat_schedule", 3),
        ("cond_prob", 1.0),
        ("sampler", "euler"),
        ("learning_rate", 0),
        ("batch_size", 0),
    ],
)
def test_bad_parameters_raise_in_fit_naming_the_parameter(name, value):
    model = TabularDiffusion(**{name: value})  # __init__ only stores
    with pytest.raises(ConfigurationError, match=name):
        model.fit(_linked(20))


def test_bad_sample_steps_after_fit_raise_at_sampling(linked_model):
    model = linked_model
    model.set_params(sample_steps=0)
    try:
        with pytest.raises(ConfigurationError, match="sample_steps"):
            model.sample(5)
    finally:
        model.set_params(sample_steps=20)


@pytest.mark.parametrize("column", ["x", "c"])
def test_tables_with_only_numbers_or_only_categories(column):
    data = _linked(60)[[column]]
    model = TabularDiffusion(**{**SMALL, "epochs": 2, "sample_steps": 3, "random_state": 0})
    out = model.fit(data).sample(25)
    assert list(out.columns) == [column] and len(out) == 25 and not out[column].isna().any()
