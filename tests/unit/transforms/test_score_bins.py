"""A frequency-encoded label decodes by bins of its score to the slice the formula gives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from synthgen.transforms.discrete import Frequency
from synthgen.transforms.score_bins import BINS, REACH, ScoreBins, search


def _hard_scores(upper: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scores on and a few ulps around every slice end and bin edge, plus the odd ones."""
    ends = ndtri(np.clip(upper, 1e-300, 1.0))
    edges = -REACH + 2 * REACH / BINS * np.arange(BINS + 1)
    points = np.concatenate([ends[np.isfinite(ends)], edges])
    near = [points]
    for _ in range(4):
        near.append(np.nextafter(near[-1], np.inf))
        near.insert(0, np.nextafter(near[0], -np.inf))
    odd = [np.nan, np.inf, -np.inf, REACH, -REACH, 40.0, -40.0, 0.0, -0.0]
    return np.concatenate([*near, odd, rng.standard_normal(20_000) * 3])


@pytest.mark.parametrize("seed", range(8))
def test_bins_give_the_formulas_slice_for_every_score(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 40))
    freq = rng.dirichlet(np.full(k, 0.3))
    freq[rng.random(k) < 0.2] = 0.0  # codes never seen: empty slices
    freq[0] = 1e-12 if k > 1 else freq[0]  # a sliver far in the tail
    upper = np.cumsum(freq / max(freq.sum(), 1e-300))
    bins = ScoreBins(upper)
    z = _hard_scores(upper, rng)
    np.testing.assert_array_equal(bins(z), search(upper, z))


def test_a_few_labels_decode_without_the_formula_for_most_scores():
    upper = np.cumsum([0.05, 0.3, 0.1, 0.25, 0.3])
    bins = ScoreBins(upper)
    assert bins.quick
    kept = bins.table[1:-1] >= 0
    mass = np.diff(ndtr(-REACH + 2 * REACH / BINS * np.arange(BINS + 1)))
    assert mass[~kept].sum() < 0.01  # the formula for under 1% of the scores
    assert bins.table[0] == bins.table[-1] == -1  # beyond the bins and NaN: the formula


def test_many_labels_take_the_formula_for_every_score():
    upper = np.cumsum(np.full(5000, 1 / 5000))
    bins = ScoreBins(upper)
    assert not bins.quick
    z = np.random.default_rng(0).standard_normal(1000)
    np.testing.assert_array_equal(bins(z), search(upper, z))


def test_a_new_fit_or_state_replaces_the_bins():
    rng = np.random.default_rng(0)
    t = Frequency().fit(np.array([0, 0, 0, 1]), 2, rng)
    z = np.array([[0.0], [1.0]])
    assert t.inverse(z).tolist() == [0, 1]
    t.fit(np.array([0, 1, 1, 1]), 2, rng)
    assert t.inverse(z).tolist() == [1, 1]
    t.set_state({**t.get_state(), "freq": [0.9, 0.1]})
    assert t.inverse(z).tolist() == [0, 0]
