"""The encoder of semantic columns: only presence learned, format-preserving values generated."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.privacy.dp import DPPreprocessor
from synthgen.schema import ColumnSpec, Schema
from synthgen.transforms import TableEncoder
from synthgen.transforms.fakes import _texts, generate, learn_format
from synthgen.transforms.pii import SemanticEncoder

N = 80
EMAILS = [f"zed{i}.quorn@mail{i % 3}.example" for i in range(N)]
PHONES = [f"+44 20 7946 {i:04d}" for i in range(N)]

FORMATS = {
    "email": (r"[^@\s]+@[^@\s]+\.[a-z]{2,}", None),
    "phone": (r"\+44 \d\d \d{4} \d{4}", PHONES),
    "person_name": (r"[A-Z][\w'\-]+ [A-Z][\w'\- ]+", [f"Mary Quorn{i}" for i in range(N)]),
    "street_address": (r"\d+\w* .+|.+\d.*", None),
    "postcode": (r"\S+( \S+)?", None),
    "iban": (r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", None),
    "card_number": (r"\d{12,19}", None),
    "url": (r"https?://\S+", None),
    "ip_address": (r"\d+\.\d+\.\d+\.\d+", None),
    "free_text": (r"[A-Z][\w\s.,'-]+\.", None),
}


def _spec(name: str, semantic: str, missing: float = 0.0, dtype: str = "object") -> ColumnSpec:
    extra = {"semantic": semantic, "semantic_confidence": 1.0, "locale": "en_US"}
    return ColumnSpec(name, "text", dtype, missing_rate=missing, categories=[], extra=extra)


def _fitted(semantic, values, discrete="onehot"):
    col = pd.Series(values, dtype=object)
    spec = _spec("c", semantic, float(col.isna().mean()))
    return SemanticEncoder(spec, discrete).fit(col, np.random.default_rng(0)), col


@pytest.mark.parametrize("semantic", sorted(FORMATS))
def test_generated_values_have_the_type_s_format(semantic):
    pattern, values = FORMATS[semantic]
    enc, _ = _fitted(semantic, values or [f"x{i}" for i in range(N)])
    out = enc.inverse(np.zeros((50, 0)), np.random.default_rng(1))
    assert out.notna().all() and len(out) == 50
    assert out.map(lambda v: re.fullmatch(pattern, v, re.S) is not None).all(), out.tolist()[:5]


def test_phone_patterns_keep_the_calling_code_and_layout_but_no_digit():
    enc, col = _fitted("phone", PHONES)
    assert enc.format["patterns"] == [["+44 ## #### ####", 1.0]]
    out = enc.inverse(np.zeros((200, 0)), np.random.default_rng(2))
    assert out.str.fullmatch(r"\+44 \d\d \d{4} \d{4}").all()
    assert not out.isin(col).any()


def test_no_span_without_missing_cells_and_a_two_code_span_with_them():
    enc, _ = _fitted("email", EMAILS)
    assert enc.spans == [] and enc.dim == 0
    with_gaps = EMAILS[:60] + [None] * 20
    enc, col = _fitted("email", with_gaps)
    assert [role for role, _, _ in enc.spans] == ["category"] and enc.n_codes == 2
    block = enc.transform(col, np.random.default_rng(0))
    back = enc.inverse(block, np.random.default_rng(0))
    assert back.isna().tolist() == col.isna().tolist()
    assert not back.dropna().isin(col).any()


def test_the_state_holds_format_facts_and_no_value():
    values = EMAILS[:60] + [None] * 20
    encoders = [
        _fitted("email", values)[0],
        _fitted("phone", PHONES)[0],
        _fitted("free_text", [f"note {e} about the late parcel" for e in EMAILS])[0],
    ]
    text = json.dumps([e.get_state() for e in encoders])
    for value in EMAILS + PHONES:
        assert value not in text
    assert "zed" not in text and "quorn" not in text and "7946" not in text


def test_same_generator_state_same_values_and_different_seeds_differ():
    enc, _ = _fitted("person_name", [f"Mary Quorn{i}" for i in range(N)])
    a = enc.inverse(np.zeros((20, 0)), np.random.default_rng(5))
    b = enc.inverse(np.zeros((20, 0)), np.random.default_rng(5))
    c = enc.inverse(np.zeros((20, 0)), np.random.default_rng(6))
    assert a.equals(b) and not a.equals(c)


def test_the_global_random_state_is_untouched():
    import random

    random.seed(1)
    np.random.seed(1)
    before = (random.random(), np.random.random())
    random.seed(1)
    np.random.seed(1)
    enc, _ = _fitted("email", EMAILS)
    enc.inverse(np.zeros((20, 0)), np.random.default_rng(0))
    assert (random.random(), np.random.random()) == before


def test_repeated_values_keep_their_share():
    values = [f"user{i % 20}@shop.example" for i in range(400)]  # 5% distinct
    enc, _ = _fitted("email", values)
    assert enc.format["distinct"] == 0.05
    out = enc.inverse(np.zeros((400, 0)), np.random.default_rng(3))
    assert out.nunique() == 20
    unique = generate("email", {"distinct": 1.0}, "en_US", 300, np.random.default_rng(0))
    assert len(set(unique)) == 300


def test_free_text_length_follows_the_word_count_quantiles():
    values = [" ".join(["word"] * (5 + i % 11)) for i in range(300)]  # 5-15 words
    fmt = learn_format("free_text", pd.Series(values))
    out = generate("free_text", fmt, "en_US", 400, np.random.default_rng(0))
    words = np.array([len(v.split()) for v in out])
    assert 5 <= np.median(words) <= 15 and words.min() >= 4 and words.max() <= 17
    assert not set(out) & set(values)


def test_category_and_string_dtypes_come_back():
    for dtype in ("category", "string"):
        col = pd.Series(EMAILS, dtype=dtype)
        spec = _spec("c", "email", dtype=dtype)
        enc = SemanticEncoder(spec, "onehot").fit(col, np.random.default_rng(0))
        out = enc.inverse(np.zeros((5, 0)), np.random.default_rng(0))
        assert str(out.dtype) == dtype


def test_table_encoder_gives_every_generator_the_same_span():
    df = pd.DataFrame({"email": EMAILS[:60] + [None] * 20, "x": np.arange(N, dtype=float)})
    schema = Schema.infer(df)
    for discrete in ("onehot", "frequency", "index"):
        enc = TableEncoder("quantile", discrete).fit(df, schema, random_state=0)
        spans = [s for s in enc.spans if s.column == "email"]
        assert len(spans) == 1 and spans[0].role == "category"
        back = enc.inverse_transform(enc.transform(df, random_state=0), random_state=0)
        assert back["email"].isna().equals(df["email"].isna())
        assert not back["email"].isin(EMAILS).any()
        restored = TableEncoder.from_state(json.loads(json.dumps(enc.get_state())), schema)
        again = restored.inverse_transform(enc.transform(df, random_state=0), random_state=0)
        assert again.equals(back)


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"format": []},
        {"format": {"distinct": 2.0}},
        {"format": {"words": [0, 5]}},
        {"format": {"patterns": [["#" * 50, 1.0]]}},
        {"format": {"secret": "x"}},
    ],
)
def test_malformed_saved_states_are_refused(state):
    spec = _spec("c", "email")
    with pytest.raises(sg.PersistenceError, match="column 'c'"):
        SemanticEncoder(spec, "onehot").set_state(state)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"semantic": "passport"}, "unknown semantic type"),
        ({"semantic": "email", "locale": "xx_YY"}, "unknown locale"),
    ],
)
def test_invalid_semantic_metadata_is_refused(extra, match):
    spec = ColumnSpec("c", "text", "object", categories=[], extra=extra)
    with pytest.raises(sg.SchemaError, match=match):
        SemanticEncoder(spec, "onehot")


def test_dp_preprocessing_releases_presence_only():
    df = pd.DataFrame({"email": EMAILS * 5 + [None] * 100, "plan": (["a", "b"] * 250)})
    schema = Schema.infer(df)
    pre = DPPreprocessor(rho=5.0, delta_threshold=1e-6).fit(df, schema, 0)
    released = pre.schema_["email"]
    assert released.semantic == "email" and released.extra["semantic_dp"] is True
    assert "semantic_confidence" not in released.extra and released.categories == []
    assert pre.releases_["email"].labels == ["(value)"]
    assert set(pre.apply(df)["email"].dropna()) == {"(value)"}
    text = json.dumps(pre.get_state()) + released.to_dict().__repr__()
    assert not any(e in text for e in EMAILS)
    enc = TableEncoder().fit(pre.surrogate(200, np.random.default_rng(0)), pre.schema_)
    email = next(e for e in enc.encoders_ if e.spec.name == "email")
    assert email.format == {"distinct": 1.0}


def test_conditions_on_generated_columns_are_refused():
    df = pd.DataFrame({"email": EMAILS, "plan": ["a", "b"] * 40})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sg.PersonalDataWarning)
        model = sg.make_generator("marginals", random_state=0).fit(df)
    with pytest.raises(sg.ConditionError, match="'email' is email"):
        model.sample(5, conditions={"email": EMAILS[0]})
    with pytest.raises(sg.ConditionError, match="'email' is email"):
        model.sample(conditions=pd.DataFrame({"email": [EMAILS[0]]}))


def test_free_texts_are_sentences_of_the_drawn_lengths():
    vocab = ["alpha", "beta", "gamma", "delta"]
    lengths = np.array([1, 4, 5, 14, 15, 33, 60])
    out = _texts(vocab, lengths, np.random.default_rng(0))
    assert [len(t.split()) for t in out] == lengths.tolist()
    for text in out:
        sentences = [s.split() for s in text[:-1].split(". ")]
        assert text.endswith(".") and all(s[0][0].isupper() for s in sentences)
        assert all(5 <= len(s) <= 14 for s in sentences[:-1]) and len(sentences[-1]) <= 14
        assert {w.rstrip(".").lower() for w in text.split()} <= set(vocab)
    again = _texts(vocab, lengths, np.random.default_rng(0))
    assert again == out and _texts(vocab, lengths, np.random.default_rng(1)) != out
