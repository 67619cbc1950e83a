import json
import os
import subprocess
import sys
import textwrap
import zipfile

import pandas as pd
import pytest

import synthgen as sg
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


def test_evaluate_command_max_rows(tmp_path, adult, capsys):
    real, syn = tmp_path / "r.csv", tmp_path / "s.csv"
    adult.iloc[:300].to_csv(real, index=False)
    adult.iloc[300:500].to_csv(syn, index=False)
    js = tmp_path / "r.json"
    args = ["evaluate", "--real", str(real), "--synthetic", str(syn), "--json", str(js), "-q"]
    assert main([*args, "--max-rows", "150"]) == 0
    meta = json.loads(js.read_text())["meta"]
    assert meta["rows"] == {"real": 150, "synthetic": 150}
    assert meta["sampled_rows"] == {"real": 300, "synthetic": 200}
    assert main([*args, "--max-rows", "5"]) == 2
    assert "max_rows" in capsys.readouterr().err


def _small_adult():
    from synthgen.datasets import load_adult_raw

    raw = load_adult_raw().head(500)
    for name in raw.columns:
        if raw[name].dtype == object:
            raw[name] = raw[name].str.strip()
    return raw


# -- output paths and failed writes (issue 21, finding 4) ----------------------------------------
def test_fit_into_a_missing_folder_fails_before_fitting(tmp_path, csv, capsys, monkeypatch):
    def no_fit(self, *args, **kwargs):
        raise AssertionError("fitted before checking the output path")

    monkeypatch.setattr(sg.generators.base.BaseGenerator, "fit", no_fit)
    assert main(["fit", str(csv), "-o", str(tmp_path / "missing" / "m.sgm"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "synthgen: error: cannot write model" in err and "does not exist" in err


def test_outputs_are_checked_before_the_work(tmp_path, csv, capsys, monkeypatch):
    monkeypatch.setattr(sg, "evaluate", lambda **kw: pytest.fail("evaluated before checking"))
    missing = tmp_path / "missing"
    base = ["evaluate", "--real", str(csv), "--synthetic", str(csv), "-q"]
    for flag, what in (("--report", "report"), ("--json", "metrics JSON")):
        assert main([*base, flag, str(missing / "x")]) == 2
        assert f"cannot write {what}" in capsys.readouterr().err
    assert main(["schema", str(csv), "-o", str(missing / "s.json")]) == 2
    assert "cannot write schema" in capsys.readouterr().err
    model = tmp_path / "m.sgm"
    assert main(["fit", str(csv), "-o", str(model), "-q"]) == 0
    monkeypatch.setattr(sg, "load", lambda *a, **k: pytest.fail("loaded before checking"))
    assert main(["sample", str(model), "-n", "5", "-o", str(tmp_path / "out.xlsx")]) == 2
    assert "unknown table format" in capsys.readouterr().err
    assert main(["sample", str(model), "-n", "5", "-o", str(missing / "out.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_full_disk_keeps_the_old_table_and_fails_in_one_line(tmp_path, csv):
    model, out = tmp_path / "m.sgm", tmp_path / "out.csv"
    assert main(["fit", str(csv), "-o", str(model), "-q", "--random-state", "0"]) == 0
    assert main(["sample", str(model), "-n", "50", "-o", str(out), "-q"]) == 0
    good = out.read_bytes()
    # The file-size limit makes writes past 60 kB fail as a full disk does (EFBIG / ENOSPC).
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
        from synthgen.cli import main
        sys.exit(main(["sample", {str(model)!r}, "-n", "3000", "-o", {str(out)!r}, "-q"]))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("synthgen: error: cannot write") and "Traceback" not in run.stderr
    assert out.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "m.sgm", "out.csv"]


# -- errors and commands (issue 16, finding 7) ---------------------------------------------------
def test_param_errors_are_one_line_and_come_before_reading(tmp_path, capsys):
    # With the generator named, the parameter is checked before the file is read (the
    # default generator follows the table's size, so without -g the table is read first).
    missing = str(tmp_path / "not-read.csv")
    model = str(tmp_path / "m.sgm")
    assert main(["fit", missing, "-g", "copula", "-o", model, "--param", "foo=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown parameter 'foo'" in err and "shrinkage" in err
    assert main(["fit", missing, "-g", "copula", "-o", model, "--param", "shrinkag=0.1"]) == 2
    assert "did you mean 'shrinkage'?" in capsys.readouterr().err
    assert main(["fit", missing, "-g", "copula", "-o", model, "--param", "shrinkage=abc"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shrinkage" in err and "'abc'" in err
    assert main(["fit", missing, "-g", "copula", "-o", model, "--param", "shrinkage"]) == 2
    assert "--param expects KEY=VALUE" in capsys.readouterr().err


def test_export_param_errors_are_one_line(tmp_path, csv, capsys):
    args = ["export", str(csv), "-o", str(tmp_path / "o.csv"), "-q", "--param", "foo=1"]
    assert main(args) == 2
    assert "unknown parameter 'foo'" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"synthgen {sg.__version__}"


def test_a_closed_pipe_ends_quietly(tmp_path, csv):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    run = subprocess.Popen(
        [sys.executable, "-m", "synthgen.cli", "schema", str(csv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    run.stdout.close()  # the reader goes away before the schema is printed (`| head -0`)
    err = run.stderr.read().decode()
    assert run.wait(timeout=120) == 141
    assert err == "", err


def test_sample_to_an_unknown_format_fails_before_loading(tmp_path, csv, capsys, monkeypatch):
    model = tmp_path / "m.sgm"
    assert main(["fit", str(csv), "-o", str(model), "-q"]) == 0
    monkeypatch.setattr(sg, "load", lambda *a, **k: pytest.fail("loaded before checking"))
    assert main(["sample", str(model), "-n", "5", "-o", str(tmp_path / "x.json")]) == 2
    assert "unknown table format" in capsys.readouterr().err


def _info(path) -> tuple[str, set[str]]:
    code = (
        "import sys\nfrom synthgen.cli import main\n"
        f"status = main(['info', {str(path)!r}])\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\nsys.exit(status)"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    out, _, modules = run.stdout.partition("MODULES ")
    return out, set(modules.split())


def test_info_describes_a_neural_model_without_loading_it(tmp_path, adult):
    model = sg.make_generator(
        "vae", epochs=1, batch_size=64, latent_dim=4, hidden=(8,), device="cpu", random_state=0
    ).fit(adult.head(200))
    path = tmp_path / "vae.sgm"
    model.save(path)
    out, modules = _info(path)
    assert "torch" not in modules
    assert "generator: vae" in out and "epochs=1" in out and "latent_dim=4" in out
    assert "training: 200 rows, 1 epochs (stopped by max_epochs)" in out
    assert "no differential-privacy guarantee" in out
    assert "schema: 15 columns" in out and "age " in out and "categorical" in out
    assert f"({path.stat().st_size / 1000:,.1f} kB)" in out
    # The weights are never read: a file whose weights are garbage is still described.
    broken = tmp_path / "broken.sgm"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(broken, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, b"\0" * len(data) if name == "weights.safetensors" else data)
    with pytest.raises(sg.PersistenceError):
        sg.load(broken)
    assert "generator: vae" in _info(broken)[0]


def test_info_shows_the_privacy_record_and_refuses_other_files(tmp_path, adult, capsys):
    model = sg.make_generator("dp_marginals", epsilon=2.0, random_state=0)
    model.fit(adult.head(300)[["age", "sex", "race"]])
    path = tmp_path / "dp.sgm"
    model.save(path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "generator: dp_marginals" in out and "privacy: differentially private fit" in out
    assert "epsilon = 2 spent of 2, delta = 1e-05" in out and "accounting: Renyi DP" in out
    junk = tmp_path / "junk.sgm"
    junk.write_bytes(b"not a zip")
    assert main(["info", str(junk)]) == 2
    assert "not a synthgen model file" in capsys.readouterr().err
