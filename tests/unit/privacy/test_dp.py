"""Differential privacy: private preprocessing, accounting, DP generators, persistence."""

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.cli import main
from synthgen.generators.gan import TabularGAN
from synthgen.generators.mst import DPMarginals
from synthgen.generators.vae import TabularVAE
from synthgen.privacy.dp import DPPreprocessor, PrivacyLedger, check_budget
from synthgen.testing import check_generator, make_mixed_table

TINY_VAE = {"epochs": 2, "batch_size": 64, "latent_dim": 8, "hidden": (16,), "device": "cpu"}
TINY_GAN = {
    "epochs": 2,
    "batch_size": 64,
    "embedding_dim": 8,
    "generator_dims": (16,),
    "critic_dims": (16,),
    "device": "cpu",
}
TINY = {"vae": TINY_VAE, "gan": TINY_GAN, "dp_marginals": {}}


@pytest.fixture(scope="module")
def towns():
    rng = np.random.default_rng(0)
    n = 600
    town = rng.choice(["North", "South"], n, p=[0.6, 0.4]).astype(object)
    town[:1] = "Solo"  # held by one person
    town[1:6] = "Few"  # held by five
    return pd.DataFrame(
        {
            "town": town,
            "age": rng.integers(18, 80, n),
            "income": np.round(rng.lognormal(10, 0.4, n), 2),
            "owner": rng.random(n) < 0.3,
        }
    )


def test_rare_labels_are_never_released(towns):
    schema = sg.Schema.infer(towns)
    for seed in range(20):
        pre = DPPreprocessor(rho=0.5, delta_threshold=1e-6, min_category_count=10)
        pre.fit(towns, schema, seed)
        labels = pre.schema_["town"].categories
        assert "Solo" not in labels and "Few" not in labels
        assert {"North", "South"} <= set(labels)
        mapped = pre.apply(towns)
        assert not mapped["town"].isin(["Solo", "Few"]).any()
        assert len(mapped) == len(towns)


def test_preprocessing_bounds_and_public_columns(towns):
    schema = sg.Schema.infer(towns)
    pre = DPPreprocessor(rho=1.0, delta_threshold=1e-6).fit(towns, schema, 0)
    age = pre.schema_["age"]
    assert 0 <= age.minimum <= 18 + 5 and 79 - 5 <= age.maximum <= 128
    assert pre.schema_["owner"].categories == [False, True]  # a public domain
    # A column marked public keeps its labels, rare ones included, at no discovery cost
    # (rare labels are in the schema only when asked for: min_count=1).
    schema = sg.Schema.infer(towns, min_count=1)
    schema["town"].extra["public"] = True
    pre = DPPreprocessor(rho=1.0, delta_threshold=1e-6).fit(towns, schema, 0)
    assert "Solo" in pre.schema_["town"].categories
    # The input is not modified, and the surrogate rows follow the released schema.
    surrogate = pre.surrogate(50, np.random.default_rng(0))
    assert list(surrogate.columns) == list(towns.columns)
    age = pre.schema_["age"]
    assert surrogate["age"].between(age.minimum, age.maximum).all()


def test_ledger_adds_up_and_budget_checks():
    ledger = PrivacyLedger(delta=1e-5)
    ledger.add_zcdp("a", 0.02)
    one = ledger.epsilon()
    ledger.add_zcdp("b", 0.02)
    assert ledger.epsilon() > one
    assert set(ledger.spent()["steps"]) == {"a", "b"}
    for bad, name in ((0, "epsilon"), (-1.0, "epsilon"), (float("inf"), "epsilon")):
        with pytest.raises(sg.ConfigurationError, match=name):
            check_budget(bad, 1e-5)
    for bad in (0.0, 1.0, 2.0):
        with pytest.raises(sg.ConfigurationError, match="delta"):
            check_budget(1.0, bad)


@pytest.mark.parametrize("key", ["dp_marginals", "vae", "gan"])
@pytest.mark.parametrize(
    ("param", "value"),
    [("epsilon", 0.0), ("epsilon", -2.0), ("delta", 0.0), ("delta", 1.0), ("preprocess_share", 1)],
)
def test_bad_privacy_parameters_are_named(key, param, value, towns):
    params = {"epsilon": 1.0, param: value, **TINY[key]}
    with pytest.raises(sg.ConfigurationError, match=param):
        sg.make_generator(key, **params).fit(towns)


@pytest.mark.parametrize("key", ["dp_marginals", "vae", "gan"])
def test_spent_epsilon_within_budget_and_saved(key, towns, tmp_path):
    params = TINY[key]
    model = sg.make_generator(key, epsilon=2.0, random_state=0, **params).fit(towns)
    assert 0 < model.epsilon_ <= 2.0 + 1e-9 and model.delta_ == 1e-5
    assert "Solo" not in model.schema_["town"].categories
    assert model.n_train_rows_ != 0
    path = tmp_path / "m.sgm"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        stored = zf.read("manifest.json").decode() + zf.read("schema.json").decode()
    assert manifest["privacy"]["epsilon"] == model.epsilon_
    assert "Solo" not in stored and "Few" not in stored
    again = sg.load(path)
    assert again.epsilon_ == model.epsilon_ and again.delta_ == model.delta_
    pd.testing.assert_frame_equal(
        again.sample(20, random_state=3), model.sample(20, random_state=3)
    )


