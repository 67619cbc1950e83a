"""DPMarginals (``dp_marginals``): the released structure, its labels and its privacy spend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg


@pytest.fixture(scope="module")
def towns() -> pd.DataFrame:
    """``region`` follows ``city`` (2% of rows flipped); ``coin`` is unrelated and has one
    label, ``edge``, held by a single row; ``country`` is constant."""
    rng = np.random.default_rng(0)
    n = 1000
    city = rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2]).astype(object)
    region = np.where(city == "A", "west", "east").astype(object)
    flip = rng.random(n) < 0.02
    region[flip] = np.where(region[flip] == "west", "east", "west")
    coin = rng.choice(["heads", "tails"], n).astype(object)
    coin[0] = "edge"
    return pd.DataFrame(
        {
            "city": city,
            "region": region,
            "coin": coin,
            "score": np.round(rng.normal(50, 10, n), 1),
            "country": "NL",
        }
    )


MODELLED = {"city", "region", "coin", "score"}  # the constant column is no attribute


def _fit(data: pd.DataFrame, **params) -> sg.BaseGenerator:
    return sg.make_generator("dp_marginals", **{"epsilon": 20.0, "random_state": 0, **params}).fit(
        data
    )


def _agreement(frame: pd.DataFrame) -> float:
    return float(((frame["city"] == "A") == (frame["region"] == "west")).mean())


def test_the_tree_spans_every_column_once_and_measures_the_linked_pair(towns):
    model = _fit(towns, max_parents=1)
    edges = model.edges_
    assert len(edges) == len(MODELLED) - 1
    assert {c for e in edges for c in e} == MODELLED
    children = [child for _, child in edges]
    assert len(set(children)) == len(children), "a column has two parents in a tree"
    # n - 1 edges reaching all n columns: connected, hence a tree (no cycle).
    reached, frontier = set(), [next(iter(MODELLED))]
    while frontier:
        a = frontier.pop()
        reached.add(a)
        frontier += [b for e in edges for b in e if a in e and b not in reached]
    assert reached == MODELLED
    # The pair the one-way marginals explain worst is the one picked.
    assert {"city", "region"} in [set(e) for e in edges]


@pytest.mark.parametrize("max_parents", [1, 2, 3])
def test_samples_keep_the_measured_link_and_the_network_is_acyclic(towns, max_parents):
    model = _fit(towns, max_parents=max_parents)
    parents: dict[str, list[str]] = {}
    for parent, child in model.edges_:
        parents.setdefault(child, []).append(parent)
    assert all(len(p) <= max_parents for p in parents.values())
    placed: set[str] = set()
    while len(placed) < len(MODELLED):  # a topological order exists
        ready = [c for c in MODELLED - placed if set(parents.get(c, [])) <= placed]
        assert ready, f"cycle among {MODELLED - placed}"
        placed.update(ready)
    out = model.sample(1000, random_state=1)
    assert _agreement(out) > 0.9


def test_only_released_labels_and_bounds_are_sampled(towns):
    model = _fit(towns, max_parents=1, min_category_count=5)
    assert "edge" not in model.schema_["coin"].categories  # held by one row: never released
    out = model.sample(2000, random_state=1)
    for col in ("city", "region", "coin"):
        assert set(out[col]) <= set(model.schema_[col].categories), col
    assert "edge" not in set(out["coin"])
    spec = model.schema_["score"]
    assert out["score"].between(spec.minimum, spec.maximum).all()
    assert (out["country"] == "NL").all()


@pytest.mark.parametrize("epsilon", [1.0, 20.0])
def test_the_whole_budget_is_spent_in_the_declared_shares(towns, epsilon):
    model = _fit(towns, epsilon=epsilon, max_parents=1, preprocess_share=0.1, one_way_share=0.2)
    assert model.epsilon_ <= epsilon + 1e-9
    assert model.epsilon_ == pytest.approx(epsilon, rel=1e-6)  # nothing left unspent
    assert model.delta_ == 1e-5 and model.privacy_["epsilon"] == model.epsilon_
    steps = model.privacy_["steps"]
    assert set(steps) == {
        "preprocessing",
        "one-way marginals",
        "tree selection",
        "two-way marginals",
    }
    # rho shares: two-way 0.9 * 0.7, one-way 0.9 * 0.2, preprocessing 0.1, selection 0.9 * 0.1
    order = sorted(steps, key=steps.get, reverse=True)
    assert order == ["two-way marginals", "one-way marginals", "preprocessing", "tree selection"]
    wider = _fit(towns, epsilon=epsilon, max_parents=1, select_share=0.3)
    assert wider.privacy_["steps"]["tree selection"] > steps["tree selection"]
    assert wider.epsilon_ == pytest.approx(epsilon, rel=1e-6)


def test_a_smaller_budget_releases_fewer_labels(towns):
    strong = _fit(towns, epsilon=0.05, max_parents=1)
    weak = _fit(towns, epsilon=50.0, max_parents=1)
    assert strong.epsilon_ < weak.epsilon_
    real = {"A", "B", "C"}
    kept_strong = real & set(strong.schema_["city"].categories)
    kept_weak = real & set(weak.schema_["city"].categories)
    assert kept_weak == real and kept_strong < kept_weak
    assert real & set(strong.sample(500, random_state=1)["city"]) == kept_strong


def test_the_structure_and_guarantee_survive_save_and_load(towns, tmp_path):
    model = _fit(towns, max_parents=1)
    path = tmp_path / "mst.sgm"
    model.save(path)
    again = sg.load(path)
    assert again.edges_ == model.edges_
    assert again.epsilon_ == model.epsilon_ and again.privacy_ == model.privacy_


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("epsilon", 0.0),
        ("delta", 1.0),
        ("preprocess_share", 1.0),
        ("one_way_share", 0.0),
        ("select_share", 1.0),
        ("select_share", 0.9),  # with one_way_share 0.1: nothing left for the structure
        ("max_bins", 1),
        ("max_bins", 2.5),
        ("max_parents", 4),
        ("max_parents", True),
        ("min_category_count", 0),
    ],
)
def test_invalid_parameters_are_named(towns, param, value):
    with pytest.raises(sg.ConfigurationError, match=param):
        _fit(towns, **{param: value})


def test_no_mass_is_drawn_where_the_release_has_no_rows(towns):
    model = _fit(towns, epsilon=2.0)
    a = model.attributes_.index("score")
    release = model.preprocessor_.releases_["score"]
    edges = np.asarray(release.edges)
    n_fine = len(edges) - 1
    weights = model.fine_weights_[a][:n_fine]
    outside = (edges[1:] <= release.low) | (edges[:-1] >= release.high)
    dropped = np.asarray(release.counts)[:n_fine] == 0
    assert outside.any() and (weights[outside | dropped] == 0).all()
    assert (weights[~(outside | dropped)] > 0).any()


def test_the_one_way_marginals_pool_the_released_counts(towns):
    # With almost no budget of its own the model's one-way noise is in the thousands: its
    # marginals stay right only because the preprocessing's counts are pooled in.
    model = _fit(towns, epsilon=5.0, one_way_share=1e-6)
    out = model.sample(4000, random_state=1)
    real = towns["city"].value_counts(normalize=True)
    drawn = out["city"].value_counts(normalize=True).reindex(real.index, fill_value=0)
    assert (drawn - real).abs().max() < 0.05


def test_a_numeric_column_with_few_values_keeps_each_value_apart():
    # ``level`` is a function of ``grade``; its rarer values would share a quantile group
    # (and be drawn regardless of the grade) if they were pooled.
    rng = np.random.default_rng(0)
    grades = np.array(list("abcdefgh"), dtype=object)
    g = rng.choice(8, 5000, p=[0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.2, 0.1])
    df = pd.DataFrame({"grade": grades[g], "level": g + 1})
    model = sg.make_generator("dp_marginals", epsilon=20.0, random_state=0).fit(df)
    out = model.sample(5000, random_state=1)
    agree = (out["grade"].map({k: i + 1 for i, k in enumerate(grades)}) == out["level"]).mean()
    assert agree > 0.97


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 3.0, 10.0])
@pytest.mark.parametrize("preprocess_share", [0.1, 0.4])
def test_the_accountant_never_reports_more_than_asked(towns, epsilon, preprocess_share):
    # The shares are added up again by the ledger: rounding must not tip the sum past epsilon.
    model = _fit(towns, epsilon=epsilon, preprocess_share=preprocess_share)
    assert model.epsilon_ <= epsilon
    assert model.epsilon_ == pytest.approx(epsilon, rel=1e-6)


@pytest.mark.parametrize(("rho_two", "noise_has_parent"), [(1e-4, False), (1e6, True)])
def test_a_table_whose_noise_would_drown_its_link_is_not_measured(rho_two, noise_has_parent):
    # The network search alone, with an all but exact selection (a huge selection budget).
    # ``linked`` copies ``base`` (5% of rows changed), ``noise`` is independent of both: with
    # little budget for the tables (noise over a hundred rows a cell) measuring ``noise``
    # against a parent adds more error than its chance dependence is worth, so it gets none;
    # with plenty of budget that dependence is measured. The linked pair is linked either way.
    from synthgen.generators.mst import DPMarginals
    from synthgen.privacy.dp.accounting import PrivacyLedger

    rng = np.random.default_rng(0)
    base = rng.integers(0, 4, 2000)
    linked = np.where(rng.random(2000) < 0.05, rng.integers(0, 4, 2000), base)
    noise = rng.integers(0, 4, 2000)
    coarse = [base, linked, noise]
    one_way = [(np.bincount(c, minlength=4).astype(float), np.zeros(4)) for c in coarse]
    model = DPMarginals(max_parents=2)
    model.ledger_ = PrivacyLedger(delta=1e-5)
    model._fit_network(coarse, [4, 4, 4], one_way, 2000.0, 1e6, rho_two, np.random.default_rng(1))
    assert model.parents_[1] == [0] or model.parents_[0] == [1]
    assert (len(model.parents_[2]) > 0) == noise_has_parent
