"""Export of a table in parts (``sg.export_parts``): the same protections and copy filter as
the in-memory export, the same rows whatever the chunking, nothing half-written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
import synthgen.privacy.label_counts as label_counts
import synthgen.privacy.plan as plan_module
import synthgen.safe_export.passes as passes
from synthgen.exceptions import DataError, PersistenceError, SchemaError
from synthgen.parquet_parts import ParquetParts
from synthgen.privacy import Protections, protect_training_data
from synthgen.privacy.changes import protection_changes
from synthgen.privacy.copies import CopyFilter, copy_decision, merge_holdout_labels
from synthgen.privacy.protections import protected_schema
from synthgen.privacy.spilled import SpilledCopyFilter, SpilledRows
from synthgen.safe_export.passes import prepare_parts, protect_parts, spill_parts, split_parts

# the email column is personal data: fits warn that it is replaced by fakes (asserted below)
pytestmark = pytest.mark.filterwarnings("ignore::synthgen.PersonalDataWarning")


@pytest.fixture(scope="module")
def people():
    df = sg.datasets.load_adult().head(2400).reset_index(drop=True)
    # A label only three people hold, and one extreme value: both must stay private.
    df.loc[:2, "native-country"] = "Atlantis"
    df.loc[5, "capital-gain"] = 12_345_678
    rng = np.random.default_rng(0)
    df["joined"] = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, len(df)), "D")
    df.loc[7, "joined"] = pd.Timestamp("1901-01-01")  # one person's extreme date
    df["email"] = [f"person.qzv{i:05d}@mail{i % 7}.example" for i in range(len(df))]
    # a hierarchy with rare parents: a rare city is merged into its region's largest one
    weights = np.r_[np.full(20, 0.045), np.full(20, 0.005)]
    city = rng.choice(40, len(df), p=weights / weights.sum())
    df["city"] = [f"city{c:02d}" for c in city]
    df["region"] = [f"region{c % 4}" for c in city]
    # mostly one-off codes (learned as text): almost every label is rare
    df["ref"] = [f"{i * 7919 % 100_003:06d} QZ" if i % 5 else "000000 QZ" for i in range(len(df))]
    return df


def _write(df: pd.DataFrame, folder, n_parts: int = 3, group_rows: int | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    for i, rows in enumerate(np.array_split(np.arange(len(df)), n_parts)):
        df.iloc[rows].to_parquet(folder / f"part-{i}.parquet", row_group_size=group_rows)
    return folder


def _read(folder) -> pd.DataFrame:
    return pd.read_parquet(folder).reset_index(drop=True)


def test_split_does_not_depend_on_how_the_rows_are_grouped(people, tmp_path):
    one = split_parts(ParquetParts(_write(people, tmp_path / "a", 1)), tmp_path / "ta", 0.2, 3, 300)
    many = split_parts(
        ParquetParts(_write(people, tmp_path / "b", 4, group_rows=170)),
        tmp_path / "tb",
        0.2,
        3,
        300,
    )
    assert (one.n_train, one.n_holdout) == (many.n_train, many.n_holdout)
    assert one.n_train + one.n_holdout == len(people) and 300 < one.n_holdout < 660
    pd.testing.assert_frame_equal(_read(tmp_path / "ta"), _read(tmp_path / "tb"))
    pd.testing.assert_frame_equal(one.train_sample, many.train_sample)
    pd.testing.assert_frame_equal(one.holdout_sample, many.holdout_sample)
    assert len(one.train_sample) == 300 and one.missing["native-country"] > 0
    # the training rows and the holdout are the table's rows, each once
    train = _read(tmp_path / "ta")
    assert not train["email"].isin(one.holdout_sample["email"]).any()
    assert set(train["email"]) | set(many.holdout_sample["email"]) <= set(people["email"])


@pytest.fixture(scope="module")
def protected(people, tmp_path_factory):
    """The people split in parts, their schema, and the protected parts with their log."""
    root = tmp_path_factory.mktemp("protected")
    split = split_parts(
        ParquetParts(_write(people, root / "src", 3, 250)), root / "t", 0.2, 1, 10**6
    )
    train = _read(root / "t")
    schema = sg.Schema.infer(train)
    parts, _plan, log, counts = protect_parts(split.train, root / "p", schema, Protections())
    return split, train, schema, parts, log, counts


def test_protected_parts_are_the_whole_table_protected(protected):
    _split, train, schema, parts, log, counts = protected
    assert [(h.parent, h.child) for h in schema.structure.hierarchies] == [("city", "region")]
    assert log["merged_labels"]["city"] > 0  # rare cities merged within their region
    assert log["changes"]["merged"]["ref"]["labels"] > 1500  # the one-off codes
    whole, _, whole_log = protect_training_data(train, schema, Protections())
    pd.testing.assert_frame_equal(parts.read(parts.units), whole)
    assert log["merged_labels"] == whole_log["merged_labels"]
    assert log["clipped_values"] == whole_log["clipped_values"]
    assert log["changes"] == protection_changes(train, whole, schema)
    assert "Atlantis" not in set(whole["native-country"])
    assert whole["capital-gain"].max() < 12_345_678 and whole["joined"].min().year > 1901
    assert counts["income"].to_dict() == whole["income"].value_counts().to_dict()


def test_labels_spilled_to_disk_give_the_same_protections(people, tmp_path, monkeypatch):
    # the one-off codes (and every other column of over 40 text labels) spill to disk
    monkeypatch.setattr(label_counts, "SPILL_LABELS", 40)
    monkeypatch.setattr(label_counts, "_WAITING", 10)
    monkeypatch.setattr(label_counts, "BUCKETS", 5)
    spied = []
    monkeypatch.setattr(plan_module, "_spilled_plan", _spy(plan_module._spilled_plan, spied))
    split = split_parts(
        ParquetParts(_write(people, tmp_path / "src", 3, 250)), tmp_path / "t", 0.2, 1, 10**6
    )
    train = _read(tmp_path / "t")
    schema = sg.Schema.infer(train)
    parts, _plan, log, counts = protect_parts(split.train, tmp_path / "p", schema, Protections())
    whole, _, whole_log = protect_training_data(train, schema, Protections())
    pd.testing.assert_frame_equal(parts.read(parts.units), whole)
    assert log["merged_labels"] == whole_log["merged_labels"]
    assert log["changes"] == protection_changes(train, whole, schema)
    assert counts["ref"].to_dict() == whole["ref"].value_counts().to_dict()
    assert spied  # the one-off codes planned from their spilled labels, a bucket at a time
    assert not list(tmp_path.glob("p-values"))  # the spilled numbers and labels removed


def _spy(function, calls):
    def spy(labels, k):
        plan = function(labels, k)
        if plan is not None:
            calls.append(plan)
        return plan

    return spy


def test_copy_filter_of_parts_drops_what_the_in_memory_filter_drops(
    protected, tmp_path, monkeypatch
):
    split, _train, raw_schema, parts, log, counts = protected
    whole = parts.read(parts.units)
    schema = protected_schema(whole, raw_schema)  # the kinds export keeps
    merged = {k: m["into"][0] for k, m in log["changes"]["merged"].items() if len(m["into"]) == 1}
    holdout = split.holdout_sample
    rng = np.random.default_rng(0)
    copies = whole.iloc[rng.choice(len(whole), 40, replace=False)].reset_index(drop=True)
    near = whole.iloc[rng.choice(len(whole), 40, replace=False)].reset_index(drop=True)
    near["fnlwgt"] += 1  # a hair from a training row
    fresh = sg.make_generator("marginals", random_state=0).fit(whole, schema=schema).sample(400)
    batch = pd.concat([copies, near, fresh], ignore_index=True)
    prep = prepare_parts(parts, split.n_train, holdout, schema, counts, split.missing)
    from_parts = CopyFilter(None, holdout, schema, 0.01, 2000, merged, prepared=prep)
    in_memory = CopyFilter(whole, holdout, schema, 0.01, 2000, merged)
    drop = from_parts.check(batch)
    np.testing.assert_array_equal(drop, in_memory.check(batch))
    assert from_parts.stats == in_memory.stats
    assert drop[:80].all() and not drop[80:].all()
    # spilled to disk in partitions, the batch checked as one round: the same
    monkeypatch.setattr(passes, "PART_ROWS", 500)
    coder, train = spill_parts(
        parts, split.n_train, holdout, schema, counts, split.missing, tmp_path / "spill"
    )
    assert train.n_parts == 4 and (train.sizes > 0).all()
    merge_holdout_labels(coder, merged, {c: len(counts[c]) for c in coder.categorical})
    spilled = SpilledCopyFilter(train, (coder.num["holdout"], coder.codes["holdout"]), 0.01)
    query = SpilledRows(tmp_path / "query", 4, len(coder.numeric), len(coder.categorical))
    query.add(*coder.encode(batch, "synthetic rows"))
    n, d = spilled.measure(query)
    np.testing.assert_array_equal(copy_decision(spilled.stats, n, d, 2000), drop)
    assert spilled.stats == in_memory.stats and spilled.partitioned


def test_export_parts_protects_writes_on_a_pass_and_keeps_people_out(people, tmp_path):
    src = _write(people, tmp_path / "src", 3)
    out, html = tmp_path / "synthetic", tmp_path / "privacy.html"
    with pytest.warns(sg.PersonalDataWarning, match="'email': email"):
        result = sg.export_parts(src, out, target="income", report=html, sample_rows=500)
    assert result.verdict == "pass" and result.written
    written = _read(out)
    assert len(written) == result.log["copies"]["kept"] == result.log["rows"]["synthetic"]
    assert result.log["rows"]["synthetic"] == result.log["rows"]["training"]
    assert len(result.synthetic) == 500 and result.log["rows"]["evaluated"]["real"] == 500
    assert list(written.columns) == list(people.columns)
    assert "Atlantis" not in set(written["native-country"])
    assert written["capital-gain"].max() < 12_345_678
    assert written["joined"].min().year > 1901
    assert not written["email"].isin(people["email"]).any()  # generated, never copied
    text = html.read_text()
    assert "Atlantis" not in text and "qzv" not in text
    assert "judge seeded samples of 500 training, 500 synthetic" in text
    assert not list(tmp_path.glob(".*"))  # no working folder left behind


def test_same_seed_same_rows_whatever_the_chunk_size(people, tmp_path):
    src = _write(people, tmp_path / "src", 2)
    small = sg.export_parts(src, tmp_path / "a", generator="marginals", chunk_rows=300)
    large = sg.export_parts(src, tmp_path / "b", generator="marginals", chunk_rows=10**6)
    assert len(list((tmp_path / "a").glob("part-*.parquet"))) > 1
    pd.testing.assert_frame_equal(_read(tmp_path / "a"), _read(tmp_path / "b"))
    assert small.log["copies"] == large.log["copies"]


def test_a_generator_that_copies_fails_and_leaves_no_output(people, tmp_path):
    src = _write(people, tmp_path / "src", 2)
    out, html = tmp_path / "synthetic.csv", tmp_path / "privacy.html"
    out.write_text("an older run's rows\n")
    result = sg.export_parts(
        src, out, generator="copy", target="income", report=html, overwrite=True
    )
    assert result.verdict == "fail" and not result.written
    assert result.removed_old_output and not out.exists()
    assert html.exists() and result.reasons[0].startswith("The copy filter dropped every")
    assert not list(tmp_path.glob(".*"))


def test_export_parts_checks_its_output_before_any_work(people, tmp_path, monkeypatch):
    import synthgen.safe_export.parts as module

    src = _write(people, tmp_path / "src", 2)
    monkeypatch.setattr(module, "split_parts", lambda *a, **k: pytest.fail("read the data"))
    (tmp_path / "old").mkdir()
    with pytest.raises(PersistenceError, match="already exists"):
        sg.export_parts(src, tmp_path / "old")
    (tmp_path / "old" / "notes.txt").write_text("mine")
    with pytest.raises(PersistenceError, match="other than"):
        sg.export_parts(src, tmp_path / "old", overwrite=True)
    with pytest.raises(PersistenceError, match="does not exist"):
        sg.export_parts(src, tmp_path / "nowhere" / "out")
    with pytest.raises(sg.ConfigurationError, match="sample_rows"):
        sg.export_parts(src, tmp_path / "out", sample_rows=10)


def test_an_empty_part_is_no_row(people, tmp_path):
    src = _write(people, tmp_path / "src", 2)
    people.iloc[:0].to_parquet(src / "part-1a.parquet")  # between the two parts, no row
    result = sg.export_parts(src, tmp_path / "out", generator="marginals", random_state=4)
    without = _write(people, tmp_path / "plain", 2)
    again = sg.export_parts(without, tmp_path / "again", generator="marginals", random_state=4)
    assert result.log["rows"] == again.log["rows"]
    pd.testing.assert_frame_equal(_read(tmp_path / "out"), _read(tmp_path / "again"))


def test_bad_parts_give_clear_errors_and_write_nothing(people, tmp_path):
    src = _write(people, tmp_path / "src", 2)
    renamed = people.iloc[:50].rename(columns={"age": "years"})
    renamed.to_parquet(src / "part-9.parquet")
    with pytest.raises(SchemaError, match=r"part-9\.parquet"):
        sg.export_parts(src, tmp_path / "out")
    (src / "part-9.parquet").write_bytes((src / "part-0.parquet").read_bytes()[:200])
    with pytest.raises(DataError, match=r"part-9\.parquet"):
        sg.export_parts(src, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".*"))


def test_csv_in_and_csv_out(people, tmp_path):
    src = tmp_path / "people.csv"
    people.drop(columns=["joined"]).to_csv(src, index=False)
    out = tmp_path / "synthetic.csv"
    result = sg.export_parts(
        src, out, generator="marginals", protections=Protections(filter_copies=False)
    )
    assert "copies" not in result.log  # the filter is off: every drawn row is written
    assert result.written and len(pd.read_csv(out)) == result.log["rows"]["training"]
    assert not list(tmp_path.glob(".*"))


def test_cli_exports_in_parts(people, tmp_path, capsys):
    from synthgen.cli import EXIT_NOT_SAFE, main

    src = _write(people, tmp_path / "src", 2)
    out = tmp_path / "synthetic"
    code = main(["export", str(src), "-o", str(out), "--parts", "-g", "marginals", "-q"])
    printed = capsys.readouterr().out
    assert code == 0 and "privacy verdict: pass" in printed
    assert f"-> {out}" in printed and len(_read(out)) > 0
    code = main(["export", str(src), "-o", str(out), "--parts", "-g", "copy", "-q", "--overwrite"])
    printed = capsys.readouterr().out
    assert code == EXIT_NOT_SAFE and not out.exists() and "removed the older" in printed
    code = main(["export", str(src), "-o", str(out), "--parts", "--epsilon", "1"])
    assert code == 2 and "differential privacy" in capsys.readouterr().err


def test_an_error_after_the_draw_leaves_nothing_behind(people, tmp_path, monkeypatch):
    import synthgen.safe_export.parts as module

    def broken(**kwargs):
        raise KeyboardInterrupt  # as a user's Ctrl-C during the evaluation

    src = _write(people, tmp_path / "src", 2)
    monkeypatch.setattr(module, "evaluate", broken)
    with pytest.raises(KeyboardInterrupt):
        sg.export_parts(src, tmp_path / "out", generator="marginals")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".*"))
