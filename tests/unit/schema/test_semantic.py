"""Semantic types read from values: detection, confidence, overrides, locale, JSON, summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.datasets import load_adult
from synthgen.schema.semantic import detect_semantic, personal_data_message, semantic_scores

FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda"]
LAST = ["Smith", "Jones", "Brown", "Miller"]
N = 60


def _iban(i: int, country: str = "GB", bank: str = "WEST") -> str:
    bban = f"{bank}{i:014d}"
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def _luhn_number(i: int) -> str:
    body = f"4{i:014d}"
    total = 0
    for k, ch in enumerate(reversed(body)):
        d = int(ch)
        if k % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


PLANTED = {
    "email": [f"{FIRST[i % 8].lower()}.{i}@mail{i % 4}.example" for i in range(N)],
    "phone": [f"+1 (555) 01{i % 10}-{1000 + i}" for i in range(N)],
    "person_name": [f"{FIRST[i % 8]} {LAST[i % 4]}" for i in range(N)],
    "street_address": [f"{10 + i} {['Oak', 'Elm', 'High'][i % 3]} Street" for i in range(N)],
    "postcode": [f"SW{i % 9 + 1}A {i % 10}BB" for i in range(N)],
    "iban": [_iban(i) for i in range(N)],
    "card_number": [_luhn_number(i) for i in range(N)],
    "url": [f"https://shop{i}.example.com/item/{i}" for i in range(N)],
    "ip_address": [f"10.{i % 200}.{i % 7}.{i % 250}" for i in range(N)],
    "free_text": [f"Called on day {i} about the parcel, asked for a refund." for i in range(N)],
}  # fmt: skip


@pytest.mark.parametrize("semantic", sorted(PLANTED))
def test_each_type_is_detected_from_its_values(semantic):
    found = detect_semantic(pd.Series(PLANTED[semantic]))
    assert found.semantic == semantic
    assert found.confidence >= 0.95


def test_names_do_not_matter_only_values():
    df = pd.DataFrame({"email": ["a", "b", "c"] * 10, "x1": PLANTED["email"][:30]})
    schema = sg.Schema.infer(df)
    assert schema["email"].semantic is None
    assert schema["x1"].semantic == "email"


def test_confidence_is_the_share_of_matching_values():
    values = PLANTED["email"][:48] + ["n/a"] * 12
    scores = semantic_scores(pd.Series(values))
    assert scores["email"] == pytest.approx(0.8)
    assert detect_semantic(pd.Series(PLANTED["email"][:40] + ["n/a"] * 20)).semantic == "none"


def test_missing_cells_do_not_count():
    values = pd.Series(PLANTED["phone"][:30] + [None] * 30)
    assert detect_semantic(values).confidence == 1.0


def test_adult_has_no_personal_data():
    schema = sg.Schema.infer(load_adult())
    assert [c.name for c in schema if c.semantic or c.extra.get("semantic")] == []
    assert personal_data_message(schema) is None


@pytest.mark.parametrize(
    "values",
    [
        [f"{i % 80:05d}" for i in range(400)],  # zero-padded codes
        [f"{i % 12:03d}" for i in range(400)],  # short codes such as 007
        ["New York", "Los Angeles", "San Diego", "San Francisco", "Las Vegas"] * 20,
        ["Sales Manager", "Data Engineer", "Head Chef", "Nurse"] * 25,
        ["yes", "no", "maybe"] * 30,
        [f"{x:.2f}" for x in np.random.default_rng(0).normal(size=200)],
        [f"2024-01-{d:02d}" for d in range(1, 29)] * 3,
        ["10-20", "20-30", "30-40", "40+"] * 20,
        [f"1.{i}.{i % 3}" for i in range(100)],  # software versions
        [f"A{i:04d}" for i in range(100)],
        ["Self-emp-not-inc", "Married-civ-spouse", "United-States"] * 20,
    ],
    ids=["zero-padded", "short-codes", "cities", "jobs", "labels", "numbers", "dates", "ranges",
         "versions", "keys", "adult-like"],
)  # fmt: skip
def test_ordinary_columns_are_not_personal(values):
    assert detect_semantic(pd.Series(values)).semantic == "none"


def test_numeric_columns_are_never_read():
    df = pd.DataFrame({"card": [int(_luhn_number(i)) for i in range(40)]})
    assert sg.Schema.infer(df)["card"].semantic is None


def test_a_mixed_contact_column_is_still_personal():
    values = PLANTED["email"][:30] + PLANTED["phone"][:30]
    found = detect_semantic(pd.Series(values))
    assert found.semantic in ("email", "phone") and found.confidence == 1.0


def test_detected_columns_store_no_value_and_round_trip_through_json():
    df = pd.DataFrame({k: v for k, v in PLANTED.items()})
    df["plan"] = ["a", "b", "c"] * 20
    schema = sg.Schema.infer(df)
    for name in PLANTED:
        spec = schema[name]
        assert spec.semantic == name and spec.kind == "text" and spec.categories == []
        assert spec.extra["semantic_source"] == "detected"
        assert 0.95 <= spec.extra["semantic_confidence"] <= 1.0
    assert schema["plan"].semantic is None
    text = schema.to_json()
    assert sg.Schema.from_json(text) == schema
    for values in PLANTED.values():
        assert not any(v in text for v in values)


def test_summary_and_repr_show_type_confidence_and_action():
    df = pd.DataFrame({"contact": PLANTED["email"], "plan": ["a", "b"] * 30})
    schema = sg.Schema.infer(df)
    summary = schema.summary_frame().set_index("column")
    assert summary.loc["contact", "semantic"] == "email"
    assert summary.loc["contact", "confidence"] == 1.0
    assert "replaced by fakes" in summary.loc["contact", "note"]
    assert summary.loc["plan", "semantic"] == "" and summary.loc["plan", "note"] == ""
    assert "contact: text (email)" in repr(schema)


def test_override_none_turns_detection_off_and_says_so():
    df = pd.DataFrame({"contact": PLANTED["email"], "n": range(N)})
    schema = sg.Schema.infer(df, semantic={"contact": "none"})
    spec = schema["contact"]
    assert spec.semantic is None and spec.kind == "id"
    assert spec.extra["semantic_detected"] == "email"
    assert "set to 'none'" in personal_data_message(schema)
    assert sg.Schema.from_json(schema.to_json()) == schema


def test_override_forces_a_type_the_values_do_not_show():
    df = pd.DataFrame({"zip": [f"{i % 70:05d}" for i in range(300)]})
    assert sg.Schema.infer(df)["zip"].semantic is None
    spec = sg.Schema.infer(df, semantic={"zip": "postcode"})["zip"]
    assert spec.semantic == "postcode" and spec.extra["semantic_source"] == "user"
    assert spec.extra["semantic_confidence"] == 1.0


def test_kinds_do_not_turn_detection_off():
    df = pd.DataFrame({"contact": PLANTED["email"]})
    assert sg.Schema.infer(df, kinds={"contact": "categorical"})["contact"].semantic == "email"


@pytest.mark.parametrize(
    ("semantic", "match"),
    [
        ({"nope": "email"}, "not in the data"),
        ({"contact": "passport"}, "unknown semantic type"),
        ({"n": "email"}, "needs a column of strings"),
    ],
)
def test_bad_overrides_are_refused(semantic, match):
    df = pd.DataFrame({"contact": PLANTED["email"], "n": range(N)})
    with pytest.raises(sg.SchemaError, match=match):
        sg.Schema.infer(df, semantic=semantic)


def test_locale_is_read_from_the_data_or_given():
    df = pd.DataFrame(
        {
            "tel": [f"+49 30 {1000 + i} {i:03d}" for i in range(N)],
            "iban": [_iban(i, "DE", "1234") for i in range(N)],
            "email": PLANTED["email"],
        }
    )
    schema = sg.Schema.infer(df)
    assert {schema[c].extra["locale"] for c in df.columns} == {"de_DE"}
    assert sg.Schema.infer(df[["email"]])["email"].extra["locale"] == "en_US"
    assert sg.Schema.infer(df, locale="fr_FR")["email"].extra["locale"] == "fr_FR"
    with pytest.raises(sg.SchemaError, match="unknown locale"):
        sg.Schema.infer(df, locale="xx_YY")


def test_category_dtype_columns_are_read():
    df = pd.DataFrame({"contact": pd.Categorical(PLANTED["email"])})
    spec = sg.Schema.infer(df)["contact"]
    assert spec.semantic == "email" and spec.dtype == "category"
