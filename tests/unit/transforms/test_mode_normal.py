"""Mode-specific normalisation: point masses get exact modes of their own."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgen.transforms.numeric import ModeNormal


def _gains(n: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.85, 0.0, np.round(rng.lognormal(8, 1, n)))


def test_point_mass_decodes_exactly_whatever_the_value_slot_says():
    rng = np.random.default_rng(0)
    x = _gains()
    t = ModeNormal().fit(x, rng)
    assert t.spikes.sum() == 1 and t.means[t.spikes][0] == 0.0
    enc = t.transform(x, rng)
    np.testing.assert_allclose(t.inverse(enc), x, rtol=1e-9, atol=1e-6)
    enc[:, 0] = rng.uniform(-1, 1, len(enc))  # any value output
    decoded = t.inverse(enc)
    assert (decoded[x == 0] == 0).all()
    assert (decoded[x != 0] != 0).mean() > 0.99  # the other values stay continuous


def test_frequent_values_of_an_integer_column_become_modes():
    rng = np.random.default_rng(1)
    hours = np.where(rng.random(3000) < 0.5, 40.0, rng.integers(1, 99, 3000).astype(float))
    t = ModeNormal(max_modes=10).fit(hours, rng)
    assert 40.0 in t.means[t.spikes]
    share = t.weights[t.spikes][list(t.means[t.spikes]).index(40.0)]
    assert abs(share - (hours == 40).mean()) < 0.02


def test_only_point_masses_and_state_round_trip():
    rng = np.random.default_rng(2)
    x = rng.choice([1.0, 2.0, 5.0], 500, p=[0.5, 0.3, 0.2])
    t = ModeNormal().fit(x, rng)
    assert t.spikes.all() and sorted(t.means) == [1.0, 2.0, 5.0]
    stray = t.inverse(t.transform(np.array([3.0, 4.5]), rng))  # unseen: nearest point mass
    np.testing.assert_array_equal(stray, [2.0, 5.0])
    back = ModeNormal().set_state(t.get_state())
    np.testing.assert_array_equal(back.inverse(t.transform(x, rng)), x)
    old = {k: v for k, v in t.get_state().items() if k != "spikes"}  # saved before spikes
    assert not ModeNormal().set_state(old).spikes.any()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=5, max_size=200),
    st.floats(0.0, 0.95),
)
def test_round_trip_with_and_without_point_masses(values, zeros):
    rng = np.random.default_rng(0)
    x = np.asarray(values)
    x[: int(zeros * len(x))] = 0.0
    t = ModeNormal(max_modes=5).fit(x, rng)
    decoded = t.inverse(t.transform(x, rng))
    np.testing.assert_allclose(decoded, x, rtol=1e-6, atol=1e-6 * (1 + np.abs(x).max()))


def test_a_column_of_few_distinct_values_gets_one_exact_mode_per_value():
    rng = np.random.default_rng(3)
    years = rng.integers(1, 17, 3000).astype(float)  # 16 codes, some rarer than spike_share
    years[:5] = 1.0
    t = ModeNormal(max_modes=10).fit(years, rng)
    assert t.spikes.all() and sorted(t.means) == sorted(np.unique(years))
    enc = t.transform(years, rng)
    enc[:, 0] = rng.uniform(-1, 1, len(enc))  # whatever the value slot says
    np.testing.assert_array_equal(t.inverse(enc), years)
    many = ModeNormal(max_modes=10, max_discrete=8).fit(years, rng)
    assert not many.spikes.all()  # above max_discrete: Gaussian modes for the rest


def test_spike_ratio_keeps_an_even_spread_out_of_the_point_masses():
    rng = np.random.default_rng(4)
    ages = rng.integers(20, 60, 4000).astype(float)  # 40 values, each about 2.5% of rows
    hours = np.where(rng.random(4000) < 0.5, 40.0, rng.integers(1, 99, 4000).astype(float))
    assert ModeNormal().fit(ages, rng).spikes.any()  # every age clears the 2% share
    assert not ModeNormal(spike_ratio=3.0).fit(ages, rng).spikes.any()
    t = ModeNormal(spike_ratio=3.0).fit(hours, rng)
    assert list(t.means[t.spikes]) == [40.0]  # a real point mass stands out
