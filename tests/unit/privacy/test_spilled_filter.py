"""The copy filter spilled to disk by partition (export in parts): the same rows dropped, the
same counts and the same kept rows as the filter in memory, one partition at a time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
import synthgen.privacy.spilled as spilled_filter
import synthgen.safe_export.passes as passes
import synthgen.safe_export.rounds as rounds
from synthgen.evaluation.data import prepare
from synthgen.privacy.copies import CopyFilter
from synthgen.privacy.spilled import SpilledCopyFilter, SpilledRows, partition_of
from synthgen.safe_export.rounds import check_rounds, kept_blocks

pytestmark = pytest.mark.filterwarnings("ignore::synthgen.PersonalDataWarning")


class _Bar:
    def update(self, n: int) -> None:
        pass

    def reset(self) -> None:
        pass


def _people(n: int, seed: int, columns: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2.0, size=n)),
            "c": rng.choice(list("abcd"), n),
            "d": rng.choice(list("uvw"), n, p=[0.6, 0.3, 0.1]),
            "e": [f"e{k:03d}" for k in rng.integers(0, 500, n)],
        }
    )
    keep = {"both": ["x", "y", "c", "d"], "numbers": ["x", "y"], "labels": ["c", "d", "e"]}[columns]
    return df[keep]


class _Copier:
    """A generator that copies a training row a quarter of the time (no two training rows
    are equal, so no copy is a natural duplicate and the checks' order cannot matter)."""

    def __init__(self, train: pd.DataFrame, seed: int, columns: str) -> None:
        self.train, self.seed, self.columns = train, seed, columns

    def sample(self, n: int, random_state: np.random.Generator) -> pd.DataFrame:
        fresh = _people(n, int(random_state.integers(2**31)), self.columns)
        picks = self.train.iloc[random_state.integers(0, len(self.train), n)]
        copied = random_state.random(n) < 0.25
        near = ~copied & (random_state.random(n) < 0.1) & ("x" in fresh)
        for name in fresh:
            fresh[name] = np.where(copied | near, picks[name].to_numpy(), fresh[name].to_numpy())
        if "x" in fresh:  # a hair from a training row
            fresh.loc[near, "x"] += 1e-9
        return fresh


@pytest.mark.parametrize("columns", ["both", "numbers", "labels"])
def test_spilled_rounds_keep_the_rows_the_filter_in_memory_keeps(columns, tmp_path, monkeypatch):
    monkeypatch.setattr(rounds, "BLOCK_ROWS", 100)
    table = _people(1600, 0, columns)
    train = table.iloc[:1200].drop_duplicates().reset_index(drop=True)
    holdout = table.iloc[1200:].reset_index(drop=True)
    schema = sg.Schema.infer(table)
    model = _Copier(train, 1, columns)
    prep = prepare(train, holdout.iloc[:1], holdout, schema=schema)
    spilled = SpilledRows(tmp_path / "train", 5, len(prep.numeric), len(prep.categorical))
    num, codes = prep.take("real")
    for rows in np.array_split(np.arange(len(train)), 3):
        spilled.add(num[rows], codes[rows])
    if columns != "numbers":
        assert (spilled.sizes > 0).sum() > 1  # the rows are spread over the partitions
    filt = SpilledCopyFilter(spilled, prep.take("holdout"), 0.05)
    blocks = check_rounds(model, 450, filt, prep, 7, tmp_path, _Bar())
    assert blocks is not None and filt.partitioned
    assert any(len(b.drawn) > 1 for b in blocks)  # copies were redrawn
    in_memory = CopyFilter(train, holdout, schema, 0.05, 450)
    expected = list(rounds._blocks(model, 450, in_memory, 7, _Bar()))
    got = list(kept_blocks(model, blocks, 7))
    assert [w for w, _ in got] == [w for w, _ in expected] == [100] * 4 + [50]
    for (_, a), (_, b) in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert filt.stats == in_memory.stats
    assert filt.stats["exact_copies"] > 50
    if columns != "labels":
        assert filt.stats["near_copies"] > 5 and 0 < filt.stats["near_copy_distance"] < 1
    assert not list(tmp_path.glob("round-*"))  # each round's rows removed once checked


def test_rows_of_one_combination_share_a_partition(tmp_path):
    codes = np.random.default_rng(0).integers(0, 5, size=(2000, 3))
    part = partition_of(codes, 7)
    for combo in np.unique(codes, axis=0):
        assert len(np.unique(part[(codes == combo).all(axis=1)])) == 1
    assert len(np.unique(part)) == 7
    rows = SpilledRows(tmp_path, 7, 0, 3)
    rows.add(np.empty((2000, 0)), codes)
    back = [rows.load(p) for p in range(7)]
    index = np.concatenate([i for _, _, i in back])
    np.testing.assert_array_equal(np.sort(index), np.arange(2000))
    for num, c, i in back:
        assert num.shape == (len(i), 0)
        np.testing.assert_array_equal(c, codes[i])


def _away(n: int, seed: int, kind: str) -> pd.DataFrame:
    """``"own"``: a number and three label columns, ``ref`` of 40 labels; ``"wide"``: six
    columns of eight labels and a number (almost every combination its own)."""
    rng = np.random.default_rng(seed)
    if kind == "wide":
        df = pd.DataFrame({f"c{j}": rng.choice(list("abcdefgh"), n) for j in range(6)})
        df["x"] = rng.normal(size=n)
        return df
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "c": rng.choice(list("abcd"), n),
            "d": rng.choice(list("uvw"), n),
            "ref": [f"r{k:02d}" for k in rng.integers(0, 40, n)],
        }
    )


