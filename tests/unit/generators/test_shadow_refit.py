"""Refit functions for the shadow-model attack."""

from __future__ import annotations

import pandas as pd
import pytest

import synthgen as sg
from synthgen.exceptions import ConfigurationError
from synthgen.generators.shadow import cheap_to_refit, shadow_refit


@pytest.fixture(scope="module")
def small(adult) -> pd.DataFrame:
    return adult.head(200)


def test_refits_repeat_with_the_seed_and_differ_between_calls(small):
    model = sg.make_generator("copula", random_state=0)
    a, b = shadow_refit(model, random_state=3), shadow_refit(model, random_state=3)
    first = a(small, 30)
    pd.testing.assert_frame_equal(first, b(small, 30))
    assert not first.equals(a(small, 30))  # the second call draws a new seed
    assert list(first.columns) == list(small.columns) and len(first) == 30


def test_the_model_under_attack_is_left_alone(small):
    model = sg.make_generator("copula", random_state=0)
    shadow_refit(model)(small, 10)
    assert not hasattr(model, "schema_")


def test_neural_refits_use_the_small_budget():
    model = sg.make_generator("vae", epochs=300, random_state=0)
    assert not cheap_to_refit(model)
    assert cheap_to_refit(sg.make_generator("dp_marginals", epsilon=1.0))
    refit = shadow_refit(model, neural_epochs=2)
    assert refit.template.get_params()["epochs"] == 2
    assert refit.template.get_params()["n_threads"] == 1
    assert model.get_params()["epochs"] == 300  # the model itself is not changed


def test_bad_arguments_are_named():
    with pytest.raises(ConfigurationError, match="neural_epochs"):
        shadow_refit(sg.make_generator("copula"), neural_epochs=0)
    with pytest.raises(ConfigurationError, match="synthgen generator"):
        shadow_refit(object())  # type: ignore[arg-type]


def test_export_checks_the_attack_level(small):
    with pytest.raises(ConfigurationError, match="attacks must be one of"):
        sg.export(small, generator="copula", attacks="everything")
