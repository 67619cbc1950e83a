"""Canaries on real data: the metrics must catch what they exist to catch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from eval_helpers import FAST

from synthgen.evaluation import evaluate


def _shuffled(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.permutation(df[c].to_numpy()) for c in df.columns})


@pytest.fixture(scope="module")
def reports(adult_split):
    train, holdout = adult_split
    synthetic = {
        "copies": train.copy(),
        "shuffled": _shuffled(train, 1),
        "holdout": holdout.copy(),
    }
    return {
        name: evaluate(train, syn, holdout=holdout, target="income", limits=FAST)
        for name, syn in synthetic.items()
    }


def test_copies_of_training_rows_fail_privacy(reports):
    r = reports["copies"]
    assert r.privacy_verdict == "fail"
    assert r["exact_copy_rate"].value == 1.0
    assert r["exact_copy_excess"].status == "fail"
    assert r["dcr_share"].value > 0.9
    assert r["mia_auc"].status == "fail"
    assert r["attribute_inference_risk"].status == "fail"


def test_holdout_as_synthetic_passes_privacy(reports):
    r = reports["holdout"]
    assert r.privacy_verdict == "pass"
    assert r["exact_copy_excess"].value == pytest.approx(0.0, abs=1e-12)
    assert r["dcr_share"].value < 0.5


def test_shuffled_columns_keep_shapes_but_lose_trends(reports):
    shuffled, honest = reports["shuffled"], reports["holdout"]
    assert shuffled["column_shapes"].value > 0.95
    assert shuffled["column_pair_trends"].value < honest["column_pair_trends"].value - 0.1
    assert shuffled["column_pair_trends"].status != "pass"


def test_shuffled_columns_are_detected(reports):
    shuffled, honest = reports["shuffled"], reports["holdout"]
    assert shuffled["detection_auc"].value > 0.8
    assert shuffled["detection_auc"].value > honest["detection_auc"].value + 0.25
    assert shuffled["detection_auc"].status == "fail"


def test_shuffled_columns_lose_utility(reports):
    shuffled, honest = reports["shuffled"], reports["copies"]
    assert shuffled["roc_auc_gap"].value > 0.2
    assert shuffled["roc_auc_gap"].status == "fail"
    assert honest["roc_auc_gap"].value == pytest.approx(0.0, abs=1e-9)  # same training rows
