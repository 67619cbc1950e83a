"""Structure discovery at Schema.infer: what is found, what is not, JSON, review, overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.exceptions import ConstraintError, SchemaError
from synthgen.schema import Inequality, Schema
from synthgen.schema.discover import discover_structure
from synthgen.schema.structure import GeoPair, Hierarchy, MissingGroup, Structure
from synthgen.testing import make_structured_table


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    return make_structured_table(2000)


def _pairs(structure: Structure) -> set[tuple[str, str]]:
    return {(h.parent, h.child) for h in structure.hierarchies}


def test_infer_finds_every_kind_of_rule(listings):
    structure = Schema.infer(listings).structure
    assert _pairs(structure) == {("neighbourhood", "borough"), ("cadastral", "district")}
    assert structure.missing_groups == [MissingGroup(("last_review", "reviews_per_month"))]
    assert structure.geo_pairs == [GeoPair("latitude", "longitude")]
    assert structure.suggestions == [Inequality("start", "<", "end")]


def test_structure_false_leaves_rules_out(listings):
    assert not Schema.infer(listings, structure=False).structure


def test_independent_columns_have_no_rules():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "a": rng.choice(list("abcdefgh"), 3000),
            "b": rng.choice(list("xyz"), 3000),
            "x": rng.normal(size=3000),
            "y": rng.normal(size=3000),
        }
    )
    assert not Schema.infer(df).structure


def test_a_near_unique_column_does_not_determine_others():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"code": [f"c{i // 2}" for i in range(600)], "flag": rng.choice(["y", "n"], 600)}
    )
    df["flag"] = df.groupby("code")["flag"].transform("first")  # holds, on two rows a label
    assert not Schema.infer(df).structure.hierarchies


def test_a_rule_one_row_breaks_is_not_reported():
    rng = np.random.default_rng(1)
    town = rng.choice([f"t{i}" for i in range(20)], 5000)
    df = pd.DataFrame({"town": town, "region": [f"r{int(t[1:]) % 4}" for t in town]})
    schema = Schema.infer(df, structure=False)
    assert _pairs(discover_structure(df, schema, max_rows=500)) == {("town", "region")}
    df.loc[4999, "region"] = "r9"  # one row, very likely outside the 500-row sample
    assert not discover_structure(df, schema, max_rows=500).hierarchies


def test_a_rule_that_holds_on_the_first_look_only_is_not_reported(monkeypatch):
    """Pairs are first looked at on a few probe rows (wide tables: every parent meets
    every column); one that holds there but breaks later on the probe is dropped, and the
    answer is the same whatever the first look's size."""
    import synthgen.schema.discover as discover

    rng = np.random.default_rng(3)
    town = rng.choice([f"t{i}" for i in range(20)], 3000)
    region = np.array([f"r{int(t[1:]) % 4}" for t in town], dtype=object)
    late = region.copy()
    late[300:] = rng.choice(["r0", "r1", "r2", "r3"], 2700)  # past the first look
    df = pd.DataFrame({"town": town, "region": region, "late": late})
    schema = Schema.infer(df, structure=False)
    found = discover_structure(df, schema)
    assert _pairs(found) == {("town", "region")}
    for rows in (1, 5, 10_000):
        monkeypatch.setattr(discover, "FIRST_LOOK_ROWS", rows)
        assert discover_structure(df, schema) == found


def test_a_table_with_a_repeated_index_is_searched_by_position(listings):
    doubled = pd.concat([listings, listings])  # every index label twice
    assert Schema.infer(doubled).structure == Schema.infer(listings).structure


def test_hierarchies_are_minimal_and_one_to_one_pairs_keep_one_direction():
    rng = np.random.default_rng(2)
    street = rng.integers(0, 60, 3000)
    df = pd.DataFrame(
        {
            "street": [f"s{s}" for s in street],
            "district": [f"d{s // 6}" for s in street],
            "city": [f"c{s // 30}" for s in street],
            "level": [f"L{s % 16}" for s in street],
            "level_num": (street % 16 + 1).astype("int64") * 10,
        }
    )
    df["level_num"] = df["level_num"].astype(float)  # a number: the label determines it
    pairs = _pairs(Schema.infer(df, max_int_categories=5).structure)
    assert ("street", "district") in pairs and ("district", "city") in pairs
    assert ("street", "city") not in pairs  # transitive
    assert ("level", "level_num") in pairs and ("level_num", "level") not in pairs


def test_missing_groups_need_identical_masks():
    rng = np.random.default_rng(3)
    gaps = rng.random(800) < 0.3
    other = gaps.copy()
    other[0] = not other[0]
    df = pd.DataFrame(
        {
            "a": np.where(gaps, np.nan, rng.normal(size=800)),
            "b": pd.Series(rng.choice(["u", "v"], 800)).where(~gaps),
            "c": np.where(other, np.nan, rng.normal(size=800)),
            "d": rng.normal(size=800),
            "e": np.full(800, np.nan),
            "f": np.full(800, np.nan),
        }
    )
    assert Schema.infer(df).structure.missing_groups == [MissingGroup(("a", "b"))]


