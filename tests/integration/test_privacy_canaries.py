"""Canaries on real data for the membership-inference ensemble (issue 20).

1,000 training rows and 1,000 holdout rows of Adult (shuffled with seed 0). A generator that
remembers its training rows must fail the privacy verdict through the attacks, whatever the
distance diagnostics say; rows the generator never saw must pass.
"""

from __future__ import annotations

import pandas as pd
import pytest

import synthgen as sg
from synthgen.evaluation import EvaluationLimits, evaluate

pytestmark = pytest.mark.usefixtures("one_thread")

#: Small caps for the parts of the report the canaries do not test.
FAST = EvaluationLimits(hgb_max_iter=30, anonymeter_attacks=200, precision_recall_rows=800)
MIA = ("mia_auc", "mia_tpr", "mia_vulnerable_tpr")


@pytest.fixture(scope="module")
def split(adult) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    df = adult.sample(frac=1, random_state=0).reset_index(drop=True)
    train, holdout = df.iloc[:1000], df.iloc[1000:2000]
    unseen = df.iloc[2000:3000]
    return (
        train.reset_index(drop=True),
        holdout.reset_index(drop=True),
        unseen.reset_index(drop=True),
    )


def _report(train, holdout, synthetic, refit=None):
    return evaluate(train, synthetic, holdout=holdout, target="income", limits=FAST, refit=refit)


def _failing_attacks(report) -> list[str]:
    return [name for name in MIA if report[name].status == "fail"]


def test_unseen_rows_as_synthetic_pass(split):
    train, holdout, unseen = split
    for synthetic in (holdout, unseen):  # the holdout itself, and a second sample of Adult
        report = _report(train, holdout, synthetic)
        assert report.privacy_verdict == "pass", report.verdicts["privacy"]
        for name in MIA:
            assert report[name].status == "pass", name


def test_copying_generator_fails_through_every_membership_measure(split):
    train, holdout, _ = split
    model = sg.make_generator("copy", random_state=0).fit(train)
    report = _report(train, holdout, model.sample(1000, random_state=1), sg.shadow_refit(model))
    assert report.privacy_verdict == "fail"
    assert _failing_attacks(report) == list(MIA)
    assert "shadow" in report.meta["privacy_attacks"]["attacks"]


def test_overfitted_transformer_fails_through_the_attacks(split):
    train, holdout, _ = split
    # 300 passes over 1,000 rows, no regularisation, no early stopping: it remembers rows
    model = sg.make_generator(
        "transformer",
        epochs=300,
        patience=None,
        validation_fraction=0.0,
        token_dropout=0.0,
        weight_decay=0.0,
        n_threads=1,
        random_state=0,
    ).fit(train)
    report = _report(train, holdout, model.sample(5000, random_state=1))
    assert report.privacy_verdict == "fail"
    assert "mia_tpr" in _failing_attacks(report)
    # no copy: the exact-copy diagnostic sees nothing, the attacks see the members
    assert report["exact_copy_excess"].status == "pass"
    reasons = report.verdicts["privacy"]["reasons"]
    assert any(reason.startswith("mia_tpr") for reason in reasons)
