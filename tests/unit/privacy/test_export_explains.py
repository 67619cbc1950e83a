"""Finding 2 of issue 16: an export that explains itself.

One verdict, the same in ``ExportResult``, the report (HTML and JSON), the CLI output and its
exit status, with reasons; what the protections changed, listed; copies judged against the
data's own duplicate rate.
"""

from __future__ import annotations

import json
from html import unescape

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.cli import EXIT_NOT_SAFE, main
from synthgen.privacy import Protections

# The orders table has an email column: the personal-data warning is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::synthgen.exceptions.PersonalDataWarning")


def orders(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """An orders table: 150 customers' emails, each on a few orders (the reproduction)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "email": [f"customer{i}@example.com" for i in rng.integers(0, 150, n)],
            "product": rng.choice(["book", "pen", "lamp", "desk"], n),
            "quantity": rng.integers(1, 5, n),
            "amount": np.round(rng.gamma(2.0, 20.0, n), 2),
        }
    )


def _html_verdict(path) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split('Privacy verdict: <span class="verdict ', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("generator", ["copula", "copy"])
def test_one_verdict_everywhere_with_reasons(tmp_path, generator):
    # Before: the orders table exited 3 with "fail" and no reason while the report said
    # "pass" (the copy filter had dropped every row, which only result.log told).
    html, out = tmp_path / "r.html", tmp_path / "syn.csv"
    result = sg.export(orders(), generator=generator, report=html, output=out)
    assert result.verdict == result.report.privacy_verdict
    assert result.verdict == result.report.verdicts["privacy"]["verdict"]
    assert json.loads(result.report.to_json())["privacy_verdict"] == result.verdict
    assert _html_verdict(html) == result.verdict
    assert result.reasons and result.reasons == result.report.verdicts["privacy"]["reasons"]
    for reason in result.reasons:
        assert reason in unescape(html.read_text(encoding="utf-8"))
    assert result.written == (result.verdict == "pass") == out.exists()


def test_a_table_of_copies_fails_with_the_reason_everywhere(tmp_path, capsys):
    data, html, out = tmp_path / "people.csv", tmp_path / "r.html", tmp_path / "syn.csv"
    rng = np.random.default_rng(0)
    people = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(["a", "b"], 500)})
    people.to_csv(data, index=False)  # no two rows alike: every copy is one person's row
    code = main(["export", str(data), "-g", "copy", "-o", str(out), "--report", str(html), "-q"])
    printed = capsys.readouterr().out
    assert code == EXIT_NOT_SAFE and not out.exists()
    # "fail" when the filter dropped every row; when it leaves a few (clipped extremes), the
    # attacks judge those few rows and the filter's reason keeps the verdict at "warn"
    assert "privacy verdict: fail" in printed or "privacy verdict: warn" in printed
    # Every synthetic row copies a training row: the copy filter drops all of them (or all but
    # a few whose extremes were clipped to the stored bounds), and says so.
    assert "after the copy filter" in printed or "copy filter dropped every" in printed
    page = unescape(html.read_text(encoding="utf-8"))
    reason = next(r for r in page.split("\n") if "copy filter" in r)
    assert f"privacy verdict: {_html_verdict(html)}" in printed and reason
    assert "synthetic data not written" in page


def test_the_orders_table_is_judged_as_the_generator_saw_it():
    # The emails are merged into "(other)" before fitting: the holdout must be judged after the
    # same merge, or every synthetic row looks nearer to a training row than real rows are.
    result = sg.export(orders(), generator="copula")
    copies = result.log["copies"]
    assert copies["kept"] == copies["wanted"] == len(result.synthetic)
    assert copies["near_copies"] + copies["exact_copies"] < 0.2 * copies["checked"]
    assert result.verdict == "pass"


def test_what_the_protections_changed_is_listed(tmp_path, capsys):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "age": np.append(rng.integers(20, 60, 997), [0, 1, 99]),
            "city": ["Paris"] * 500 + ["Lyon"] * 480 + [f"Village{i}" for i in range(20)],
            "fare": np.append(rng.gamma(2.0, 10.0, 999), 512.0),
        }
    )
    result = sg.export(df, generator="copula", report=tmp_path / "r.html")
    clipped = result.log["changes"]["clipped"]
    assert clipped["fare"]["lowered"] >= 1 and clipped["fare"]["high"] < 512
    assert clipped["age"]["raised"] >= 1 and clipped["age"]["low"] > 0
    merged = result.log["changes"]["merged"]["city"]
    assert merged["labels"] == merged["rows"] >= 10  # one row per village
    assert merged["into"] == ["(other)"]
    text = " ".join(result.changes)
    assert f"values above {clipped['fare']['high']} lowered to {clipped['fare']['high']}" in text
    assert "labels held by fewer than 10 rows" in text and "merged into '(other)'" in text
    page = unescape((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "What the protections changed" in page
    for line in result.changes:
        assert line in page
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    main(["export", str(data), "-g", "copula", "-o", str(tmp_path / "s.csv"), "-q"])
    printed = capsys.readouterr().out
    assert "what the protections changed:" in printed and "lowered to" in printed


def test_the_report_compares_against_the_original_rows(monkeypatch):
    seen = {}
    real_evaluate = sg.evaluate

    def spy(**kwargs):
        seen["real"] = kwargs["real"]
        return real_evaluate(**kwargs)

    monkeypatch.setattr("synthgen.safe_export.evaluate", spy)
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"x": np.append(rng.normal(size=999), 1e9), "c": rng.choice(["a", "b"], 1000)}
    )
    result = sg.export(df, generator="copula")
    assert result.log["changes"]["clipped"]["x"]["lowered"] >= 1  # the model saw clipped x
    assert len(seen["real"]) == len(result.synthetic)  # the training rows...
    assert set(seen["real"]["x"]) <= set(df["x"])
    assert seen["real"]["x"].is_unique  # ...unclipped (clipping piles values on the bounds)


def test_natural_duplicates_are_not_dropped_as_copies():
    # A table where about a quarter of the rows repeat other rows, as in a passenger list:
    # the synthetic rows may repeat training rows as often as real unseen rows do.
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame(
        {
            "class": rng.choice(["1st", "2nd", "3rd"], n),
            "sex": rng.choice(["f", "m"], n),
            "fare": np.round(rng.gamma(2.0, 15.0, n), 2),
        }
    )
    df.loc[rng.random(n) < 0.25, "fare"] = 8.05  # the common fare: natural duplicates
    result = sg.export(df, generator="marginals", protections=Protections(clip_quantiles=None))
    copies = result.log["copies"]
    assert copies["base_rate"] > 0.15
    assert copies["natural_duplicates"] > 0.5 * copies["base_rate"] * copies["wanted"]
    repeated = result.synthetic.merge(df.drop_duplicates(), how="inner").shape[0]
    assert repeated / len(result.synthetic) > 0.5 * copies["base_rate"]


def test_the_copy_filter_shows_a_progress_bar_when_verbose(capsys):
    sg.export(orders(), generator="copula", verbose=True)
    assert "copy filter" in capsys.readouterr().err


def test_the_default_generator_is_chosen_from_the_size_and_named(tmp_path, capsys):
    result = sg.export(orders(), report=tmp_path / "r.html")
    assert result.model.key == "copula"  # 480 training rows: too few for a network
    assert result.report.meta["generator"] == "copula (chosen for the table's size)"
    data = tmp_path / "o.csv"
    orders().to_csv(data, index=False)
    main(["export", str(data), "-o", str(tmp_path / "s.csv"), "-q"])
    assert "generator: copula (the default for 480 rows x 4 columns" in capsys.readouterr().out
