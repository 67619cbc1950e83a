"""DP preprocessing of numeric columns: budget weights, noise scale, widened bounds."""

import math

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.privacy.dp import DPPreprocessor
from synthgen.privacy.dp.bins import _EXP, bucket_index, pool_buckets


@pytest.fixture(scope="module")
def levels() -> pd.DataFrame:
    """``level``: 5,000 rows spread over 2..16 and 60 rows at 1 (a rare lowest value);
    ``city``: two labels."""
    rng = np.random.default_rng(0)
    level = np.concatenate([rng.integers(2, 17, 5000), np.ones(60, dtype=np.int64)])
    city = rng.choice(["A", "B"], len(level)).astype(object)
    return pd.DataFrame({"level": rng.permutation(level), "city": city})


def _spent(pre: DPPreprocessor, schema: sg.Schema) -> float:
    """zCDP spent by the preprocessing, rebuilt from the noise of every released count."""
    total = 0.0
    for name, scales in pre.noise_.items():
        if schema[name].kind == "numeric":
            # one histogram, sensitivity 1 (its missing cell keeps the raw noise: the bins of
            # whole numbers are pooled with the coarse buckets, which sharpens them)
            fine = 1.0 / (2.0 * scales[-1] ** 2)
            total += fine / (1.0 - pre.bucket_share)  # plus the coarse bounds
        else:  # the label counts, then the count of rows with a dropped label (if asked)
            total += 1.0 / (2.0 * scales[0] ** 2)
            total += pre.rho_column_ - 1.0 / (2.0 * scales[0] ** 2)
    return total


@pytest.mark.parametrize("weight", [1.0, 5.0])
def test_column_shares_add_up_to_the_budget_and_numbers_get_their_weight(levels, weight):
    schema = sg.Schema.infer(levels)
    pre = DPPreprocessor(rho=0.2, delta_threshold=1e-6, numeric_weight=weight, bucket_share=0.25)
    pre.fit(levels, schema, 0)
    assert _spent(pre, schema) == pytest.approx(0.2, rel=1e-9)
    # noise of a numeric fine bin: sqrt(1 / (2 rho)) with rho its weighted share (3/4 of it)
    rho_fine = 0.2 * weight / (weight + 1.0) * 0.75
    assert pre.noise_["level"][-1] == pytest.approx(math.sqrt(1.0 / (2.0 * rho_fine)))


def test_released_counts_carry_the_noise_the_accountant_charges(levels):
    # Every value of ``level`` is common enough to be kept, so the released counts are the
    # noisy counts pooled with the coarse buckets: their spread over many fits must be the
    # declared noise scale of each bin, below the raw histogram's (the missing cell's).
    schema = sg.Schema.infer(levels)
    bulk = levels[levels["level"] > 1]
    true = np.bincount(bulk["level"], minlength=17)[2:17].astype(float)
    errors, declared = [], []
    for seed in range(60):
        pre = DPPreprocessor(rho=0.05, delta_threshold=1e-6, numeric_weight=5.0).fit(
            bulk, schema, seed
        )
        release = pre.releases_["level"]
        edges = np.asarray(release.edges)
        mids = (edges[:-1] + edges[1:]) / 2
        counts = np.asarray(release.counts)[: len(mids)]
        inside = (mids > 1.5) & (mids < 16.5)
        errors.append(counts[inside] - true)
        declared.append(pre.noise_["level"][: len(mids)][inside])
    spread = float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))
    scale = float(np.sqrt(np.mean(np.concatenate(declared) ** 2)))
    assert spread == pytest.approx(scale, rel=0.1)
    assert scale < 0.97 * pre.noise_["level"][-1]


def test_a_value_alone_in_its_bucket_is_measured_twice():
    # The 30 rows at 1 are the whole bucket [1, 2): pooling its coarse count with the fine
    # bin halves the variance when the two have equal noise (bucket_share 1/2), while value
    # 40 (one of 32 values in [32, 64)) gains little.
    df = pd.DataFrame({"x": np.repeat(np.arange(1, 41), [30] + [400] * 39)})
    schema = sg.Schema.infer(df)
    pre = DPPreprocessor(rho=0.004, delta_threshold=1e-6, bucket_share=0.5, edge_buckets=1)
    pre.fit(df, schema, 0)
    edges, sd = np.asarray(pre.releases_["x"].edges), pre.noise_["x"]
    raw = sd[-1]  # the missing cell: the raw histogram's noise
    assert sd[int(np.searchsorted(edges, 1.0)) - 1] == pytest.approx(raw / math.sqrt(2.0))
    assert 0.97 * raw < sd[int(np.searchsorted(edges, 40.0)) - 1] < raw


