"""The quantile transform's one-search interpolation equals numpy's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.transforms.numeric import QuantileNormal, _interp_both


@pytest.mark.parametrize("seed", range(6))
def test_interp_both_equals_numpy(seed):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(3000) * rng.uniform(0.01, 100)
    if seed % 2:
        base = np.round(base)  # ties: repeated quantiles
    q = np.quantile(base, np.linspace(0, 1, int(rng.integers(2, 400))))
    lv = np.linspace(0.0, 1.0, len(q))
    x = np.concatenate([base, rng.choice(q, 50), [q[0] - 1, q[-1] + 1, q[0], q[-1], np.nan]])
    hi, u, s = _interp_both(x, q, lv)
    np.testing.assert_array_equal(hi, np.searchsorted(q, x, side="right"))
    np.testing.assert_array_equal(u, np.interp(x, q, lv))
    np.testing.assert_array_equal(s, np.interp(x, q, 1.0 - lv))


def test_single_quantile_is_flat():
    hi, u, s = _interp_both(np.array([-1.0, 2.0, 3.0]), np.array([2.0]), np.array([0.0]))
    assert hi.tolist() == [0, 1, 1] and u.tolist() == [0.0] * 3 and s.tolist() == [1.0] * 3


def test_tied_values_spread_over_their_mass_and_decode_exactly():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.zeros(500), rng.standard_normal(500)])
    t = QuantileNormal(min_count=1).fit(x, rng)
    z = t.transform(x, rng)[:, 0]
    assert np.ptp(z[:500]) > 0.1  # the zeros are spread, not one score
    np.testing.assert_allclose(t.inverse(z[:500, None]), 0.0, atol=1e-12)
