"""Report contents, export formats and the optional inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from eval_helpers import FAST, make_frame

from synthgen.evaluation import VERDICT_METRICS, PrivacyThresholds, Report, evaluate

EVIL_COLUMN = "<script>alert(1)</script>"
EVIL_VALUE = '<img src=x onerror="alert(2)">'


@pytest.fixture(scope="module")
def full_report() -> Report:
    train, syn, holdout = make_frame(300, 0), make_frame(300, 1), make_frame(200, 2)
    return evaluate(train, syn, holdout=holdout, target="label", limits=FAST)


def test_summary_lists_every_metric_with_status(full_report):
    s = full_report.summary()
    assert list(s.columns) == [
        "group",
        "metric",
        "value",
        "interval",
        "ideal",
        "direction",
        "thresholds",
        "status",
        "explanation",
    ]
    expected = {
        "column_shapes",
        "column_pair_trends",
        "missing_value_similarity",
        "category_coverage",
        "range_coverage",
        "detection_auc",
        "alpha_precision",
        "beta_recall",
        "tstr_roc_auc",
        "trtr_roc_auc",
        "roc_auc_gap",
        "tstr_f1_macro",
        "trtr_f1_macro",
        "f1_macro_gap",
        "dcr_share",
        "exact_copy_rate",
        "exact_copy_excess",
        "nndr",
        "mia_auc",
        "mia_vulnerable_tpr",
        "mia_tpr",
        "singling_out_risk",
        "linkability_risk",
        "attribute_inference_risk",
        "attribute_inference_model_risk",
    }
    assert set(s["metric"]) == expected
    assert set(s["status"]) <= {"pass", "warn", "fail", "info"}
    assert s["explanation"].str.len().min() > 20
    assert set(s["direction"]) <= {"higher", "lower", "closer to 0.5"}
    assert full_report.privacy_verdict in ("pass", "warn", "fail")


def test_independent_draw_is_private_and_faithful(full_report):
    r = full_report
    assert r["exact_copy_rate"].value == 0.0
    assert r["column_shapes"].status == "pass"
    for name in VERDICT_METRICS:
        assert r[name].status in ("pass", "warn"), name


def test_json_round_trip(full_report, tmp_path):
    path = tmp_path / "r.json"
    text = full_report.to_json(path)
    loaded = json.loads(path.read_text())
    assert loaded == json.loads(text) == full_report.to_dict()
    by_name = {m["name"]: m for m in loaded["metrics"]}
    assert by_name["dcr_share"]["value"] == pytest.approx(full_report["dcr_share"].value)
    assert loaded["privacy_verdict"] == full_report.privacy_verdict


def test_json_writes_null_for_nan_and_skipped(tmp_path):
    train = make_frame(100, 0)
    report = evaluate(train, make_frame(100, 1), limits=FAST)  # no holdout
    text = report.to_json(tmp_path / "r.json")
    assert "NaN" not in text
    by_name = {m["name"]: m for m in json.loads(text)["metrics"]}
    assert by_name["detection_auc"]["value"] is None
    assert by_name["detection_auc"]["status"] == "skipped"
    assert by_name["detection_auc"]["reason"] == "no holdout given"


def test_without_holdout_verdict_is_never_pass():
    train = make_frame(200, 0)
    report = evaluate(train, make_frame(200, 1), target="label", limits=FAST)
    assert report.privacy_verdict == "warn"
    for name in ("dcr_share", "mia_auc", "linkability_risk", "roc_auc_gap"):
        assert report[name].status == "skipped"
        assert "holdout" in report[name].reason
    assert report["exact_copy_excess"].status == "pass"


def test_without_target_utility_is_skipped(frames):
    train, syn, holdout = frames
    report = evaluate(train, syn, holdout=holdout, limits=FAST)
    assert report["utility"].status == "skipped"
    assert report["utility"].reason == "no target given"


def test_regression_target(frames):
    train, syn, holdout = frames
    report = evaluate(train, syn, holdout=holdout, target="x", limits=FAST)
    assert report["tstr_r2"].value > 0.5
    assert report["r2_gap"].status in ("pass", "warn", "fail")
    with pytest.raises(KeyError):
        report["tstr_roc_auc"]


def test_multiclass_target(frames):
    train, syn, holdout = frames
    report = evaluate(train, syn, holdout=holdout, target="g", limits=FAST)
    assert 0.0 <= report["tstr_roc_auc"].value <= 1.0
    assert 0.0 <= report["tstr_f1_macro"].value <= 1.0


def test_id_and_constant_columns_are_excluded(frames):
    train, syn, holdout = (f.assign(const=7, row_id=np.arange(len(f))) for f in frames)
    report = evaluate(train, syn, holdout=holdout, limits=FAST)
    assert report.meta["excluded"] == {"const": "constant column", "row_id": "id column"}
    assert "row_id" not in report["column_shapes"].details["per_column"]


def test_html_escapes_names_and_values(tmp_path):
    frames = []
    for seed in (0, 1, 2):
        f = make_frame(120, seed).rename(columns={"g": EVIL_COLUMN})
        f[EVIL_COLUMN] = f[EVIL_COLUMN].replace("a", EVIL_VALUE)
        frames.append(f)
    report = evaluate(frames[0], frames[1], holdout=frames[2], target=EVIL_COLUMN, limits=FAST)
    page = report.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == page
    assert EVIL_COLUMN not in page and EVIL_VALUE not in page
    assert "<script" not in page.lower() and 'onerror="' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http://" not in page and "https://" not in page  # standalone
    assert page.count("<svg ") >= 8  # plots are inline SVG
    assert EVIL_COLUMN not in report._repr_html_()


def test_html_lists_verdict_and_every_metric(full_report):
    page = full_report.to_html()
    assert page.startswith("<!DOCTYPE html>")
    for name in full_report.summary()["metric"]:
        assert f"<td>{name}</td>" in page
    assert f"verdict {full_report.privacy_verdict}" in page


def test_thresholds_change_the_verdict(frames):
    train, syn, holdout = frames
    strict = PrivacyThresholds(mia_vulnerable_tpr_pass=-1.0, mia_vulnerable_tpr_warn=-1.0)
    report = evaluate(train, syn, holdout=holdout, thresholds=strict, limits=FAST)
    assert report["mia_vulnerable_tpr"].status == "fail"
    assert report.privacy_verdict == "fail"


def test_same_seed_same_numbers(frames):
    train, syn, holdout = frames
    a = evaluate(train, syn, holdout=holdout, random_state=3, limits=FAST).summary()
    b = evaluate(train, syn, holdout=holdout, random_state=3, limits=FAST).summary()
    pd.testing.assert_frame_equal(a, b)


def test_global_random_state_untouched(frames):
    train, syn, holdout = frames
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    evaluate(train, syn, holdout=holdout, limits=FAST)
    assert np.array_equal(np.random.get_state()[1], before)


def test_verbose_shows_progress(frames, capsys):
    train, syn, holdout = frames
    evaluate(train, syn, holdout=holdout, verbose=True, limits=FAST)
    err = capsys.readouterr().err
    assert "evaluating" in err


def test_dates_as_strings_equal_dates_as_datetimes(frames):
    as_text = [f.assign(when=f["when"].dt.strftime("%Y-%m-%d")) for f in frames]
    a = evaluate(*frames[:2], holdout=frames[2], limits=FAST)
    b = evaluate(as_text[0], as_text[1], holdout=as_text[2], limits=FAST)
    assert b.meta["columns"]["when"] == "datetime"
    assert a["column_shapes"].value == pytest.approx(b["column_shapes"].value, abs=1e-12)
    assert a["dcr_share"].value == pytest.approx(b["dcr_share"].value, abs=1e-12)


def test_given_schema_text_is_categorical(frames):
    from synthgen.schema import Schema

    train, syn, holdout = frames
    schema = Schema.infer(train, kinds={"g": "text"})
    report = evaluate(train, syn, holdout=holdout, schema=schema, limits=FAST)
    assert report.meta["columns"]["g"] == "text"
    assert "g" in report["category_coverage"].details["per_column"]


def test_evaluation_does_not_import_generators():
    from pathlib import Path

    import synthgen.evaluation

    for path in Path(synthgen.evaluation.__file__).parent.rglob("*.py"):  # attacks/ too
        assert "synthgen.generators" not in path.read_text(encoding="utf-8"), path.name