class _Nearby:
    """A generator that copies a training row a fifth of the time and takes another fifth
    a category (and a hair) away from one."""

    def __init__(self, train: pd.DataFrame, kind: str) -> None:
        self.train, self.kind = train, kind

    def sample(self, n: int, random_state: np.random.Generator) -> pd.DataFrame:
        fresh = _away(n, int(random_state.integers(2**31)), self.kind)
        picks = self.train.iloc[random_state.integers(0, len(self.train), n)]
        copied = random_state.random(n) < 0.2
        near = ~copied & (random_state.random(n) < 0.2)
        for name in fresh:
            fresh[name] = np.where(copied | near, picks[name].to_numpy(), fresh[name].to_numpy())
        col = "c0" if self.kind == "wide" else "ref"
        other = "b" if self.kind == "wide" else "r99"
        fresh.loc[near, col] = np.where(fresh.loc[near, col] == other, "a", other)
        fresh.loc[near, "x"] += 0.001
        return fresh


def _spilled_and_in_memory(kind, quantile, tmp_path, far_holdout=False):
    """Rounds checked by the spilled filter and blocks by the filter in memory, on a table
    whose holdout rows are each a category (``far_holdout``: two) from the training rows."""
    table = _away(1600, 0, kind)
    train = table.iloc[:1200].drop_duplicates().reset_index(drop=True)
    holdout = table.iloc[1200:].reset_index(drop=True)
    if kind == "own":  # every holdout row a label of its own
        holdout["ref"] = [f"h{i}" for i in range(len(holdout))]
    if far_holdout:
        holdout.loc[::2, "c"] = "z"
    schema = sg.Schema.infer(pd.concat([train, holdout]))
    model = _Nearby(train, kind)
    prep = prepare(train, holdout.iloc[:1], holdout, schema=schema)
    spilled = SpilledRows(tmp_path / "train", 5, len(prep.numeric), len(prep.categorical))
    num, codes = prep.take("real")
    for rows in np.array_split(np.arange(len(train)), 3):
        spilled.add(num[rows], codes[rows])
    filt = SpilledCopyFilter(spilled, prep.take("holdout"), quantile)
    blocks = check_rounds(model, 450, filt, prep, 7, tmp_path, _Bar())
    in_memory = CopyFilter(train, holdout, schema, quantile, 450)
    expected = list(rounds._blocks(model, 450, in_memory, 7, _Bar()))
    return filt, blocks, in_memory, expected, model, spilled


@pytest.mark.parametrize(
    "kind, quantile, method",
    [("own", 0.05, "one category"), ("wide", 0.05, "multi-index"), ("wide", 0.5, "multi-index")],
)
def test_spilled_keys_find_the_copies_a_category_or_more_away(
    kind, quantile, method, tmp_path, monkeypatch
):
    # a limit of 1 or more: near copies differ in categories; the rows spilled again by the
    # columns they must share find the same near copies as the filter in memory
    monkeypatch.setattr(rounds, "BLOCK_ROWS", 100)
    filt, blocks, in_memory, expected, model, spilled = _spilled_and_in_memory(
        kind, quantile, tmp_path
    )
    assert blocks is not None and filt.partitioned
    assert filt.stats == in_memory.stats
    assert filt.stats["method"] == method and filt.stats["near_copy_distance"] >= 1
    if quantile == 0.5:  # two categories away count: several groups
        assert filt.stats["near_copy_distance"] > np.sqrt(2)
    assert filt.stats["near_copies"] > 50 and filt.stats["exact_copies"] > 50
    got = list(kept_blocks(model, blocks, 7))
    for (_, a), (_, b) in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert not list(tmp_path.glob("round-*"))  # each round's rows (and keys) removed
    spilled.remove()
    assert not (tmp_path / "train").exists()  # the rows spilled by key went with them


