"""Structure rules under differential privacy: private mappings, rules a release breaks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.privacy.dp import DPPreprocessor
from synthgen.schema.structure import GeoPair, MissingGroup
from synthgen.testing import make_structured_table
from synthgen.testing.structure import structure_breaks


@pytest.fixture(scope="module")
def towns() -> pd.DataFrame:
    """12 towns (each held by many rows) in 3 regions, and a missing-together pair."""
    rng = np.random.default_rng(0)
    town = rng.integers(0, 12, 3000)
    gaps = rng.random(3000) < 0.25
    return pd.DataFrame(
        {
            "town": [f"town{t}" for t in town],
            "region": [f"region{t % 3}" for t in town],
            "visits": np.where(gaps, np.nan, rng.poisson(3, 3000) + 0.5),
            "last": pd.Series(rng.choice(["a", "b", "c"], 3000)).where(~gaps),
        }
    )


def test_the_released_mapping_is_the_real_one_when_labels_are_frequent(towns):
    schema = sg.Schema.infer(towns)
    assert schema.structure.hierarchies and schema.structure.missing_groups
    pre = DPPreprocessor(rho=2.0, delta_threshold=1e-6).fit(towns, schema, 0)
    assert pre.schema_.structure == schema.structure
    _, table = pre.hierarchies_["region"]
    regions = pre.schema_["region"].categories
    truth = dict(zip(towns["town"], towns["region"], strict=True))
    towns_released = pre.schema_["town"].categories
    assert [regions[i] for i in table[:-1]] == [truth[t] for t in towns_released]
    surrogate = pre.surrogate(500, np.random.default_rng(1))
    assert set(surrogate["town"]) == set(towns_released)  # every mapping learnable
    hierarchy_only = sg.schema.structure.Structure(hierarchies=schema.structure.hierarchies)
    assert not structure_breaks(towns, surrogate, hierarchy_only)


@pytest.mark.parametrize("key", ["dp_marginals", "vae"])
def test_private_fits_keep_the_released_rules(towns, key):
    params = {"epochs": 1, "batch_size": 200, "hidden": (16,), "noise_multiplier": 2.0}
    params = params if key == "vae" else {}
    data = towns.head(800) if key == "vae" else towns
    model = sg.make_generator(key, epsilon=8.0, random_state=0, **params).fit(data)
    assert model.schema_.structure.hierarchies
    out = model.sample(1000)
    assert not structure_breaks(
        data, out, model.schema_.structure, exact=False, schema=model.schema_
    )
    assert model.epsilon_ <= 8.0 + 1e-9


def test_a_parent_folded_into_other_loses_its_rule_and_other_rules_stay():
    data = make_structured_table(1500)
    model = sg.make_generator("dp_marginals", epsilon=2.0, random_state=0).fit(data)
    released = model.preprocessor_.releases_["neighbourhood"].labels
    assert "(other)" in released  # most neighbourhoods are too rare to release
    structure = model.schema_.structure
    assert "borough" not in {h.child for h in structure.hierarchies}
    assert structure.geo_pairs == [GeoPair("latitude", "longitude")]
    assert MissingGroup(("last_review", "reviews_per_month")) in structure.missing_groups
    assert not structure_breaks(
        data, model.sample(500), structure, exact=False, schema=model.schema_
    )


def test_the_release_survives_save_and_load(towns, tmp_path):
    model = sg.make_generator("dp_marginals", epsilon=8.0, random_state=0).fit(towns)
    model.save(tmp_path / "m.sgm")
    again = sg.load(tmp_path / "m.sgm")
    assert again.preprocessor_.hierarchies_ == model.preprocessor_.hierarchies_
    pd.testing.assert_frame_equal(
        again.sample(50, random_state=3), model.sample(50, random_state=3)
    )
