"""No generator and no export ever emits a planted personal value: not in samples, model files,
reports, warnings, logs or printed output (issue 16, finding 1)."""

from __future__ import annotations

import logging
import re
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.generators import get_generator_class

FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda"]
PLANTED = {
    "email": "email",
    "phone": "phone",
    "name": "person_name",
    "address": "street_address",
    "iban": "iban",
    "note": "free_text",
}


def _letters(i: int) -> str:
    return "".join("abcdefghijklmnopqrstuvwxyz"[(i // 26**k) % 26] for k in range(4))


def _iban(i: int) -> str:
    bban = f"QZVB{i:014d}"
    digits = "".join(str(int(c, 36)) for c in bban + "GB00")
    return f"GB{98 - int(digits) % 97:02d}{bban}"


def planted_table(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """Unique planted values (each holds a token ``qzv`` + 4 letters) and ordinary columns."""
    rng = np.random.default_rng(seed)
    tokens = [(i, f"qzv{_letters(i)}") for i in range(n)]
    df = pd.DataFrame(
        {
            "email": [f"{FIRST[i % 8].lower()}.{t}@mail{i % 5}.example" for i, t in tokens],
            "phone": [f"+44 20 7946 {i:04d}" for i in range(n)],
            "name": [f"{FIRST[i % 8]} Qzv{_letters(i)}" for i in range(n)],
            "address": [f"{i + 11} Qzv{_letters(i)} Street" for i in range(n)],
            "iban": [_iban(i) for i in range(n)],
            "note": [f"Customer {t} called about order {i}, wants a refund." for i, t in tokens],
            "age": rng.integers(18, 80, n),
            "spend": rng.gamma(2.0, 50.0, n).round(2),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
        }
    )  # fmt: skip
    df.loc[rng.random(n) < 0.15, "phone"] = None
    return df


TABLE = planted_table()
VALUES = {str(v) for c in PLANTED for v in TABLE[c].dropna()}
TOKENS = {f"qzv{_letters(i)}" for i in range(len(TABLE))}
_IMAGES = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+")


def leaks(text: str | bytes) -> list[str]:
    """Planted values or tokens found in ``text`` (embedded images left out: their base64
    text is not data)."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    text = _IMAGES.sub("", text)
    lower = text.lower()
    found = [v for v in VALUES if v in text]
    found += [t for t in TOKENS if t in lower]
    return sorted(found)


def _cells(frame: pd.DataFrame) -> str:
    return "\n".join(frame.astype(str).to_numpy().ravel())


def _fit(key: str, data: pd.DataFrame, **params):
    cls = get_generator_class(key)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sg.make_generator(key, **{**cls._fast_params(), "random_state": 0, **params})
        model.fit(data)
    return model, [str(w.message) for w in caught]


@pytest.fixture(autouse=True)
def _one_thread():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_planted_columns_are_detected():
    schema = sg.Schema.infer(TABLE)
    assert {c: schema[c].semantic for c in PLANTED} == PLANTED
    assert all(schema[c].extra["semantic_confidence"] == 1.0 for c in PLANTED)
    assert [c.name for c in schema if c.semantic is None] == ["age", "spend", "plan"]
    assert leaks(schema.to_json()) == []


@pytest.mark.parametrize("key", sg.list_generators())
def test_no_generator_emits_a_planted_value(key, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    model, messages = _fit(key, TABLE, verbose=True)
    synthetic = model.sample(200)
    assert leaks(_cells(synthetic)) == []
    assert not synthetic.isin(VALUES).any().any()
    # the personal-data warning names the columns, never a value
    personal = [m for m in messages if "personal data" in m]
    assert len(personal) == 1 and all(f"'{c}'" in personal[0] for c in PLANTED)
    assert leaks("\n".join(messages)) == []
    # the generated columns look like their type
    assert synthetic["email"].str.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}").all()
    phones = synthetic["phone"].dropna()
    assert phones.str.count(r"\d").between(7, 15).all()
    if getattr(model, "privacy_", None) is None:  # DP keeps the default format, not the data's
        assert phones.str.fullmatch(r"\+44 \d\d \d{4} \d{4}").all()
    assert synthetic["iban"].str.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}").all()
    assert synthetic["note"].str.split().str.len().ge(3).all()
    # the model file, every member
    path = tmp_path / "model.sgm"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            assert leaks(archive.read(member)) == [], member
    assert leaks(_cells(sg.load(path).sample(50, random_state=1))) == []
    # the evaluation report, as JSON and as HTML
    report = sg.evaluate(TABLE, synthetic, schema=model.schema_)
    assert leaks(report.to_json()) == [] and leaks(report.to_html()) == []
    out = capsys.readouterr()
    assert leaks(out.out + out.err + caplog.text) == []


def test_a_full_report_with_holdout_and_target_holds_no_planted_value():
    model, _ = _fit("copula", TABLE.iloc[:128])
    synthetic = model.sample(128)
    report = sg.evaluate(
        TABLE.iloc[:128], synthetic, holdout=TABLE.iloc[128:], target="plan", random_state=0
    )
    excluded = report.to_dict()["meta"]["excluded"]
    assert set(PLANTED) <= set(excluded)
    assert leaks(report.to_json()) == [] and leaks(report.to_html()) == []


def test_export_writes_no_planted_value(tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    data, html = tmp_path / "synthetic.csv", tmp_path / "report.html"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # force: the file is written whatever the verdict on 200 rows (its cells are the point)
        result = sg.export(
            planted_table(200), generator="copula", target="plan", output=data, report=html,
            random_state=0, force=True,
        )  # fmt: skip
    assert result.written
    for path in (data, html):
        assert leaks(path.read_bytes()) == [], path.name
    assert leaks(_cells(result.synthetic)) == []
    assert leaks(result.report.to_json()) == [] and leaks(repr(result.log)) == []
    assert leaks("\n".join(str(w.message) for w in caught)) == []
    out = capsys.readouterr()
    assert leaks(out.out + out.err + caplog.text) == []


def test_export_in_parts_writes_no_planted_value(tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    source, out, html = tmp_path / "parts", tmp_path / "synthetic", tmp_path / "report.html"
    source.mkdir()
    table = planted_table(300)
    for i, start in enumerate(range(0, 300, 100)):
        table.iloc[start : start + 100].to_parquet(source / f"part-{i}.parquet")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sg.export_parts(
            source, out, target="plan", report=html, random_state=0, force=True, verbose=True
        )
    assert result.written
    for path in [*out.iterdir(), html]:
        assert leaks(path.read_bytes()) == [], path.name
    assert leaks(_cells(pd.read_parquet(out))) == [] and leaks(_cells(result.synthetic)) == []
    assert leaks(result.report.to_json()) == [] and leaks(repr(result.log)) == []
    path = tmp_path / "model.sgm"
    result.model.save(path)
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            assert leaks(archive.read(member)) == [], member
    assert leaks("\n".join(str(w.message) for w in caught)) == []
    out_err = capsys.readouterr()
    assert leaks(out_err.out + out_err.err + caplog.text) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model.sgm",
        "parts",
        "report.html",
        "synthetic",
    ]


def test_samples_repeat_with_the_same_random_state():
    a, _ = _fit("copula", TABLE)
    b, _ = _fit("copula", TABLE)
    assert a.sample(50, random_state=3).equals(b.sample(50, random_state=3))
    assert not a.sample(50, random_state=3).equals(a.sample(50, random_state=4))


def test_turning_detection_off_models_the_values_and_warns_so():
    """``semantic={"col": "none"}`` is the documented risk: the values are then learned."""
    data = pd.DataFrame({"city_note": ["Called about order"] * 40 + TABLE["note"][:40].tolist()})
    data["plan"] = TABLE["plan"][:80].to_numpy()
    schema = sg.Schema.infer(data, semantic={"city_note": "none"})
    with pytest.warns(sg.PersonalDataWarning, match="set to 'none'"):
        model = sg.make_generator("copula", random_state=0).fit(data, schema=schema)
    assert model.sample(100)["city_note"].eq("Called about order").any()


def test_a_given_schema_that_models_personal_values_is_warned_about():
    """A schema written before detection existed (or edited by hand) is the user's decision,
    but the fit says which of its columns look like personal data."""
    data = TABLE[["name", "plan"]]
    schema = sg.Schema.infer(data, semantic={"name": "none"})
    schema["name"].extra.clear()  # as in a schema file that never saw detection
    with pytest.warns(sg.PersonalDataWarning, match="'name': looks like person_name") as caught:
        sg.make_generator("marginals", random_state=0).fit(data, schema=schema)
    assert leaks("\n".join(str(w.message) for w in caught)) == []
