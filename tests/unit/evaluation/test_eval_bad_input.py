"""Bad input gives a clear EvaluationError (or a documented fallback), never a crash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from eval_helpers import FAST

from synthgen.evaluation import evaluate
from synthgen.exceptions import EvaluationError


def test_not_a_dataframe(frames):
    train, _, holdout = frames
    with pytest.raises(EvaluationError, match="synthetic must be a pandas DataFrame"):
        evaluate(train, train.to_numpy(), holdout=holdout)
    with pytest.raises(EvaluationError, match="real must be a pandas DataFrame"):
        evaluate([1, 2], train)


def test_empty_frames(frames):
    train, syn, _ = frames
    with pytest.raises(EvaluationError, match="synthetic has no rows"):
        evaluate(train, syn.iloc[:0])
    with pytest.raises(EvaluationError, match="real has no columns"):
        evaluate(pd.DataFrame(index=range(3)), syn)


def test_mismatched_columns_are_named(frames):
    train, syn, holdout = frames
    with pytest.raises(EvaluationError, match=r"synthetic.*missing column\(s\) \['g'\]"):
        evaluate(train, syn.drop(columns="g"))
    with pytest.raises(EvaluationError, match=r"holdout.*unexpected column\(s\) \['extra'\]"):
        evaluate(train, syn, holdout=holdout.assign(extra=1.0))


def test_column_order_may_differ(frames):
    train, syn, holdout = frames
    report = evaluate(train, syn[syn.columns[::-1]], holdout=holdout, limits=FAST)
    assert report["column_shapes"].status in ("pass", "warn", "fail")


def test_target_missing(frames):
    train, syn, holdout = frames
    with pytest.raises(EvaluationError, match="target 'nope'"):
        evaluate(train, syn, holdout=holdout, target="nope")


def test_holdout_too_small(frames):
    train, syn, holdout = frames
    with pytest.raises(EvaluationError, match="holdout has 19 rows; at least 20"):
        evaluate(train, syn, holdout=holdout.iloc[:19])


@pytest.mark.parametrize("frame", ["real", "synthetic", "holdout"])
def test_infinite_values_name_the_column(frames, frame):
    data = dict(zip(("real", "synthetic", "holdout"), frames, strict=True))
    data[frame] = data[frame].copy()
    data[frame].loc[3, "x"] = -np.inf
    with pytest.raises(EvaluationError, match=f"{frame}: column 'x' has 1 infinite"):
        evaluate(**data)


def test_missing_values_are_data_not_errors(frames):
    train, syn, holdout = frames
    syn = syn.copy()
    syn.loc[:50, "x"] = np.nan
    report = evaluate(train, syn, holdout=holdout, limits=FAST)
    assert report["missing_value_similarity"].details["per_column"]["x"] == pytest.approx(0.83)
    assert report["dcr_share"].value is not None


def test_unreadable_numeric_column(frames):
    train, syn, _ = frames
    syn = syn.assign(x=syn["x"].astype(str).where(syn.index > 0, "oops"))
    with pytest.raises(EvaluationError, match="synthetic: column 'x' should hold numeric"):
        evaluate(train, syn)


def test_single_class_target_skips_utility(frames):
    train, syn, holdout = frames
    syn = syn.assign(label="yes")
    report = evaluate(train, syn, holdout=holdout, target="label", limits=FAST)
    tstr = report["tstr_roc_auc"]
    assert tstr.status == "skipped"
    assert "single class in synthetic" in tstr.reason
    assert report["roc_auc_gap"].status == "skipped"
    assert report["trtr_roc_auc"].status == "info"


def test_single_class_holdout_skips_auc_only(frames):
    train, syn, holdout = frames
    report = evaluate(train, syn, holdout=holdout.assign(label="no"), target="label", limits=FAST)
    assert report["roc_auc_gap"].status == "skipped"
    assert report["f1_macro_gap"].status != "skipped"


def test_only_id_and_constant_columns(frames):
    df = pd.DataFrame({"k": 1, "id": np.arange(30)})
    with pytest.raises(EvaluationError, match="no column can be evaluated"):
        evaluate(df, df)


def test_inputs_are_not_modified(frames):
    train, syn, holdout = frames
    copies = [f.copy(deep=True) for f in frames]
    evaluate(train, syn, holdout=holdout, target="label", limits=FAST)
    for before, after in zip(copies, frames, strict=True):
        pd.testing.assert_frame_equal(before, after)
