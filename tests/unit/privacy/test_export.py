import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.cli import EXIT_NOT_SAFE, main
from synthgen.privacy import Protections, protect_training_data


@pytest.fixture(scope="module")
def people():
    df = sg.datasets.load_adult().head(2500).reset_index(drop=True)
    # A label only three people hold, and one extreme value: both must stay private.
    df.loc[:2, "native-country"] = "Atlantis"
    df.loc[5, "capital-gain"] = 12_345_678
    return df


def test_export_passes_and_writes_for_a_safe_generator(people, tmp_path):
    out, html = tmp_path / "syn.csv", tmp_path / "privacy.html"
    result = sg.export(people, generator="copula", target="income", output=out, report=html)
    assert result.verdict == "pass" and result.written and out.exists()
    written = pd.read_csv(out)
    assert len(written) == len(result.synthetic) == round(0.8 * len(people))
    text = html.read_text()
    assert "Privacy verdict" in text
    assert "Atlantis" not in text  # the rare label is masked in the report
    assert "Atlantis" not in set(result.synthetic["native-country"])
    assert "Atlantis" not in result.model.schema_["native-country"].categories
    assert result.synthetic["capital-gain"].max() < 12_345_678


def test_leaky_generator_fails_and_writes_no_data(people, tmp_path):
    out, html = tmp_path / "syn.csv", tmp_path / "privacy.html"
    result = sg.export(people, generator="copy", target="income", output=out, report=html)
    assert result.verdict == "fail"
    assert not result.written and not out.exists()
    assert html.exists() and any(r.startswith("mia_") for r in result.reasons)


def test_cli_exit_status_and_force(people, tmp_path, capsys):
    data = tmp_path / "people.csv"
    people.to_csv(data, index=False)
    out = tmp_path / "syn.csv"
    code = main(["export", str(data), "-g", "copy", "-o", str(out), "-q"])
    assert code == EXIT_NOT_SAFE and not out.exists()
    assert "no data written" in capsys.readouterr().out
    code = main(["export", str(data), "-g", "copy", "-o", str(out), "-q", "--force"])
    assert code == EXIT_NOT_SAFE and out.exists()
    capsys.readouterr()
    # A run that does not pass must not leave an older file that looks like its result.
    code = main(["export", str(data), "-g", "copy", "-o", str(out), "-q"])
    assert code == EXIT_NOT_SAFE and not out.exists()
    assert f"removed the older {out}" in capsys.readouterr().out


def test_export_checks_its_output_paths_before_any_work(people, tmp_path, monkeypatch):
    def no_fit(*args, **kwargs):
        raise AssertionError("export fitted before checking where it writes")

    monkeypatch.setattr("synthgen.generators.make_generator", no_fit)
    with pytest.raises(sg.PersistenceError, match=r"folder .* does not exist"):
        sg.export(people, output=tmp_path / "missing" / "syn.csv")
    with pytest.raises(sg.DataError, match="unknown table format"):
        sg.export(people, output=tmp_path / "syn.xlsx")
    with pytest.raises(sg.PersistenceError, match=r"report .* does not exist"):
        sg.export(people, report=tmp_path / "missing" / "r.html")


def test_epsilon_needs_a_generator_with_differential_privacy(people):
    with pytest.raises(sg.ConfigurationError, match="'copula' has no differential-privacy"):
        sg.export(people, generator="copula", epsilon=3.0)
    with pytest.raises(sg.ConfigurationError, match="epsilon"):
        sg.export(people, epsilon=0.0)
    with pytest.raises(sg.ConfigurationError, match="delta"):
        sg.export(people, epsilon=1.0, delta=1.5)


def test_export_with_epsilon_reports_the_guarantee(people, tmp_path):
    out, html = tmp_path / "syn.csv", tmp_path / "privacy.html"
    result = sg.export(people, epsilon=2.0, target="income", output=out, report=html)
    assert result.model.key == "dp_marginals"
    assert 0 < result.privacy["epsilon"] <= 2.0 + 1e-9 and result.privacy["delta"] == 1e-5
    assert result.report.meta["differential_privacy"]["epsilon"] == result.privacy["epsilon"]
    text = html.read_text()
    assert "Differential privacy" in text and "&epsilon;" in text
    assert "Atlantis" not in text
    assert "Atlantis" not in set(result.synthetic["native-country"].dropna())
    assert "Atlantis" not in result.model.schema_["native-country"].categories
    assert result.synthetic["capital-gain"].max() < 12_345_678


def test_protections_merge_rare_labels_and_clip_extremes():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "city": ["Paris"] * 500 + ["Lyon"] * 497 + ["Nice"] * 3,
            "flag": [True] * 997 + [False] * 3,
            "amount": np.append(rng.normal(100, 10, 999), 1e6),
        }
    )
    out, schema, log = protect_training_data(df, sg.Schema.infer(df), Protections())
    assert set(out["city"]) == {"Paris", "Lyon"}  # 3 holders < 10: merged, then folded
    assert set(out["flag"]) == {True} and out["flag"].dtype == bool
    assert out["amount"].max() < 1e6 and log["clipped_values"]["amount"] >= 1
    assert schema["amount"].maximum < 1e6
    assert df["amount"].max() == 1e6  # input untouched


def test_a_clip_bound_is_never_one_persons_value():
    # Twenty people above the rest, each with their own capital gain; the 99.5% quantile of
    # 2,000 rows is the 1,990th value: 77777, held by one person (issue 21, finding 5).
    top = [41000 + 250 * i for i in range(9)] + [77777] + [80000 + 1000 * i for i in range(10)]
    gains = pd.Series([0] * 1980 + top, name="capital-gain").astype("int64")
    df = pd.DataFrame({"capital-gain": gains, "group": ["a", "b"] * 1000})
    out, _, _ = protect_training_data(df, sg.Schema.infer(df), Protections())
    bound = out["capital-gain"].max()
    held = int((df["capital-gain"] == bound).sum())
    assert held == 0 or held >= Protections().min_category_count, f"bound {bound} held by {held}"
    assert out["capital-gain"].dtype == np.int64 and bound < 77777
    low = out["capital-gain"].min()
    assert low == 0  # a value 1,980 rows hold is a fine bound


def test_pooled_rare_labels_keep_an_other_label():
    df = pd.DataFrame({"c": ["a"] * 50 + [f"r{i}" for i in range(12)]})
    out, schema, _ = protect_training_data(df, sg.Schema.infer(df), Protections())
    assert set(out["c"]) == {"a", "(other)"}
    assert schema["c"].categories == ["(other)", "a"]


def test_bad_protections():
    with pytest.raises(sg.ConfigurationError, match="clip_quantiles"):
        Protections(clip_quantiles=(0.9, 0.1))
    with pytest.raises(sg.ConfigurationError, match="holdout_share"):
        sg.export(pd.DataFrame({"a": range(50)}), holdout_share=0.9)
