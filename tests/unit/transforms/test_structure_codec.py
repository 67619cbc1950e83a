"""The encoder keeps structure rules: what generators model, decoding, state, marginals."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.schema import FixedCombinations, Schema
from synthgen.testing import make_structured_table
from synthgen.testing.structure import structure_breaks
from synthgen.transforms import TableEncoder
from synthgen.transforms.dtypes import wide_frame

SETTINGS = [
    ("quantile", "onehot"),
    ("gmm", "onehot"),
    ("quantile", "frequency"),
    ("minmax", "index"),
    ("quantile", "index"),
]


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    return make_structured_table(2000)


@pytest.fixture(scope="module")
def schema(listings) -> Schema:
    return Schema.infer(listings)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: "-".join(s))
def test_round_trip_through_the_model_table(listings, setting):
    schema = Schema.infer(listings, min_count=1)  # every label kept: exact round trip
    enc = TableEncoder(*setting).fit(listings, schema, random_state=0)
    columns = {s.column for s in enc.spans}
    assert "borough" not in columns and "district" not in columns  # derived, not modelled
    assert "latitude|longitude cell" in columns
    missing_spans = {s.column for s in enc.spans if s.role == "missing"}
    assert "reviews_per_month" not in missing_spans  # shares the leader's missing flag
    back = enc.inverse_transform(enc.transform(listings, random_state=0), random_state=0)
    exact = [c for c in listings.columns if c not in ("latitude", "longitude")]
    if setting[0] == "quantile":
        exact = ["neighbourhood", "borough", "cadastral", "district", "room_type"]
    pd.testing.assert_frame_equal(back[exact], listings[exact])
    assert (back["last_review"].isna() == listings["last_review"].isna()).all()
    assert (back["reviews_per_month"].isna() == listings["last_review"].isna()).all()
    for name in ("latitude", "longitude"):
        assert np.abs(back[name] - listings[name]).max() < 0.01


def test_a_placeholder_parent_draws_its_child_from_the_pooled_rows(listings, schema):
    """Rare neighbourhoods come back as one placeholder, which has no single borough: its
    rows draw a borough from the boroughs of the pooled rows, so the borough shares stay."""
    hood = schema["neighbourhood"]
    assert hood.pooled and hood.other_label == "(other)"
    enc = TableEncoder("quantile", "onehot").fit(listings, schema, random_state=0)
    assert not {"borough", "district"} & {s.column for s in enc.spans}
    rows = enc.inverse_transform(enc.transform(listings, random_state=0), random_state=0)
    placeholder = rows["neighbourhood"] == "(other)"
    assert placeholder.any() and rows.loc[placeholder, "borough"].nunique() > 1
    assert not structure_breaks(listings, rows, schema.structure, schema=schema)
    pooled = ~listings["neighbourhood"].isin(hood.categories)
    real = listings.loc[pooled, "borough"].value_counts(normalize=True)
    drawn = rows.loc[placeholder, "borough"].value_counts(normalize=True)
    assert (real - drawn).abs().max() < 0.15  # a draw of a few hundred rows


def test_saved_state_decodes_the_same_rows(listings, schema):
    enc = TableEncoder("quantile", "onehot").fit(listings, schema, random_state=0)
    state = json.loads(json.dumps(enc.get_state()))
    again = TableEncoder.from_state(state, Schema.from_json(schema.to_json()))
    matrix = enc.transform(listings.head(300), random_state=1)
    pd.testing.assert_frame_equal(
        again.inverse_transform(matrix, random_state=2),
        enc.inverse_transform(matrix, random_state=2),
    )


def test_any_model_output_decodes_to_rows_that_keep_every_rule(listings, schema):
    enc = TableEncoder("quantile", "onehot").fit(listings, schema, random_state=0)
    noise = np.random.default_rng(0).normal(size=(500, enc.output_dim))
    rows = enc.inverse_transform(noise, random_state=0)
    assert not structure_breaks(listings, rows, schema.structure, schema=schema)
    assert enc.structure_.consistent(rows).all()


def test_mapping_stores_only_labels_the_parent_encoder_keeps(listings, schema):
    counts = listings["neighbourhood"].value_counts()
    rare = counts.index[counts < schema.min_count]
    assert len(rare)
    enc = TableEncoder().fit(listings, schema, random_state=0)
    state = json.dumps(enc.get_state())
    assert not any(f'"{label}"' in state for label in rare)
    (hood,) = [d for d in enc.structure_.derivations if d.child == "borough"]
    assert len(hood.keys) == len(schema["neighbourhood"].categories)  # positions, not labels


def test_a_numeric_child_keeps_only_values_many_rows_hold():
    rng = np.random.default_rng(0)
    level = rng.choice([f"L{i}" for i in range(12)], 1500)
    df = pd.DataFrame({"level": level, "score": [float(v[1:]) * 1.5 for v in level]})
    df.loc[0, ["level", "score"]] = ["odd", 99.25]  # a value one row holds
    schema = Schema.infer(df)
    schema.structure.hierarchies = [sg.schema.structure.Hierarchy("level", "score")]
    enc = TableEncoder().fit(df, schema, random_state=0)
    assert "99.25" not in json.dumps(enc.get_state())
    back = enc.inverse_transform(enc.transform(df, random_state=0), random_state=0)
    assert back["score"].iloc[1:].equals(df["score"].iloc[1:])


def _share(frame: pd.DataFrame) -> pd.Series:
    return frame["borough"].value_counts(normalize=True)


def test_derived_marginals_stay_where_fixed_combinations_shifts_them(listings):
    """Issue 16, finding 6: the copula with FixedCombinations kept pairs consistent by
    rejection and shifted the borough shares; the derived child follows its parent."""
    real = _share(listings)
    model = sg.make_generator("copula", random_state=0).fit(listings)
    out = model.sample(6000, random_state=1)
    assert not structure_breaks(listings, out, model.schema_.structure, schema=model.schema_)
    assert (real - _share(out)).abs().max() < 0.02
    plain = Schema.infer(listings, structure=False)
    plain.add_constraint(FixedCombinations(["neighbourhood", "borough"]))
    rejected = sg.make_generator("copula", random_state=0).fit(listings, plain)
    shift = (real - _share(rejected.sample(6000, random_state=1))).abs().max()
    assert shift > (real - _share(out)).abs().max() + 0.02


def test_dependent_column_shapes_match_the_run_without_rules(listings):
    """Column shapes (TV / KS complement) of the dependent columns, with the rules and
    without them, within 0.02 (the copula, large samples to keep sampling noise small)."""
    from sdmetrics.single_column import KSComplement, TVComplement

    def shapes(schema: Schema) -> dict[str, float]:
        model = sg.make_generator("copula", random_state=0).fit(listings, schema)
        out = model.sample(20_000, random_state=1)
        scores = {}
        for name in ("borough", "district", "reviews_per_month", "latitude", "longitude"):
            metric = TVComplement if schema[name].kind == "categorical" else KSComplement
            scores[name] = metric.compute(listings[name].dropna(), out[name].dropna())
        return scores

    with_rules = shapes(Schema.infer(listings))
    without = shapes(Schema.infer(listings, structure=False))
    for name, score in with_rules.items():
        assert score >= without[name] - 0.02, (name, score, without[name])


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("derivations", 0, "keys"), [10_000], "invalid parent positions"),
        (("derivations", 0, "fallback"), "Bronx", "invalid child values"),
        (("derivations", 0, "child"), "nope", "unknown columns"),
        (("grids", 0, "lat_levels"), [3.0, 1.0], "non-decreasing"),
        (("grids", 0, "size"), 10**6, "size must be"),
        (("groups", 0), ["last_review", ["nope"]], "not in the schema"),
        (("grids",), [{"latitude": "x"}], "invalid saved structure state"),
    ],
)
def test_a_damaged_saved_structure_is_refused(listings, schema, path, value, message):
    from synthgen.exceptions import PersistenceError

    state = json.loads(json.dumps(TableEncoder().fit(listings, schema, random_state=0).get_state()))
    target = state["structure"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(PersistenceError, match=message):
        TableEncoder.from_state(state, schema)


def _outside_share(real: pd.DataFrame, synthetic: pd.DataFrame, k: int = 8) -> float:
    """Share of synthetic points in cells of a k x k grid that no real point occupies."""
    axes = ["latitude", "longitude"]
    low, high = real[axes].min().to_numpy(), real[axes].max().to_numpy()

    def cells(frame: pd.DataFrame) -> np.ndarray:
        pos = ((frame[axes].to_numpy() - low) / (high - low) * k).clip(0, k - 1).astype(int)
        return pos[:, 0] * k + pos[:, 1]

    return float(np.mean(~np.isin(cells(synthetic), cells(real))))


def test_coordinates_are_one_point_even_for_independent_marginals(listings):
    """Issue 16, finding 6: latitude and longitude were two independent numbers, putting
    points where the data has none; as a pair, even a column-by-column model keeps them
    where the points are."""
    pair = sg.make_generator("marginals", random_state=0).fit(listings)
    apart = sg.make_generator("marginals", random_state=0).fit(
        listings, Schema.infer(listings, structure=False)
    )
    kept = _outside_share(listings, pair.sample(5000, random_state=1))
    lost = _outside_share(listings, apart.sample(5000, random_state=1))
    assert kept < lost / 3, (kept, lost)


def test_the_grid_stores_no_one_row_coordinate(listings, schema):
    enc = TableEncoder().fit(listings, schema, random_state=0)
    (grid,) = enc.structure_.grids
    for name, levels in (("latitude", grid.lat_levels), ("longitude", grid.lon_levels)):
        counts = listings[name].value_counts()
        rare = counts.index[counts < schema.min_count]
        assert not np.isin(levels, rare).any(), name
        assert len(levels) <= len(listings) // schema.min_count + 1


def test_decoded_columns_are_separate_arrays(listings, schema):
    """Decoding leaves each column in the array it was decoded into (no consolidating copy
    of the table): no two columns may then share memory, placed coordinates, blanked
    followers and derived children included, so writing one cell changes only that cell."""
    enc = TableEncoder("quantile", "onehot").fit(listings, schema, random_state=0)
    matrix = enc.transform(listings.head(300), random_state=0)
    rows = enc.inverse_transform(matrix, random_state=1)
    arrays = {c: rows[c].to_numpy(copy=False) for c in rows.columns}
    arrays = {c: a for c, a in arrays.items() if a.dtype.kind in "fiO"}
    assert {"borough", "district", "latitude", "reviews_per_month"} <= set(arrays)
    names = list(arrays)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not np.shares_memory(arrays[a], arrays[b]), (a, b)
    rows.loc[0, "borough"] = "written"
    again = enc.inverse_transform(matrix, random_state=1)
    changed = (rows.astype(object) != again.astype(object)) & ~(rows.isna() & again.isna())
    assert changed.to_numpy().sum() == 1 and changed.loc[0, "borough"]


@pytest.mark.parametrize("structured", [False, True], ids=["plain", "structured"])
def test_a_wide_decoded_table_takes_a_new_column_without_a_fragmentation_warning(
    listings, structured
):
    """Past 100 columns the decoded table is consolidated: ``rows["synthetic"] = 1`` on a
    sampled table of 130 columns is not met by pandas' "highly fragmented" warning (a table
    without structure rules came back as 130 separate arrays)."""
    rng = np.random.default_rng(0)
    extra = pd.DataFrame({f"x{i}": rng.normal(size=len(listings)) for i in range(118)})
    wide = pd.concat(
        [listings if structured else listings.drop(columns=["borough", "district"]), extra], axis=1
    )
    schema = Schema.infer(wide, structure=structured)
    enc = TableEncoder("quantile", "onehot").fit(wide, schema, random_state=0)
    rows = enc.inverse_transform(enc.transform(wide.head(200), random_state=0), random_state=1)
    assert rows.shape[1] > 100 and list(rows.columns) == list(wide.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        rows["synthetic"] = 1


def test_a_wide_table_of_alternating_dtypes_is_consolidated_in_its_column_order():
    """``wide_frame`` stacks the columns grouped by dtype, then puts them back in order:
    numbers, labels and nullable integers that alternate come back in their places, with
    their values and dtypes, one array per numpy dtype, none shared with the input."""
    rng = np.random.default_rng(0)
    kinds = [
        lambda i: rng.normal(size=50),
        lambda i: rng.choice(["a", "b", None], size=50).astype(object),
        lambda i: pd.array(rng.integers(0, 9, 50), dtype="Int64"),
        lambda i: rng.integers(0, 9, 50),
    ]
    frame = pd.DataFrame({f"c{i}": kinds[i % 4](i) for i in range(120)}, copy=False)
    out = wide_frame(frame)
    assert list(out.columns) == list(frame.columns)
    assert out.dtypes.equals(frame.dtypes)
    pd.testing.assert_frame_equal(out, frame)
    assert out._mgr.nblocks == 3 + 30  # float64, object, int64; each Int64 its own array
    for name in ("c0", "c1", "c3"):
        assert not np.shares_memory(out[name].to_numpy(), frame[name].to_numpy())
