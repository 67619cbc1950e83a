"""The quantile transform's interpolations (one search when encoding, none when decoding)
equal numpy's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from synthgen.transforms.interp import grid_interp
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


@pytest.mark.parametrize("n_levels", [2, 3, 21, 201, 1000, 1001])
def test_grid_interp_equals_numpy_on_both_tails(n_levels):
    """The decoder's table lookup (no search) gives numpy's values on the levels and the
    reversed levels of the upper tail, at and next to every level, outside, flat and NaN."""
    rng = np.random.default_rng(n_levels)
    lv = np.linspace(0.0, 1.0, n_levels)
    q = np.sort(rng.standard_normal(n_levels) * 50)
    q[n_levels // 2 : n_levels // 2 + 3] = q[n_levels // 2]  # a point mass: flat stretch
    q[:2] = q[0]
    for xp, fp in ((lv, q), ((1.0 - lv)[::-1], q[::-1])):
        x = np.concatenate(
            [
                rng.random(20_000),
                xp,
                np.nextafter(xp, 2.0),
                np.nextafter(xp, -1.0),
                [-0.5, 1.5, -0.0, 1e-300, 1 - 1e-16, np.nan, np.inf, -np.inf],
            ]
        )
        np.testing.assert_array_equal(grid_interp(x, xp, fp), np.interp(x, xp, fp))


def test_grid_interp_with_tables_of_different_ends_equals_numpy():
    """Several grids at once, their ends not shared (no scalar shortcut): each value is
    numpy's interpolation on its own grid, outside both ends, on the levels, NaN and
    infinities included."""
    rng = np.random.default_rng(4)
    grids = np.stack([np.linspace(0.0, 1.0, 51), np.linspace(-2.0, 3.0, 51)])
    values = np.sort(rng.standard_normal((2, 51)) * 10, axis=1)
    x = np.concatenate(
        [rng.uniform(-3, 4, 20_000), grids.ravel(), [-9.0, 9.0, np.nan, np.inf, -np.inf]]
    )
    table = rng.integers(0, 2, len(x))
    expected = np.where(
        table == 0,
        np.interp(x, grids[0], values[0]),
        np.interp(x, grids[1], values[1]),
    )
    np.testing.assert_array_equal(grid_interp(x, grids, values, table), expected)


def test_grid_interp_is_right_on_an_uneven_grid():
    xp = np.array([0.0, 0.001, 0.5, 0.51, 1.0])
    fp = np.array([1.0, 2.0, 3.0, 5.0, 8.0])
    x = np.random.default_rng(0).random(5000)
    np.testing.assert_array_equal(grid_interp(x, xp, fp), np.interp(x, xp, fp))


def test_quantile_inverse_decodes_as_numpy_interpolation():
    """The table lookup changed no decoded value: numpy's interpolation on each tail."""
    rng = np.random.default_rng(3)
    t = QuantileNormal().fit(rng.lognormal(size=5000), rng)
    z = np.concatenate([rng.standard_normal(10_000) * 3, [0.0, -0.0, 8.3, -8.3, 40.0, -40.0]])
    low = z < 0
    expected = np.where(
        low,
        np.interp(ndtr(np.where(low, z, 0.0)), t.levels, t.quantiles),
        np.interp(ndtr(-np.where(low, 0.0, z)), (1.0 - t.levels)[::-1], t.quantiles[::-1]),
    )
    np.testing.assert_array_equal(t.inverse(z[:, None]), expected)
