"""decode(encode(x)) gives x back: property tests over every encoder setting.

Exactness is what ``min_count=1`` promises (every label and the exact extremes are stored);
the default schema leaves out what few rows hold (tested in tests/unit/schema/test_safe.py).
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import synthgen as sg
from synthgen.transforms import TableEncoder

SETTINGS = [
    ("quantile", "onehot"),
    ("quantile", "frequency"),
    ("gmm", "onehot"),
    ("minmax", "index"),
]

labels = st.text(alphabet=st.sampled_from(list("ab ?\t_-é")), min_size=0, max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(st.one_of(labels, st.none()), min_size=3, max_size=40),
    setting=st.sampled_from(SETTINGS),
)
def test_categorical_round_trip_is_exact(values, setting):
    # Missing cells as pandas reads them (NaN); decoding writes NaN back.
    df = pd.DataFrame({"c": pd.Series([np.nan if v is None else v for v in values], dtype=object)})
    if df["c"].isna().all() or df["c"].dropna().nunique() < 2:
        return
    schema = sg.Schema.infer(df, kinds={"c": "categorical"}, min_count=1)
    enc = TableEncoder(*setting).fit(df, schema, random_state=0)
    back = enc.inverse_transform(enc.transform(df, random_state=1), random_state=2)
    pd.testing.assert_frame_equal(back, df)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(
        st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 3)),
            st.none(),
        ),
        min_size=5,
        max_size=60,
    ),
    setting=st.sampled_from(SETTINGS),
)
def test_numeric_round_trip_within_tolerance_and_nan_where_nan(values, setting):
    df = pd.DataFrame({"x": pd.Series(values, dtype=float)})
    observed = df["x"].dropna()
    if observed.nunique() < 2:
        return
    schema = sg.Schema.infer(df, kinds={"x": "numeric"}, min_count=1)
    enc = TableEncoder(*setting).fit(df, schema, random_state=0)
    back = enc.inverse_transform(enc.transform(df, random_state=1), random_state=2)
    assert back["x"].isna().equals(df["x"].isna())
    width = float(observed.max() - observed.min())
    np.testing.assert_allclose(
        back["x"].dropna().to_numpy(), observed.to_numpy(), atol=1e-3 + 1e-5 * width
    )


@pytest.mark.parametrize("setting", SETTINGS)
def test_mixed_table_round_trip_restores_dtypes_and_labels(mixed, setting):
    schema = sg.Schema.infer(mixed, min_count=1)
    enc = TableEncoder(*setting).fit(mixed, schema, random_state=0)
    back = enc.inverse_transform(enc.transform(mixed, random_state=0), random_state=0)
    modelled = [c.name for c in schema if c.is_modelled]
    pd.testing.assert_frame_equal(back[modelled], mixed[modelled])
    assert back["country"].eq("NL").all() and back["empty"].isna().all()
    assert back["customer_id"].is_unique


@pytest.mark.parametrize("setting", SETTINGS)
def test_decoded_columns_are_their_own_memory(mixed, setting):
    """Decoding reads a column-major copy of the matrix and no longer copies each column
    afterwards: no decoded column may share memory with the matrix, another column, or the
    encoder's state (editing a sample must not change the model), and the matrix is left
    as it was."""
    schema = sg.Schema.infer(mixed)
    enc = TableEncoder(*setting).fit(mixed, schema, random_state=0)
    matrix = enc.transform(mixed, random_state=1)
    before = matrix.copy()
    back = enc.inverse_transform(matrix, random_state=2)
    np.testing.assert_array_equal(matrix, before)
    arrays = {c: np.asarray(back[c].array) for c in back.columns}
    for c, a in arrays.items():
        assert not np.shares_memory(a, matrix), c
        assert not any(np.shares_memory(a, b) for d, b in arrays.items() if d != c), c
    twice = enc.inverse_transform(matrix, random_state=2)
    for c in back.columns:
        back[c] = back[c].iloc[::-1].to_numpy()  # overwrite every decoded cell
    pd.testing.assert_frame_equal(enc.inverse_transform(matrix, random_state=2), twice)


def test_adult_raw_round_trip_is_exact():
    raw = sg.datasets.load_adult_raw().head(3000)
    schema = sg.Schema.infer(raw, min_count=1)
    for setting in SETTINGS:
        enc = TableEncoder(*setting).fit(raw, schema, random_state=0)
        back = enc.inverse_transform(enc.transform(raw, random_state=0), random_state=0)
        pd.testing.assert_frame_equal(back, raw)


def test_spans_tile_the_matrix(mixed):
    schema = sg.Schema.infer(mixed)
    enc = TableEncoder("gmm", "onehot").fit(mixed, schema, random_state=0)
    position = 0
    for span in enc.spans:
        assert span.start == position
        position = span.end
    assert position == enc.output_dim == enc.transform(mixed, random_state=0).shape[1]
    roles = {(s.column, s.role) for s in enc.spans}
    assert ("income", "missing") in roles and ("income", "mode") in roles
    assert ("age", "missing") not in roles


def test_encoder_state_round_trip(mixed):
    schema = sg.Schema.infer(mixed)
    enc = TableEncoder("gmm", "onehot").fit(mixed, schema, random_state=0)
    again = TableEncoder.from_state(enc.get_state(), schema)
    matrix = enc.transform(mixed, random_state=3)
    pd.testing.assert_frame_equal(
        again.inverse_transform(matrix, random_state=0),
        enc.inverse_transform(matrix, random_state=0),
    )


def test_unseen_category_and_unexpected_missing_are_named(mixed):
    schema = sg.Schema.infer(mixed)
    enc = TableEncoder().fit(mixed, schema, random_state=0)
    with pytest.raises(sg.SchemaError, match="column 'tier': categories not seen"):
        enc.transform(mixed.assign(tier="ultra"), random_state=0)
    with pytest.raises(sg.SchemaError, match="column 'age': has missing values"):
        enc.transform(mixed.assign(age=np.nan), random_state=0)


def test_bad_encoder_settings_are_refused(mixed):
    schema = sg.Schema.infer(mixed)
    with pytest.raises(sg.ConfigurationError, match="numeric must be one of"):
        TableEncoder(numeric="nope").fit(mixed, schema)
    for name, value in [("spike_share", 0.0), ("spike_ratio", -1.0), ("max_discrete", 2.5)]:
        with pytest.raises(sg.ConfigurationError, match=name):
            TableEncoder(numeric="gmm", **{name: value}).fit(mixed, schema)


@pytest.mark.parametrize("other_label", ["(other)", None])
def test_object_column_decodes_a_missing_cell_as_nan_not_none(other_label):
    """Missing cells come back as NaN (what pandas reads), also in a column whose every label
    is too rare to give back: pooled under an "other" label, or with no label at all."""
    from synthgen.schema import ColumnSpec
    from synthgen.transforms.columns import make_column_encoder

    values = pd.Series([f"rare-{i}" for i in range(60)], dtype=object)
    values[::4] = np.nan
    spec = ColumnSpec(
        name="c", kind="categorical", dtype="object", missing_rate=0.25, categories=[],
        pooled=True, other_label=other_label,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    enc = make_column_encoder(spec, numeric="quantile", discrete="frequency").fit(values, rng)
    back = enc.inverse(enc.transform(values, rng), rng)
    assert back.dtype == object
    missing = [v for v in back if not isinstance(v, str)]
    assert len(missing) >= 15 and all(isinstance(v, float) and np.isnan(v) for v in missing)
