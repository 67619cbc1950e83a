"""Multi-table evaluation: each metric moves when the property it measures breaks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.evaluation.relational import (
    RelationalLimits,
    evaluate_tables,
    split_subjects,
)
from synthgen.exceptions import EvaluationError, MetadataError
from synthgen.schema.metadata import ForeignKey, Metadata, TableMeta

FAST = RelationalLimits(hgb_max_iter=20, subject_rows=2000)

META = Metadata(
    [TableMeta("users", "id"), TableMeta("buys", None, "date")],
    [ForeignKey("buys", "users_id", "users", "id")],
)


def make_tables(n_users: int = 200, seed: int = 0, *, shift: float = 0.0) -> dict:
    """Users with an age and a segment; 1-8 purchases each, in date order, amounts tied to
    the segment. ``shift`` moves ages and amounts (an obviously different population)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(seed * 100_000, seed * 100_000 + n_users)
    segment = rng.choice(["gold", "basic"], n_users, p=[0.3, 0.7])
    users = pd.DataFrame(
        {"id": ids, "age": rng.integers(18, 70, n_users) + shift, "segment": segment}
    )
    counts = rng.integers(1, 9, n_users)
    owner = np.repeat(np.arange(n_users), counts)
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 300, n_users), "D")
    gaps = rng.integers(1, 40, len(owner))
    first = np.r_[0, np.cumsum(counts)[:-1]]
    offset = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first] - gaps[first], counts)
    dates = start.to_numpy()[owner] + pd.to_timedelta(offset, "D").to_numpy()
    base = np.where(segment[owner] == "gold", 60.0, 15.0) * (1 + shift)
    buys = pd.DataFrame(
        {
            "users_id": ids[owner],
            "date": pd.Series(dates).dt.strftime("%Y-%m-%d"),
            "cds": rng.integers(1, 4, len(owner)),
            "amt": np.round(base * rng.gamma(2.0, 0.5, len(owner)), 2),
        }
    )
    return {"users": users, "buys": buys}


@pytest.fixture(scope="module")
def tables() -> dict:
    return make_tables()


def test_identical_tables_score_one(tables):
    report = evaluate_tables(tables, tables, META, limits=FAST)
    s = report.summary()
    for key in ("cardinality_shape", "sequence_length", "inter_event_gap", "column_shapes"):
        assert s[key] == pytest.approx(1.0), key
    assert s["parent_child_trends"] == pytest.approx(1.0)
    assert s["sequences_in_order"] == 1.0 and s["fk_resolution"] == 1.0
    assert s["duplicate_primary_keys"] == 0


def test_cardinality_matches_sdmetrics_and_drops_for_other_counts(tables):
    from sdmetrics.multi_table import CardinalityShapeSimilarity

    other = make_tables(seed=1)
    one_each = other["buys"].drop_duplicates("users_id")  # every user with exactly one buy
    synthetic = {"users": other["users"], "buys": one_each}
    report = evaluate_tables(tables, synthetic, META, limits=FAST)
    ours = report.get("cardinality_shape").value
    meta = {
        "relationships": [
            {
                "parent_table_name": "users",
                "parent_primary_key": "id",
                "child_table_name": "buys",
                "child_foreign_key": "users_id",
            }
        ]
    }
    theirs = CardinalityShapeSimilarity.compute(tables, synthetic, meta)
    assert ours == pytest.approx(theirs)
    assert ours < 0.8
    assert report.get("sequence_length").value < 0.8


def test_parents_without_children_count_as_zero(tables):
    users = tables["users"]
    # half of the users lose their purchases: the synthetic counts gain zeros
    kept = tables["buys"][tables["buys"]["users_id"].isin(users["id"].iloc[::2])]
    report = evaluate_tables(tables, {"users": users, "buys": kept}, META, limits=FAST)
    assert report.get("cardinality_shape").value == pytest.approx(0.5, abs=0.05)
    assert report.get("sequence_length").value > 0.85  # the surviving sequences are alike