def test_where_the_groups_meet_most_rows_the_filter_is_not_partitioned(tmp_path, monkeypatch):
    # holdout rows two categories away on a table of three label columns: the filter in
    # memory compares every pair; the partitions give up before a row is drawn
    monkeypatch.setattr(rounds, "BLOCK_ROWS", 100)
    filt, blocks, in_memory, _, _, _ = _spilled_and_in_memory(
        "own", 0.6, tmp_path, far_holdout=True
    )
    assert blocks is None and filt.partitioned is False
    assert in_memory.stats["method"] == "brute force"


def test_spilled_rows_sample_their_codes_whatever_the_parts(tmp_path):
    codes = np.random.default_rng(1).integers(0, 50, size=(3000, 2))
    one = SpilledRows(tmp_path / "one", 3, 0, 2, sample_rows=500)
    one.add(np.empty((3000, 0)), codes)
    many = SpilledRows(tmp_path / "many", 3, 0, 2, sample_rows=500)
    for rows in np.array_split(np.arange(3000), 7):
        many.add(np.empty((len(rows), 0)), codes[rows])
    assert one.sample.shape == (500, 2)
    rows = {tuple(r) for r in codes.tolist()}
    assert all(tuple(r) in rows for r in one.sample.tolist())
    # the same rows whatever the parts (one priority per row, drawn in order)
    assert sorted(map(tuple, one.sample.tolist())) == sorted(map(tuple, many.sample.tolist()))
    keyed = one.by_key([1])
    for p in range(3):
        _, c, i = keyed.load(p)
        np.testing.assert_array_equal(c, codes[i])
        assert len(np.unique(partition_of(c, 3, [1]))) <= 1
    assert one.by_key([1]) is keyed  # made once
    one.forget_keys()
    assert not keyed.folder.exists()


@pytest.mark.parametrize("spilled", [True, False])
def test_a_limit_of_several_categories_in_export_in_parts(spilled, tmp_path, monkeypatch):
    # five columns of eight labels: a holdout row rarely shares a training row's combination,
    # so half the holdout rows are a category or more away and the limit is 1 or more; the
    # partitions serve it (or, where their groups would meet most rows, the filter in memory)
    rng = np.random.default_rng(3)
    df = pd.DataFrame({f"c{j}": rng.choice(list("abcdefgh"), 1500) for j in range(5)})
    df["x"] = rng.normal(size=1500)
    df.to_parquet(tmp_path / "part-0.parquet")
    monkeypatch.setattr(passes, "PART_ROWS", 200)
    used = []
    monkeypatch.setattr(rounds, "CopyFilter", lambda *a, **k: used.append(1) or CopyFilter(*a, **k))
    if not spilled:  # as where the groups would meet most training rows
        monkeypatch.setattr(spilled_filter, "beyond_one", lambda *a, **k: None)
    result = sg.export_parts(
        tmp_path / "part-0.parquet",
        tmp_path / "out",
        generator="copy",
        protections=sg.Protections(near_copy_quantile=0.3, min_category_count=1),
    )
    copies = result.log["copies"]
    assert bool(used) is not spilled
    assert copies["method"] == "multi-index" and copies["near_copy_distance"] >= 1
    assert copies["exact_copies"] > 0 and copies["kept"] == 0
    assert result.verdict == "fail" and not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_export_in_parts_gives_the_same_rows_over_many_partitions(tmp_path, monkeypatch):
    df = sg.datasets.load_adult().head(3000)
    for i, rows in enumerate(np.array_split(np.arange(len(df)), 3)):
        df.iloc[rows].to_parquet(tmp_path / f"part-{i}.parquet")
    src = tmp_path
    one = sg.export_parts(src, tmp_path / "one", generator="marginals", random_state=2)
    monkeypatch.setattr(passes, "PART_ROWS", 150)
    many = sg.export_parts(src, tmp_path / "many", generator="marginals", random_state=2)
    assert one.log["copies"] == many.log["copies"] and one.log["copies"]["method"] == "kd-tree"
    assert one.log["copies"]["exact_copies"] + one.log["copies"]["near_copies"] > 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "one"), pd.read_parquet(tmp_path / "many")
    )
