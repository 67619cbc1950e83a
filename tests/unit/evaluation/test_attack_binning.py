"""The classifier attack's weighted bins: found in one sort, the same model as before."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from synthgen.evaluation.attacks import AttackSpace, ClassifierAttack, Rows, binning
from synthgen.evaluation.attacks.binning import MAX_BINS, WeightedBins


def _rows(rng: np.random.Generator, n: int, shift: float) -> Rows:
    """Numbers with many distinct values, ties and gaps, one with few values, and codes."""
    many = rng.normal(shift, 1, n)
    tied = np.round(rng.normal(shift, 1, n) * 150)  # several hundred values, many ties
    tied[rng.random(n) < 0.1] = np.nan
    few = rng.integers(0, 5, n).astype(float)
    codes = rng.integers(0, 3, (n, 1))
    return Rows(np.column_stack([many, tied, few]), codes)


def test_weighted_bins_split_the_weight_evenly_and_keep_order_and_gaps():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=3000), rng.integers(0, 4, 3000).astype(float)])
    x[::7, 0] = np.nan
    weight = np.where(np.arange(3000) < 1000, 4.0, 1.0)  # the first third weighs twice the rest
    bins = WeightedBins().fit(x, weight, np.array([False, False]))
    assert list(bins.thresholds_) == [0]  # four values: left to the model
    coded = bins.transform(x)
    assert np.isnan(coded[::7, 0]).all() and not np.shares_memory(coded, x)
    present = ~np.isnan(x[:, 0])
    order = np.argsort(x[present, 0], kind="stable")
    assert (np.diff(coded[present, 0][order]) >= 0).all()  # order kept
    assert coded[present, 0].max() == MAX_BINS - 1
    share = (
        np.bincount(coded[present, 0].astype(int), weights=weight[present]) / weight[present].sum()
    )
    assert share.max() < 2.5 / MAX_BINS  # about one bin's share of the weight each
    np.testing.assert_array_equal(coded[:, 1], x[:, 1])


def test_too_many_rows_are_left_to_the_model(monkeypatch):
    monkeypatch.setattr(binning, "MODEL_SUBSAMPLE", 500)
    x = np.random.default_rng(1).normal(size=(600, 1))
    bins = WeightedBins().fit(x, np.ones(600), np.array([False]))
    assert bins.thresholds_ == {} and bins.transform(x) is x


@pytest.mark.parametrize("n_synthetic", [700, 1500])
def test_the_attack_scores_as_a_model_binning_the_weighted_values_itself(n_synthetic):
    rng = np.random.default_rng(2)
    synthetic, reference = _rows(rng, n_synthetic, 0.3), _rows(rng, 900, 0.0)
    candidates = _rows(rng, 400, 0.1)
    space = AttackSpace([3]).fit(synthetic, reference)
    attack = ClassifierAttack(space, max_iter=30).fit(synthetic, reference)
    assert sorted(attack.bins_.thresholds_) == [0, 1]  # the two columns of many values
    # the way it was: the model bins the weighted values, a quantile at a time
    X = np.concatenate([space.matrix(synthetic), space.matrix(reference)])
    y = np.r_[np.ones(len(synthetic)), np.zeros(len(reference))]
    weight = np.where(y == 1, len(y) / (2 * len(synthetic)), len(y) / (2 * len(reference)))
    model = HistGradientBoostingClassifier(
        max_iter=30,
        categorical_features=space.categorical_mask,
        early_stopping=False,
        random_state=0,
    ).fit(X, y, sample_weight=weight)
    want = model.predict_proba(space.matrix(candidates))[:, 1]
    np.testing.assert_array_equal(attack.scores(candidates), want)
