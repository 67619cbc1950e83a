"""Columns with many labels: bounded code width in the encoders and the copula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen import Schema
from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.generators.baselines import GaussianCopula
from synthgen.transforms import TableEncoder
from synthgen.transforms.capped import DEFAULT_MAX_CODES


def _zipf_table(n_rows: int, n_labels: int, seed: int = 0) -> pd.DataFrame:
    """A numeric column and a label column whose frequencies fall off like 1/rank."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_labels + 1)
    idx = rng.choice(n_labels, n_rows, p=p / p.sum())
    return pd.DataFrame({"x": rng.normal(size=n_rows) + idx % 7, "m": [f"m{i:06d}" for i in idx]})


@pytest.mark.parametrize("discrete", ["onehot", "index"])
def test_many_labels_bounded_width_and_shape_kept(discrete):
    df = _zipf_table(6000, 2000)
    schema = Schema.infer(df, min_count=1)
    assert len(schema["m"].categories) > DEFAULT_MAX_CODES  # the column is past the cap
    enc = TableEncoder("quantile", discrete).fit(df, schema, random_state=0)
    col = next(e for e in enc.encoders_ if e.spec.name == "m")
    assert col.n_codes == DEFAULT_MAX_CODES
    width = sum(s.dim for s in enc.spans if s.column == "m")
    assert width == (DEFAULT_MAX_CODES if discrete == "onehot" else 1)
    back = enc.inverse_transform(enc.transform(df, random_state=1), random_state=2)
    # Frequent labels come back exactly; tail labels are drawn by frequency among the tail.
    top = df["m"].value_counts().index[:50]
    is_top = df["m"].isin(top)
    assert (back["m"][is_top] == df["m"][is_top]).all()
    assert not (back["m"][~is_top] == df["m"][~is_top]).all()
    assert set(back["m"]) <= set(schema["m"].categories)
    real = df["m"].value_counts(normalize=True)
    synth = back["m"].value_counts(normalize=True).reindex(real.index, fill_value=0)
    assert 0.5 * np.abs(real - synth).sum() < 0.1


def test_few_labels_unchanged_by_the_cap():
    df = _zipf_table(600, 30)
    schema = Schema.infer(df, min_count=1)
    capped = TableEncoder("quantile", "onehot").fit(df, schema, random_state=0)
    free = TableEncoder("quantile", "onehot", max_codes=None).fit(df, schema, random_state=0)
    np.testing.assert_array_equal(
        capped.transform(df, random_state=1), free.transform(df, random_state=1)
    )
    assert "cap" not in capped.get_state()["columns"][1]


def test_capped_encoder_state_round_trip_and_checks():
    df = _zipf_table(3000, 1000)
    schema = Schema.infer(df, min_count=1)
    enc = TableEncoder("quantile", "onehot", max_codes=16).fit(df, schema, random_state=0)
    state = enc.get_state()
    again = TableEncoder.from_state(state, schema)
    matrix = enc.transform(df, random_state=1)
    np.testing.assert_array_equal(again.transform(df, random_state=1), matrix)
    pd.testing.assert_frame_equal(
        again.inverse_transform(matrix, random_state=3),
        enc.inverse_transform(matrix, random_state=3),
    )
    state["columns"][1]["cap"]["kept"] = [5, 2]
    with pytest.raises(PersistenceError, match=r"'m'.*kept"):
        TableEncoder.from_state(state, schema)


def test_bad_max_codes():
    df = _zipf_table(50, 5)
    with pytest.raises(ConfigurationError, match="max_codes"):
        TableEncoder(max_codes=2).fit(df, Schema.infer(df), random_state=0)


def test_copula_many_labels_no_label_by_label_matrix():
    """20k stored labels: the copula's encoding stays one score per column, and the category
    ordering's one-hot helper is capped (a 20k x 20k matrix would need 3 GB)."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(20_000), 2)
    df = pd.DataFrame({"m": [f"k{i}" for i in labels], "x": labels % 11 + rng.normal(size=40_000)})
    schema = Schema.infer(df, min_count=2)
    assert len(schema["m"].categories) == 20_000
    model = GaussianCopula(random_state=0).fit(df, schema=schema)
    assert model.encoder_.output_dim == 2
    assert model.correlation_.shape == (2, 2)
    aux = TableEncoder("quantile", "onehot").fit(df, schema, random_state=0)
    assert aux.output_dim <= DEFAULT_MAX_CODES + 1
    out = model.sample(500, random_state=1)
    assert out["m"].isin(schema["m"].categories).all()


@pytest.mark.parametrize("key", sg.list_generators())
def test_every_generator_bounded_width_for_many_labels(key):
    """A 400-label column never gets more than the cap's codes, in any family."""
    df = _zipf_table(1600, 400, seed=1)
    schema = Schema.infer(df, min_count=1)
    cls = type(sg.make_generator(key))
    model = sg.make_generator(key, random_state=0, **cls._fast_params()).fit(df, schema=schema)
    widths = [s.dim for s in model.encoder_.spans if s.column == "m"]
    assert widths and max(widths) <= DEFAULT_MAX_CODES
    out = model.sample(200, random_state=1)
    assert out["m"].dropna().isin(model.schema_["m"].categories or []).all()


def test_capped_model_saves_and_loads(tmp_path):
    df = _zipf_table(1200, 400, seed=2)
    schema = Schema.infer(df, min_count=1)
    cls = type(sg.make_generator("gan"))
    model = sg.make_generator("gan", random_state=0, **cls._fast_params()).fit(df, schema=schema)
    model.save(tmp_path / "m.sgm")
    back = sg.load(tmp_path / "m.sgm")
    pd.testing.assert_frame_equal(
        back.sample(300, random_state=4), model.sample(300, random_state=4)
    )


def test_category_order_of_a_short_table_too_wide_to_score_whole():
    """Fewer rows than the sample the chunked scoring standardises with (a table of
    thousands of columns and a few thousand rows): every row is used, and the scores match
    those of the whole table in memory."""
    from synthgen.transforms.table import _first_component

    rng = np.random.default_rng(0)
    z = rng.normal(size=60)
    df = pd.DataFrame({f"c{j}": np.where(z + rng.normal(size=60) > 0, "a", "b") for j in range(8)})
    df["x"] = z
    schema = Schema.infer(df)
    whole = _first_component(df, schema, np.random.default_rng(1))
    chunked = _first_component(df, schema, np.random.default_rng(1), max_rows=100, chunk_rows=10)
    assert chunked.shape == (60,) and np.isfinite(chunked).all()
    assert abs(np.corrcoef(whole, chunked)[0, 1]) > 0.999
