"""A CSV file larger than memory: rewritten as Parquet parts in two passes, then streamed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.csv_parts import csv_to_parts
from synthgen.exceptions import DataError, DataWarning
from synthgen.generators.sharded import fit_parts
from synthgen.tabular_io import read_table


def _messy(n: int = 900, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "zip": [f"{z:05d}" for z in rng.integers(0, 3000, n)],  # some with a leading 0
            "count": rng.integers(0, 50, n),
            "amount": np.round(rng.lognormal(3, 1, n), 2),
            "flag": rng.random(n) < 0.3,
            "city": rng.choice(["Lyon", "Nice", "Metz"], n),
            "late_gap": rng.integers(0, 9, n).astype(float),
        }
    )
    frame.loc[frame.index[-5:], "late_gap"] = np.nan  # gaps only in the last chunk
    frame.loc[frame.index[::97], "city"] = "?"  # UCI-style missing marker
    return frame


def test_parts_hold_what_reading_the_file_whole_gives(tmp_path):
    path = tmp_path / "t.csv"
    _messy().to_csv(path, index=False)
    with pytest.warns(DataWarning, match="'city'"):
        whole = read_table(path)
    folder = tmp_path / "parts"
    folder.mkdir()
    with pytest.warns(DataWarning, match=r"'city' \(10 cell"):
        files = csv_to_parts(path, folder, chunk_rows=200)
    assert len(files) == 5
    back = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    back["city"] = back["city"].where(back["city"].notna(), np.nan)  # Parquet's None
    # the codes stay text although the first chunk may hold no leading zero, the gaps of
    # the last chunk make the column float in every part, '?' is missing
    pd.testing.assert_frame_equal(back, whole)
    assert {str(pd.read_parquet(f)["late_gap"].dtype) for f in files} == {"float64"}


def test_a_column_with_words_in_a_later_chunk_is_text_throughout(tmp_path):
    path = tmp_path / "t.csv"
    frame = pd.DataFrame({"code": [str(i) for i in range(300)] + ["X1"] * 10, "y": range(310)})
    frame.to_csv(path, index=False)
    folder = tmp_path / "p"
    folder.mkdir()
    files = csv_to_parts(path, folder, chunk_rows=100)
    back = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    assert back["code"].tolist() == frame["code"].tolist()
    assert back["y"].dtype == "int64"


def test_a_fit_from_a_csv_file_streams_it(tmp_path):
    path = tmp_path / "big.csv.gz"
    frame = _messy(1200).replace("?", "Lyon")
    frame.to_csv(path, index=False)
    model = sg.make_generator("copula", random_state=0)
    fit_parts(model, path, fit_rows=1000)
    assert model.n_train_rows_ == 1200
    rows = model.sample(300, random_state=0)
    assert list(rows.columns) == list(frame.columns)
    # the codes were read as text, as a whole read gives them, not as numbers
    assert model.schema_["zip"].kind != "numeric" and model.schema_["count"].kind == "numeric"


def test_the_cli_fits_a_csv_file_with_parts_and_its_reading_options(tmp_path, capsys):
    from synthgen.cli import main

    path = tmp_path / "t.csv"
    _messy(600).to_csv(path, index=False, sep=";")
    out = tmp_path / "m.sgm"
    args = ["fit", str(path), "--parts", "--fit-rows", "500", "-g", "copula", "--sep", ";"]
    # seeded: an unseeded sample of 500 of the 600 rows misses all five gaps about once in
    # 8,000 runs, and the fit then (rightly) refuses the gaps it did not see
    args += ["--random-state", "0"]
    assert main([*args, "--na-values", "?", "-o", str(out), "-q"]) == 0
    assert "600 rows x 6 columns (1 Parquet parts of the CSV file)" in capsys.readouterr().out
    assert sg.load(out).n_train_rows_ == 600


def test_bad_csv_input_gets_clear_errors(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    with pytest.raises(DataError, match="no such file"):
        csv_to_parts(tmp_path / "missing.csv", folder)
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    with pytest.raises(DataError, match="holds no rows"):
        csv_to_parts(empty, folder)
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"dtype names columns not in the file: \['c'\]"):
        csv_to_parts(path, folder, dtype={"c": "str"})
    with pytest.raises(sg.exceptions.ConfigurationError, match="csv options"):
        fit_parts(sg.make_generator("copula"), folder, csv={"sep": ";"})


def test_a_fit_from_a_gzipped_tab_file_streams_it(tmp_path):
    path = tmp_path / "big.tsv.gz"
    frame = _messy(700).replace("?", "Lyon")
    frame.to_csv(path, index=False, sep="\t")
    model = fit_parts(sg.make_generator("copula", random_state=0), path, fit_rows=500)
    assert model.n_train_rows_ == 700 and list(model.schema_.names) == list(frame.columns)
    assert model.schema_["zip"].kind != "numeric" and model.schema_["amount"].kind == "numeric"
