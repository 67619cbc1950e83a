"""Chunked sampling to Parquet / CSV: same rows whatever the chunk size, atomic, checked input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.sampling import chunked, writer


@pytest.fixture()
def small_blocks(monkeypatch):
    monkeypatch.setattr(chunked, "BLOCK_ROWS", 500)


def test_same_rows_whatever_the_chunk_size(model, tmp_path, small_blocks):
    outs = []
    for chunk in (1000, 1300, 10_000):  # 1300: parts cut across the seeded blocks
        path = model.sample_to(tmp_path / f"p{chunk}", 5200, chunk_size=chunk, random_state=7)
        parts = sorted(p.name for p in path.iterdir())
        assert len(parts) == -(-5200 // chunk)
        outs.append(pd.read_parquet(path))
    for out in outs[1:]:
        pd.testing.assert_frame_equal(out, outs[0])
    csv = model.sample_to(tmp_path / "rows.csv", 5200, chunk_size=700, random_state=7)
    back = pd.read_csv(csv)
    np.testing.assert_allclose(back["x"], outs[0]["x"])
    assert back["c"].tolist() == outs[0]["c"].astype(str).tolist()
    tsv = model.sample_to(tmp_path / "rows.tsv.gz", 5200, chunk_size=700, random_state=7)
    pd.testing.assert_frame_equal(pd.read_csv(tsv, sep="\t"), back)  # gzip, tabs, same rows
    # identifiers numbered over the whole output, not per block
    assert outs[0]["key"].is_unique and outs[0]["key"].iloc[-1] == "id-005200"
    assert len(outs[0]) == 5200 and set(outs[0]["c"]) <= {"a", "b", "c"}


def test_atomic_on_error(model, tmp_path, small_blocks, monkeypatch):
    calls = {"n": 0}
    original = type(model).sample

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "sample", failing)
    for name in ("out", "out.csv"):
        calls["n"] = 0
        with pytest.raises(RuntimeError, match="disk on fire"):
            model.sample_to(tmp_path / name, 2000, chunk_size=500, random_state=1)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary folder
    assert model.verbose is False


def test_bad_input(model, tmp_path):
    with pytest.raises(ConfigurationError, match="chunk_size"):
        model.sample_to(tmp_path / "a", 10, chunk_size=-5)
    with pytest.raises(ConfigurationError, match="chunk_size"):
        model.sample_to(tmp_path / "a", 10, chunk_size=2.5)
    with pytest.raises(ConfigurationError, match="format"):
        model.sample_to(tmp_path / "a", 10, format="xlsx")
    with pytest.raises(PersistenceError, match="does not exist"):
        model.sample_to(tmp_path / "no" / "a", 10)
    model.sample_to(tmp_path / "a", 10, random_state=0)
    with pytest.raises(PersistenceError, match="already exists"):
        model.sample_to(tmp_path / "a", 10)
    model.sample_to(tmp_path / "a", 20, overwrite=True)  # our parts: may be replaced
    assert len(pd.read_parquet(tmp_path / "a")) == 20
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(PersistenceError, match="other than"):
        model.sample_to(mine, 10, overwrite=True)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_parts_keep_every_dtype_of_the_rows(tmp_path, small_blocks):
    """Parts cut across blocks read back as the rows ``sample`` draws block by block, with
    their dtypes: categories, dates with and without a time zone, nullable booleans and
    integers, and a column missing in most rows."""
    import synthgen as sg

    rng = np.random.default_rng(0)
    n = 1200
    start = pd.Timestamp("2020-01-01")
    df = pd.DataFrame(
        {
            "cat": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "when": start + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
            "zoned": (start + pd.to_timedelta(rng.integers(0, 999, n), unit="h")).tz_localize(
                "Europe/Paris"
            ),
            "flag": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
            "count": pd.array(
                np.where(rng.random(n) < 0.1, None, rng.integers(0, 50, n)), dtype="Int64"
            ),
            "note": np.where(rng.random(n) < 0.97, None, rng.choice(["p", "q"], n)),
        }
    )
    model = sg.make_generator("copula", random_state=0).fit(df)
    out = model.sample_to(tmp_path / "rows", 1700, chunk_size=450, random_state=3)
    base = np.random.default_rng(3).integers(2**63 - 1)
    blocks = [
        model.sample(min(500, 1700 - b * 500), random_state=np.random.default_rng([base, b]))
        for b in range(4)
    ]
    want = pd.concat(blocks, ignore_index=True)
    want["note"] = want["note"].astype(object).where(want["note"].notna(), None)  # Parquet's null
    pd.testing.assert_frame_equal(pd.read_parquet(out), want)


def test_parts_take_the_first_parts_types(tmp_path):
    """A column missing in every row of a block or of whole parts (an Arrow null column),
    the first ones included, is written with the type the other rows give it; rows that do
    not fit the first part's types are a PersistenceError naming the chunk."""
    out = writer.ChunkWriter(tmp_path, "parquet", tmp_path)
    out.write(pd.DataFrame({"note": ["a", None], "x": [1.0, 2.0]}))
    out.write(pd.DataFrame({"note": [None, None], "x": [3.0, 4.0]}))
    blocks = [pd.DataFrame({"note": [None], "x": [5.0]}), pd.DataFrame({"note": ["b"], "x": [6.0]})]
    out.write_table(writer.join_tables([writer.to_arrow(b, 2) for b in blocks], 2))
    out.close()
    parts = sorted(tmp_path.glob("part-*.parquet"))
    assert [str(pq.read_schema(p).field("note").type) for p in parts] == ["string"] * 3
    assert pd.read_parquet(tmp_path)["note"].tolist() == ["a", None, None, None, None, "b"]
    late = tmp_path / "late"  # missing in every row of the first parts: typed when it comes
    late.mkdir()
    out = writer.ChunkWriter(late, "parquet", late)
    for notes in ([None, None], [None, None], ["c", None]):
        out.write(pd.DataFrame({"note": notes, "x": [1.0, 2.0]}))
    out.close()
    parts = sorted(late.glob("part-*.parquet"))
    assert [str(pq.read_schema(p).field("note").type) for p in parts] == ["string"] * 3
    assert pd.read_parquet(late)["note"].tolist() == [None] * 4 + ["c", None]
    bad = writer.ChunkWriter(tmp_path, "parquet", tmp_path)
    bad.write(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(PersistenceError, match=r"chunk 1 .*first chunk"):
        bad.write(pd.DataFrame({"x": ["text"]}))
    bad.abort()


def test_cli_chunked(model, tmp_path):
    from synthgen.cli import main

    saved = tmp_path / "m.sgm"
    model.save(saved)
    out = tmp_path / "rows"
    main(["sample", str(saved), "-n", "300", "-o", str(out), "--chunk-size", "100", "-q"])
    assert len(list(out.iterdir())) == 3 and len(pd.read_parquet(out)) == 300


@pytest.mark.parametrize("fails", [1, 5])  # raised by the next write / by close()
def test_a_failed_background_write_is_an_error(model, tmp_path, small_blocks, monkeypatch, fails):
    """Parts are written by a background thread while the next chunk is drawn: a disk that
    fills up there stops the run with a PersistenceError (the last part's too), and nothing
    is left behind."""
    written = []

    def full_disk(table, path):
        if len(written) == fails:
            raise OSError(28, "No space left on device")
        written.append(path.name)

    monkeypatch.setattr(writer, "_write_parquet", full_disk)
    with pytest.raises(PersistenceError, match="No space left on device"):
        model.sample_to(tmp_path / "out", 3_000, chunk_size=500, random_state=1)
    assert len(written) == fails and list(tmp_path.iterdir()) == []
