"""Editing a schema (issue 16, finding 4): a kind changed by hand in the JSON needs no
categories or bounds typed in; ``--kind`` on the command line."""

import json

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.cli import main
from synthgen.exceptions import SchemaError


@pytest.fixture()
def codes():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "code": rng.choice([10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97, 99] * 2, 300),
            "level": rng.integers(1, 4, 300),
            "x": np.round(rng.normal(size=300), 3),
        }
    )


def _edited(schema: sg.Schema, **kinds: str) -> dict:
    data = json.loads(schema.to_json())
    for column in data["columns"]:
        if column["name"] in kinds:
            column["kind"] = kinds[column["name"]]  # the only edit a user makes
    return data


def test_a_numeric_column_turned_categorical_by_hand_learns_its_labels(codes):
    schema = sg.Schema.infer(codes, kinds={"code": "numeric"})
    assert schema["code"].kind == "numeric"
    edited = sg.Schema.from_dict(_edited(schema, code="categorical"))
    model = sg.make_generator("copula", random_state=0).fit(codes, schema=edited)
    assert model.schema_["code"].kind == "categorical"
    assert sorted(model.schema_["code"].categories) == sorted(set(codes["code"]))
    assert set(model.sample(200)["code"]) <= set(codes["code"])
    assert edited["code"].kind == "categorical" and edited["code"].categories is None


def test_a_categorical_column_turned_numeric_by_hand_learns_its_bounds(codes):
    schema = sg.Schema.infer(codes)
    assert schema["level"].kind == "categorical"
    edited = sg.Schema.from_dict(_edited(schema, level="numeric"))
    completed = edited.complete(codes)
    assert completed["level"].kind == "numeric" and completed["level"].integer
    assert completed["level"].minimum is not None and completed["level"].maximum is not None
    assert completed["x"] == schema["x"]  # complete specs are kept as they are


def test_half_given_bounds_are_still_refused(codes):
    data = json.loads(sg.Schema.infer(codes).to_json())
    data["columns"][2]["minimum"] = None
    with pytest.raises(SchemaError, match="minimum <= maximum"):
        sg.Schema.from_dict(data)


def test_set_kind_checks_the_kind_and_the_column(codes):
    schema = sg.Schema.infer(codes)
    with pytest.raises(SchemaError, match="unknown kind 'categorial'"):
        schema.set_kind("code", "categorial", codes)
    with pytest.raises(SchemaError, match="'code' is not in the data"):
        schema.set_kind("code", "categorical", codes.drop(columns="code"))


def test_cli_kind_and_an_edited_schema_file(tmp_path, codes, capsys):
    data, schema, model = tmp_path / "d.csv", tmp_path / "s.json", tmp_path / "m.sgm"
    codes.to_csv(data, index=False)
    assert main(["schema", str(data), "-o", str(schema), "--kind", "code=numeric"]) == 0
    edited = _edited(sg.Schema.from_json(schema), code="categorical")
    schema.write_text(json.dumps(edited))
    assert main(["fit", str(data), "--schema", str(schema), "-o", str(model), "-q"]) == 0
    assert sg.load(model).schema_["code"].kind == "categorical"
    args = ["fit", str(data), "-o", str(model), "-q", "--kind", "level=numeric"]
    assert main(args) == 0
    assert sg.load(model).schema_["level"].kind == "numeric"
    args += ["--schema", str(schema), "--kind", "x=categorical"]
    assert main(args) == 0
    loaded = sg.load(model).schema_
    assert (loaded["code"].kind, loaded["level"].kind, loaded["x"].kind) == (
        "categorical",
        "numeric",
        "categorical",
    )
    assert main(["fit", str(data), "-o", str(model), "--kind", "nope=numeric"]) == 2
    assert "nope" in capsys.readouterr().err
