"""Column Pair Trends of wide tables in one pass: the same scores as sdmetrics' report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.evaluation import joint_counts, quality
from synthgen.evaluation.data import prepare
from synthgen.evaluation.pair_trends import pair_trends_details
from synthgen.evaluation.quality import _quality_report_class, quality_report_scores


def _table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Correlated numbers with gaps, dates, labels with gaps, integer and boolean labels, a
    constant column and a label column only some rows hold."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n) + shift
    df = pd.DataFrame(
        {
            "a": z + rng.normal(scale=0.3, size=n),
            "b": 2 * z + rng.normal(scale=0.5, size=n),
            "c": rng.normal(size=n),
            "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(z * 30 + 100, unit="D"),
            "grade": np.where(z > 0.5, "high", np.where(z < -0.5, "low", "mid")),
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "level": np.clip(np.round(z + 2), 0, 4).astype(int),
            "same": 7.0,
            "rare": np.where(rng.random(n) < 0.1, "x", None),
            "flag": z + rng.normal(scale=0.5, size=n) > 0,
        }
    )
    df.loc[rng.random(n) < 0.1, "a"] = np.nan
    df.loc[rng.random(n) < 0.05, "when"] = pd.NaT
    df.loc[rng.random(n) < 0.08, "grade"] = None
    return df


META = {
    "columns": {
        "a": {"sdtype": "numerical"},
        "b": {"sdtype": "numerical"},
        "c": {"sdtype": "numerical"},
        "when": {"sdtype": "datetime"},
        "grade": {"sdtype": "categorical"},
        "colour": {"sdtype": "categorical"},
        "level": {"sdtype": "categorical"},
        "same": {"sdtype": "numerical"},
        "rare": {"sdtype": "categorical"},
        "flag": {"sdtype": "categorical"},
    }
}


def _sdmetrics_details(real, synthetic, metadata):
    report = _quality_report_class()()
    report.generate(real, synthetic, metadata, verbose=False)
    return report.get_details("Column Pair Trends")


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("shift", [0.0, 0.7])
@pytest.mark.parametrize("chunk_bytes", [None, 1000])
def test_every_pair_scores_as_sdmetrics_scores_it(shift, chunk_bytes, monkeypatch):
    if chunk_bytes:  # joint counts added up over chunks of a few rows, a column at a time
        monkeypatch.setattr(joint_counts, "CHUNK_BYTES", chunk_bytes)
        monkeypatch.setattr(joint_counts, "COUNTS_BYTES", chunk_bytes)
    real, synthetic = _table(600, 0), _table(500, 1, shift)
    synthetic.loc[:20, "colour"] = "purple"  # a label only the synthetic rows hold
    want = _sdmetrics_details(real, synthetic, META)
    got = pair_trends_details(real, synthetic, META)
    pd.testing.assert_frame_equal(
        got[["Column 1", "Column 2", "Metric"]], want[["Column 1", "Column 2", "Metric"]]
    )
    np.testing.assert_array_equal(
        got["Meets Threshold?"].fillna(False), want["Meets Threshold?"].fillna(False)
    )
    assert got["Meets Threshold?"].sum() >= 8  # correlated numbers and associated labels
    np.testing.assert_allclose(got["Score"], want["Score"].astype(float), atol=1e-12)


def test_a_column_type_left_to_sdmetrics_gives_no_details():
    real = _table(100, 0)
    real["colour"] = real["colour"].astype("category")
    assert pair_trends_details(real, real, META) is None


def _wide_prepared():
    """49 columns (1,176 pairs, past ``WIDE_PAIRS``), real and synthetic, prepared."""
    real, synthetic = _table(400, 0), _table(400, 1, 0.5)
    for j in range(40):
        real[f"w{j}"] = real["b"] * (j % 3) + np.arange(400) % (j + 2)
        synthetic[f"w{j}"] = synthetic["b"] * (j % 3) + np.arange(400) % (j + 3)
    return prepare(real, synthetic)


@pytest.mark.filterwarnings("ignore")
def test_wide_tables_get_the_report_scores_without_the_report_loop(monkeypatch):
    prep = _wide_prepared()
    fast = quality_report_scores(prep)
    calls = []
    # no details: the pairs go to sdmetrics' report
    monkeypatch.setattr(quality, "pair_trends", lambda *a: calls.append(1))
    slow = quality_report_scores(prep)
    assert calls == [1] and fast["n_pairs_scored"] == slow["n_pairs_scored"] > 100
    assert fast["column_shapes"] == slow["column_shapes"]
    assert fast["column_pair_trends"] == pytest.approx(slow["column_pair_trends"], abs=1e-12)
    assert fast["trends_details"].keys() == slow["trends_details"].keys()


def _pairs_scored_alone(monkeypatch) -> list[tuple[str, str]]:
    """The pairs of continuous columns scored one at a time with ``pearsonr`` from now on."""
    from synthgen.evaluation import pair_correlations

    one_at_a_time = pair_correlations.PairCorrelations.score
    calls: list[tuple[str, str]] = []

    def counted(self, a, b, threshold):
        calls.append((a, b))
        return one_at_a_time(self, a, b, threshold)

    monkeypatch.setattr(pair_correlations.PairCorrelations, "score", counted)
    return calls


@pytest.mark.filterwarnings("ignore")
def test_pairs_of_gapless_numbers_are_scored_together_not_one_at_a_time(monkeypatch):
    real, synthetic = _table(300, 0), _table(300, 1, 0.5)
    for j in range(30):  # gapless numbers: 435 pairs among them, read off the matrices
        real[f"n{j}"] = real["b"] * (j % 4) + np.arange(300) % (j + 2)
        synthetic[f"n{j}"] = synthetic["b"] * (j % 4) + np.arange(300) % (j + 3)
    meta = {"columns": {**META["columns"], **{f"n{j}": {"sdtype": "numerical"} for j in range(30)}}}
    want = _sdmetrics_details(real, synthetic, meta)
    calls = _pairs_scored_alone(monkeypatch)
    got = pair_trends_details(real, synthetic, meta)
    # only pairs with the constant column go one at a time
    assert calls and all("same" in pair for pair in calls)
    np.testing.assert_array_equal(
        got["Meets Threshold?"].fillna(False), want["Meets Threshold?"].fillna(False)
    )
    assert got["Meets Threshold?"].sum() >= 100
    np.testing.assert_allclose(got["Score"], want["Score"].astype(float), atol=1e-12)


def _gapped(n: int, seed: int, columns: int = 12) -> pd.DataFrame:
    """Correlated numbers and dates, each with its own gaps, one column present in only a
    handful of rows and one nearly constant where the others are present."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    df = pd.DataFrame({f"g{j}": z * (j % 3 + 1) + rng.normal(size=n) for j in range(columns)})
    df["when"] = pd.Timestamp("2021-06-01") + pd.to_timedelta(z * 9 + 50, unit="D")
    df["offset"] = 1e9 + z + rng.normal(scale=0.1, size=n)  # a large offset to cancel
    for c in df:
        df.loc[rng.random(n) < rng.uniform(0.02, 0.4), c] = np.nan
    df["few"] = np.where(np.arange(n) < 3, z, np.nan)  # three rows: pearsonr's own rules
    df["step"] = np.where(np.arange(n) < n - 2, 4.0, 5.0)  # constant on most shared rows
    return df


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("block", [None, 5])
def test_pairs_of_numbers_with_gaps_are_scored_together_as_sdmetrics_scores_them(
    block, monkeypatch
):
    from synthgen.evaluation import pair_correlations

    if block:  # sums gathered over blocks of a few columns and chunks of a few rows
        monkeypatch.setattr(pair_correlations, "_BLOCK", block)
        monkeypatch.setattr(pair_correlations, "_CHUNK_BYTES", 2000)
    real, synthetic = _gapped(400, 0), _gapped(300, 1)
    meta = {
        "columns": {c: {"sdtype": "datetime" if c == "when" else "numerical"} for c in real.columns}
    }
    want = _sdmetrics_details(real, synthetic, meta)
    calls = _pairs_scored_alone(monkeypatch)
    got = pair_trends_details(real, synthetic, meta)
    # one at a time: only pairs with too few shared rows, or where the nearly constant
    # column is constant (its partner misses the rows where it is not)
    assert len(calls) < 40 and all({"few", "step"} & set(pair) for pair in calls)
    assert any("few" in pair for pair in calls)
    np.testing.assert_array_equal(
        got["Meets Threshold?"].fillna(False), want["Meets Threshold?"].fillna(False)
    )
    assert got["Meets Threshold?"].sum() >= 60
    np.testing.assert_allclose(got["Score"], want["Score"].astype(float), atol=1e-12)


