"""Building blocks: distances, Wilson rates, Anonymeter risks, DCR ties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.evaluation.anonymeter import risk_from_counts, success_rate
from synthgen.evaluation.data import prepare
from synthgen.evaluation.distance import MixedEmbedding, nearest, row_keys
from synthgen.evaluation.metrics import MetricResult, grade
from synthgen.evaluation.privacy import privacy_metrics, privacy_verdict
from synthgen.evaluation.thresholds import EvaluationLimits, PrivacyThresholds


def test_embedding_distance_is_mixed_distance():
    num = np.array([[0.0, np.nan], [10.0, 1.0], [5.0, np.nan]])
    codes = np.array([[0], [1], [0]])
    emb = MixedEmbedding(num, [2])
    X = emb.transform(num, codes)
    d2 = lambda a, b: float(((X[a] - X[b]) ** 2).sum())  # noqa: E731
    # row 0 vs 2: numeric 0.5 apart, missing == missing, same category
    assert d2(0, 2) == pytest.approx(0.25)
    # row 0 vs 1: numeric 1 apart, missing vs present (0.75 + (0.5 - 0)^2), category mismatch 1
    assert d2(0, 1) == pytest.approx(1.0 + 0.75 + 0.25 + 1.0)


def test_nearest_is_exact_for_copies():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(500, 40)) * 1e3
    d, i = nearest(ref[:50], ref, k=1)
    assert np.all(d[:, 0] == 0.0)
    assert np.array_equal(i[:, 0], np.arange(50))


def test_nearest_on_wide_rows_holds_the_candidates_a_few_rows_at_a_time(monkeypatch):
    import tracemalloc

    from synthgen.evaluation import distance

    rng = np.random.default_rng(1)
    ref = rng.normal(size=(60, 1500)).astype(np.float32)  # a wide table's one-hot rows
    query = np.concatenate([ref[:20], rng.normal(size=(2028, 1500)).astype(np.float32)])
    tracemalloc.start()
    d, i = nearest(query, ref, k=5)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # all 2,048 rows' nine candidates at once: 2,048 x 9 x 1,500 x 4 bytes = 110 MB, twice
    assert peak < 80 * 2**20
    assert (d[:20, 0] == 0).all() and (i[:20, 0] == np.arange(20)).all()
    monkeypatch.setattr(distance, "_EXACT_BYTES", 1)  # one row at a time: the same
    d1, i1 = nearest(query, ref, k=5)
    np.testing.assert_array_equal(d1, d)
    np.testing.assert_array_equal(i1, i)


def test_row_keys_treat_missing_as_equal():
    k = row_keys(np.array([[np.nan, 1.0], [np.nan, 1.0], [0.0, 1.0]]), np.zeros((3, 1), int))
    assert k[0] == k[1] != k[2]


def test_wilson_rate_never_reaches_zero_or_one():
    assert 0 < success_rate(0, 50)[0] < success_rate(50, 50)[0] < 1


def test_risk_is_relative_to_control():
    assert risk_from_counts(50, 50, 200).value == pytest.approx(0.0)
    high = risk_from_counts(190, 20, 200)
    assert high.ci_low > 0.8 and high.ci_low <= high.value <= high.ci_high <= 1.0
    assert risk_from_counts(20, 190, 200).ci_high == 0.0


def test_dcr_ties_count_half():
    # categories only: every synthetic row is at the same distance from train and holdout
    train = pd.DataFrame({"c": ["a", "b"] * 20})
    holdout = train.copy()
    syn = pd.DataFrame({"c": ["a", "b"] * 10})
    res, _ = privacy_metrics(
        prepare(train, syn, holdout),
        EvaluationLimits(),
        PrivacyThresholds(),
        np.random.default_rng(0),
    )
    dcr = {m.name: m for m in res}["dcr_share"]
    assert dcr.value == 0.5


def test_grade_and_verdict():
    assert grade(float("nan"), "at_least", 0.9, 0.8) == "skipped"
    fail = MetricResult.graded(
        "mia_auc", "privacy", 0.9, 0.5, "closer to 0.5", "at_most", 0.55, 0.6, "x"
    )
    assert fail.status == "fail"
    assert privacy_verdict([fail]) == "fail"
    assert privacy_verdict([]) == "warn"


def test_univariate_singling_out_predicates_are_those_that_select_one_row():
    """Built from counts, the predicates are exactly the candidates a row-by-row test
    keeps: ties at a range's end left out, single missing cells and single values kept."""
    from synthgen.evaluation.anonymeter import _predicate_mask, _univariate

    rng = np.random.default_rng(0)
    num = rng.integers(0, 40, size=(300, 6)).astype(float)
    num[:, 1] = np.round(rng.normal(size=300), 1)
    num[0, 2], num[:2, 3] = np.nan, np.nan  # one missing cell; two
    num[:, 4] = -0.0
    num[5, 4] = 1.0  # one row above a column of negative zeros
    num[:, 5] = np.arange(300.0)  # every value single, both ends single
    codes = rng.integers(0, 60, size=(300, 3))
    candidates = []
    for j in range(codes.shape[1]):
        candidates += [[("cat", j, "==", int(v))] for v in np.unique(codes[:, j])]
    for j in range(num.shape[1]):
        col = num[:, j]
        if np.isnan(col).sum() == 1:
            candidates.append([("num", j, "isna", None)])
        col = col[~np.isnan(col)]
        candidates += [[("num", j, "<=", float(col.min()))], [("num", j, ">=", float(col.max()))]]
        candidates += [[("num", j, "==", float(v))] for v in np.unique(col)]
    want = [p for p in candidates if _predicate_mask(p, num, codes).sum() == 1]
    got = _univariate(num, codes, np.random.default_rng(1), 10**9)
    assert got == want and len(got) > 300
