"""The baselines: independent marginals, the Gaussian copula and the copying canary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg


@pytest.fixture(scope="module")
def linked() -> pd.DataFrame:
    """``up`` rises with ``x``, ``down`` falls with it, ``side`` follows its sign; ``free`` is
    unrelated to all of them."""
    rng = np.random.default_rng(0)
    n = 800
    x = rng.normal(0, 1, n)
    return pd.DataFrame(
        {
            "x": x,
            "up": 2 * x + rng.normal(0, 0.2, n),
            "down": -x + rng.normal(0, 0.2, n),
            "side": np.where(x > 0, "high", "low").astype(object),
            "free": rng.normal(0, 1, n),
        }
    )


def _corr(frame: pd.DataFrame, a: str, b: str) -> float:
    return float(np.corrcoef(frame[a], frame[b])[0, 1])


def _side_agreement(frame: pd.DataFrame) -> float:
    return float(((frame["x"] > 0) == (frame["side"] == "high")).mean())


def test_copula_keeps_the_sign_and_strength_of_linked_columns(linked):
    out = sg.make_generator("copula", random_state=0).fit(linked).sample(2000, random_state=1)
    assert _corr(out, "x", "up") > 0.8 * _corr(linked, "x", "up") > 0
    assert _corr(out, "x", "down") < 0.8 * _corr(linked, "x", "down") < 0
    assert abs(_corr(out, "x", "free")) < 0.1
    # A category tied to a number's sign stays linked to it (through a linear dependence of
    # normal scores, so not exactly), where independent draws agree half the time.
    assert _side_agreement(out) > 0.6


def test_marginals_keep_each_column_and_lose_every_link(linked):
    out = sg.make_generator("marginals", random_state=0).fit(linked).sample(2000, random_state=1)
    for a, b in (("x", "up"), ("x", "down")):
        assert abs(_corr(out, a, b)) < 0.1, f"{a} and {b} still linked"
    assert abs(_side_agreement(out) - 0.5) < 0.05
    # ...while each column on its own is kept: its share of labels and its spread.
    assert abs((out["side"] == "high").mean() - (linked["side"] == "high").mean()) < 0.05
    assert out["up"].std() == pytest.approx(linked["up"].std(), rel=0.1)
    assert out["up"].between(linked["up"].min(), linked["up"].max()).all()


def test_copula_shrinkage_pulls_towards_independence(linked):
    light = sg.make_generator("copula", shrinkage=0.0, random_state=0).fit(linked)
    heavy = sg.make_generator("copula", shrinkage=0.9, random_state=0).fit(linked)
    a, b = light.sample(2000, random_state=1), heavy.sample(2000, random_state=1)
    assert 0 < _corr(b, "x", "up") < 0.5 * _corr(a, "x", "up")


def test_copula_fits_duplicated_and_constant_columns(linked):
    # A copy of a column makes the correlation matrix singular; the fit must still succeed.
    data = linked.assign(x_copy=linked["x"], flat=1.5)
    out = sg.make_generator("copula", random_state=0).fit(data).sample(500, random_state=1)
    assert _corr(out, "x", "x_copy") > 0.99
    assert (out["flat"] == 1.5).all()


def test_copula_fit_skips_the_eigendecomposition_when_shrinkage_bounds_the_eigenvalues(
    linked, monkeypatch
):
    # a duplicated column: singular scores, positive definite once shrunk
    data = linked.assign(x_copy=linked["x"])
    clipped = sg.make_generator("copula", shrinkage=1e-3, random_state=0)
    clipped.fit(data)
    eigh, shapes = np.linalg.eigh, []

    def recorded(matrix):
        shapes.append(matrix.shape)
        return eigh(matrix)

    monkeypatch.setattr(np.linalg, "eigh", recorded)
    fitted = sg.make_generator("copula", shrinkage=1e-3, random_state=0).fit(data)
    assert fitted.correlation_.shape not in shapes  # Cholesky alone
    # what clipping the eigenvalues at the floor and rescaling would give: the same matrix
    vals, vecs = eigh(fitted.correlation_)
    assert vals.min() > 1e-4
    again = (vecs * np.maximum(vals, 1e-6)) @ vecs.T
    np.testing.assert_allclose(fitted.correlation_, again, atol=1e-12)
    np.testing.assert_allclose(fitted.correlation_, clipped.correlation_, atol=1e-12)
    bare = sg.make_generator("copula", shrinkage=0.0, random_state=0).fit(data)
    assert bare.correlation_.shape in shapes  # no shrinkage: the eigenvalues clipped


def test_copula_conditions_move_the_linked_columns(linked):
    model = sg.make_generator("copula", random_state=0).fit(linked)
    free = model.sample(400, random_state=1)
    high = model.sample(400, conditions={"side": "high"}, random_state=1)
    assert (high["side"] == "high").all()
    # Given the label, the number follows it, and so does what is linked to the number.
    assert (high["x"] > 0).mean() > (free["x"] > 0).mean() + 0.1
    assert high["up"].mean() > free["up"].mean() + 0.5
    assert high["down"].mean() < free["down"].mean() - 0.25


def test_marginals_conditions_leave_the_other_columns_as_they_were(linked):
    model = sg.make_generator("marginals", random_state=0).fit(linked)
    free = model.sample(1000, random_state=1)
    high = model.sample(1000, conditions={"side": "high"}, random_state=1)
    assert (high["side"] == "high").all()
    assert abs((high["x"] > 0).mean() - (free["x"] > 0).mean()) < 0.1


@pytest.mark.parametrize("shrinkage", [-0.1, 1.0, 1.5])
def test_copula_rejects_a_shrinkage_outside_zero_one(shrinkage, linked):
    with pytest.raises(sg.ConfigurationError, match="shrinkage"):
        sg.make_generator("copula", shrinkage=shrinkage).fit(linked)


def test_copy_canary_returns_training_rows_only(linked):
    data = linked.round(3)
    # min_count=1: the schema stores the exact extremes (by default the few most extreme
    # values are clipped, so a copied extreme row would no longer match its original).
    model = sg.make_generator("copy", random_state=0).fit(data, sg.Schema.infer(data, min_count=1))
    out = model.sample(300, random_state=1)
    joined = out.merge(data.drop_duplicates(), how="left", indicator=True)
    assert joined["_merge"].eq("both").all()
    # Rows are copied whole, not cell by cell: x and its links come from one training row.
    assert _side_agreement(out) == 1.0
    assert "copy" not in sg.list_generators()  # a canary, never offered as a generator
