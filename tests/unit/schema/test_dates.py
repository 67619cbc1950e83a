"""Dates as users have them (issue 16, finding 5): a few values that are no date, mixed
formats, integer dates, years outside pandas' nanosecond range, time zones."""

import json
import warnings
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.cli import main
from synthgen.exceptions import DataWarning, SchemaError

N = 200


@pytest.fixture()
def days():
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2020-01-01")
    return [start + pd.Timedelta(days=int(k)) for k in rng.integers(0, 900, N)]


def _fit_sample(frame, key="copula", n=300):
    model = sg.make_generator(key, random_state=0).fit(frame)
    return model, model.sample(n)


def _parses(values, fmt):
    return pd.to_datetime(pd.Series(values).dropna().astype(str), format=fmt, errors="coerce")


def test_one_unknown_among_dates_is_missing_with_a_warning(days):
    text = [d.strftime("%Y-%m-%d") for d in days]
    text[7] = "unknown"
    frame = pd.DataFrame({"visit": text, "g": ["a", "b"] * (N // 2)})
    with pytest.warns(DataWarning, match=r"column 'visit': 1 of 200 values are no date"):
        schema = sg.Schema.infer(frame)
    spec = schema["visit"]
    assert spec.kind == "datetime" and spec.datetime_format == "%Y-%m-%d"
    assert spec.missing_rate == pytest.approx(1 / N)
    with pytest.warns(DataWarning):
        _, out = _fit_sample(frame)
    assert "unknown" not in set(out["visit"])
    assert _parses(out["visit"], "%Y-%m-%d").notna().all()
    schema.validate(frame)  # the spec takes such values as missing


def test_too_many_values_that_are_no_date_leave_the_column_alone(days):
    text = [d.strftime("%Y-%m-%d") for d in days]
    for i in range(0, N, 10):  # 10%
        text[i] = "unknown"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sg.Schema.infer(pd.DataFrame({"visit": text}))["visit"].kind != "datetime"


def test_mixed_formats_are_read_and_written_in_the_main_one(days):
    text = [d.strftime("%d/%m/%Y" if i % 4 == 0 else "%Y-%m-%d") for i, d in enumerate(days)]
    frame = pd.DataFrame({"visit": text})
    with pytest.warns(DataWarning, match=r"2 formats.*written as '%Y-%m-%d'"):
        schema = sg.Schema.infer(frame)
    spec = schema["visit"]
    assert spec.kind == "datetime" and spec.extra["date_formats"] == ["%d/%m/%Y"]
    assert spec.missing_rate == 0.0
    with pytest.warns(DataWarning):
        _, out = _fit_sample(frame)
    assert _parses(out["visit"], "%Y-%m-%d").notna().all()
    parsed = pd.to_datetime(out["visit"], format="%Y-%m-%d")
    assert parsed.min() >= min(days) and parsed.max() <= max(days)
    strict = sg.ColumnSpec("visit", "datetime", "object", minimum=0.0, maximum=1e18,
                           datetime_format="%Y-%m-%d", datetime_unit="D")  # fmt: skip
    with pytest.raises(SchemaError, match=r"column 'visit': \d+ value\(s\) do not parse"):
        sg.Schema([strict]).validate(frame)


@pytest.mark.parametrize("missing", [False, True])
def test_integer_dates_come_back_as_integer_dates(days, missing):
    values = pd.Series([int(d.strftime("%Y%m%d")) for d in days], dtype="int64")
    if missing:
        values = values.astype(float).mask(np.arange(N) % 9 == 0)  # as a CSV reads them
    frame = pd.DataFrame({"day": values})
    schema = sg.Schema.infer(frame)
    assert schema["day"].kind == "datetime" and schema["day"].datetime_format == "%Y%m%d"
    _, out = _fit_sample(frame)
    assert out["day"].dtype == values.dtype
    assert _parses(out["day"].dropna().astype("int64"), "%Y%m%d").notna().all()
    assert out["day"].isna().any() == missing


def test_eight_digit_numbers_that_are_no_dates_stay_numbers():
    frame = pd.DataFrame({"n": np.arange(20_240_100, 20_240_100 + N)})  # days up to 299
    assert sg.Schema.infer(frame)["n"].kind != "datetime"


def test_dates_before_1677_round_trip_as_text_and_as_datetime64_s(tmp_path):
    text = [f"{1500 + i}-0{1 + i % 9}-1{i % 9}" for i in range(N)]
    native = pd.Series(np.array([f"{1200 + i}-03-01" for i in range(N)], dtype="datetime64[s]"))
    frame = pd.DataFrame({"text": text, "native": native})
    schema = sg.Schema.infer(frame)
    assert schema["text"].kind == "datetime" and schema["native"].kind == "datetime"
    model, out = _fit_sample(frame)
    years = [datetime.strptime(v, "%Y-%m-%d").year for v in out["text"]]  # not in pandas 2
    assert min(years) >= 1500 and max(years) <= 1700
    assert out["native"].dtype == "datetime64[s]"
    assert out["native"].dt.year.between(1200, 1400).all()
    path = tmp_path / "m.sgm"
    model.save(path)
    pd.testing.assert_frame_equal(sg.load(path).sample(50, random_state=3),
                                  model.sample(50, random_state=3))  # fmt: skip


def test_time_zone_aware_dates_round_trip_with_their_zone(days, tmp_path):
    stamps = pd.Series(pd.to_datetime(days)) + pd.to_timedelta(np.arange(N) % 24, unit="h")
    frame = pd.DataFrame({"at": stamps.dt.tz_localize("Europe/Paris")})
    model, out = _fit_sample(frame)
    assert out["at"].dtype == frame["at"].dtype and str(out["at"].dt.tz) == "Europe/Paris"
    low, high = frame["at"].min(), frame["at"].max()
    assert out["at"].between(low, high).all()
    path = tmp_path / "m.sgm"
    model.save(path)
    assert sg.load(path).sample(5)["at"].dtype == out["at"].dtype


@pytest.mark.parametrize("key", ["marginals", "dp_marginals"])
def test_other_generators_take_the_same_dates(days, key):
    text = [d.strftime("%Y-%m-%d") for d in days]
    text[3] = "unknown"
    frame = pd.DataFrame(
        {
            "visit": text,
            "day": [int(d.strftime("%Y%m%d")) for d in days],
            "at": pd.Series(pd.to_datetime(days)).dt.tz_localize("UTC"),
        }
    )
    with pytest.warns(DataWarning):
        _, out = _fit_sample(frame, key)
    assert _parses(out["visit"], "%Y-%m-%d").notna().all() and "unknown" not in set(out["visit"])
    assert out["day"].dtype == "int64" and _parses(out["day"], "%Y%m%d").notna().all()
    assert out["at"].dtype == frame["at"].dtype and str(out["at"].dt.tz) == "UTC"


def test_export_and_evaluate_take_such_dates(days, tmp_path):
    text = [d.strftime("%Y-%m-%d") for d in days]
    text[3] = "unknown"
    frame = pd.DataFrame(
        {
            "visit": text,
            "old": [f"{1500 + i}-01-01" for i in range(N)],
            "at": pd.Series(pd.to_datetime(days)).dt.tz_localize("Asia/Tokyo"),
            "g": ["a", "b"] * (N // 2),
        }
    )
    with pytest.warns(DataWarning):
        result = sg.export(frame, output=tmp_path / "o.csv", force=True, verbose=False)
    assert result.synthetic["at"].dtype == frame["at"].dtype
    assert str(result.synthetic["at"].dt.tz) == "Asia/Tokyo"
    with pytest.warns(DataWarning):
        report = sg.evaluate(real=frame, synthetic=result.synthetic, verbose=False)
    assert report.summary().shape[0] > 0


def test_date_extras_in_a_schema_file_are_checked():
    spec = {"name": "d", "kind": "datetime", "dtype": "object", "minimum": 0, "maximum": 1,
            "datetime_format": "%Y", "extra": {"date_formats": "%d"}}  # fmt: skip
    with pytest.raises(SchemaError, match="date_formats must be a list of strings"):
        sg.ColumnSpec.from_dict(spec)
    spec["extra"] = {"bad_dates": "raise"}
    with pytest.raises(SchemaError, match="bad_dates must be 'missing'"):
        sg.ColumnSpec.from_dict(spec)


@pytest.mark.filterwarnings("default::UserWarning")
def test_cli_reads_dates_with_a_bad_value_from_csv(days, tmp_path, capsys):
    data, model, out = tmp_path / "d.csv", tmp_path / "m.sgm", tmp_path / "o.csv"
    rows = [f"{d.strftime('%Y-%m-%d')},{i % 3}" for i, d in enumerate(days)]
    rows[11] = "not known," + rows[11].split(",")[1]
    data.write_text("visit,g\n" + "\n".join(rows) + "\n")
    assert main(["fit", str(data), "-o", str(model), "-q"]) == 0
    assert "synthgen: warning: column 'visit': 1 of 200 values are no date" in (
        capsys.readouterr().err
    )
    assert main(["sample", str(model), "-n", "100", "-o", str(out), "-q"]) == 0
    written = pd.read_csv(out, dtype=str)["visit"]
    assert _parses(written, "%Y-%m-%d").notna().all()
    schema = json.loads(sg.load(model).schema_.to_json())
    assert schema["columns"][0]["extra"] == {"bad_dates": "missing"}
