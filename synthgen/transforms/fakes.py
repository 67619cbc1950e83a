"""Generated values of semantic columns: format parameters in, Faker values out.

:func:`learn_format` reads from a column only format facts that no one person holds
(rounded shares, rounded word-count quantiles, digit masks shared by at least
:data:`MIN_PATTERN_ROWS` rows), never a value; :func:`generate` draws values of a semantic type
with Faker, seeded from the caller's numpy generator (never the global random state).

Examples
--------
>>> import numpy as np
>>> fmt = learn_format("phone", pd.Series(["+1 555 010 %04d" % i for i in range(40)]))
>>> fmt["patterns"]
[['+1 ### ### ####', 1.0]]
>>> generate("phone", fmt, "en_US", 2, np.random.default_rng(0))[0][:3]
'+1 '
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_WORDS", "MIN_PATTERN_ROWS", "default_format", "generate", "learn_format"]

#: A digit mask is kept only when at least this many rows share it.
MIN_PATTERN_ROWS = 5
#: Word-count quantiles (5%, 15%, ..., 95%) of free text when the data's are not known.
DEFAULT_WORDS = [3, 5, 6, 8, 10, 12, 15, 18, 24, 35]
_LEVELS = np.linspace(0.05, 0.95, 10)
_CALLING_CODES = ("1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41",
                  "43", "44", "45", "46", "47", "48", "49", "51", "52", "54", "55", "56", "57",
                  "61", "62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92",
                  "351", "352", "353", "354", "358", "359", "370", "371", "372", "380", "420",
                  "421", "852", "886", "971", "972")  # fmt: skip


def _share(mask: pd.Series) -> float:
    return round(float(mask.mean()), 2) if len(mask) else 0.0


def _phone_pattern(value: str) -> str:
    """Digits as ``#``, the international calling code kept (it is a country, not a person)."""
    stripped = value.strip()
    head, rest = "", stripped
    for lead in ("+", "00"):
        if stripped.startswith(lead):
            digits = stripped[len(lead) :]
            fits = [c for c in _CALLING_CODES if digits.startswith(c)]
            code = max(fits, key=len, default="")
            head, rest = lead + code, digits[len(code) :]
            break
    return head + "".join("#" if ch.isdigit() else ch for ch in rest)


def _patterns(values: pd.Series) -> list[list[Any]]:
    """Masks shared by at least :data:`MIN_PATTERN_ROWS` rows (and 2% of rows) with their
    shares, when together they describe most values; else an empty list."""
    counts = values.map(_phone_pattern).value_counts()
    common = counts >= max(MIN_PATTERN_ROWS, 0.02 * len(values))
    keep = counts[common & (counts.index.str.len() <= 40)].iloc[:10]
    if keep.sum() < 0.5 * len(values):
        return []
    return [[str(p), round(float(c / keep.sum()), 2)] for p, c in keep.items()]


def default_format(semantic: str) -> dict[str, Any]:
    """Format parameters of a column whose values may not be read (differential privacy)."""
    fmt: dict[str, Any] = {"distinct": 1.0}
    if semantic == "free_text":
        fmt["words"] = list(DEFAULT_WORDS)
    return fmt


def learn_format(semantic: str, col: pd.Series, sample_size: int = 5000) -> dict[str, Any]:
    """Format facts of a semantic column (see the module docstring); JSON-ready."""
    nonnull = col.dropna()
    fmt = default_format(semantic)
    if len(nonnull) == 0:
        return fmt
    fmt["distinct"] = round(float(nonnull.nunique() / len(nonnull)), 2)
    pos = np.unique(np.linspace(0, len(nonnull) - 1, min(len(nonnull), sample_size)).round())
    values = pd.Series(nonnull.iloc[pos.astype(np.int64)].astype(str).to_numpy(dtype=object))
    values = values.str.strip()
    if semantic == "phone":
        fmt["patterns"] = _patterns(values)
    elif semantic == "person_name":
        tokens = values.str.replace(",", " ", regex=False).str.split().str.len()
        fmt["comma"] = _share(values.str.contains(",", regex=False))
        fmt["single"] = _share(tokens.eq(1))
        fmt["middle"] = _share(tokens.ge(3))
        fmt["upper"] = _share(values.str.isupper())
    elif semantic == "street_address":
        fmt["city"] = _share(values.str.contains(r"[,\n]", regex=True))
        fmt["newline"] = _share(values.str.contains("\n", regex=False))
    elif semantic in ("iban", "card_number"):
        fmt["spaced"] = _share(values.str.contains(" ", regex=False))
        fmt["dashed"] = _share(values.str.contains("-", regex=False))
    elif semantic == "ip_address":
        fmt["ipv6"] = _share(values.str.contains(":", regex=False))
    elif semantic in ("email", "postcode", "url"):
        fmt["upper"] = _share(values.str.isupper())
    elif semantic == "free_text":
        words = values.str.split().str.len().to_numpy(dtype=float)
        fmt["words"] = [max(1, round(float(q))) for q in np.quantile(words, _LEVELS)]
    return fmt


@functools.lru_cache(maxsize=16)
def _faker(locale: str):
    from faker import Faker  # imported only when values are generated

    return Faker(locale)


@functools.lru_cache(maxsize=16)
def _text_locale(locale: str) -> str:
    """A locale with a word list of its language (Faker falls back to Latin otherwise)."""
    from faker.config import AVAILABLE_LOCALES

    language = locale.split("_")[0]
    main = {"en": "en_US", "pt": "pt_PT", "zh": "zh_CN"}.get(
        language, f"{language}_{language.upper()}"
    )
    others = sorted(lc for lc in AVAILABLE_LOCALES if lc.startswith(language + "_"))
    for candidate in (locale, main, *others):
        try:
            importlib.import_module(f"faker.providers.lorem.{candidate}")
            return candidate
        except ImportError:
            continue
    return "en_US"