def test_coordinates_are_found_from_values_and_names_tell_the_axes_apart(listings):
    plain = listings[["room_type", "latitude", "longitude", "price"]].set_axis(
        ["room_type", "p1", "p2", "price"], axis=1
    )
    assert Schema.infer(plain).structure.geo_pairs == [GeoPair("p1", "p2")]
    swapped = listings[["longitude", "price", "latitude"]].set_axis(["lng", "price", "lat"], axis=1)
    assert Schema.infer(swapped).structure.geo_pairs == [GeoPair("lat", "lng")]
    rng = np.random.default_rng(4)
    scores = pd.DataFrame({"s1": rng.random(500).round(4), "s2": rng.random(500).round(4)})
    assert not Schema.infer(scores).structure.geo_pairs  # shares, not a place
    normal = pd.DataFrame({"x": rng.normal(size=500), "y": rng.normal(size=500)})
    assert not Schema.infer(normal).structure.geo_pairs


def test_suggestions_skip_trivially_ordered_columns_and_can_be_accepted():
    rng = np.random.default_rng(5)
    start = rng.integers(0, 100, 300)
    df = pd.DataFrame(
        {
            "start": start,
            "end": start + rng.integers(0, 10, 300),
            "age": rng.integers(200, 300, 300),  # always above both: not a rule worth a look
        }
    ).astype(float)
    schema = Schema.infer(df)
    assert schema.structure.suggestions == [Inequality("start", "<=", "end")]
    with pytest.raises(SchemaError, match="no suggestion at position 3"):
        schema.accept_suggestions([3])
    schema.accept_suggestions([0])
    assert schema.constraints == [Inequality("start", "<=", "end")]
    assert not schema.structure.suggestions


def test_json_round_trip_and_summary(listings):
    schema = Schema.infer(listings)
    again = Schema.from_json(schema.to_json())
    assert again == schema and again.structure == schema.structure
    text = schema.summary()
    for line in (
        "neighbourhood -> borough",
        "last_review, reviews_per_month",
        "latitude, longitude",
        "start < end",
    ):
        assert line in text
    assert "borough: categorical" in text


def test_rules_are_edited_through_the_json(listings):
    schema = Schema.infer(listings)
    data = schema.to_dict()
    data["structure"]["hierarchies"] = [{"parent": "neighbourhood", "child": "borough"}]
    data["structure"]["missing_groups"] = []
    edited = Schema.from_dict(data)
    assert _pairs(edited.structure) == {("neighbourhood", "borough")}
    assert not edited.structure.missing_groups
    no_rules = Schema.from_dict({k: v for k, v in data.items() if k != "structure"})
    assert not no_rules.structure


@pytest.mark.parametrize(
    ("structure", "message"),
    [
        ({"hierarchies": [{"parent": "nope", "child": "borough"}]}, "not in the schema"),
        ({"hierarchies": [{"parent": "price", "child": "borough"}]}, "parent must be categ"),
        (
            {
                "hierarchies": [
                    {"parent": "neighbourhood", "child": "borough"},
                    {"parent": "cadastral", "child": "borough"},
                ]
            },
            "two parents",
        ),
        (
            {
                "hierarchies": [
                    {"parent": "borough", "child": "room_type"},
                    {"parent": "room_type", "child": "borough"},
                ]
            },
            "cycle",
        ),
        ({"missing_groups": [["price"]]}, "two or more"),
        ({"geo_pairs": [{"latitude": "room_type", "longitude": "price"}]}, "not numeric"),
        ({"hierarchies": [{"parent": "a"}]}, "objects with"),
        ({"extra": []}, "unknown entries"),
        ({"suggestions": [{"kind": "nope"}]}, "invalid suggestion"),
    ],
)
def test_bad_structure_json_is_refused_with_a_reason(listings, structure, message):
    data = Schema.infer(listings, structure=False).to_dict()
    data["structure"] = structure
    with pytest.raises(SchemaError, match=message):
        Schema.from_dict(data)


def test_a_rule_the_data_breaks_is_refused_at_fit(listings):
    schema = Schema.infer(listings, structure=False)
    schema.structure = Structure(hierarchies=[Hierarchy("room_type", "borough")])
    with pytest.raises(ConstraintError, match=r"room_type -> borough is broken by \d+ of 2000"):
        sg.make_generator("marginals").fit(listings, schema)
    schema.structure = Structure(missing_groups=[MissingGroup(("price", "last_review"))])
    with pytest.raises(ConstraintError, match="missing group"):
        sg.make_generator("marginals").fit(listings, schema)


def test_changing_a_kind_drops_the_rules_it_rules_out(listings):
    schema = Schema.infer(listings)
    changed = schema.set_kind("neighbourhood", "text", listings)
    assert _pairs(changed.structure) == {("cadastral", "district")}
    assert changed.structure.missing_groups == schema.structure.missing_groups


def test_the_schema_command_shows_the_rules_for_review(listings, tmp_path, capsys):
    import json

    from synthgen.cli import main

    path = tmp_path / "listings.csv"
    listings.to_csv(path, index=False)
    assert main(["schema", str(path)]) in (0, None)
    captured = capsys.readouterr()
    assert json.loads(captured.out)["structure"]["missing_groups"] == [
        ["last_review", "reviews_per_month"]
    ]  # stdout stays plain JSON
    assert "hierarchy         neighbourhood -> borough" in captured.err
    assert main(["schema", str(path), "-o", str(tmp_path / "s.json")]) in (0, None)
    assert "Suggested constraints" in capsys.readouterr().out
