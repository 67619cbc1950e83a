"""Semantic column types read from values: personal data and free text.

A column's *kind* says how it is modelled; its *semantic type* says what its values are.
:func:`detect_semantic` reads it from the values (never from the column name) on an evenly
spaced sample of at most :data:`SAMPLE_SIZE` non-missing values, with cheap vectorised
patterns and a few checksums:

=================  ==============================================================
``email``          ``name@domain.tld``
``phone``          7-15 digits with ``+``/``00``, separators or a trunk ``0`` (not dates)
``person_name``    2-4 capitalised words (titles, particles), a known given name
``street_address`` house number and street words (``12 Oak Street``, ``Hauptstr. 5``)
``postcode``       UK, Canadian, Dutch forms; ZIP+4 and ``##-###`` forms in a column of
                   many repeated values; plain 5 digits only when the user says so
``iban``           country, check digits and a valid mod-97 checksum
``card_number``    13-19 digits passing the Luhn checksum
``url``            ``http(s)://`` or ``www.``
``ip_address``     IPv4 or IPv6
``free_text``      multi-word strings, most of them unique (not personal data by
                   pattern, but a note can hold anything)
=================  ==============================================================

The confidence of a type is the share of sampled values that match it; a type is taken from
0.8 (0.7 for names), in the order above. A column of such values is never modelled from its
values: it becomes kind ``"text"`` with no stored labels, and samples get generated values
(see :mod:`synthgen.transforms.pii`). ``Schema.infer(data, semantic={"col": "none"})`` turns
detection off for a column, ``{"col": "email"}`` forces a type.

Examples
--------
>>> emails = pd.Series([f"user{i}@mail.example" for i in range(50)])
>>> detect_semantic(emails).semantic, detect_semantic(emails).confidence
('email', 1.0)
>>> detect_semantic(pd.Series(["Private", "Self-emp", "State-gov"] * 20)).semantic
'none'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import SchemaError
from synthgen.schema import _patterns as pat
from synthgen.schema.columns import ColumnSpec

__all__ = [
    "DEFAULT_LOCALE",
    "PERSONAL_TYPES",
    "SAMPLE_SIZE",
    "SEMANTIC_TYPES",
    "Detection",
    "apply_semantics",
    "detect_semantic",
    "personal_data_message",
    "semantic_scores",
    "summary_frame",
]

#: Semantic types, in the order they are tried.
SEMANTIC_TYPES: tuple[str, ...] = (
    "email",
    "url",
    "ip_address",
    "iban",
    "card_number",
    "phone",
    "postcode",
    "street_address",
    "person_name",
    "free_text",
)
#: The types that are personal data (free text is generated for the same reason: it may hold
#: anything, but it has no personal pattern).
PERSONAL_TYPES: frozenset[str] = frozenset(SEMANTIC_TYPES) - {"free_text"}
#: Values read per column for detection.
SAMPLE_SIZE = 2000
#: Locale of generated values when the data gives no hint.
DEFAULT_LOCALE = "en_US"
_THRESHOLD = {"person_name": pat.NAME_SHARE}
_DEFAULT_THRESHOLD = 0.8
#: Kinds whose real string values a generator learns (ids are generated afresh).
_MODELLED_STRINGS = ("categorical", "text", "constant")


@dataclass(frozen=True)
class Detection:
    """What :func:`detect_semantic` found: a type (or ``"none"``), the share of sampled values
    that match it and the locale hints (country codes, IBAN countries, ...) it saw."""

    semantic: str
    confidence: float
    votes: dict[str, int] = field(default_factory=dict)


def string_sample(col: pd.Series, *, complete: bool = False) -> pd.Series | None:
    """Up to :data:`SAMPLE_SIZE` evenly spaced non-missing values of a string column (no
    random draw: detection is the same for every seed), or ``None`` if it holds no strings.
    ``complete``: the caller knows the column has no missing cell (none is looked for: a
    pass over every value of an object column)."""
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if not pd.api.types.is_object_dtype(dtype.categories.dtype):
            return None
    elif not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
        return None
    nonnull = col if complete else col.dropna()
    if len(nonnull) == 0:
        return None
    pos = np.unique(np.linspace(0, len(nonnull) - 1, min(len(nonnull), SAMPLE_SIZE)).round())
    sample = pd.Series(nonnull.iloc[pos.astype(np.int64)].to_numpy(dtype=object))
    if not sample.map(lambda v: isinstance(v, str)).all():
        return None
    return sample.astype(str)


def _column_stats(col: pd.Series, complete: bool = False) -> tuple[int, int]:
    nonnull = col if complete else col.dropna()
    return len(nonnull), int(nonnull.nunique())


def semantic_scores(col: pd.Series) -> dict[str, float]:
    """The confidence of every semantic type for ``col`` (0 for all when it holds no strings).

    Examples
    --------
    >>> s = semantic_scores(pd.Series(["+44 20 7946 0958", "+44 161 496 0000"] * 10))
    >>> s["phone"], s["email"]
    (1.0, 0.0)
    """
    scores, _ = _score(col)
    return {k: v for k, v in scores.items() if not k.startswith("_")}


def _score(
    col: pd.Series, complete: bool = False
) -> tuple[dict[str, float], dict[str, Counter[str]]]:
    """Confidence per type (plus ``"_personal"``: the share matching any personal type) and
    the locale hints of each type's matching values (``complete``: see
    :func:`string_sample`)."""
    scores = dict.fromkeys((*SEMANTIC_TYPES, "_personal", "_postcode_auto"), 0.0)
    votes: dict[str, Counter[str]] = {}
    sample = string_sample(col, complete=complete)
    if sample is None:
        return scores, votes
    # Every type needs a digit, a space, "@", "." or ":" in most values: a column of plain
    # labels ("Self-emp-inc") is settled without running the patterns.
    if sample.str.contains(r"[\s\d@.:]", regex=True).mean() < min(_THRESHOLD.values()):
        return scores, votes
    n_nonnull, n_unique = _column_stats(col, complete)
    # Patterns run once per distinct sampled value, then count as often as the value occurs.
    codes, uniques = pd.factorize(sample.str.strip())
    text = pd.Series(uniques, dtype=object)
    postcode, postcode_auto = pat.postcode_masks(text, n_nonnull, n_unique)
    masks = {
        "email": text.str.fullmatch(pat.EMAIL),
        "url": text.str.fullmatch(pat.URL, case=False),
        "ip_address": pat.ip_mask(text),
        "iban": pat.iban_mask(text),
        "card_number": pat.card_mask(text),
        "phone": pat.phone_mask(text),
        "postcode": postcode,
        "street_address": pat.address_mask(text),
        "person_name": pat.name_mask(text, n_unique),
        "free_text": pat.free_text_mask(text, n_nonnull, n_unique),
        "_postcode_auto": postcode_auto,
    }
    masks = {k: pd.Series(m.fillna(False).to_numpy(dtype=bool)[codes]) for k, m in masks.items()}
    text = pd.Series(uniques[codes], dtype=object)
    for name, mask in masks.items():
        scores[name] = round(float(mask.mean()), 4)
    masks["postcode"] = masks.pop("_postcode_auto")  # what detection may use
    union = np.logical_or.reduce([masks[t].to_numpy() for t in sorted(PERSONAL_TYPES)])
    scores["_personal"] = round(float(union.mean()), 4)
    return scores, pat.locale_votes(text, masks)


def detect_semantic(col: pd.Series, *, complete: bool = False) -> Detection:
    """The semantic type of ``col`` read from its values (see the module docstring);
    ``complete``: see :func:`string_sample`."""
    scores, votes = _score(col, complete)
    for name in SEMANTIC_TYPES:
        score = scores["_postcode_auto"] if name == "postcode" else scores[name]
        if score >= _THRESHOLD.get(name, _DEFAULT_THRESHOLD):
            return Detection(name, score, dict(votes.get(name, {})))
    # A column of mixed personal values (emails and phone numbers in one "contact" column):
    # taken as its commonest type rather than modelled.
    if scores["_personal"] >= _DEFAULT_THRESHOLD:
        best = max(sorted(PERSONAL_TYPES), key=lambda t: scores[t])
        return Detection(best, scores["_personal"], dict(sum(votes.values(), Counter())))
    return Detection("none", 0.0, {})


# -- schema level ---------------------------------------------------------------------------
def _check_overrides(data: pd.DataFrame, semantic: Mapping[str, str] | None) -> dict[str, str]:
    overrides = dict(semantic or {})
    unknown = sorted(set(overrides) - set(data.columns))
    if unknown:
        raise SchemaError(f"semantic names columns not in the data: {unknown}")
    allowed = [*SEMANTIC_TYPES, "none"]
    for name, value in overrides.items():
        if value not in allowed:
            raise SchemaError(
                f"column {name!r}: unknown semantic type {value!r}; expected one of {allowed}"
            )
        if value != "none" and string_sample(data[name]) is None:
            raise SchemaError(
                f"column {name!r}: semantic type {value!r} needs a column of strings, the column "
                f"has dtype {data[name].dtype}: convert it (e.g. .astype(str)) first"
            )
    return overrides


def _semantic_spec(spec: ColumnSpec, col: pd.Series, det: Detection, source: str) -> ColumnSpec:
    """A text column that stores no value: its values are generated at sampling."""
    missing = float(col.isna().mean())
    extra = {
        **{k: v for k, v in (spec.extra or {}).items() if not k.startswith("semantic")},
        "semantic": det.semantic,
        "semantic_confidence": round(det.confidence, 2),
        "semantic_source": source,
    }
    return ColumnSpec(
        spec.name, "text", str(col.dtype), missing_rate=missing, categories=[], extra=extra
    )


def _table_locale(votes: Counter[str]) -> str:
    total = sum(votes.values())
    if not total:
        return DEFAULT_LOCALE
    best, count = votes.most_common(1)[0]
    return best if count >= 0.5 * total else DEFAULT_LOCALE


def check_locale(locale: str) -> str:
    """``locale`` if Faker knows it, else a SchemaError listing a few it knows."""
    from faker.config import AVAILABLE_LOCALES  # Faker is imported only when needed

    if not isinstance(locale, str) or locale not in AVAILABLE_LOCALES:
        raise SchemaError(
            f"unknown locale {locale!r}; expected a Faker locale such as 'en_US', 'en_GB', "
            "'de_DE' or 'fr_FR'"
        )
    return locale


def apply_semantics(
    data: pd.DataFrame,
    specs: list[ColumnSpec],
    *,
    semantic: Mapping[str, str] | None = None,
    locale: str | None = None,
) -> list[ColumnSpec]:
    """Detect (or apply the user's) semantic types on inferred specs; see :class:`Schema.infer
    <synthgen.schema.Schema>` for ``semantic`` and ``locale``."""
    overrides = _check_overrides(data, semantic)
    if locale is not None:
        check_locale(locale)
    out: list[ColumnSpec] = []
    votes: Counter[str] = Counter()
    personal: list[int] = []
    for spec in specs:
        col = data[spec.name]
        forced = overrides.get(spec.name)
        if forced is None and spec.kind not in ("categorical", "text", "id", "constant"):
            out.append(spec)
            continue
        # An inferred spec's missing share is the column's (an "id" forced on a column with
        # gaps says 0): none missing, none looked for.
        complete = spec.kind != "id" and spec.missing_rate == 0.0
        det = detect_semantic(col, complete=complete)
        if forced == "none":
            if det.semantic != "none":
                extra = {
                    **(spec.extra or {}),
                    "semantic": "none",
                    "semantic_detected": det.semantic,
                    "semantic_confidence": round(det.confidence, 2),
                    "semantic_source": "user",
                }
                spec = replace(spec, extra=extra)
            out.append(spec)
            continue
        if forced is not None:
            scores, hints = _score(col, complete)
            det = Detection(forced, scores[forced], dict(hints.get(forced, {})))
        if det.semantic == "none":
            out.append(spec)
            continue
        votes.update(det.votes)
        personal.append(len(out))
        out.append(_semantic_spec(spec, col, det, "user" if forced else "detected"))
    chosen = locale or _table_locale(votes)
    for i in personal:
        out[i].extra["locale"] = chosen
    return out


def check_semantic(spec: ColumnSpec) -> tuple[str, str]:
    """The semantic type and locale of a spec read from a file (SchemaError if invalid)."""
    extra = spec.extra or {}
    semantic, locale = extra.get("semantic"), extra.get("locale", DEFAULT_LOCALE)
    if semantic not in SEMANTIC_TYPES:
        raise SchemaError(
            f"column {spec.name!r}: unknown semantic type {semantic!r}; "
            f"expected one of {list(SEMANTIC_TYPES)}"
        )
    try:
        check_locale(locale)
    except SchemaError as err:
        raise SchemaError(f"column {spec.name!r}: {err}") from None
    if spec.kind != "text":
        raise SchemaError(f"column {spec.name!r}: a {semantic} column must be of kind 'text'")
    return semantic, locale


def describe(spec: ColumnSpec) -> str:
    """One line on what happens to a column's values (for summaries and warnings)."""
    extra = spec.extra or {}
    confidence = extra.get("semantic_confidence")
    share = "" if confidence is None else f", {float(confidence):.0%} of values"
    if spec.semantic in PERSONAL_TYPES:
        return f"{spec.semantic}{share}: personal data, replaced by fakes"
    if spec.semantic == "free_text":
        return f"free text{share}: generated, never copied"
    detected = extra.get("semantic_detected")
    if detected:
        return f"{detected}{share}, set to 'none': real values modelled and may be reproduced"
    return ""


def summary_frame(schema: Any) -> pd.DataFrame:
    """See :meth:`Schema.summary <synthgen.schema.Schema.summary>`."""
    rows = []
    for c in schema:
        extra = c.extra or {}
        rows.append(
            {"column": c.name, "kind": c.kind, "dtype": c.dtype,
             "missing": round(c.missing_rate, 4), "semantic": c.semantic or "",
             "confidence": extra.get("semantic_confidence"), "note": describe(c)}
        )  # fmt: skip
    return pd.DataFrame(rows)


def personal_data_message(schema: Any, data: pd.DataFrame | None = None) -> str | None:
    """The text of the fit-time warning on a schema's semantic columns, or ``None``.

    With ``data`` (a schema the user gave), string columns the schema models without having
    been read for a semantic type are read now, and those that look like personal data or
    free text are named too. The text names columns and types only, never a value.
    """
    lines = [f"  {spec.name!r}: {describe(spec)}" for spec in schema if describe(spec)]
    if data is not None:
        for spec in schema:
            if "semantic" in (spec.extra or {}) or spec.kind not in _MODELLED_STRINGS:
                continue
            det = detect_semantic(data[spec.name])
            if det.semantic != "none":
                lines.append(
                    f"  {spec.name!r}: looks like {det.semantic} ({det.confidence:.0%} of values),"
                    " but the schema models its values: real values may be reproduced"
                )
    if not lines:
        return None
    locales = sorted({str(s.extra.get("locale", DEFAULT_LOCALE)) for s in schema if s.semantic})
    where = f" (Faker, locale {', '.join(locales)})" if locales else ""
    return (
        f"columns holding personal data or free text{where}:\n"
        + "\n".join(lines)
        + "\nTheir values are never learned; to model a column's values instead, pass "
        "Schema.infer(data, semantic={column: 'none'}) (real values may then be reproduced)."
    )
