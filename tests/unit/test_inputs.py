"""Tables as users hold them (issue 16, finding 7): polars and pyarrow inputs are taken
as they are, converted to pandas once at the boundary."""

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import synthgen as sg
from synthgen.exceptions import DataError


@pytest.fixture()
def frame():
    n = 60
    return pd.DataFrame(
        {
            "x": [float(i % 13) + 0.5 for i in range(n)],
            "c": [["a", "b", "c"][i % 3] for i in range(n)],
        }
    )


@pytest.mark.parametrize(
    "convert",
    [pl.from_pandas, lambda f: pl.from_pandas(f).lazy(), pa.Table.from_pandas],
    ids=["polars", "polars-lazy", "pyarrow"],
)
def test_polars_and_pyarrow_tables_are_fitted_like_pandas(frame, convert):
    expected = sg.make_generator("copula", random_state=0).fit(frame).sample(20)
    model = sg.make_generator("copula", random_state=0).fit(convert(frame))
    pd.testing.assert_frame_equal(model.sample(20), expected)
    assert sg.Schema.infer(convert(frame)) == sg.Schema.infer(frame)


def test_evaluate_takes_polars_frames(frame):
    report = sg.evaluate(real=pl.from_pandas(frame), synthetic=pl.from_pandas(frame), verbose=False)
    assert report.summary().shape[0] > 0


def test_other_objects_are_refused_by_name():
    with pytest.raises(DataError, match=r"polars DataFrame or a pyarrow Table, got builtins\.dict"):
        sg.make_generator("copula").fit({"x": [1, 2]})