def test_pooled_counts_are_unbiased_with_the_declared_noise():
    # Whole numbers 1..40: buckets [1, 2) .. [16, 32) have every value, [32, 64) does not
    # (its bins are left alone). Over many noise draws the pooled estimates centre on the
    # truth with the declared spread.
    rng = np.random.default_rng(0)
    values = np.arange(1.0, 41.0)
    true = rng.integers(0, 200, len(values)).astype(float)
    n_buckets = 2 * len(_EXP) + 1
    buckets = np.bincount(bucket_index(values), weights=true, minlength=n_buckets)
    draws = []
    for _ in range(3000):
        fine = true + rng.normal(0, 4.0, len(true))
        est, sd = pool_buckets(fine, values, 4.0, buckets + rng.normal(0, 3.0, n_buckets), 3.0)
        draws.append(est)
    draws = np.asarray(draws)
    assert np.abs(draws.mean(axis=0) - true).max() < 4 * 4.0 / np.sqrt(3000)
    np.testing.assert_allclose(draws.std(axis=0), sd, rtol=0.1)
    assert (sd[values >= 32] == 4.0).all() and (sd[values < 32] < 4.0).all()
    assert sd[0] == pytest.approx(1.0 / np.sqrt(1 / 16 + 1 / 9))  # [1, 2): both counts


def test_a_rare_extreme_next_to_the_bulk_is_found_by_the_widened_fine_bins(levels):
    # The coarse step cannot see the 60 rows at 1 (its noise is large: a small share), the
    # fine bins can: only the widened bounds let them.
    schema = sg.Schema.infer(levels)
    common = {"rho": 0.03, "delta_threshold": 1e-6, "numeric_weight": 5.0, "bucket_share": 0.02}
    strict = {"edge_sigmas": 4.5, "near_sigmas": 3.0}
    widened = DPPreprocessor(**common, edge_buckets=1, **strict).fit(levels, schema, 0)
    narrow = DPPreprocessor(**common, edge_buckets=0, **strict).fit(levels, schema, 0)
    assert widened.schema_["level"].minimum == 1
    assert narrow.schema_["level"].minimum == 2
    assert widened.schema_["level"].maximum == narrow.schema_["level"].maximum == 16
    # the widening never crosses zero: no value below the smallest row appears
    out = widened.surrogate(2000, np.random.default_rng(0))
    assert out["level"].min() >= 1


def test_the_strict_bar_drops_a_lone_false_bin_far_from_the_data():
    # Values 0..39 only, and many empty unit bins above them (coarse bounds up to 64, widened
    # to 128): with a low bar some empty bin clears it in every few fits, with the strict bar
    # (4.5 sigmas far from the data, 3 next to it) none does.
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.integers(0, 40, 3000)})
    schema = sg.Schema.infer(df)
    assert schema["x"].kind == "numeric"
    common = {"rho": 0.01, "delta_threshold": 1e-6, "edge_buckets": 1, "n_bins": 128}

    def top(**bars) -> list[int]:
        return [
            DPPreprocessor(**common, **bars).fit(df, schema, seed).schema_["x"].maximum
            for seed in range(20)
        ]

    assert max(top(edge_sigmas=1.5)) > 39
    assert set(top(edge_sigmas=4.5, near_sigmas=3.0)) == {39}


def test_whole_numbers_from_one_keep_one_bin_per_value():
    # Hours 1..99 with a spike at 40: the coarse range [1, 128) is widened to [0.5, 256),
    # whose smallest whole number is 1, so the 256 values fit the unit bins (2 * n_bins) and
    # the spike is drawn as 40, not spread over 40 and 41 by a two-wide bin.
    rng = np.random.default_rng(0)
    hours = np.where(rng.random(20000) < 0.5, 40, rng.integers(1, 100, 20000))
    hours[:200] = 1
    df = pd.DataFrame({"hours": hours})
    pre = DPPreprocessor(rho=5.0, delta_threshold=1e-6, n_bins=128, edge_buckets=1)
    pre.fit(df, sg.Schema.infer(df), 0)
    release = pre.releases_["hours"]
    assert not release.zero_bin and np.allclose(np.diff(release.edges), 1.0)
    assert release.low == 1
    out = pre.surrogate(20000, np.random.default_rng(1))["hours"]
    assert (out == 40).mean() == pytest.approx((hours == 40).mean(), abs=0.02)
