"""TabularVAE: learning, budgets, parameters, persistence of the learned variance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen.exceptions import ConfigurationError, TrainingTimeLimitWarning
from synthgen.generators.vae import TabularVAE
from synthgen.schema import Schema

pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = {"latent_dim": 8, "hidden": (32, 32), "batch_size": 30, "device": "cpu"}


def _bimodal(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    c = rng.choice(["a", "b"], n)
    x = np.where(c == "a", -5.0, 5.0) + rng.normal(0, 0.3, n)
    return pd.DataFrame({"x": x, "c": c})


def _agreement(frame: pd.DataFrame) -> float:
    """Share of rows whose number lies in the mode that belongs to its category."""
    return float(((frame["x"] < 0) == (frame["c"] == "a")).mean())


def test_learns_a_bimodal_column_and_its_link_better_than_one_epoch():
    data = _bimodal()
    short = TabularVAE(epochs=1, learning_rate=1e-3, random_state=0, **SMALL).fit(data)
    long = TabularVAE(epochs=80, learning_rate=1e-2, random_state=0, **SMALL).fit(data)
    a, b = short.sample(400, random_state=1), long.sample(400, random_state=1)
    assert _agreement(b) > _agreement(a)
    assert _agreement(b) > 0.7
    # Both modes are produced and the gap between them stays empty.
    assert ((b["x"] > 3) & (b["x"] < 7)).mean() > 0.3 and (
        (b["x"] > -7) & (b["x"] < -3)
    ).mean() > 0.3
    assert (b["x"].abs() < 2).mean() < 0.1


def test_history_and_learned_sigma_are_kept():
    model = TabularVAE(epochs=3, random_state=0, **SMALL).fit(_bimodal())
    assert len(model.history_) == 3 == model.n_epochs_
    assert {"loss", "reconstruction", "kl", "time"} <= set(model.history_[0])
    sigma = model.net_.sigma().detach().numpy()
    assert sigma.shape == (1,) and 0.01 <= sigma[0] <= 1.0


def test_value_noise_spreads_continuous_outputs():
    model = TabularVAE(epochs=40, learning_rate=1e-2, random_state=0, **SMALL).fit(_bimodal())

    def within_mode_spread():
        x = model.sample(2000, random_state=3)["x"]
        return float(x[x > 0].std())

    plain = within_mode_spread()
    model.set_params(value_noise=1.0)  # a sampling-time setting: no refit needed
    assert within_mode_spread() > plain


def test_max_time_bounds_the_fit():
    with pytest.warns(TrainingTimeLimitWarning):
        model = TabularVAE(epochs=100_000, max_time=0.5, random_state=0, **SMALL).fit(_bimodal())
    assert model.n_epochs_ < 100_000


def test_early_stopping_on_a_validation_split():
    model = TabularVAE(
        epochs=500, validation_fraction=0.25, patience=2, random_state=0, **SMALL
    ).fit(_bimodal())
    assert "val_loss" in model.history_[0]
    assert model.n_epochs_ < 500


def test_sampling_in_chunks_is_bounded_and_complete():
    model = TabularVAE(epochs=1, random_state=0, **SMALL).fit(_bimodal())
    out = model.sample(45_000, random_state=0)
    assert len(out) == 45_000 and set(out["c"]) == {"a", "b"}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("epochs", 0),
        ("batch_size", -1),
        ("max_time", 0),
        ("latent_dim", 0),
        ("hidden", (16, -2)),
        ("learning_rate", 0),
        ("l2", -1.0),
        ("kl_anneal_epochs", -1),
        ("value_noise", -0.5),
        ("validation_fraction", 1.5),
        ("patience", 0),
        ("device", "no-such-device"),
        ("prior", "flow"),
        ("prior_components", 0),
        ("precision", "half"),
        ("autoregressive", "yes"),
    ],
)
def test_bad_parameters_raise_in_fit(param, value):
    model = TabularVAE(**{**SMALL, param: value})  # __init__ accepts anything
    with pytest.raises(ConfigurationError, match=param):
        model.fit(_bimodal())


def test_mixture_prior_draws_from_the_used_latent_region():
    # Codes of the training rows sit in a few clusters; the mixture prior samples there, so
    # decoded rows keep the number/category link at least as well as the N(0, I) prior.
    data = _bimodal(300)
    kw = {**SMALL, "epochs": 30, "random_state": 0}
    standard = TabularVAE(prior="standard", **kw).fit(data)
    mixture = TabularVAE(prior="mixture", prior_components=4, **kw).fit(data)
    assert standard.prior_ is None and len(mixture.prior_.weights) == 4
    # Same training (the prior is fitted afterwards), different latent draws.
    torch.testing.assert_close(mixture.net_.out.weight, standard.net_.out.weight, rtol=0, atol=0)
    assert (
        _agreement(mixture.sample(2000, random_state=1))
        >= _agreement(standard.sample(2000, random_state=1)) - 0.02
    )


def test_mixture_prior_survives_save_and_load(tmp_path):
    import synthgen as sg

    model = TabularVAE(epochs=2, prior_components=3, random_state=0, **SMALL).fit(_bimodal())
    model.save(tmp_path / "vae.sgm")
    loaded = sg.load(tmp_path / "vae.sgm")
    pd.testing.assert_frame_equal(
        loaded.sample(50, random_state=3), model.sample(50, random_state=3)
    )


def test_differential_privacy_keeps_the_standard_prior():
    model = TabularVAE(epochs=1, epsilon=5.0, random_state=0, **{**SMALL, "batch_size": 60}).fit(
        _bimodal(200)
    )
    assert model.prior_ is None and model.epsilon_ <= 5.0


def test_grad_clip_is_refused_under_differential_privacy():
    model = TabularVAE(epochs=1, epsilon=5.0, grad_clip=1.0, **SMALL)
    with pytest.raises(ConfigurationError, match="grad_clip"):
        model.fit(_bimodal())


def _copied_column(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a = rng.choice(list("pqrstu"), n)
    return pd.DataFrame({"a": a, "b": np.char.upper(a.astype(str))})


def _copied() -> tuple[pd.DataFrame, Schema]:
    """The table with its schema minus the discovered ``a -> b`` hierarchy: here b must stay
    a modelled column for the autoregressive head to learn it."""
    data = _copied_column()
    return data, Schema.infer(data, structure=False)


def test_autoregressive_head_samples_each_column_from_the_ones_before_it():
    model = TabularVAE(epochs=1, random_state=0, **SMALL).fit(*_copied())
    net = model.net_
    spans = {s.column: s for s in model.encoder_.spans}
    a, b = spans["a"], spans["b"]
    with torch.no_grad():
        # The decoder itself says nothing: b is uniform unless it reads the a just drawn.
        net.out.weight.zero_()
        net.out.bias.zero_()
        net.ar.weight.zero_()
        net.ar.weight[b.start : b.end, a.start : a.end] = 20 * torch.eye(a.dim)
    out = model.sample(500, random_state=1)
    assert out["a"].nunique() == 6
    assert (out["b"] == out["a"].str.upper()).all()


def test_autoregressive_head_is_masked_to_earlier_columns():
    from synthgen.generators.ar_head import span_ranks

    model = TabularVAE(epochs=2, random_state=0, **SMALL).fit(_bimodal())
    ranks = torch.tensor(span_ranks(model.encoder_.spans))
    weight = model.net_.ar.matrix().detach()
    # Trained weights are non-zero only where the input is decoded before the output.
    assert weight.abs().sum() > 0
    assert (weight[ranks[None, :] >= ranks[:, None]] == 0).all()


def test_factorised_decoder_has_no_autoregressive_weights():
    model = TabularVAE(epochs=1, autoregressive=False, random_state=0, **SMALL).fit(_bimodal())
    assert model.net_.ar is None
    assert not any(n.startswith("ar.") for n, _ in model.net_.named_parameters())
    assert len(model.sample(20, random_state=0)) == 20


def _wide(n_columns: int, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({f"c{i}": rng.choice(list("ab"), n) for i in range(n_columns)})


@pytest.mark.parametrize(
    ("extra", "setting", "head"), [(0, "auto", True), (1, "auto", False), (1, True, True)]
)
def test_auto_gives_the_head_up_to_its_column_limit(tmp_path, extra, setting, head):
    """``"auto"`` keeps the autoregressive head on tables of up to
    ``AUTOREGRESSIVE_MAX_COLUMNS`` modelled columns and drops it past them (where it
    degraded every measure); ``True`` keeps it; a saved model rebuilds the same network."""
    import synthgen as sg
    from synthgen.generators.vae.generator import AUTOREGRESSIVE_MAX_COLUMNS

    data = _wide(AUTOREGRESSIVE_MAX_COLUMNS + extra)
    model = TabularVAE(epochs=1, autoregressive=setting, random_state=0, **SMALL).fit(data)
    assert (model.net_.ar is not None) is head
    model.save(tmp_path / "vae.sgm")
    loaded = sg.load(tmp_path / "vae.sgm")
    assert loaded.autoregressive == setting and (loaded.net_.ar is not None) is head
    pd.testing.assert_frame_equal(
        loaded.sample(30, random_state=2), model.sample(30, random_state=2)
    )
