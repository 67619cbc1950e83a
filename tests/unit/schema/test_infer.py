import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.exceptions import DataError, SchemaError


def test_kinds_of_every_column_of_the_mixed_table(mixed):
    schema = sg.Schema.infer(mixed)
    kinds = {c.name: c.kind for c in schema}
    assert kinds == {
        "income": "numeric",
        "age": "numeric",
        "group": "categorical",
        "tier": "categorical",
        "member": "categorical",
        "joined": "datetime",
        "visit": "datetime",
        "customer_id": "id",
        "country": "constant",
        "empty": "constant",
        "y": "categorical",
    }
    assert schema["visit"].datetime_format == "%Y-%m-%d"
    assert schema["joined"].datetime_unit == "D"
    assert schema["income"].decimals == 2 and not schema["income"].integer
    # The bound is not the youngest person's age: the 5 youngest do not set it.
    ages = np.sort(mixed["age"].to_numpy())
    assert schema["age"].integer and ages[4] <= schema["age"].minimum <= ages[5]
    assert sg.Schema.infer(mixed, min_count=1)["age"].minimum == ages[0]
    assert schema["income"].missing_rate == pytest.approx(mixed["income"].isna().mean())
    assert schema["empty"].missing_rate == 1.0
    assert schema["tier"].categories == ["low", "mid", "high"]


def test_labels_keep_odd_whitespace(adult):
    raw = sg.datasets.load_adult_raw()
    schema = sg.Schema.infer(raw.head(500))
    assert " Male" in schema["sex"].categories


def test_low_cardinality_integers_are_categorical_high_are_numeric():
    df = pd.DataFrame({"small": np.arange(100) % 4, "wide": np.arange(100) % 40})
    schema = sg.Schema.infer(df)
    assert schema["small"].kind == "categorical"
    assert schema["wide"].kind == "numeric"


def test_integer_key_by_name_and_consecutive_run():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "user_id": rng.permutation(1000)[:50] * 7,
            "row": np.arange(50),
            "x": rng.random(50),
        }
    )
    schema = sg.Schema.infer(df)
    assert schema["user_id"].kind == "id"
    assert schema["row"].kind == "id"
    assert schema["x"].kind == "numeric"


def test_high_cardinality_strings_become_text_without_unique_values():
    words = [f"note number {i} about things" for i in range(600)] + ["repeated note"] * 10
    schema = sg.Schema.infer(pd.DataFrame({"note": words}))
    assert schema["note"].kind == "text"
    assert schema["note"].categories == ["repeated note"]


def test_user_override_changes_kind(mixed):
    schema = sg.Schema.infer(mixed, kinds={"y": "numeric", "age": "categorical"})
    assert schema["y"].kind == "numeric"
    assert schema["age"].kind == "categorical"
    edited = schema.set_kind("income", "constant", mixed)
    assert edited["income"].kind == "constant" and schema["income"].kind == "numeric"


@pytest.mark.parametrize(
    ("kinds", "message"),
    [
        ({"group": "numeric"}, "declared numeric"),
        ({"group": "datetime"}, "declared datetime"),
        ({"nope": "numeric"}, "not in the data"),
        ({"age": "bogus"}, "unknown kind"),
    ],
)
def test_bad_overrides_are_refused(mixed, kinds, message):
    with pytest.raises(SchemaError, match=message):
        sg.Schema.infer(mixed, kinds=kinds)


def test_json_round_trip(mixed, tmp_path):
    schema = sg.Schema.infer(mixed)
    path = tmp_path / "schema.json"
    schema.to_json(path)
    assert sg.Schema.from_json(path) == schema
    assert sg.Schema.from_json(schema.to_json()) == schema


def test_newer_schema_version_is_refused(mixed):
    data = sg.Schema.infer(mixed).to_dict()
    data["version"] = 99
    with pytest.raises(SchemaError, match="newer"):
        sg.Schema.from_dict(data)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame(), "no columns"),
        (pd.DataFrame({"a": []}), "no rows"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column names"),
        (pd.DataFrame({0: [1, 2]}), "must be strings"),
        (pd.DataFrame({"v": [1.0, np.inf]}), "column 'v'.*infinite"),
        ([[1, 2]], "must be a pandas DataFrame"),
    ],
)
def test_bad_frames_get_clear_errors(frame, message):
    with pytest.raises(DataError, match=message):
        sg.Schema.infer(frame)


def test_mixed_types_in_object_column_are_named():
    df = pd.DataFrame({"mix": ["a", 1, "b"]})
    with pytest.raises(SchemaError, match="column 'mix': mixed value types"):
        sg.Schema.infer(df)


def test_validate_reports_mismatches(mixed):
    schema = sg.Schema.infer(mixed)
    with pytest.raises(SchemaError, match=r"missing columns \['age'\]"):
        schema.validate(mixed.drop(columns="age"))
    with pytest.raises(SchemaError, match="unexpected columns"):
        schema.validate(mixed.assign(extra=1))
    with pytest.raises(SchemaError, match="column 'age': schema says numeric"):
        schema.validate(mixed.assign(age=mixed["age"].astype(str)))
    with pytest.raises(SchemaError, match="column 'group': categories not in the schema"):
        schema.validate(mixed.assign(group="new label"))
    with pytest.raises(SchemaError, match=r"column 'visit'.*do not parse"):
        schema.validate(mixed.assign(visit="not a date"))
    assert schema.validate(mixed) is mixed


def test_unused_categories_of_category_dtype_are_kept():
    df = pd.DataFrame({"c": pd.Categorical(["a", "b"] * 5, categories=["a", "b", "z"])})
    assert sg.Schema.infer(df)["c"].categories == ["a", "b", "z"]
