"""Frames longer than ``EvaluationLimits.max_rows``: sampled with the seed, copies sought
among every real row."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.evaluation.data import prepare
from synthgen.evaluation.groups import rows_stream
from synthgen.evaluation.rowcap import cap_rows, copies_of
from synthgen.exceptions import EvaluationError
from tests.unit.evaluation.eval_helpers import FAST, make_frame

CAP = replace(FAST, max_rows=100)


def _values(report) -> dict[str, float]:
    return {m.name: m.value for m in report.metrics if m.value is not None}


def test_long_frames_are_sampled_with_the_seed():
    real, syn, hold = make_frame(300, 0), make_frame(260, 1), make_frame(150, 2)
    report = sg.evaluate(real, syn, hold, target="label", limits=CAP, random_state=3)
    assert report.meta["rows"] == {"real": 100, "synthetic": 100, "holdout": 100}
    assert report.meta["sampled_rows"] == {"real": 300, "synthetic": 260, "holdout": 150}
    assert "synthetic: 100 rows (drawn at random from 260)" in report.to_html()
    again = sg.evaluate(real, syn, hold, target="label", limits=CAP, random_state=3)
    assert _values(again) == _values(report)
    other = sg.evaluate(real, syn, hold, target="label", limits=CAP, random_state=4)
    assert _values(other) != _values(report)
    # the inputs are not modified
    assert len(real) == 300 and real.equals(make_frame(300, 0))


def test_frames_under_the_cap_are_read_whole():
    real, syn, hold = make_frame(120, 0), make_frame(90, 1), make_frame(60, 2)
    capped = sg.evaluate(real, syn, hold, limits=replace(FAST, max_rows=120), random_state=0)
    whole = sg.evaluate(real, syn, hold, limits=replace(FAST, max_rows=0), random_state=0)
    assert capped.meta["sampled_rows"] == {} and capped.meta["rows"]["real"] == 120
    assert _values(capped) == _values(whole)


def test_copies_are_sought_among_every_real_row():
    real = make_frame(400, 0)
    rng = np.random.default_rng(1)
    # 60 copies of real rows from all over the frame, 40 fresh rows
    syn = pd.concat([real.iloc[rng.choice(400, 60, replace=False)], make_frame(40, 5)])
    syn = syn.reset_index(drop=True)
    hold = make_frame(80, 2)
    report = sg.evaluate(real, syn, hold, limits=CAP, random_state=0)
    assert report.meta["sampled_rows"] == {"real": 400}
    # a search among the 100 sampled real rows would find about a quarter of the copies
    assert report["exact_copy_rate"].value == pytest.approx(0.6)
    assert report["exact_copy_rate"].details["base_rate"] == 0.0


def test_a_label_outside_the_samples_is_no_false_copy():
    """Real rows whose labels the sampled frames never hold share one code while coded; a
    synthetic row equal to them but for such a label is no copy, an equal one is."""
    n = 300
    real = pd.DataFrame({"x": np.arange(n) % 3.0, "c": [f"r{i // 2}" for i in range(n)]})
    syn = pd.DataFrame({"x": [1.0, 1.0, 2.0], "c": ["new", "r3", "r3"]})  # real row 7: 1, r3
    capped = cap_rows({"real": real, "synthetic": syn}, 50, np.random.default_rng(0))
    prep = prepare(capped.frames["real"], capped.frames["synthetic"])
    flags = copies_of(prep, ("synthetic",), real)["synthetic"]
    assert flags.tolist() == [False, True, False]


def test_copies_without_a_sample_match_the_prepared_real_rows():
    real = pd.DataFrame({"x": [1.0, np.nan, 2.0], "c": ["a", "b", None]})
    syn = pd.DataFrame({"x": [np.nan, 2.0, 2.0, -0.0], "c": ["b", None, "a", "a"]})
    prep = prepare(real, syn)
    assert copies_of(prep, ("synthetic",))["synthetic"].tolist() == [True, True, False, False]


def test_a_bad_value_in_an_unsampled_real_row_is_reported():
    real = make_frame(300, 0)
    real["when"] = real["when"].dt.strftime("%Y-%m-%d")  # dates as text
    sampled = set(
        np.sort(rows_stream(0).choice(300, size=100, replace=False)).tolist()
    )  # what cap_rows draws for the real frame first
    bad = next(i for i in range(300) if i not in sampled)
    real.loc[bad, "when"] = "not a date"
    with pytest.raises(EvaluationError, match=r"'when'.*not a date"):
        sg.evaluate(real, make_frame(100, 1), make_frame(60, 2), limits=CAP, random_state=0)


@pytest.mark.parametrize("max_rows", [-1, 5])
def test_a_bad_cap_is_refused(max_rows):
    frame = make_frame(50, 0)
    with pytest.raises(EvaluationError, match="max_rows"):
        sg.evaluate(frame, frame, limits=replace(FAST, max_rows=max_rows))


def test_encode_codes_labels_like_the_prepared_frames():
    real = pd.DataFrame({"c": ["a", "b", None, "a"], "n": [1, 2, 2, 1]})
    prep = prepare(real, real)
    cats = prep.categories["c"]
    other = pd.DataFrame({"c": pd.Categorical(["b", None, "zz", "a"]), "n": [1, 1, 1, 1]})
    codes = prep.encode(other, "other")[1][:, prep.categorical.index("c")].tolist()
    assert codes == [cats.index("b"), cats.index(None), len(cats), cats.index("a")]
    no_missing = prepare(real.dropna(), real.dropna())
    n_cats = len(no_missing.categories["c"])
    j = no_missing.categorical.index("c")
    assert no_missing.encode(other, "other")[1][1:3, j].tolist() == [n_cats, n_cats]


@pytest.mark.parametrize("collide", [False, True])
def test_find_copies_is_exact_whatever_the_fingerprints(monkeypatch, collide):
    import synthgen.evaluation.rowcap as rowcap
    from synthgen.evaluation import keyed
    from synthgen.evaluation.distance import row_keys

    if collide:  # four fingerprints for every key: the search must still compare the keys
        real_prints = keyed.fingerprints
        monkeypatch.setattr(keyed, "fingerprints", lambda k: real_prints(k) % np.uint64(4))
    rng = np.random.default_rng(0)

    def keys(n):
        num = rng.integers(0, 6, (n, 2)).astype(float)
        num[rng.random((n, 2)) < 0.1] = np.nan
        return row_keys(num, rng.integers(0, 3, (n, 1)))

    query, chunks = keys(300), [keys(40), keys(1), keys(25)]
    expected = [any(q == r for c in chunks for r in c) for q in query]
    assert rowcap.find_copies(query, chunks).tolist() == expected
    assert 0 < sum(expected) < len(expected)
