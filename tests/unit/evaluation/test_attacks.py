"""The membership-inference attacks, their scoring and the encoding they share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from synthgen.evaluation.attacks import (
    AttackSpace,
    ClassifierAttack,
    DensityAttack,
    DistanceAttack,
    MembershipAttack,
    Rows,
    ShadowAttack,
    membership_scores,
    outlierness,
    roc_auc,
    score_attack,
    tpr_at_fpr,
)
from synthgen.evaluation.data import prepare
from synthgen.exceptions import EvaluationError


def _population(n: int, rng: np.random.Generator) -> pd.DataFrame:
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "y": x + rng.normal(scale=0.5, size=n),
            "c": rng.choice(list("abcd"), size=n),
        }
    )


@pytest.fixture(scope="module")
def toy():
    """members, non-members, reference; a leaky and an independent synthetic set."""
    rng = np.random.default_rng(0)
    members, nonmembers, reference, fresh = (_population(400, rng) for _ in range(4))
    # remembers its training rows: each one repeated, with a little noise on the numbers
    leaky = pd.concat([members] * 2, ignore_index=True)
    leaky[["x", "y"]] += rng.normal(scale=0.01, size=(len(leaky), 2))
    return members, nonmembers, reference, leaky, fresh


def _auc(attack_name, toy, synthetic, **kw):
    members, nonmembers, reference, _, _ = toy
    cand = pd.concat([members, nonmembers], ignore_index=True)
    s = membership_scores(synthetic, reference, cand, attacks=(attack_name,), **kw)[attack_name]
    return roc_auc(s[: len(members)], s[len(members) :])


@pytest.mark.parametrize("name", ["distance", "density", "classifier"])
def test_attack_separates_members_of_a_leaky_generator(toy, name):
    assert _auc(name, toy, toy[3]) > 0.7


@pytest.mark.parametrize("name", ["distance", "density", "classifier"])
def test_attack_is_at_chance_on_an_independent_sample(toy, name):
    assert abs(_auc(name, toy, toy[4]) - 0.5) < 0.07


def _copying_refit(table: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    out = table.sample(n_rows, replace=True, random_state=len(table)).reset_index(drop=True)
    out[["x", "y"]] += np.random.default_rng(n_rows).normal(scale=0.01, size=(n_rows, 2))
    return out


def _independent_refit(table: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    return _population(n_rows, np.random.default_rng(len(table) + n_rows))


def test_shadow_attack_learns_a_leaky_generator(toy):
    assert _auc("shadow", toy, toy[3], refit=_copying_refit) > 0.7


def test_shadow_attack_is_at_chance_for_an_independent_generator(toy):
    assert abs(_auc("shadow", toy, toy[4], refit=_independent_refit) - 0.5) < 0.07


def test_every_attack_follows_the_protocol():
    space = AttackSpace([])
    for attack in (
        DistanceAttack(space),
        DensityAttack(space),
        ClassifierAttack(space),
        ShadowAttack(space, _copying_refit, lambda f: f),
    ):
        assert isinstance(attack, MembershipAttack)


def test_membership_scores_checks_its_arguments(toy):
    members, _, reference, leaky, _ = toy
    with pytest.raises(EvaluationError, match="unknown attack"):
        membership_scores(leaky, reference, members, attacks=("gossip",))
    with pytest.raises(EvaluationError, match="refit"):
        membership_scores(leaky, reference, members, attacks=("shadow",))


def test_tpr_at_fpr_uses_the_strict_threshold_of_allowed_false_positives():
    non = np.arange(1000.0)  # non-members score 0..999
    members = np.array([999.5, 998.5, 990.5, 500.0])
    assert tpr_at_fpr(members, non, 0.001) == 0.5  # one false positive: threshold 998
    assert tpr_at_fpr(members, non, 0.01) == 0.75  # ten: threshold 989
    assert tpr_at_fpr(members, non, 0.0) == 0.25  # none: above the largest
    # ties with the threshold are not counted: a member tied with a non-member is not caught
    assert tpr_at_fpr(np.array([5.0]), np.array([5.0, 1.0]), 0.0) == 0.0


def test_tpr_at_fpr_below_the_resolution_is_the_rate_at_zero_false_positives():
    non = np.linspace(0, 1, 100)
    members = np.array([1.5, 0.995])
    assert tpr_at_fpr(members, non, 0.001) == tpr_at_fpr(members, non, 0.0) == 0.5


def test_roc_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(3)
    m, n = rng.integers(0, 5, 200).astype(float), rng.integers(0, 4, 150).astype(float)
    expected = roc_auc_score(np.r_[np.ones(200), np.zeros(150)], np.r_[m, n])
    assert roc_auc(m, n) == pytest.approx(expected)


def test_bootstrap_is_deterministic_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    m, n = rng.normal(0.5, 1, 300), rng.normal(0, 1, 300)
    a = score_attack(m, n, np.random.default_rng(7), n_boot=50)
    b = score_attack(m, n, np.random.default_rng(7), n_boot=50)
    c = score_attack(m, n, np.random.default_rng(8), n_boot=50)
    assert a.to_dict() == b.to_dict()
    assert a.auc_interval != c.auc_interval
    assert a.auc == c.auc  # the estimate itself does not depend on the bootstrap
    assert a.auc_interval[0] < a.auc < a.auc_interval[1]
    for f, (lo, hi) in a.tpr_interval.items():
        assert lo <= hi and lo >= 0.0 and hi <= 1.0, f


def test_outlierness_ranks_planted_outliers_first():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    X[[7, 42]] += 25.0
    assert set(np.argsort(-outlierness(X))[:2]) == {7, 42}
    assert outlierness(X[:1]).tolist() == [0.0]  # a single row has no neighbour


def test_space_keeps_wide_categories_narrow():
    n = 5000
    rng = np.random.default_rng(0)
    codes = rng.integers(0, n, size=(n, 1))
    codes[:2000, 0] = 3  # one frequent label
    rows = Rows(rng.normal(size=(n, 1)), codes)
    space = AttackSpace([n], max_width=16, n_hash=4).fit(rows)
    X = space.embed(rows)
    assert X.shape == (n, 1 + 16)
    assert space.codes(rows).max() < 16
    assert space.codes(Rows(np.zeros((1, 1)), np.array([[3]])))[0, 0] == 0  # rank 0
    unseen = Rows(np.zeros((1, 1)), np.array([[n]]))  # a label outside the prepared frames
    assert 12 <= space.codes(unseen)[0, 0] < 16  # a hashed bucket
    assert space.matrix(rows).shape == (n, 2)
    assert space.categorical_mask.tolist() == [False, True]


def test_prepared_data_encodes_other_frames_with_its_codes():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=60), "c": rng.choice(["a", "b", None], size=60)})
    df.loc[3, "x"] = None
    prep = prepare(df, df)
    assert prep.numeric == ["x"] and prep.categorical == ["c"]
    other = pd.DataFrame({"c": ["b", "zz", None], "x": [0.5, 2.0, None]})
    num, codes = prep.encode(other, "shadow")
    assert np.isnan(num[2, 0]) and num[0, 0] == 0.5
    missing = prep.categories["c"].index(None)
    n_labels = len(prep.categories["c"])
    assert codes[:, 0].tolist() == [prep.categories["c"].index("b"), n_labels, missing]
    with pytest.raises(EvaluationError, match=r"shadow lacks the evaluated column\(s\) \['x'\]"):
        prep.encode(other[["c"]], "shadow")


def test_model_inference_risk_is_not_fooled_by_an_implied_column():
    from synthgen.evaluation.attacks.inference import conservative_risk

    implied = conservative_risk(500, 497, 500)  # right almost always, members and controls
    assert implied.value > 0.3 and implied.ci_low == 0.0
    leak = conservative_risk(400, 250, 500)
    assert leak.ci_low > 0.3 and leak.ci_low <= leak.value <= leak.ci_high


def test_neighbour_searches_are_shared_between_attacks():
    rng = np.random.default_rng(0)
    rows = Rows(rng.normal(size=(50, 2)), np.zeros((50, 0), int))
    other = Rows(rng.normal(size=(40, 2)), np.zeros((40, 0), int))
    space = AttackSpace([]).fit(rows)
    d20, _ = space.nearest(other, rows, 20)
    d1, _ = space.nearest(other, rows, 1)
    assert d1.shape == (40, 1) and np.array_equal(d1[:, 0], d20[:, 0])
    assert space.embed(rows) is space.embed(rows)  # cached, read-only
    assert not space.embed(rows).flags.writeable


def test_default_attacks_search_every_row_of_a_large_release():
    # A release of 150,000 rows is searched whole: the attacks' power grows with the rows
    # they search, and a memorised record may be any one of them.
    from synthgen.evaluation.attacks.ensemble import attack_split
    from synthgen.evaluation.thresholds import EvaluationLimits

    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b"], 200)})
    synthetic = pd.DataFrame({"x": rng.normal(size=150_000), "c": rng.choice(["a", "b"], 150_000)})
    prep = prepare(real, synthetic, real.iloc[:100])
    split = attack_split(prep, EvaluationLimits(), seed=0)
    assert len(split.synthetic) == 150_000
    small = attack_split(prep, EvaluationLimits(attack_synthetic_rows=1000), seed=0)
    assert len(small.synthetic) == 1000
