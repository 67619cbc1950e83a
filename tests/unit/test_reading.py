"""Reading tables as users have them (issue 16, finding 3): codes with leading zeros,
separators, missing-value markers, dtypes; through read_table and the CLI."""

import warnings

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.cli import main
from synthgen.exceptions import DataError, DataWarning
from synthgen.tabular_io import read_table, write_table


def _codes_table(n: int = 60) -> str:
    rng = np.random.default_rng(0)
    zips = ["01002", "02134", "10001", "00501", "94103"]
    codes = ["007", "012", "100", "042"]
    lines = ["zip,code,amount"]
    for i in range(n):
        lines.append(f"{zips[i % 5]},{codes[i % 4]},{rng.integers(10, 99)}")
    return "\n".join(lines) + "\n"


def test_codes_with_leading_zeros_stay_strings(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text(_codes_table() + "\n")
    frame = read_table(path)
    assert frame["zip"].tolist()[:5] == ["01002", "02134", "10001", "00501", "94103"]
    assert frame["code"].tolist()[:4] == ["007", "012", "100", "042"]
    assert pd.api.types.is_integer_dtype(frame["amount"].dtype)  # plain numbers stay numbers


def test_codes_with_missing_cells_stay_strings(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("zip,n\n01002,1\n,2\n10001,3\n")
    frame = read_table(path)
    assert frame["zip"].tolist()[0] == "01002" and frame["zip"].isna().tolist() == [0, 1, 0]


def test_codes_come_back_as_written_after_fit_sample_and_csv(tmp_path, capsys):
    data, model, out = tmp_path / "codes.csv", tmp_path / "m.sgm", tmp_path / "out.csv"
    data.write_text(_codes_table(200))
    assert main(["fit", str(data), "-o", str(model), "-q", "--random-state", "0"]) == 0
    assert main(["sample", str(model), "-n", "300", "-o", str(out), "-q"]) == 0
    text = out.read_text()
    assert "01002" in text and "007" in text and ",7," not in text
    back = read_table(out)
    assert set(back["zip"]) <= {"01002", "02134", "10001", "00501", "94103"}
    assert set(back["code"]) <= {"007", "012", "100", "042"}


def test_dtype_option_reads_a_column_as_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,n\n10,1\n20,2\n")
    assert read_table(path, dtype={"id": "str"})["id"].tolist() == ["10", "20"]
    with pytest.raises(DataError, match="not in the file"):
        read_table(path, dtype={"nope": "str"})
    with pytest.raises(DataError, match="not a pandas dtype"):
        read_table(path, dtype={"id": "strng"})


@pytest.mark.parametrize(("sep", "shown"), [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_the_separator_is_sniffed_with_a_warning(tmp_path, sep, shown):
    path = tmp_path / "t.csv"
    rows = [["a", "b", "c"], ["1", "2,5", "x"], ["2", "3,5", "y"], ["3", "4,5", "z"]]
    path.write_text("\n".join(sep.join(r) for r in rows) + "\n")
    with pytest.warns(DataWarning, match=f"separator {shown}"):
        frame = read_table(path)
    assert frame.columns.tolist() == ["a", "b", "c"] and frame["b"].tolist()[0] == "2,5"


def test_a_one_column_parse_of_a_separated_file_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a;b;c\n1;2;3\n4;5\n")  # ragged: no separator splits it steadily
    with pytest.raises(DataError, match=r"one column.*sep=';'"):
        read_table(path)
    with pytest.warns(DataWarning, match="one column"):
        assert read_table(path, sep=",").shape[1] == 1  # the user's choice, but said


def test_a_plain_comma_file_reads_without_warnings(tmp_path):
    path = tmp_path / "t.csv"
    write_table(pd.DataFrame({"a": [1.5, 2.5], "b": ["x; y", "z"]}), path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = read_table(path)
    assert frame["b"].tolist() == ["x; y", "z"]


def test_question_marks_are_missing_with_a_warning_naming_the_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("age,job\n31,?\n?,clerk\n45,clerk\n")
    with pytest.warns(DataWarning, match=r"'\?' read as missing.*'age' \(1 cell.*'job'"):
        frame = read_table(path)
    assert pd.api.types.is_numeric_dtype(frame["age"].dtype)
    assert frame["job"].isna().tolist() == [True, False, False]
    kept = read_table(path, na_values=[])  # only empty cells are missing
    assert kept["job"].tolist()[0] == "?"
    custom = read_table(path, na_values=["clerk"])
    assert custom["job"].isna().tolist() == [False, True, True]


@pytest.mark.filterwarnings("default::UserWarning")
def test_cli_reading_options(tmp_path, capsys):
    path = tmp_path / "t.csv"
    lines = ["zip;n;job"] + [f"{10 + i % 5};{i};{'?' if i % 7 == 0 else 'a'}" for i in range(40)]
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "s.json"
    args = ["schema", str(path), "-o", str(out), "--dtype", "zip=str", "--kind", "n=categorical"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "synthgen: warning:" in err and "separator ';'" in err and "'job'" in err
    schema = sg.Schema.from_json(out)
    assert schema["zip"].categories == ["10", "11", "12", "13", "14"]  # text, as asked
    assert schema["n"].kind == "categorical"
    assert schema["job"].has_missing
    args = ["schema", str(path), "-o", str(out), "--sep", ";", "--na-values="]
    assert main(args) == 0
    assert "warning" not in capsys.readouterr().err
    assert "?" in sg.Schema.from_json(out)["job"].categories
    assert main(["schema", str(path), "--sep", "ab"]) == 2
    assert "one character" in capsys.readouterr().err
    assert main(["schema", str(path), "--dtype", "zip"]) == 2
    assert "--dtype expects COLUMN=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["t.tsv", "t.TSV.gz", "t.csv.gz"])
def test_tab_and_gzip_names_round_trip(tmp_path, name):
    frame = pd.DataFrame({"zip": ["01002", "10001"], "note": ["a, b", "c"], "n": [1, 2]})
    path = tmp_path / name
    write_table(frame, path)
    raw = path.read_bytes()
    assert raw[:2] == b"\x1f\x8b" if name.lower().endswith(".gz") else b"\t" in raw
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no sniffing needed: the name says the separator
        back = read_table(path)
    pd.testing.assert_frame_equal(back, frame)


def test_an_unknown_suffix_names_the_known_ones(tmp_path):
    with pytest.raises(DataError, match=r"unknown table format.*\.tsv\.gz"):
        read_table(tmp_path / "t.tsv.bz2")
