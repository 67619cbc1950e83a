"""The multi-table model on slices of the real baseball and cdnow tables (issue 19).

The slices (tests/fixtures/relational: 150 players with their seasons, 200 CDNOW customers with
their purchases; public data, drawn with the benchmark's seed-0 shuffle) keep the real shapes:
text keys, dates as text, half-empty death dates, names, 1-31 seasons, same-day purchases.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import synthgen as sg

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "relational"
TINY = {"epochs": 1, "n_threads": 1, "batch_size": 128, "d_model": 16, "n_layers": 1, "n_heads": 2}


def _read(prefix: str, names: list[str]) -> dict[str, pd.DataFrame]:
    return {n: pd.read_csv(FIXTURES / f"{prefix}_{n}.csv.gz") for n in names}


def _fit(tables, generator):
    model = sg.RelationalSynthesizer(generator, TINY if generator == "transformer" else {},
                                     random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sg.PersonalDataWarning)
        return model.fit(tables)


@pytest.mark.parametrize("generator", ["copula", "transformer"])
def test_baseball_players_and_their_seasons(generator):
    tables = _read("baseball", ["players", "batting", "fielding"])
    model = _fit(tables, generator)
    meta = model.metadata_
    assert meta.tables["batting"].sequence_key == "year"
    assert model.plans_["batting"].order.anchor == "__p__birthDate"
    out = model.sample(random_state=0)
    players = out["players"]
    assert not players["id"].duplicated().any()
    assert not players["nameLast"].isin(tables["players"]["nameLast"]).all()
    for child in ("batting", "fielding"):
        frame = out[child]
        assert frame["players_id"].isin(players["id"]).all()
        assert (frame.groupby("players_id", sort=False)["year"].diff().dropna() >= 0).all()
        assert frame["year"].dtype == tables[child]["year"].dtype
        # seasons start at a plausible age: after the (synthetic) player's birth year
        born = players.set_index("id")["birthDate"].str[:4].astype(float)
        age = frame.groupby("players_id")["year"].min() - born.reindex(frame["players_id"].unique())
        assert age.dropna().between(10, 50).mean() > 0.8


def test_cdnow_purchase_sequences():
    tables = _read("cdnow", ["users", "purchases"])
    model = _fit(tables, "copula")
    out = model.sample(random_state=0)
    purchases = out["purchases"]
    assert purchases["users_id"].isin(out["users"]["id"]).all()
    dates = pd.to_datetime(purchases["date"], format="%Y-%m-%d")
    assert (dates.groupby(purchases["users_id"], sort=False).diff().dropna().dt.days >= 0).all()
    real = tables["purchases"].groupby("users_id").size()
    fake = purchases.groupby("users_id").size()
    assert fake.max() <= real.max() and 0.6 <= fake.mean() / real.mean() <= 1.6
