"""Label counts spilled to disk (export in parts): the same counts, in the same order, and the
same protections as the counts held in memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
import synthgen.privacy.label_counts as label_counts
from synthgen.privacy.label_counts import LabelCounts
from synthgen.privacy.plan import TrainingStats, plan_protections


@pytest.fixture(autouse=True)
def small_spill(monkeypatch):
    monkeypatch.setattr(label_counts, "SPILL_LABELS", 30)
    monkeypatch.setattr(label_counts, "_WAITING", 10)
    monkeypatch.setattr(label_counts, "BUCKETS", 4)


def _codes(n: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    labels = [f"c{v:05d}" for v in rng.zipf(1.2, n) % 5000]
    col = pd.Series(labels, dtype=object)
    col[rng.random(n) < 0.05] = None
    return col


def _add(counts: LabelCounts, col: pd.Series, n_parts: int) -> LabelCounts:
    for rows in np.array_split(np.arange(len(col)), n_parts):
        counts.add(col.iloc[rows])
    return counts


def test_spilled_counts_are_the_counts_in_memory_in_order(tmp_path):
    col = _codes(4000, 0)
    spilled = _add(LabelCounts(tmp_path / "c"), col, 9)
    assert spilled.spilled and list((tmp_path / "c").iterdir())
    rare = spilled.rare(3)
    full = col.value_counts(sort=False)
    assert set(rare.kept) == set(full.index[full >= 3]) and len(rare.kept) == (full >= 3).sum()
    assert (rare.n_rare, rare.rare_rows) == ((full < 3).sum(), full[full < 3].sum())
    assert rare.top == full.max()
    back = spilled.counts  # read back: every label, first appearance first
    pd.testing.assert_series_equal(back, _add(LabelCounts(), col, 9).counts, check_names=False)
    assert not (tmp_path / "c").exists() and not spilled.spilled


def test_labels_that_are_not_text_come_back_to_memory(tmp_path):
    col = _codes(2000, 1)
    mixed = pd.concat([col, pd.Series([7, 7, 8], dtype=object)], ignore_index=True)
    counts = _add(LabelCounts(tmp_path / "c"), mixed.iloc[:2000], 4)
    assert counts.spilled
    counts.add(mixed.iloc[2000:])
    assert not counts.spilled
    expected = _add(LabelCounts(), mixed.iloc[:2000], 4)
    expected.add(mixed.iloc[2000:])
    pd.testing.assert_series_equal(counts.counts, expected.counts, check_names=False)


@pytest.mark.parametrize(
    "extra",
    [
        [],  # the rare labels pooled into "(other)"
        ["(other)", "(other)", "c99999", "c99999"],  # all rare, "(other)" ties the commonest
        ["(other)"] * 3,  # all rare, "(other)" the commonest
    ],
)
def test_plans_from_spilled_labels_are_the_plans_in_memory(extra, tmp_path):
    # every label held by one or two rows: all rare at k = 5
    labels = [f"u{i:04d}" for i in range(300)] + [f"u{i:04d}" for i in range(0, 300, 7)] + extra
    frame = pd.DataFrame({"ref": labels, "x": np.arange(len(labels), dtype=float)})
    schema = sg.Schema.infer(frame, semantic={"ref": "none"})
    protections = sg.Protections(min_category_count=5, clip_quantiles=None)
    plans = []
    for folder in (None, tmp_path / "stats"):
        stats = TrainingStats(schema, protections, folder)
        for rows in np.array_split(np.arange(len(frame)), 6):
            stats.add(frame.iloc[rows])
        assert stats.labels["ref"].spilled == (folder is not None)
        plans.append(plan_protections(stats).columns["ref"])
    memory, disk = plans
    assert set(disk.kept) == set(memory.kept) and disk.into == memory.into
    assert (disk.merged, disk.changed) == (memory.merged, memory.changed)