def test_shuffled_rows_break_the_order(tables):
    shuffled = tables["buys"].sample(frac=1.0, random_state=3).reset_index(drop=True)
    report = evaluate_tables(tables, {"users": tables["users"], "buys": shuffled}, META,
                             limits=FAST)  # fmt: skip
    m = report.get("sequences_in_order")
    assert m.value < 0.5 and m.status == "fail"
    assert m.details["real_share"] == 1.0
    # sorted gaps do not depend on the row order
    assert report.get("inter_event_gap").value == pytest.approx(1.0)


def test_missing_order_value_breaks_the_order(tables):
    buys = tables["buys"].copy()
    buys.loc[0, "date"] = None
    report = evaluate_tables(tables, {"users": tables["users"], "buys": buys}, META,
                             limits=FAST)  # fmt: skip
    n_seq = tables["buys"]["users_id"].nunique()
    assert report.get("sequences_in_order").value == pytest.approx(1 - 1 / n_seq)


def test_dangling_and_duplicate_keys_are_counted(tables):
    buys = tables["buys"].copy()
    buys.loc[:9, "users_id"] = -1  # ten rows point at no user
    users = pd.concat([tables["users"], tables["users"].head(3)], ignore_index=True)
    report = evaluate_tables(tables, {"users": users, "buys": buys}, META, limits=FAST)
    fk = report.get("fk_resolution")
    assert fk.value == pytest.approx(1 - 10 / len(buys)) and fk.status == "fail"
    assert fk.details["dangling"] == 10
    dup = report.get("duplicate_primary_keys")
    assert dup.value == 3 and dup.status == "fail"


def test_broken_parent_child_relation_lowers_the_trends(tables):
    buys = tables["buys"].copy()
    # amounts no longer follow the buyer's segment
    buys["amt"] = buys["amt"].sample(frac=1.0, random_state=1).to_numpy()
    report = evaluate_tables(tables, {"users": tables["users"], "buys": buys}, META,
                             limits=FAST)  # fmt: skip
    trends = report.get("parent_child_trends")
    assert trends.details["per_pair"]["users.segment / buys.amt"] < 0.9
    assert trends.details["per_pair"]["users.segment / buys.cds"] == pytest.approx(1.0)
    assert trends.value < 0.98
    assert report.get("column_shapes", "buys").value == pytest.approx(1.0)


def test_detection_auc_near_half_for_halves_and_high_for_other_data():
    a, b = make_tables(400, seed=1), make_tables(400, seed=2)
    same = evaluate_tables(a, b, META, limits=FAST).get("subject_detection_auc").value
    assert 0.35 < same < 0.65
    far = make_tables(400, seed=2, shift=1.0)
    other = evaluate_tables(a, far, META, limits=FAST).get("subject_detection_auc")
    assert other.value > 0.9
    # what gives the synthetic subjects away: the doubled amounts
    assert "buys.amt.mean" in list(other.details["most_telling"])[:2]


def test_names_are_left_out_of_the_comparisons():
    # a column of person names: two real samples share few, so it would make real data look
    # fake (and a classifier spots unseen labels by their codes)
    a, b = make_tables(400, seed=1), make_tables(400, seed=2)
    for seed, t in ((1, a), (2, b)):
        t["users"]["name"] = [f"name{seed}-{i % 300}" for i in range(400)]
    report = evaluate_tables(a, b, META, limits=FAST)
    assert "name" in report.meta["left_out"]["users"]
    assert report.get("subject_detection_auc").value < 0.65
    assert report.get("column_shapes", "users").value > 0.9


def test_subject_dcr_flags_copied_subjects():
    train, holdout = make_tables(300, seed=1), make_tables(300, seed=2)
    copied = evaluate_tables(train, train, META, holdout=holdout, limits=FAST)
    fresh = evaluate_tables(train, make_tables(300, seed=3), META, holdout=holdout, limits=FAST)
    assert copied.get("subject_dcr_share").value > 0.9
    assert copied.get("subject_dcr_share").status == "info"  # a diagnostic, not a verdict
    assert 0.3 < fresh.get("subject_dcr_share").value < 0.7
    # with a holdout, detection compares holdout subjects with the synthetic ones
    assert copied.get("subject_detection_auc").details["reference"] == "holdout"


