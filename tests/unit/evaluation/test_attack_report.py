"""The attack ensemble in the report: metrics, verdict, threat model, manifest, ledger."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from eval_helpers import FAST, make_frame

from synthgen.evaluation import evaluate
from synthgen.evaluation.attacks import ATTACKS, THREAT_MODEL
from synthgen.evaluation.privacy import DIAGNOSTIC_METRICS, VERDICT_METRICS


def _copying_refit(table: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    return table.sample(n_rows, replace=True, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def frames3():
    return make_frame(300, 0), make_frame(300, 1), make_frame(300, 2)


@pytest.fixture(scope="module")
def copies_report(frames3):
    train, _, holdout = frames3
    return evaluate(train, train, holdout=holdout, limits=FAST, refit=_copying_refit)


def test_copies_fail_every_membership_attack(copies_report):
    r = copies_report
    assert r.privacy_verdict == "fail"
    assert r["mia_auc"].status == "fail" and r["mia_auc"].graded_value > 0.9
    assert r["mia_vulnerable_tpr"].status == "fail"
    table = r.meta["privacy_attacks"]
    assert set(table["attacks"]) == set(ATTACKS)  # the shadow attack ran with the refit
    assert table["attacks"]["distance"]["vulnerable"]["tpr_at_fpr"]["0.01"] == 1.0


def test_diagnostics_do_not_decide_the_verdict(frames3):
    train, syn, holdout = frames3
    report = evaluate(train, syn, holdout=holdout, limits=FAST)
    strict = evaluate(
        train,
        syn,
        holdout=holdout,
        limits=FAST,
        thresholds=__import__("synthgen").PrivacyThresholds(dcr_share_pass=0, dcr_share_warn=0),
    )
    assert strict["dcr_share"].status == "fail"
    assert strict.privacy_verdict == report.privacy_verdict
    for name in DIAGNOSTIC_METRICS:
        assert name not in VERDICT_METRICS
        assert report[name].explanation.startswith("Diagnostic, not evidence of privacy")
    assert report.to_dict()["meta"]["privacy_diagnostics"]["note"] == (
        "diagnostics, not evidence of privacy"
    )


def test_a_leaking_attack_fails_the_verdict_on_its_own(frames3):
    train, syn, holdout = frames3
    strict = __import__("synthgen").PrivacyThresholds(mia_auc_pass=0.0, mia_auc_warn=0.0)
    report = evaluate(train, syn, holdout=holdout, limits=FAST, thresholds=strict)
    assert report["mia_auc"].status == "fail"
    assert report.privacy_verdict == "fail"
    assert any(reason.startswith("mia_auc") for reason in report.verdicts["privacy"]["reasons"])


def test_report_states_threat_model_split_and_manifest(copies_report):
    meta = copies_report.to_dict()["meta"]
    table = meta["privacy_attacks"]
    assert table["threat_model"] == THREAT_MODEL
    sizes = table["sizes"]
    # half of the 300 holdout rows as reference, the other half as non-members, as many members
    assert sizes["reference"] == sizes["nonmember_candidates"] == sizes["member_candidates"] == 150
    assert sizes["vulnerable_records"] == 75
    man = meta["manifest"]
    assert man["attack_seed"] == table["seed"] and man["random_state"] == 0
    assert man["split"] == sizes
    for pkg in ("synthgen", "numpy", "pandas", "scikit-learn"):
        assert man["versions"][pkg]
    json.dumps(meta, allow_nan=False)  # JSON-ready


def test_attack_table_repeats_with_the_seed(frames3):
    train, syn, holdout = frames3
    a = evaluate(train, syn, holdout=holdout, limits=FAST, random_state=5)
    b = evaluate(train, syn, holdout=holdout, limits=FAST, random_state=5)
    c = evaluate(train, syn, holdout=holdout, limits=FAST, random_state=6)
    strip = lambda r: {k: v for k, v in r.meta["privacy_attacks"].items() if k != "seconds"}  # noqa: E731
    assert strip(a) == strip(b)
    assert strip(a) != strip(c)


def test_shadow_attack_is_skipped_without_refit_and_on_refit_errors(frames3):
    train, syn, holdout = frames3
    report = evaluate(train, syn, holdout=holdout, limits=FAST)
    assert "no refit function" in report.meta["privacy_attacks"]["skipped"]["shadow"]

    def broken(table, n_rows):
        raise RuntimeError("out of budget")

    report = evaluate(train, syn, holdout=holdout, limits=FAST, refit=broken)
    assert "RuntimeError: out of budget" in report.meta["privacy_attacks"]["skipped"]["shadow"]
    assert report["mia_auc"].status in ("pass", "warn")


def test_without_holdout_attacks_are_skipped(frames3):
    train, syn, _ = frames3
    report = evaluate(train, syn, limits=FAST)
    for name in VERDICT_METRICS:
        assert report[name].status == "skipped"
    assert report.meta["privacy_attacks"] is None


def test_html_shows_attacks_threat_model_ledger_and_manifest(frames3):
    train, syn, holdout = frames3
    ledger = {
        "epsilon": 2.5,
        "delta": 1e-5,
        "target_epsilon": 3.0,
        "accounting": "Renyi DP <test>",
        "steps": {"one-way marginals": 1.2},
        "dp_sgd": {"noise_multiplier": 1.1, "opacus_version": "9.9"},
    }
    report = evaluate(train, syn, holdout=holdout, limits=FAST, privacy=ledger)
    dp = report.meta["differential_privacy"]
    assert dp["accountant"] == "Renyi DP <test>" and dp["opacus_version"] == "9.9"
    page = report.to_html()
    assert "Threat model" in page and "Membership inference" in page
    assert "TPR @ 1% FPR (vulnerable)" in page
    assert "diagnostics, not evidence of privacy" in page
    assert "Renyi DP &lt;test&gt;" in page and "opacus 9.9" in page
    assert "one-way marginals" in page and "Manifest" in page
