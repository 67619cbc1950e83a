"""Column shapes and pair trends must equal sdmetrics' single-table QualityReport exactly."""

from __future__ import annotations

import warnings

import pytest
from eval_helpers import FAST, make_frame

from synthgen.evaluation import evaluate


def _quality_report(real, synthetic, metadata):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        report.generate(real, synthetic, metadata, verbose=False)
    return report.get_properties().set_index("Property")["Score"]


def test_mixed_frame_with_dates_and_missing_matches_quality_report():
    real, synthetic = make_frame(300, 0), make_frame(250, 1)
    metadata = {
        "columns": {
            "x": {"sdtype": "numerical"},
            "y": {"sdtype": "numerical"},
            "c": {"sdtype": "categorical"},
            "g": {"sdtype": "categorical"},
            "when": {"sdtype": "datetime"},
            "label": {"sdtype": "categorical"},
        }
    }
    expected = _quality_report(real, synthetic, metadata)
    report = evaluate(real, synthetic, limits=FAST)
    assert report["column_shapes"].value == pytest.approx(expected["Column Shapes"], abs=1e-9)
    assert report["column_pair_trends"].value == pytest.approx(
        expected["Column Pair Trends"], abs=1e-9
    )
    # the frame has strongly associated pairs, so the trend score is a real number
    assert report["column_pair_trends"].details["per_pair"]


def test_adult_sample_matches_quality_report(adult_split):
    train, holdout = adult_split
    kinds = {"numeric": "numerical", "categorical": "categorical"}
    from synthgen.schema import Schema

    metadata = {"columns": {c.name: {"sdtype": kinds[c.kind]} for c in Schema.infer(train)}}
    expected = _quality_report(train, holdout, metadata)
    report = evaluate(train, holdout, limits=FAST)
    assert report["column_shapes"].value == pytest.approx(expected["Column Shapes"], abs=1e-9)
    assert report["column_pair_trends"].value == pytest.approx(
        expected["Column Pair Trends"], abs=1e-9
    )