@pytest.mark.filterwarnings("ignore")
def test_joint_counts_are_held_a_block_of_discrete_columns_at_a_time(monkeypatch):
    real, synthetic = _table(300, 0), _table(300, 1, 0.5)
    for j in range(12):  # two- to four-label columns
        real[f"d{j}"] = (real["b"] * (j + 1)).round().astype(int) % (j % 3 + 2)
        synthetic[f"d{j}"] = (synthetic["b"] * (j + 1)).round().astype(int) % (j % 3 + 2)
    meta = {
        "columns": {**META["columns"], **{f"d{j}": {"sdtype": "categorical"} for j in range(12)}}
    }
    whole = pair_trends_details(real, synthetic, meta)
    held = []
    counted = joint_counts.joint_counts

    def recorded(*args):
        gram = counted(*args)
        held.append(gram.nbytes)
        return gram

    monkeypatch.setattr(joint_counts, "joint_counts", recorded)
    monkeypatch.setattr(joint_counts, "COUNTS_BYTES", 4500)
    blocked = pair_trends_details(real, synthetic, meta)
    assert len(held) > 8 and max(held) <= 4500  # two frames, a few columns' codes a block
    pd.testing.assert_frame_equal(blocked, whole, check_exact=True)


@pytest.mark.filterwarnings("ignore")
def test_the_report_lists_the_lowest_scored_pairs_of_a_wide_table(monkeypatch):
    prep = _wide_prepared()
    every = quality_report_scores(prep)
    monkeypatch.setattr(quality, "DETAIL_PAIRS", 25)
    listed = quality_report_scores(prep)
    assert every["n_pairs_scored"] == listed["n_pairs_scored"] == len(every["trends_details"]) > 50
    assert listed["column_pair_trends"] == every["column_pair_trends"]  # still every pair
    kept = listed["trends_details"]
    dropped = {k: v for k, v in every["trends_details"].items() if k not in kept}
    assert len(kept) == 25 and all(every["trends_details"][k] == v for k, v in kept.items())
    assert max(kept.values()) <= min(dropped.values())
    assert list(kept) == [k for k in every["trends_details"] if k in kept]  # the pairs' order
    details = quality.trends_details(listed)
    assert details == {
        "per_pair": kept,
        "pairs_scored": every["n_pairs_scored"],
        "per_pair_lowest": 25,
    }
    assert quality.trends_details(every) == {"per_pair": every["trends_details"]}


