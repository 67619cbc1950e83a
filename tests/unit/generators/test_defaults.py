"""The default generator: chosen from the table's size alone, and stated."""

from __future__ import annotations

import pytest

from synthgen.cli import main
from synthgen.generators.defaults import DEFAULT_LIMITS, default_generator, explain_default
from synthgen.generators.registry import list_generators


@pytest.mark.parametrize(
    ("rows", "columns", "expected"),
    [
        (26_048, 15, "transformer"),  # Adult's training rows
        (24_000, 24, "transformer"),  # creditcard default
        (1_000_000 // 40, 40, "transformer"),  # on the cell limit
        (8_000, 120, "transformer"),  # a wide table: columns grouped per position
        (3_000, 300, "transformer"),
        (12_000, 120, "copula"),  # over the transformer's cells, too wide for the VAE
        (3_000, 301, "copula"),  # wider than any network's default
        (20_000, 64, "vae"),
        (20_000, 65, "copula"),  # past the VAE's autoregressive head: the copula did better
        (80_000, 15, "vae"),
        (200_000, 15, "copula"),  # a neural fit would take many minutes
        (1_999, 10, "copula"),  # too few rows for a network
        (0, 0, "copula"),
    ],
)
def test_the_choice_follows_the_table_size(rows, columns, expected):
    assert default_generator(rows, columns) == expected


def test_the_choice_is_a_registered_generator_and_monotone_in_size():
    keys = {key for key, *_ in DEFAULT_LIMITS}
    assert keys <= set(list_generators())
    order = ["transformer", "vae", "copula"]
    picks = [order.index(default_generator(rows, 15)) for rows in range(2_000, 400_000, 7_000)]
    assert picks == sorted(picks)  # bigger tables never get a slower generator
    for rows in (3_000, 9_000, 12_000, 14_000):
        picks = [order.index(default_generator(rows, cols)) for cols in range(1, 400, 3)]
        assert picks == sorted(picks)  # nor wider ones


def test_the_vae_is_the_default_only_where_it_has_its_head():
    from synthgen.generators.vae.generator import AUTOREGRESSIVE_MAX_COLUMNS

    vae_columns = {key: columns for key, _, columns, _ in DEFAULT_LIMITS}["vae"]
    assert vae_columns == AUTOREGRESSIVE_MAX_COLUMNS


def test_the_explanation_names_the_choice_and_the_fast_option():
    assert explain_default(26_048, 15).startswith("generator: transformer (the default for 26,048")
    assert "-g copula" in explain_default(26_048, 15)
    assert "too few rows" in explain_default(500, 15)
    assert "-g transformer" in explain_default(500_000, 15)


def test_fit_without_a_generator_states_the_default(tmp_path, adult, capsys):
    data = tmp_path / "data.csv"
    adult.head(300).to_csv(data, index=False)
    assert main(["fit", str(data), "-o", str(tmp_path / "m.sgm"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "generator: copula (the default for 300 rows x 15 columns" in out
    assert "fitted copula" in out
