import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import synthgen as sg


def test_registry_keys_are_stable():
    assert {"marginals", "copula"} <= set(sg.list_generators())
    assert "copy" not in sg.list_generators()
    assert "copy" in sg.list_generators(include_canaries=True)


def test_unknown_key_lists_the_available_ones():
    with pytest.raises(sg.ConfigurationError, match=r"unknown generator 'gan2'.*copula"):
        sg.make_generator("gan2")


def test_init_only_stores_params_and_clone_works():
    model = sg.make_generator("copula", shrinkage=0.5, random_state=3)
    assert model.get_params() == {"shrinkage": 0.5, "random_state": 3, "verbose": False}
    twin = clone(model).set_params(shrinkage=0.1)
    assert twin.shrinkage == 0.1 and model.shrinkage == 0.5


def test_invalid_params_are_caught_in_fit(mixed):
    model = sg.make_generator("copula", shrinkage=2.0)
    with pytest.raises(sg.ConfigurationError, match="shrinkage"):
        model.fit(mixed)
    with pytest.raises(sg.ConfigurationError, match="random_state"):
        sg.make_generator("copula", random_state="x").fit(mixed)


def test_schema_must_match_the_data(mixed):
    schema = sg.Schema.infer(mixed.drop(columns="age"))
    with pytest.raises(sg.SchemaError, match="missing columns"):
        sg.make_generator("copula").fit(mixed.drop(columns="income"), schema=schema)
    with pytest.raises(sg.SchemaError, match="must be a synthgen Schema"):
        sg.make_generator("copula").fit(mixed, schema={"age": "numeric"})


def test_given_schema_is_used(mixed):
    schema = sg.Schema.infer(mixed, kinds={"y": "numeric"})
    model = sg.make_generator("copula", random_state=0).fit(mixed, schema=schema)
    assert model.schema_["y"].kind == "numeric"
    assert set(model.sample(200)["y"].unique()) <= {0, 1}


def test_copula_keeps_a_strong_correlation_that_marginals_lose():
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(scale=0.1, size=2000)})
    cop = sg.make_generator("copula", random_state=0).fit(df).sample(2000)
    ind = sg.make_generator("marginals", random_state=0).fit(df).sample(2000)
    assert cop["x"].corr(cop["y"]) > 0.95
    assert abs(ind["x"].corr(ind["y"])) < 0.1


def test_sample_without_seed_continues_a_reproducible_stream(mixed):
    a = sg.make_generator("copula", random_state=4).fit(mixed)
    b = sg.make_generator("copula", random_state=4).fit(mixed)
    first, second = a.sample(20), a.sample(20)
    assert not first.equals(second)
    pd.testing.assert_frame_equal(b.sample(20), first)


def test_large_samples_are_chunked_with_unique_ids(mixed, monkeypatch):
    model = sg.make_generator("copula", random_state=0).fit(mixed)
    monkeypatch.setattr(type(model), "sample_chunk_size", 64)
    out = model.sample(200)
    assert len(out) == 200 and out["customer_id"].is_unique
    assert out.index.tolist() == list(range(200))
