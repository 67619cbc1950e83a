"""The copy filter spilled to disk by partition (export in parts): the same rows dropped, the
same counts and the same kept rows as the filter in memory, one partition at a time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
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


def test_a_limit_of_one_or_more_falls_back_to_the_filter_in_memory(tmp_path, monkeypatch):
    # five columns of eight labels: a holdout row rarely shares a training row's combination,
    # so half the holdout rows are a category or more away and the limit is 1 or more
    rng = np.random.default_rng(3)
    df = pd.DataFrame({f"c{j}": rng.choice(list("abcdefgh"), 1500) for j in range(5)})
    df["x"] = rng.normal(size=1500)
    df.to_parquet(tmp_path / "part-0.parquet")
    monkeypatch.setattr(passes, "PART_ROWS", 200)
    result = sg.export_parts(
        tmp_path / "part-0.parquet",
        tmp_path / "out",
        generator="copy",
        protections=sg.Protections(near_copy_quantile=0.3, min_category_count=1),
    )
    copies = result.log["copies"]
    assert copies["method"] in ("one category", "multi-index", "brute force")  # in memory
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
