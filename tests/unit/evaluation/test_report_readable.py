"""Finding 8 of issue 16: a report a reader can act on.

Headline fidelity, utility and privacy verdicts with reasons; generator and data named; the
interval shown where grading uses its lower bound; no stray "Skipped:" on computed metrics;
log scales for heavy tails; long labels cut with their full text kept.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from eval_helpers import FAST, make_frame

from synthgen.evaluation import MetricResult, Report, evaluate
from synthgen.evaluation.verdicts import group_verdict

LONG_LABEL = "a category label far too long to fit under a bar without being cut somewhere"
LONG_COLUMN = "a column name that goes on and on well past the width of any small plot"


@pytest.fixture(scope="module")
def report() -> Report:
    frames = []
    for seed in (0, 1, 2):
        f = make_frame(300, seed)
        rng = np.random.default_rng(seed)
        f["income"] = np.where(rng.random(300) < 0.8, 0.0, rng.pareto(1.1, 300) * 1000)
        f[LONG_COLUMN] = np.where(f["g"] == "a", LONG_LABEL, "short")
        frames.append(f)
    return evaluate(
        frames[0],
        frames[1],
        holdout=frames[2],
        target="label",
        limits=FAST,
        generator="copula",
        data_name="people.csv",
    )


def test_computed_metrics_carry_no_skip_reason(report):
    # Before: category_coverage ended in "Skipped: no categorical column." although computed.
    for row in report.summary().to_dict("records"):
        if row["status"] != "skipped":
            assert "Skipped" not in row["explanation"], row["metric"]
    assert report["category_coverage"].status != "skipped"
    assert report["category_coverage"].reason is None


def test_a_skipped_metric_still_says_why():
    frames = [make_frame(100, s)[["x", "y"]] for s in (0, 1)]
    r = evaluate(frames[0], frames[1], limits=FAST)
    row = r.summary().set_index("metric").loc["category_coverage"]
    assert row["status"] == "skipped" and row["explanation"].endswith(
        "Skipped: no categorical column."
    )


def test_risks_show_the_interval_their_grade_uses(report):
    m = report["attribute_inference_risk"]
    low, high = m.interval
    assert low <= m.value <= high and m.graded_value == low
    assert m.threshold_text.startswith(f"lower bound {low:.3g}:")
    row = report.summary().set_index("metric").loc["attribute_inference_risk"]
    assert row["interval"] == m.interval_text != ""
    page = report.to_html()
    assert m.interval_text in page and "lower bound" in page


def test_a_risk_above_the_limit_that_passes_says_why():
    # The finding: a risk of 0.301 showed "pass <= 0.1" with no word of the lower bound.
    m = MetricResult(
        "linkability_risk",
        "privacy",
        0.301,
        0.0,
        "lower",
        "pass",
        "",
        "at_most",
        0.1,
        0.25,
        details={"confidence_level": 0.95},
        interval=(0.04, 0.56),
        graded_value=0.04,
    )
    page = Report([m], "pass", {}).to_html()
    assert "[0.04, 0.56]" in page and "lower bound 0.04: pass &lt;= 0.1" in page


def test_headline_verdicts_for_every_group_with_reasons(report):
    verdicts = report.verdicts
    assert list(verdicts) == ["fidelity", "utility", "privacy"]
    for group, found in verdicts.items():
        assert found["verdict"] in ("pass", "warn", "fail", "skipped"), group
        assert found["reasons"] and all(r.endswith(".") for r in found["reasons"])
    assert verdicts["privacy"]["verdict"] == report.privacy_verdict
    page = report.to_html()
    for title in ("Fidelity verdict", "Utility verdict", "Privacy verdict"):
        assert title in page
    assert json.loads(report.to_json())["verdicts"] == verdicts


def test_group_verdict_is_the_worst_graded_metric_with_its_numbers():
    def graded(name, value):
        return MetricResult.graded(
            name, "fidelity", value, 0.5, "closer to 0.5", "at_most", 0.6, 0.75, ""
        )

    found = group_verdict([graded("detection_auc", 0.97), graded("other", 0.5)], "fidelity")
    assert found["verdict"] == "fail"
    assert found["reasons"] == ["detection_auc = 0.97: fail (pass <= 0.6, warn <= 0.75)."]
    skipped = MetricResult.skipped("r2_gap", "utility", 0.0, "lower", "", "no target given")
    assert group_verdict([skipped], "utility") == {
        "verdict": "skipped",
        "reasons": ["No utility metric was graded: no target given."],
    }


def test_generator_and_data_are_named(report):
    assert report.meta["generator"] == "copula" and report.meta["data_name"] == "people.csv"
    page = report.to_html()
    assert "Generator: <b>" in page and "copula" in page and "people.csv" in page


def test_heavy_tailed_columns_get_a_log_scale(report):
    dists = {d["column"]: d for d in report._artifacts["distributions"]}
    assert dists["income"]["scale"] == "log" and dists["x"]["scale"] == "linear"
    edges = np.asarray(dists["income"]["edges"])
    assert np.diff(np.log10(1 + edges)).std() < 1e-9  # bins even on the log scale
    assert "(log scale)" in report.to_html()


def test_long_labels_are_cut_with_the_full_text_kept(report):
    page = report.to_html()
    assert f"<title>{LONG_LABEL}</title>" in page
    assert f"<title>{LONG_COLUMN}</title>" in page
    assert ">a category label far too…<" in page  # what the plot shows


def test_report_without_export_has_no_export_section(report):
    assert "What the export did" not in report.to_html()


def test_summary_dataframe_keeps_working_with_the_interval_column(report):
    s = report.summary()
    assert isinstance(s, pd.DataFrame) and "interval" in s.columns
    with_interval = s.loc[s["interval"] != "", "metric"]
    assert (with_interval.str.endswith("_risk") | with_interval.str.startswith("mia_")).all()
    assert {"mia_auc", "mia_tpr", "mia_vulnerable_tpr"} <= set(with_interval)


def test_evaluating_a_table_does_not_load_torch():
    # sdmetrics imports torch for a metric we do not use; it cost a copula export seconds
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(here)!r})\n"
        "from eval_helpers import FAST, make_frame\n"
        "from synthgen.evaluation import evaluate\n"
        "r = evaluate(make_frame(200, 0), make_frame(200, 1), holdout=make_frame(100, 2),"
        " limits=FAST)\n"
        "assert r['column_shapes'].value > 0.5\n"
        "print('torch' in sys.modules)\n"
        "import torch\n"
        "print(torch.zeros(1).shape)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        cwd=here.parents[2],  # the repository root: this checkout's synthgen comes first
    ).stdout.split()
    assert out == ["False", "torch.Size([1])"]
