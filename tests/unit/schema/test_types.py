"""Dtypes are taken and given back, or refused up front naming the column (issue 21, finding 6)."""

import datetime
import decimal

import numpy as np
import pandas as pd
import pytest

import synthgen as sg


def _with(column: pd.Series, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"c": column, "x": rng.normal(size=n)})


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (np.arange(120) + 1j, "complex numbers"),
        ([decimal.Decimal(i % 7) for i in range(120)], "Decimal cells"),
        ([b"ab", b"cd"] * 60, "bytes cells"),
        (pd.period_range("2020-01", periods=120, freq="M"), "Period cells"),
        ([pd.Period("2020-01", "M")] * 120, "Period cells"),
        (pd.interval_range(0, 120), "Interval cells"),
        (pd.cut(np.arange(120), 4), "categories that are Interval cells"),
        ([[i, i + 1] for i in range(120)], r"nested cells \(list\)"),
        ([{"a": i} for i in range(120)], r"nested cells \(dict\)"),
        (["a", ["b"]] * 60, r"nested cells \(list\)"),
        ([datetime.date(2020, 1, 1 + i % 28) for i in range(120)], "datetime.date cells"),
    ],
)
def test_cells_synthgen_cannot_store_are_refused_at_fit(cells, message):
    data = _with(pd.Series(cells))
    for model in (sg.make_generator("copula"), sg.make_generator("vae", epochs=1)):
        with pytest.raises(sg.DataError, match=f"column 'c' holds {message}"):
            model.fit(data)


def test_unsigned_64_bit_integers_near_the_top_do_not_wrap(tmp_path):
    rng = np.random.default_rng(0)
    top = np.uint64(2**64 - 1)
    values = top - rng.integers(0, 2**14, 300).astype(np.uint64)  # many round to 2**64
    data = pd.DataFrame({"u": values, "x": rng.normal(size=300)})
    model = sg.make_generator("copula", random_state=0).fit(data)
    model.save(tmp_path / "m.sgm")
    for out in (model.sample(2000), sg.load(tmp_path / "m.sgm").sample(2000)):
        assert out["u"].dtype == np.uint64
        # A wrap-around gives values near 0; the data lies within 2**14 of the top.
        assert (out["u"] >= values.min() - np.uint64(2**12)).all()


@pytest.mark.parametrize("key", ["copula", "vae"])
def test_durations_are_numeric_and_come_back_as_durations(key, tmp_path):
    rng = np.random.default_rng(1)
    hours = pd.Series(pd.to_timedelta(rng.integers(1, 500, 300), unit="h"))
    hours[5] = pd.NaT
    data = pd.DataFrame({"d": hours, "x": rng.normal(size=300)})
    schema = sg.Schema.infer(data)
    assert schema["d"].kind == "numeric" and schema["d"].dtype == "timedelta64[ns]"
    params = {"epochs": 2, "device": "cpu"} if key == "vae" else {}
    model = sg.make_generator(key, random_state=0, **params).fit(data)
    model.save(tmp_path / "m.sgm")
    for out in (model.sample(400, random_state=0), sg.load(tmp_path / "m.sgm").sample(400)):
        assert out["d"].dtype == "timedelta64[ns]"
        got = out["d"].dropna()
        # Learned as numbers, not as a list of the training values.
        assert got.nunique() > 50 and not set(got).issubset(set(hours.dropna()))
        assert got.min() >= pd.Timedelta(0) and got.max() <= pd.Timedelta(hours=500)
