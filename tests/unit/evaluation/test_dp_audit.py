"""The empirical DP audit: Clopper-Pearson bounds and the epsilon lower bound they give."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.evaluation.attacks import clopper_pearson, epsilon_lower_bound, flag_counts
from synthgen.exceptions import EvaluationError


def _randomized_response(eps: float, n: int, rng: np.random.Generator, delta: float = 0.0):
    """Scores of an exactly (eps, delta)-DP mechanism: each canary's bit, kept with probability
    e^eps / (1 + e^eps) (or, with probability delta, released as is)."""
    keep = np.exp(eps) / (1 + np.exp(eps))

    def release(bit: int) -> np.ndarray:
        truthful = rng.random(n) < keep
        out = np.where(truthful, bit, 1 - bit).astype(float)
        leak = rng.random(n) < delta
        return np.where(leak, float(bit), out)

    return release(1), release(0)


def test_clopper_pearson_matches_its_closed_forms():
    # no success in n trials: the upper bound solves (1 - p)^n = alpha
    assert clopper_pearson(0, 50, 0.9, "upper") == pytest.approx(1 - 0.1 ** (1 / 50))
    # all successes: the lower bound solves p^n = alpha
    assert clopper_pearson(50, 50, 0.9, "lower") == pytest.approx(0.1 ** (1 / 50))
    assert clopper_pearson(0, 50, 0.9, "lower") == 0.0
    assert clopper_pearson(50, 50, 0.9, "upper") == 1.0
    lo, hi = clopper_pearson(30, 100, 0.99, "lower"), clopper_pearson(30, 100, 0.99, "upper")
    assert lo < 0.3 < hi
    # more confidence, wider
    assert clopper_pearson(30, 100, 0.999, "lower") < lo


def test_identical_score_distributions_give_no_evidence():
    rng = np.random.default_rng(1)
    for _ in range(5):
        audit = epsilon_lower_bound(rng.normal(size=400), rng.normal(size=400))
        assert audit.epsilon == 0.0


def test_the_bound_grows_with_separation():
    rng = np.random.default_rng(2)
    non = rng.normal(size=500)
    base = rng.normal(size=500)
    bounds = [epsilon_lower_bound(base + shift, non).epsilon for shift in (0.5, 1.5, 3.0, 6.0)]
    assert bounds == sorted(bounds)
    assert bounds[-1] > bounds[0] + 2.0


def test_never_above_randomized_response_epsilon():
    # randomized response at epsilon 1 is exactly 1-DP: the audit may come close, never over
    rng = np.random.default_rng(3)
    found = []
    for _ in range(20):
        members, nonmembers = _randomized_response(1.0, 3000, rng)
        found.append(epsilon_lower_bound(members, nonmembers).epsilon)
    assert max(found) <= 1.0
    assert min(found) > 0.6  # and it is not vacuous: most of the true epsilon is found


def test_delta_is_subtracted():
    # (0, 0.2)-DP: the bit leaks with probability 0.2, else a fair coin; audited with its delta
    # it shows nothing, audited as if pure DP it shows privacy loss
    rng = np.random.default_rng(4)
    members, nonmembers = _randomized_response(0.0, 3000, rng, delta=0.2)
    assert epsilon_lower_bound(members, nonmembers, delta=0.2).epsilon == 0.0
    assert epsilon_lower_bound(members, nonmembers).epsilon > 0.2


def test_the_result_describes_its_threshold():
    rng = np.random.default_rng(5)
    audit = epsilon_lower_bound(rng.normal(2, 1, 300), rng.normal(size=200), confidence=0.9)
    assert audit.n_members == 300 and audit.n_nonmembers == 200
    assert audit.tpr_low <= audit.tpr and audit.fpr <= audit.fpr_high
    assert audit.epsilon == pytest.approx(np.log(audit.tpr_low / audit.fpr_high))
    assert audit.to_dict()["confidence"] == 0.9
    assert audit.n_thresholds == len(flag_counts(500, 20))


def test_more_confidence_gives_a_lower_bound():
    rng = np.random.default_rng(6)
    mem, non = rng.normal(2, 1, 300), rng.normal(size=300)
    loose = epsilon_lower_bound(mem, non, confidence=0.8).epsilon
    assert epsilon_lower_bound(mem, non, confidence=0.999).epsilon < loose


def test_flag_counts_stay_inside_the_candidates():
    for n in (2, 3, 10, 1001):
        grid = flag_counts(n, 20)
        assert len(grid) > 0 and grid.min() >= 1 and grid.max() <= n - 1
        assert len(grid) <= 20


@pytest.mark.parametrize(
    ("members", "nonmembers", "options", "match"),
    [
        ([], [0.1], {}, "members must be a non-empty"),
        ([0.1], [[0.1, 0.2]], {}, "nonmembers must be a non-empty 1-D"),
        ([0.1, np.nan], [0.1], {}, "members holds 1 non-finite"),
        (["a"], [0.1], {}, "members must be numbers"),
        ([0.1], [0.2], {"confidence": 1.0}, "confidence must be in"),
        ([0.1], [0.2], {"delta": -0.1}, "delta must be in"),
        ([0.1], [0.2], {"n_thresholds": 0}, "n_thresholds must be at least 1"),
        ([0.1], [0.2], {"n_thresholds": 2.5}, "n_thresholds must be an integer"),
    ],
)
def test_bad_input_is_named(members, nonmembers, options, match):
    with pytest.raises(EvaluationError, match=match):
        epsilon_lower_bound(members, nonmembers, **options)


def test_clopper_pearson_rejects_impossible_counts():
    with pytest.raises(EvaluationError, match="successes <= trials"):
        clopper_pearson(5, 3, 0.95, "lower")
    with pytest.raises(EvaluationError, match="side must be"):
        clopper_pearson(1, 3, 0.95, "both")
