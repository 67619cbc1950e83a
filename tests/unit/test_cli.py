import pandas as pd
import pytest

from synthgen.cli import main


@pytest.fixture()
def csv(tmp_path, adult):
    path = tmp_path / "data.csv"
    adult.head(400).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_fit_then_sample(tmp_path, csv, suffix, capsys):
    model = tmp_path / "model.sgm"
    assert (
        main(["fit", str(csv), "-g", "copula", "-o", str(model), "-q", "--random-state", "0"]) == 0
    )
    out = tmp_path / f"out{suffix}"
    assert main(["sample", str(model), "-n", "123", "-o", str(out), "-q"]) == 0
    frame = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert frame.shape == (123, 15)
    assert "wrote 123 synthetic rows" in capsys.readouterr().out


def test_parquet_input_and_generator_params(tmp_path, adult):
    data = tmp_path / "data.parquet"
    adult.head(300).to_parquet(data)
    model = tmp_path / "m.sgm"
    code = main(
        ["fit", str(data), "-g", "copula", "-o", str(model), "-q", "--param", "shrinkage=0.1"]
    )
    assert code == 0 and model.exists()


def test_schema_and_list(tmp_path, csv, capsys):
    assert main(["list"]) == 0
    assert "copula" in capsys.readouterr().out.split()
    out = tmp_path / "schema.json"
    assert main(["schema", str(csv), "-o", str(out)]) == 0
    assert '"kind": "categorical"' in out.read_text()


def test_errors_are_one_line_with_status_2(tmp_path, csv, capsys):
    assert main(["fit", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "m.sgm")]) == 2
    assert "synthgen: error: no such file" in capsys.readouterr().err
    assert main(["fit", str(csv), "-g", "nope", "-o", str(tmp_path / "m.sgm")]) == 2
    assert "unknown generator 'nope'" in capsys.readouterr().err
    assert main(["fit", str(tmp_path / "data.xlsx"), "-o", str(tmp_path / "m.sgm")]) == 2
    assert "unknown table format" in capsys.readouterr().err


def test_demo_writes_its_outputs(tmp_path, monkeypatch):
    monkeypatch.setattr("synthgen.datasets.load_adult", _small_adult)
    assert main(["demo", "--output", str(tmp_path / "demo")]) == 0
    for name in ("synthetic.csv", "model.sgm", "summary.md", "report.html"):
        assert (tmp_path / "demo" / name).exists()
    summary = (tmp_path / "demo" / "summary.md").read_text()
    assert "train rows: 400" in summary and "fit:" in summary
    assert "privacy verdict" in summary
    # the default generator is chosen from the table's size, and said
    assert "generator: copula (the default for 400 rows x 15 columns" in summary
    assert "fidelity verdict" in summary and "utility verdict" in summary


def test_evaluate_command(tmp_path, adult, capsys):
    real, syn, hold = tmp_path / "r.csv", tmp_path / "s.csv", tmp_path / "h.csv"
    adult.iloc[:300].to_csv(real, index=False)
    adult.iloc[300:600].to_csv(syn, index=False)
    adult.iloc[600:900].to_csv(hold, index=False)
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    args = ["evaluate", "--real", str(real), "--synthetic", str(syn), "--holdout", str(hold)]
    args += ["--target", "income", "--report", str(html), "--json", str(js), "-q"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "column_pair_trends" in out and "privacy verdict:" in out
    assert "fidelity verdict:" in out and "utility verdict:" in out
    assert "Data: <b>" in html.read_text() and "r.csv" in html.read_text()
    assert html.read_text().lstrip().lower().startswith("<!doctype html")
    assert '"dcr_share"' in js.read_text()
    bad = ["evaluate", "--real", str(real), "--synthetic", str(syn), "--target", "nope", "-q"]
    assert main(bad) == 2
    assert "nope" in capsys.readouterr().err


def _small_adult():
    from synthgen.datasets import load_adult_raw

    raw = load_adult_raw().head(500)
    for name in raw.columns:
        if raw[name].dtype == object:
            raw[name] = raw[name].str.strip()
    return raw
