"""What a fitted model stores gives no training row away (issue 21, finding 5)."""

import re
import struct
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import synthgen as sg
from synthgen.generators import get_generator_class
from synthgen.schema.safe import _distinct

RARE_LABELS = ("Zanzibar-Atoll", "Tristan-Cunha")  # held by one and by three rows
EXTREME = 987654.321  # one person's value
LATE = pd.Timestamp("2087-03-14")  # one person's date


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(0)
    n = 400
    town = rng.choice(["North", "South", "East"], n).astype(object)
    town[0], town[1:4] = RARE_LABELS
    gain = np.round(rng.lognormal(8, 1, n), 3)
    gain[7] = EXTREME
    joined = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    joined = pd.Series(joined)
    joined[9] = LATE
    return pd.DataFrame(
        {
            "town": town,
            "gain": gain,
            "age": rng.integers(18, 80, n),
            "owner": rng.random(n) < 0.4,
            "joined": joined,
        }
    )


def _member_bytes(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.mark.parametrize("key", sg.list_generators())
def test_a_model_file_holds_no_rare_label_and_no_extreme(key, planted, tmp_path):
    params = get_generator_class(key)._fast_params()
    model = sg.make_generator(key, random_state=0, **params).fit(planted)
    path = tmp_path / "m.sgm"
    model.save(path)
    members = _member_bytes(path)
    everything = b"".join(members.values())
    for label in RARE_LABELS:
        assert label.encode() not in everything, f"{label!r} is stored"
    text = b"".join(v for k, v in members.items() if k.endswith(".json")).decode()
    assert "987654" not in text, "the extreme value is stored"
    # as a number of its own (not digits inside another number, such as a loss of 2.2087...)
    seconds = re.search(rf"(?<![\d.]){LATE.value // 10**9}", text)
    year = re.search(r"(?<![\d.])2087(?!\d)", text)
    assert seconds is None and year is None, "the late date is stored"
    weights = members["weights.safetensors"]
    for packed in (struct.pack("<d", EXTREME), struct.pack("<f", EXTREME)):
        assert packed not in weights
    out = model.sample(300, random_state=1)
    assert not out["town"].isin(RARE_LABELS).any()
    assert out["gain"].max() < 100_000 and out["joined"].max() < pd.Timestamp("2030-01-01")


def test_rare_labels_are_pooled_into_a_placeholder(planted, tmp_path):
    model = sg.make_generator("copula", random_state=0).fit(planted)
    spec = model.schema_["town"]
    assert spec.categories == ["East", "North", "South"] and spec.other_label == "(other)"
    out = model.sample(4000, random_state=0)
    share = out["town"].eq("(other)").mean()
    assert 0 < share < 0.02  # about the 4 rows in 400 that held a rare label
    # The placeholder can be asked for; a rare label cannot, and the message says why.
    asked = model.sample(10, conditions={"town": "(other)"}, random_state=0)
    assert asked["town"].eq("(other)").all()
    with pytest.raises(sg.ConditionError, match="'Zanzibar-Atoll' is not in the model"):
        model.sample(5, conditions={"town": "Zanzibar-Atoll"})
    # The training table itself still fits the schema (its rare labels belong to the pool).
    model.schema_.validate(planted)
    path = tmp_path / "m.sgm"
    model.save(path)
    pd.testing.assert_frame_equal(
        sg.load(path).sample(50, random_state=2), model.sample(50, random_state=2)
    )


def test_the_placeholder_never_collides_with_a_real_label():
    df = pd.DataFrame({"c": ["(other)"] * 6 + ["a"] * 6 + ["rare"]})
    spec = sg.Schema.infer(df)["c"]
    assert spec.categories == ["(other)", "a"] and spec.other_label == "(other 2)"


def test_rare_numbers_and_booleans_come_back_as_stored_labels():
    df = pd.DataFrame({"flag": [False] * 40 + [True] * 2, "n": [1, 2] * 20 + [9, 9]})
    model = sg.make_generator("copula", random_state=0).fit(df)
    assert model.schema_["flag"].categories == [False] and model.schema_["flag"].pooled
    out = model.sample(200, random_state=0)
    assert out["flag"].dtype == bool and not out["flag"].any()
    assert out["n"].dtype == np.int64 and set(out["n"]) <= {1, 2}


def test_quantile_tables_are_not_the_sorted_column():
    # Up to 1,000 rows, the old table of 1,000 quantiles was the sorted column itself.
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(50, 10, 300), 4)
    model = sg.make_generator("copula", random_state=0).fit(pd.DataFrame({"x": x}))
    quantiles = np.array(model.encoder_.get_state()["columns"][0]["value"]["quantiles"])
    assert len(quantiles) <= 300 // 5 + 1
    assert not np.isin(quantiles, x).any()
    assert np.sort(x)[4] <= quantiles[0] and quantiles[-1] <= np.sort(x)[-5]


def test_point_masses_are_kept_exactly():
    # A value many rows hold (a zero capital gain) is nobody's secret: stored and given back.
    rng = np.random.default_rng(4)
    gain = np.where(rng.random(500) < 0.7, 0.0, np.round(rng.lognormal(7, 1, 500)))
    model = sg.make_generator("copula", random_state=0).fit(pd.DataFrame({"gain": gain}))
    out = model.sample(2000, random_state=0)["gain"]
    assert model.schema_["gain"].minimum == 0.0
    assert abs(out.eq(0.0).mean() - 0.7) < 0.05


def test_min_count_one_keeps_every_label_and_the_exact_extremes(planted):
    schema = sg.Schema.infer(planted, min_count=1)
    assert set(RARE_LABELS) <= set(schema["town"].categories)
    assert schema["gain"].maximum == EXTREME and schema["age"].minimum == planted["age"].min()
    again = sg.Schema.from_json(schema.to_json())
    assert again == schema and again.min_count == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from([0.0, -0.0, 1.5, -2.0, 1e300]), st.floats(-1e6, 1e6)),
        max_size=60,
    )
)
def test_distinct_values_of_a_sorted_column_match_numpy_unique(values):
    """The bounds and quantile tables count a sorted column's distinct values without
    sorting it again: the same values and counts as ``np.unique``."""
    x = np.sort(np.asarray(values, dtype=float))
    got_values, got_counts = _distinct(x)
    want_values, want_counts = np.unique(x, return_counts=True)
    assert np.array_equal(got_values, want_values)
    assert np.array_equal(got_counts, want_counts)
