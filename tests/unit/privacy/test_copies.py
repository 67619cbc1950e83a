"""The copy filter: exact and near copies, natural duplicates, the fast search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.evaluation.data import prepare
from synthgen.evaluation.distance import MixedEmbedding, nearest
from synthgen.privacy.copies import CopyFilter, NearCopies, near_copy_distances
from synthgen.schema import Schema


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.gamma(2.0, 3.0, n),
            "c": rng.choice(list("abc"), n),
            "d": rng.choice(["u", "v"], n),
        }
    )
    df.loc[rng.random(n) < 0.1, "y"] = np.nan
    return df


def _brute(prep, q):
    n_cats = [len(prep.categories[c]) for c in prep.categorical]
    all_num = np.concatenate([prep.num[f] for f in ("real", "synthetic", "holdout")])
    emb = MixedEmbedding(prep.num["real"], n_cats, num_missing=np.isnan(all_num).any(axis=0))
    ref = emb.transform(*prep.take("real"))
    limit = float(np.quantile(nearest(emb.transform(*prep.take("holdout")), ref)[0][:, 0], q))
    return limit, nearest(emb.transform(*prep.take("synthetic")), ref)[0][:, 0]


def _exact(prep, q):
    """A naive search: numbers as the filter scales them, each category mismatch costs 1."""
    all_num = np.concatenate([prep.num[f] for f in ("real", "synthetic", "holdout")])
    emb = MixedEmbedding(prep.num["real"], [], num_missing=np.isnan(all_num).any(axis=0))
    no_codes = np.zeros((len(all_num), 0), dtype=int)

    def nearest_to_real(frame):
        x, codes = emb.transform(prep.num[frame], no_codes), prep.codes[frame]
        ref, ref_codes = emb.transform(prep.num["real"], no_codes), prep.codes["real"]
        d2 = ((x[:, None] - ref[None]) ** 2).sum(2) + (codes[:, None] != ref_codes[None]).sum(2)
        return np.sqrt(d2.min(axis=1))

    return float(np.quantile(nearest_to_real("holdout"), q)), nearest_to_real("synthetic")


def test_the_kd_tree_finds_exactly_what_a_brute_force_search_finds():
    train, holdout = _table(1500, 0), _table(500, 1)
    rng = np.random.default_rng(2)
    near = train.sample(300, random_state=0).reset_index(drop=True)
    near["x"] += rng.normal(scale=0.002, size=300)  # some nearly copied rows
    synthetic = pd.concat([near, _table(300, 3)], ignore_index=True)
    prep = prepare(train, synthetic, holdout)
    limit, dist, method = near_copy_distances(prep, 0.05)
    ref_limit, ref_dist = _brute(prep, 0.05)
    assert method == "kd-tree" and 0 < limit < 1
    assert limit == ref_limit
    np.testing.assert_array_equal(dist < limit, ref_dist < ref_limit)
    assert (dist < limit).sum() > 100
    shown = dist < limit
    np.testing.assert_allclose(dist[shown], ref_dist[shown], atol=1e-12)


def test_a_limit_of_one_or_more_falls_back_to_brute_force():
    # a label nearly every row has to itself puts unseen rows a category away from the rest
    train, holdout = _table(300, 0), _table(100, 1)
    train["who"] = [f"p{i}" for i in range(300)]
    holdout["who"] = [f"q{i}" for i in range(100)]
    synthetic = train.head(20).assign(who="p0")
    prep = prepare(train, synthetic, holdout, schema=Schema.infer(train, kinds={"who": "text"}))
    limit, dist, method = near_copy_distances(prep, 0.01)
    assert method == "one category" and 1.0 <= limit < np.sqrt(2)
    assert (dist[1:] < limit).all()  # the same rows with another person's label: near copies
    ref_limit, ref_dist = _exact(prep, 0.01)
    assert limit == pytest.approx(ref_limit)
    np.testing.assert_array_equal(dist < limit, ref_dist < ref_limit)


def test_one_category_search_finds_what_brute_force_finds():
    """Every holdout row a category from the training rows (its own person's label): the
    limit is over 1, and rows one category and a small step away are near copies, rows
    two categories away are not; the trees agree with brute force, distances included."""
    rng = np.random.default_rng(5)
    train, holdout = _table(600, 0), _table(200, 1)
    train["who"] = [f"p{i % 300}" for i in range(600)]
    holdout["who"] = [f"q{i}" for i in range(200)]
    base = train.sample(80, random_state=3).reset_index(drop=True)
    one = base.assign(who="p-new", x=base["x"] + rng.normal(scale=0.01, size=80))
    two = one.assign(c=one["c"].map({"a": "b", "b": "c", "c": "a"}))
    synthetic = pd.concat([one, two, _table(80, 9).assign(who="p1")], ignore_index=True)
    schema = Schema.infer(train, kinds={"who": "categorical"})
    prep = prepare(train, synthetic, holdout, schema=schema)
    limit, dist, method = near_copy_distances(prep, 0.02)
    assert method == "one category" and 1.0 <= limit < np.sqrt(2)
    ref_limit, ref_dist = _exact(prep, 0.02)
    assert limit == pytest.approx(ref_limit)
    np.testing.assert_array_equal(dist < limit, ref_dist < ref_limit)
    shown = dist < limit
    np.testing.assert_allclose(dist[shown], ref_dist[shown], atol=1e-9)
    assert shown[:80].mean() > 0.5 and shown[80:160].mean() < shown[:80].mean() / 4


def test_two_categories_away_are_searched_by_the_multi_index():
    train, holdout = _table(300, 0), _table(100, 1)
    train["who"], holdout["who"] = [f"p{i}" for i in range(300)], [f"q{i}" for i in range(100)]
    train["org"], holdout["org"] = [f"o{i}" for i in range(300)], [f"r{i}" for i in range(100)]
    synthetic = pd.concat([train.head(20).assign(who="p0", org="o0"), _table(40, 7)])
    kinds = {"who": "categorical", "org": "categorical"}
    prep = prepare(train, synthetic, holdout, schema=Schema.infer(train, kinds=kinds))
    limit, dist, method = near_copy_distances(prep, 0.01)
    assert method == "multi-index" and limit >= np.sqrt(2)
    assert (dist[1:20] < limit).all()
    ref_limit, ref_dist = _exact(prep, 0.01)
    assert limit == pytest.approx(ref_limit)
    np.testing.assert_array_equal(dist < limit, ref_dist < ref_limit)
    shown = dist < limit
    np.testing.assert_allclose(dist[shown], ref_dist[shown], atol=1e-9)


def test_more_categories_away_than_columns_fall_back_to_brute_force():
    # every categorical column a label of each row's own: a holdout row differs from every
    # training row in all three, so no group of columns is shared
    train, holdout = _table(300, 0)[["x", "y"]], _table(100, 1)[["x", "y"]]
    kinds = {}
    for name in ("who", "org", "tag"):
        train[name] = [f"{name}{i}" for i in range(300)]
        holdout[name] = [f"{name}-h{i}" for i in range(100)]
        kinds[name] = "categorical"
    synthetic = train.head(20).assign(who="who0", org="org0", tag="tag0")
    prep = prepare(train, synthetic, holdout, schema=Schema.infer(train, kinds=kinds))
    limit, dist, method = near_copy_distances(prep, 0.01)
    assert method == "brute force" and limit >= np.sqrt(3)
    ref_limit, ref_dist = _exact(prep, 0.01)
    assert limit == pytest.approx(ref_limit)
    np.testing.assert_array_equal(dist < limit, ref_dist < ref_limit)


def _wide(n: int, seed: int, n_cols: int = 24) -> pd.DataFrame:
    """Many correlated categorical columns: nearly every row's combination is its own."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    cols = {"x": latent + rng.normal(scale=0.5, size=n)}
    for j in range(n_cols):
        level = np.clip(np.round(latent + rng.normal(scale=1.0, size=n)) + 2, 0, 4)
        cols[f"c{j}"] = np.array(list("abcde"))[level.astype(int)]
    return pd.DataFrame(cols)


def test_wide_tables_are_searched_by_the_multi_index_as_exactly_as_every_pair():
    """24 categorical columns: the limit is several categories; rows copied with a few
    labels changed are near copies, new rows are not, as comparing every pair says."""
    train, holdout = _wide(1500, 0), _wide(500, 1)
    rng = np.random.default_rng(2)
    copied = train.sample(200, random_state=1).reset_index(drop=True)
    for row in range(200):  # one to three labels of each copy changed
        for col in rng.choice(24, size=1 + row % 3, replace=False):
            copied.loc[row, f"c{col}"] = "z"
    synthetic = pd.concat([copied, _wide(200, 9)], ignore_index=True)
    prep = prepare(train, synthetic, holdout)
    near = NearCopies(prep, 0.05)
    dist = near.distances(*prep.take("synthetic"))
    assert near.method == "multi-index" and near.limit >= np.sqrt(2)
    ref_limit, ref_dist = _exact(prep, 0.05)
    assert near.limit == pytest.approx(ref_limit)
    np.testing.assert_array_equal(dist < near.limit, ref_dist < ref_limit)
    shown = dist < near.limit
    np.testing.assert_allclose(dist[shown], ref_dist[shown], atol=1e-9)
    assert shown[:200].mean() > 0.9 and shown[200:].mean() < 0.2


def test_copies_of_one_persons_row_go_natural_duplicates_stay():
    rng = np.random.default_rng(0)
    n = 1000
    data = pd.DataFrame({"c": rng.choice(["a", "b"], n), "x": rng.normal(size=n)})
    data.loc[rng.random(n) < 0.25, "x"] = 0.0  # a quarter of the rows repeat
    train, holdout = data.iloc[:800], data.iloc[800:].reset_index(drop=True)
    unique_rows = train[train["x"] != 0].head(50)  # rows no other training row shares
    shared_rows = train[train["x"] == 0].head(50)  # rows many training rows share
    synthetic = pd.concat([unique_rows, shared_rows], ignore_index=True)
    check = CopyFilter(train, holdout, Schema.infer(train), 0.0, n_rows=400)
    drop = check.check(synthetic)
    assert drop[:50].all()  # copies of one person's row
    assert not drop[50:].any()  # natural duplicates, within the holdout's duplicate rate
    assert check.stats["natural_duplicates"] == 50 and check.stats["exact_copies"] == 50
    assert check.stats["base_rate"] > 0.2


def test_natural_duplicates_are_kept_only_up_to_the_holdouts_rate():
    data = pd.DataFrame({"c": ["a", "b"] * 500, "x": [0.0, 1.0] * 500})
    data.loc[800:, "x"] = np.arange(200) + 10.0  # the holdout rows are all new...
    train, holdout = data.iloc[:800], data.iloc[800:].reset_index(drop=True)
    holdout.loc[:9, ["c", "x"]] = ["a", 0.0]  # ...but 10 of 200 repeat a training row
    check = CopyFilter(train, holdout, Schema.infer(train), 0.0, n_rows=100)
    drop = check.check(train.head(100))
    assert check.stats["base_rate"] == 0.05
    assert (~drop).sum() == 5  # 5% of 100 rows


def test_holdout_labels_are_merged_as_the_training_rows_were():
    rng = np.random.default_rng(0)
    n = 600
    data = pd.DataFrame(
        {"who": [f"c{i}" for i in rng.integers(0, 150, n)], "x": rng.normal(size=n)}
    )
    train, holdout = data.iloc[:480], data.iloc[480:].reset_index(drop=True)
    protected = train.assign(who="(other)")
    synthetic = protected.sample(100, random_state=0).assign(x=rng.normal(size=100))
    schema = Schema.infer(protected, kinds={"who": "categorical"})
    unmerged = CopyFilter(protected, holdout, schema, 0.01, n_rows=100)
    merged = CopyFilter(protected, holdout, schema, 0.01, 100, {"who": "(other)"})
    # without the merge every unseen row is a category away: fresh rows look like copies
    assert unmerged.check(synthetic).mean() > 0.9
    assert merged.check(synthetic).mean() < 0.2
    assert merged.stats["near_copy_distance"] < 0.1


def test_the_training_rows_are_coded_once_for_every_batch(monkeypatch):
    import synthgen.privacy.copies as copies

    calls = []
    real_prepare = copies.prepare
    monkeypatch.setattr(copies, "prepare", lambda *a, **k: calls.append(1) or real_prepare(*a, **k))
    train, holdout = _table(1500, 0), _table(500, 1)
    near = train.sample(200, random_state=0).reset_index(drop=True)
    near["x"] += np.random.default_rng(2).normal(scale=0.002, size=200)
    batches = [pd.concat([near, _table(200, s)], ignore_index=True) for s in (3, 4, 5)]
    kept = CopyFilter(train, holdout, Schema.infer(train), 0.05, n_rows=400)
    drops = [kept.check(b) for b in batches]
    assert len(calls) == 1
    for batch, drop in zip(batches, drops, strict=True):
        fresh = CopyFilter(train, holdout, Schema.infer(train), 0.05, n_rows=400)
        np.testing.assert_array_equal(fresh.check(batch), drop)
    assert kept.stats["checked"] == 1200 and 300 < kept.stats["near_copies"] < 700


def test_a_label_neither_training_nor_holdout_rows_hold_is_a_mismatch():
    """Coded one past the known labels, not clipped onto the last of them ("v")."""
    x = np.arange(200) / 10
    train = pd.DataFrame({"c": ["a", "b"] * 100, "d": ["u", "v"] * 100, "x": x})
    holdout = pd.DataFrame({"c": ["a", "b"] * 25, "d": ["v", "u"] * 25, "x": x[:50] + 0.05})
    prep = prepare(train, holdout.head(1), holdout)
    near = NearCopies(prep, 0.5)  # every holdout row is a category away: a limit over 1
    assert near.method == "one category" and near.limit >= 1.0
    rows = pd.DataFrame({"c": ["b", "b"], "d": ["zzz", "v"], "x": [0.1, 0.1]})
    dist = near.distances(*prep.encode(rows, "rows"))
    assert dist[0] == pytest.approx(1.0)  # one category from training row 1 ("b", "v", 0.1)
    assert dist[1] == 0.0


def test_many_categorical_columns_share_one_coordinate_and_stay_exact():
    """Twelve categorical columns: the k-d tree has one coordinate for all of them, and a
    row one category from a training row (or holding a combination no training row holds,
    or a label nobody holds) is no near copy however close its numbers are."""
    rng = np.random.default_rng(0)
    n = 2000
    # few common combinations, so that holdout rows have near neighbours
    data = pd.DataFrame({f"c{j}": rng.choice(["a", "b"], n, p=[0.98, 0.02]) for j in range(8)})
    data[[f"c{j}" for j in range(8, 12)]] = rng.choice(["a", "b"], (n, 4))
    data["x"], data["y"] = rng.normal(size=n), rng.uniform(size=n)
    train, holdout = data.iloc[:1600], data.iloc[1600:].reset_index(drop=True)
    base = train.sample(60, random_state=1).reset_index(drop=True)
    nudged = base.assign(x=base["x"] + 1e-7)  # near copies
    switched = nudged.assign(c0=nudged["c0"].map({"a": "b", "b": "a"}))  # a category away
    swapped = nudged.assign(c8=nudged["c8"].map({"a": "b", "b": "a"}))  # a held combination
    unseen = nudged.assign(c9="zzz")  # a label nobody holds
    synthetic = pd.concat([nudged, switched, swapped, unseen], ignore_index=True)
    prep = prepare(train, synthetic, holdout)
    limit, dist, method = near_copy_distances(prep, 0.05)
    assert method == "kd-tree" and 0 < limit < 1
    near = NearCopies(prep, 0.05)
    (space,) = near._spaces.values()
    assert space[1].m == space[0].transform(*prep.take("real")[:1], np.zeros((1, 0))).shape[1] + 1
    ref_limit, ref_dist = _brute(prep, 0.05)
    assert limit == pytest.approx(ref_limit)
    np.testing.assert_array_equal(dist < limit, ref_dist < ref_limit)
    assert (dist[:60] < limit).all()  # the nudged rows
    assert not (dist[60:120] < limit).any() and not (dist[180:] < limit).any()
    # a swapped label may meet another training row of that combination: as brute force says