def test_joint_counts_of_two_discrete_columns_are_taken_once():
    rng = np.random.default_rng(3)
    width = {"p": 3, "q": 2, "r": 4, "x": 12}
    layout = ["p", "q", "r", "x"]
    frames = []
    for _ in range(2):
        codes = {c: rng.integers(0, width[c], 50) for c in ["p", "q", "r"]}
        codes["x"] = rng.integers(1, 12, 50)  # a continuous column's bins: none in the first
        frames.append(codes)
    offsets = dict(zip(layout, np.cumsum([0, 3, 2, 4]), strict=False))
    held = [joint_counts.held_codes(codes, layout, width) for codes in frames]
    target, places = joint_counts.product_places(held, layout, width, offsets)
    # a place for every code but each column's last and the bin no row holds
    assert target.max() == 21 - 4 - 1 and places["q"] == (2, 3)
    codes = frames[0]
    counts = joint_counts.joint_counts(codes, layout, ["q"], places["q"], target, offsets, 9)
    assert counts.shape == (2, 17)
    assert np.isnan(counts[:-1, 3:6]).all()  # "r" comes after "q": counted in its own block
    hot = {c: np.eye(width[c])[codes[c]] for c in layout}
    row = np.where(target == 16, 1, target - 2)
    for c in ["p", "q", "x"]:
        at = offsets[c] + np.arange(width[c])
        take = (row[offsets["q"] + np.arange(2)][None, None, :], target[at][None, :, None])
        whole = joint_counts.whole_tables(
            counts[take], held[0][at][None], held[0][offsets["q"] + np.arange(2)][None]
        )
        np.testing.assert_array_equal(whole[0], hot[c].T @ hot["q"])


@pytest.mark.filterwarnings("ignore")
def test_a_wide_report_never_lists_every_pair_in_a_frame(monkeypatch):
    from synthgen.evaluation.pair_trends import PairTrends

    prep = _wide_prepared()
    want = quality_report_scores(prep)

    def refused(self):
        raise AssertionError("a frame of every pair")

    monkeypatch.setattr(PairTrends, "frame", refused)
    assert quality_report_scores(prep) == want