def _groups(digits: str, sep: str) -> str:
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _one(semantic: str, fmt: dict[str, Any], fake: Any, u: float) -> str:
    """One value; ``u`` (uniform in [0, 1)) picks among the column's format variants."""
    if semantic == "email":
        return fake.email()
    if semantic == "url":
        return fake.url()
    if semantic == "postcode":
        return fake.postcode()
    if semantic == "ip_address":
        return fake.ipv6() if u < fmt.get("ipv6", 0.0) else fake.ipv4()
    if semantic == "iban":
        iban = fake.iban()
        return _groups(iban, " ") if u < fmt.get("spaced", 0.0) else iban
    if semantic == "card_number":
        number = fake.credit_card_number()
        if u < fmt.get("spaced", 0.0):
            return _groups(number, " ")
        if u < fmt.get("spaced", 0.0) + fmt.get("dashed", 0.0):
            return _groups(number, "-")
        return number
    if semantic == "street_address":
        # Faker writes some parts on separate lines; the data's addresses are on one line
        # unless it said otherwise.
        joiner = "\n" if fmt.get("newline", 0.0) >= 0.5 else ", "
        if u < fmt.get("city", 0.0):
            return fake.address().replace("\n", joiner)
        return fake.street_address().replace("\n", joiner)
    if semantic == "person_name":
        first, last = fake.first_name(), fake.last_name()
        if u < fmt.get("single", 0.0):
            return first
        if u < fmt.get("single", 0.0) + fmt.get("comma", 0.0):
            return f"{last}, {first}"
        if u < fmt.get("single", 0.0) + fmt.get("comma", 0.0) + fmt.get("middle", 0.0):
            return f"{first} {fake.first_name()} {last}"
        return f"{first} {last}"
    raise ValueError(f"no generator for semantic type {semantic!r}")


def _texts(vocab: list[str], lengths: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Texts of ``lengths`` words (at least 1 each) drawn uniformly from ``vocab`` (Faker's
    word list), in sentences of 5-14 words: every word drawn at once, the sentences cut by
    one vectorised pass per sentence, one join per text.

    Examples
    --------
    >>> _texts(["a", "b"], np.array([2, 6]), np.random.default_rng(0))
    ['B b.', 'B a a a a a.']
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    words = np.asarray(vocab, dtype=object)[rng.integers(0, len(vocab), int(ends[-1]))]
    first = np.zeros(len(words), dtype=bool)  # a sentence's first word
    cursor, live = starts.copy(), np.ones(len(starts), dtype=bool)
    while live.any():
        first[cursor[live]] = True
        cursor[live] += rng.integers(5, 15, int(live.sum()))
        live &= cursor < ends
    last = np.roll(first, -1)  # the word before a sentence's first, or the very last one
    words[first] = [w.capitalize() for w in words[first]]
    words[last] = [w + "." for w in words[last]]
    flat = words.tolist()
    return [" ".join(flat[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def _fill_pattern(pattern: str, rng: np.random.Generator) -> str:
    digits = rng.integers(0, 10, pattern.count("#"))
    it = iter(digits)
    return "".join(str(next(it)) if ch == "#" else ch for ch in pattern)


def _draw(semantic: str, fmt: dict[str, Any], locale: str, n: int, rng: np.random.Generator):
    fake = _faker(_text_locale(locale) if semantic == "free_text" else locale)
    fake.seed_instance(int(rng.integers(2**63 - 1)))
    u = rng.random(n)
    if semantic == "free_text":
        quantiles = np.asarray(fmt.get("words") or DEFAULT_WORDS, dtype=float)
        lengths = np.maximum(1, np.rint(np.interp(rng.random(n), _LEVELS, quantiles)))
        return _texts(fake.get_words_list(), lengths, rng)
    if semantic == "phone" and fmt.get("patterns"):
        patterns = [str(p) for p, _ in fmt["patterns"]]
        p = np.asarray([float(w) for _, w in fmt["patterns"]])
        picks = rng.choice(len(patterns), size=n, p=p / p.sum())
        return [_fill_pattern(patterns[i], rng) for i in picks]
    if semantic == "phone":
        return [fake.phone_number() for _ in range(n)]
    values = [_one(semantic, fmt, fake, float(x)) for x in u]
    if fmt.get("upper", 0.0) >= 0.5:
        values = [v.upper() for v in values]
    return values


def generate(
    semantic: str, fmt: dict[str, Any], locale: str, n: int, rng: np.random.Generator
) -> list[str]:
    """``n`` generated values of a semantic type, repeating as often as the column did.

    A pool of about ``distinct * n`` values is drawn and every pool value is used at least
    once, so the share of repeated values (the same customer's email on several orders)
    stays close to the data's.
    """
    if n <= 0:
        return []
    k = int(min(n, max(1, round(float(fmt.get("distinct", 1.0)) * n))))
    pool = list(dict.fromkeys(_draw(semantic, fmt, locale, k, rng)))
    for _ in range(3):  # top up values that came out twice
        if len(pool) >= k:
            break
        pool = list(dict.fromkeys(pool + _draw(semantic, fmt, locale, k - len(pool), rng)))
    if len(pool) >= n:
        return pool[:n]
    index = np.concatenate([np.arange(len(pool)), rng.integers(0, len(pool), n - len(pool))])
    lookup = np.empty(len(pool), dtype=object)
    lookup[:] = pool
    return list(lookup[rng.permutation(index)])
