import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.sampling import parse_conditions


@pytest.fixture(scope="module")
def adult_model():
    df = sg.datasets.load_adult().head(4000)
    return df, sg.make_generator("copula", random_state=0).fit(df)


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"nope": 1}, "unknown column 'nope'"),
        ({"income": "rich"}, "column 'income': category 'rich' was never seen"),
        ({"age": sg.Range(120, 130)}, "column 'age': Range.*outside the data"),
        ({"age": "old"}, "column 'age' is numeric: expected a number"),
        ({"age": 200}, "column 'age': 200 lies outside"),
        ({"sex": sg.Range(1, 2)}, "column 'sex' is categorical: a Range needs"),
        ({"age": sg.Range(40, 30)}, "low 40 > high 30"),
        ({"age": []}, "empty list"),
        ({"workclass": np.nan}, "missing value is not supported"),
    ],
)
def test_invalid_conditions_name_the_column(adult_model, conditions, message):
    _, model = adult_model
    with pytest.raises(sg.ConditionError, match=message):
        model.sample(5, conditions=conditions)


def test_conditions_must_be_a_mapping_or_frame(adult_model):
    _, model = adult_model
    with pytest.raises(sg.ConditionError, match="must be a mapping"):
        model.sample(5, conditions=[("income", ">50K")])
    with pytest.raises(sg.ConditionError, match="leave n_samples out"):
        model.sample(5, conditions=pd.DataFrame({"income": [">50K"] * 3}))


def test_identifiers_cannot_be_conditioned(mixed):
    model = sg.make_generator("copula", random_state=0).fit(mixed)
    with pytest.raises(sg.ConditionError, match="identifier"):
        model.sample(5, conditions={"customer_id": "C100001"})


def test_copula_condition_shifts_related_columns(adult_model):
    _, model = adult_model
    rich = model.sample(2000, conditions={"income": ">50K"}, random_state=0)
    poor = model.sample(2000, conditions={"income": "<=50K"}, random_state=0)
    assert rich["income"].eq(">50K").all() and poor["income"].eq("<=50K").all()
    # In the data, high earners are older and more often married: the copula must follow.
    assert rich["age"].mean() > poor["age"].mean() + 3
    assert rich["education-num"].mean() > poor["education-num"].mean()


def test_vanishingly_rare_condition_ends_with_the_rate(adult_model):
    _, model = adult_model
    with pytest.raises(sg.ConditionError, match=r"condition age in \[50\.2, 50\.4\].*rate of 0"):
        model.sample(5, conditions={"age": sg.Range(50.2, 50.4)})


def test_datetime_conditions(mixed):
    model = sg.make_generator("copula", random_state=0).fit(mixed)
    low, high = pd.Timestamp("2020-06-01"), pd.Timestamp("2021-01-01")
    out = model.sample(30, conditions={"joined": sg.Range(low, high)})
    assert out["joined"].between(low, high).all()
    with pytest.raises(sg.ConditionError, match="not a date"):
        model.sample(5, conditions={"joined": "someday"})


def test_parse_describes_conditions():
    frame = pd.DataFrame({"a": [1.5, 2.5, 9.0], "b": ["x", "y", "x"]})
    schema = sg.Schema.infer(frame, min_count=1)  # three rows: keep them all
    parsed = parse_conditions({"a": sg.Range(high=3), "b": ["x", "y"]}, schema)
    assert [c.describe() for c in parsed] == ["a in [None, 3]", "b in ['x', 'y']"]


def test_impute_with_the_copula_uses_observed_cells(adult_model):
    df, model = adult_model
    holes = df.head(400).copy()
    holes.loc[holes["income"] == ">50K", "education-num"] = np.nan
    done = model.impute(holes, random_state=0)
    filled = done.loc[holes["education-num"].isna(), "education-num"]
    assert filled.notna().all()
    # Imputed given income > 50K: higher schooling than the overall average.
    assert filled.mean() > df["education-num"].mean()
    observed = holes.notna()
    assert done[observed].equals(holes[observed])
    assert not done.isna().any().any()  # every hole is filled, the data's own gaps included


def test_rebalance_adds_only_minority_rows(adult_model):
    df, model = adult_model
    extra = sg.rebalance(model, df, "income", ratio=0.8, random_state=1)
    counts = df["income"].value_counts()
    assert set(extra["income"]) == {">50K"}
    assert len(extra) == round(0.8 * counts.max()) - counts[">50K"]
    with pytest.raises(sg.ConditionError, match="target column 'nope'"):
        sg.rebalance(model, df, "nope")
    with pytest.raises(sg.ConfigurationError, match="ratio"):
        sg.rebalance(model, df, "income", ratio=2)