def test_evaluation_is_deterministic_and_leaves_inputs_alone(tables):
    before = {k: v.copy() for k, v in tables.items()}
    other = make_tables(seed=4)
    r1 = evaluate_tables(tables, other, META, limits=FAST, random_state=5).summary()
    r2 = evaluate_tables(tables, other, META, limits=FAST, random_state=5).summary()
    assert r1 == r2
    for k in tables:
        pd.testing.assert_frame_equal(tables[k], before[k])


def test_split_keeps_subjects_whole_and_is_deterministic(tables):
    train, holdout = split_subjects(tables, META)
    again, _ = split_subjects(tables, META)
    pd.testing.assert_frame_equal(train["buys"], again["buys"])
    assert len(train["users"]) == 160 and len(holdout["users"]) == 40
    assert set(train["buys"]["users_id"]) <= set(train["users"]["id"])
    assert set(holdout["buys"]["users_id"]) <= set(holdout["users"]["id"])
    assert len(train["buys"]) + len(holdout["buys"]) == len(tables["buys"])
    # the protocol's shuffle: DataFrame.sample with the seed, first 80%
    expected = tables["users"].sample(frac=1.0, random_state=0)["id"].iloc[:160]
    assert set(train["users"]["id"]) == set(expected)
    other, _ = split_subjects(tables, META, random_state=1)
    assert set(other["users"]["id"]) != set(train["users"]["id"])


def test_split_rejects_bad_input(tables):
    with pytest.raises(EvaluationError, match="frac"):
        split_subjects(tables, META, frac=1.5)
    broken = {"users": tables["users"], "buys": tables["buys"].assign(users_id=-1)}
    with pytest.raises(MetadataError):
        split_subjects(broken, META)


def test_bad_input_gets_clear_errors(tables):
    with pytest.raises(EvaluationError, match=r"missing \['buys'\]"):
        evaluate_tables(tables, {"users": tables["users"]}, META)
    with pytest.raises(EvaluationError, match=r"table 'buys'.*missing \['amt'\]"):
        evaluate_tables(
            tables, {"users": tables["users"], "buys": tables["buys"].drop(columns="amt")}, META
        )
    with pytest.raises(EvaluationError, match="key column"):
        evaluate_tables(
            tables,
            {"users": tables["users"].drop(columns="id"), "buys": tables["buys"]},
            META,
        )
    with pytest.raises(EvaluationError, match="Metadata"):
        evaluate_tables(tables, tables, META.to_dict())


def test_empty_synthetic_child_table_is_reported_not_raised(tables):
    empty = tables["buys"].iloc[:0]
    report = evaluate_tables(tables, {"users": tables["users"], "buys": empty}, META,
                             limits=FAST)  # fmt: skip
    assert report.get("column_shapes", "buys").status == "skipped"
    assert report.get("cardinality_shape").value == 0.0
    assert report.get("sequences_in_order").status == "skipped"


def test_report_json_and_html(tables, tmp_path):
    report = evaluate_tables(
        tables, make_tables(seed=1), META, limits=FAST, generator="demo", data_name="toy"
    )
    data = json.loads(report.to_json(tmp_path / "r.json"))
    assert json.loads((tmp_path / "r.json").read_text()) == data
    assert data["summary"] == pytest.approx(report.summary())
    assert {"tables", "relationships", "sequences", "integrity", "subjects"} <= set(
        data["sections"]
    )
    page = report.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == page
    assert "Key integrity" in page and "<svg" in page and "demo" in page
    assert "gap between events (days)" in page


def test_lazy_public_name():
    assert sg.evaluate_tables is evaluate_tables


def test_html_escapes_names():
    meta = Metadata(
        [TableMeta("u<b>", "id"), TableMeta("e<i>", None, "day")],
        [ForeignKey("e<i>", "uid", "u<b>", "id")],
    )
    users = pd.DataFrame({"id": range(30), "a<script>": np.arange(30) % 3})
    events = pd.DataFrame({"uid": np.repeat(np.arange(30), 2), "day": np.tile([1, 5], 30)})
    tables = {"u<b>": users, "e<i>": events}
    page = evaluate_tables(tables, tables, meta, limits=FAST).to_html()
    assert "<b>" not in page and "<i>" not in page and "<script>" not in page
    assert "u&lt;b&gt;" in page