def test_dp_sgd_stops_when_the_budget_is_spent(towns):
    model = TabularVAE(
        epsilon=1.0, noise_multiplier=3.0, random_state=0, **{**TINY_VAE, "epochs": 100}
    ).fit(towns)
    dp = model.privacy_["dp_sgd"]
    assert dp["stop_reason"] == "privacy_budget"
    assert 0 < model.n_epochs_ < 100 and dp["steps"] > 0
    assert model.epsilon_ <= 1.0 + 1e-9
    assert all(set(h) == {"epoch", "time"} for h in model.history_)  # no real-row losses


def _dp_sgd(ledger, noise_multiplier, sample_rate, epsilon):
    """DP-SGD steps of a tiny linear model over 100 rows (budget checks only)."""
    import torch

    from synthgen.privacy.dp.sgd import DPSGD

    net = torch.nn.Linear(2, 1)
    return DPSGD(
        net,
        torch.optim.SGD(net.parameters(), lr=0.1),
        lambda params, row: row.sum(),
        noise_multiplier=noise_multiplier,
        max_grad_norm=1.0,
        sample_rate=sample_rate,
        n_rows=100,
        epsilon=epsilon,
        ledger=ledger,
        generator=torch.Generator().manual_seed(0),
    )


def test_a_budget_too_small_for_one_step_spends_nothing_on_dp_sgd():
    ledger = PrivacyLedger(delta=1e-5)
    dp = _dp_sgd(ledger, noise_multiplier=0.5, sample_rate=0.5, epsilon=0.01)
    assert not dp.can_step()
    dp.finish()
    assert (ledger.rdp() == 0).all()  # nothing spent at any order (inf * 0 read as NaN)


def test_the_budget_checks_stay_quiet_where_an_order_passes_the_largest_float():
    """The largest orders' one-step values times the steps pass the largest float: those
    orders read as ``inf`` (never the smallest epsilon), without a RuntimeWarning at every
    budget check of a private fit."""
    import warnings

    from synthgen.privacy.dp.sgd import sgd_rdp

    one = sgd_rdp(0.01, 1.1, 1)
    with np.errstate(over="ignore"):
        assert np.isinf(one * 10).any() and np.isfinite(one).all()
    ledger = PrivacyLedger(delta=1e-5)
    dp = _dp_sgd(ledger, noise_multiplier=1.1, sample_rate=0.01, epsilon=10.0)
    dp.steps = 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert 0 < dp.epsilon() < 10 and dp.can_step()
        dp.finish()
    assert np.isinf(ledger.rdp()).any() and 0 < ledger.epsilon() < 10


def test_dp_vae_meets_the_contract():
    check_generator(
        TabularVAE(epsilon=50.0, min_category_count=2, **TINY_VAE), make_mixed_table(120)
    )


def test_dp_gan_trains_only_its_critic_privately(towns):
    model = TabularGAN(epsilon=2.0, random_state=0, **TINY_GAN).fit(towns)
    dp = model.privacy_["dp_sgd"]
    assert dp["trained"] == "critic" and dp["steps"] > 0 and dp["stop_reason"] == "max_epochs"
    # the critic's losses read real rows: only the generator's loss is logged
    assert all(set(h) == {"epoch", "time", "loss_g"} for h in model.history_)
    # conditions come from the released labels only
    assert "Solo" not in model.schema_["town"].categories
    stopped = TabularGAN(
        epsilon=1.0, noise_multiplier=3.0, random_state=0, **{**TINY_GAN, "epochs": 50}
    ).fit(towns)
    dp = stopped.privacy_["dp_sgd"]
    assert dp["stop_reason"] == "privacy_budget" and 0 < dp["steps"] < 50 * 10
    assert stopped.epsilon_ <= 1.0 + 1e-9


@pytest.mark.parametrize(("param", "value"), [("critic_steps", 2), ("grad_clip", 1.0)])
def test_dp_gan_refuses_what_dp_sgd_cannot_honour(param, value, towns):
    with pytest.raises(sg.ConfigurationError, match=param):
        TabularGAN(epsilon=2.0, **{param: value}, **TINY_GAN).fit(towns)


def test_dp_gan_meets_the_contract():
    check_generator(
        TabularGAN(epsilon=50.0, min_category_count=2, **TINY_GAN), make_mixed_table(120)
    )


def test_dp_marginals_structures(towns):
    tree = DPMarginals(epsilon=5.0, max_parents=1, random_state=0).fit(towns)
    assert len(tree.edges_) == len(tree.attributes_) - 1  # a spanning tree
    net = DPMarginals(epsilon=5.0, max_parents=2, random_state=0).fit(towns)
    assert all(len(p) <= 2 for p in net.parents_)
    with pytest.raises(sg.ConfigurationError, match="max_parents"):
        DPMarginals(max_parents=0).fit(towns)
    with pytest.raises(sg.ConfigurationError, match="select_share"):
        DPMarginals(one_way_share=0.6, select_share=0.5).fit(towns)


def test_cli_export_with_epsilon(towns, tmp_path, capsys):
    data = tmp_path / "towns.csv"
    towns.to_csv(data, index=False)
    out, html = tmp_path / "syn.csv", tmp_path / "r.html"
    main(["export", str(data), "-o", str(out), "--report", str(html), "--epsilon", "3", "-q"])
    printed = capsys.readouterr().out
    assert "differential privacy: epsilon = " in printed
    assert "Differential privacy" in html.read_text()
