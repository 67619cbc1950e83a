import numpy as np
import pandas as pd
import pytest

import synthgen as sg


@pytest.fixture()
def trips():
    rng = np.random.default_rng(0)
    start = rng.uniform(0, 100, 600).round(1)
    return pd.DataFrame(
        {
            "start": start,
            "end": (start + rng.uniform(0.5, 20, 600)).round(1),
            "city": rng.choice(["Paris", "Lyon", "Berlin"], 600),
            "fare": rng.gamma(2.0, 10.0, 600).round(2) + 0.5,
        }
    ).assign(country=lambda f: f["city"].map({"Paris": "FR", "Lyon": "FR", "Berlin": "DE"}))


def _schema(trips):
    return (
        sg.Schema.infer(trips)
        .add_constraint(sg.Inequality("start", "<", "end"))
        .add_constraint(sg.Positive("fare"))
        .add_constraint(sg.Bounds("start", 0, 100))
        .add_constraint(sg.FixedCombinations(["city", "country"]))
    )


@pytest.mark.parametrize("key", ["marginals", "copula"])
def test_every_row_meets_every_constraint(trips, key):
    model = sg.make_generator(key, random_state=0).fit(trips, schema=_schema(trips))
    out = model.sample(500)
    assert (out["start"] < out["end"]).all()
    assert (out["fare"] > 0).all()
    combos = set(zip(out["city"], out["country"], strict=True))
    assert combos <= {("Paris", "FR"), ("Lyon", "FR"), ("Berlin", "DE")}


def test_independent_marginals_alone_would_break_them(trips):
    """The constraints do work: without them, marginals break the inequality."""
    out = sg.make_generator("marginals", random_state=0).fit(trips).sample(500)
    assert (out["start"] >= out["end"]).any()


def test_constraints_round_trip_through_json_and_saved_models(trips, tmp_path):
    schema = _schema(trips)
    model = sg.make_generator("copula", random_state=0).fit(trips, schema=schema)
    again = sg.Schema.from_json(model.schema_.to_json())
    assert again.constraints == model.schema_.constraints
    path = tmp_path / "m.sgm"
    model.save(path)
    loaded = sg.load(path)
    assert loaded.schema_.constraints == model.schema_.constraints
    out = loaded.sample(200)
    assert (out["start"] < out["end"]).all()


def test_predicate_constraints_work_but_cannot_be_saved(trips, tmp_path):
    schema = sg.Schema.infer(trips).add_constraint(
        sg.Predicate(lambda f: f["fare"] < 60, name="cheap")
    )
    model = sg.make_generator("copula", random_state=0).fit(trips[trips["fare"] < 60], schema)
    assert (model.sample(300)["fare"] < 60).all()
    with pytest.raises(sg.ConstraintError, match="cannot be saved"):
        model.save(tmp_path / "m.sgm")


def test_data_breaking_a_constraint_is_refused_at_fit(trips):
    schema = sg.Schema.infer(trips).add_constraint(sg.Inequality("end", "<", "start"))
    with pytest.raises(sg.ConstraintError, match=r"broken by 600 of 600 rows"):
        sg.make_generator("copula").fit(trips, schema=schema)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: sg.Inequality("start", "!=", "end"), "operator"),
        (lambda: sg.Bounds("fare"), "needs low or high"),
        (lambda: sg.Bounds("fare", 5, 1), "low 5 > high 1"),
        (lambda: sg.FixedCombinations(["city"]), "at least two"),
        (lambda: sg.Predicate("not callable"), "callable"),
    ],
)
def test_malformed_constraints(make, message):
    with pytest.raises(sg.ConstraintError, match=message):
        make()


def test_constraints_check_the_schema(trips):
    schema = sg.Schema.infer(trips)
    with pytest.raises(sg.ConstraintError, match="column 'nope' is not in the schema"):
        schema.add_constraint(sg.Positive("nope"))
    with pytest.raises(sg.ConstraintError, match="column 'city' is categorical"):
        schema.add_constraint(sg.Inequality("city", "<", "end"))
    with pytest.raises(sg.ConstraintError, match="expected a synthgen constraint"):
        schema.add_constraint("start < end")
