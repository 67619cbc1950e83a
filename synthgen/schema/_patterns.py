"""Patterns, checksums, word lists and locale hints behind :mod:`synthgen.schema.semantic`."""

from __future__ import annotations

import functools
import importlib
import ipaddress
from collections import Counter

import numpy as np
import pandas as pd

#: Share of name-shaped values needed before the name lists are loaded.
NAME_SHARE = 0.7

EMAIL = (
    r"[A-Za-z0-9._%+'\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}"
)
URL = (
    r"(?:https?|ftp)://[^\s/?#]+(?:[/?#]\S*)?"
    r"|www\.[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
IPV6_CANDIDATE = r"[0-9A-Fa-f:.]{2,45}"
IBAN = r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}"
CARD = r"\d(?:[ \-]?\d){12,18}"
PHONE_EXTENSION = r"\s*(?:x|ext\.?|#)\s*\d{1,6}$"
PHONE = r"(?:\+|00)?[\d\s().\-/]{6,24}(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?"
DATE_LIKE = r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T].*)?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?:[ T].*)?"
GROUPED_NUMBER = r"[-+]?\d{1,3}(?:[.,]\d{3}){2,}(?:[.,]\d+)?"
_POSTCODE_LETTERS = {
    "en_GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
    "en_CA": r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
    "nl_NL": r"[1-9]\d{3} ?[A-Z]{2}",
}
_POSTCODE_DIGITS = {
    "en_US": r"\d{5}-\d{4}",
    "pl_PL": r"\d{2}-\d{3}",
    "pt_PT": r"\d{4}-\d{3}",
    "pt_BR": r"\d{5}-\d{3}",
}
POSTCODE_LETTERS = "|".join(f"(?:{p})" for p in _POSTCODE_LETTERS.values())
POSTCODE_DIGITS = "|".join(f"(?:{p})" for p in _POSTCODE_DIGITS.values())
#: Five plain digits (US, DE, FR, ES, IT...): as often a product code, so never detected on
#: its own; it counts towards the confidence of a column the user declares a postcode.
POSTCODE_PLAIN = r"\d{5}"
ADDRESS_UNIT = r"^(?i:(?:flat|studio|apartment|apt|unit|suite)\.?\s+\w+[\s,]+)(?=\d)"
ADDRESS_BOX = r"(?i:(?:p\.?\s?o\.?\s+box|psc|box)\s+\d+\b)"
ADDRESS_EN = (
    r"(?i:(?:flat|studio|apartment|apt|unit|suite)\.?\s+\w+[\s,]+)?"
    r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,6})?,?\s+[A-Za-z][A-Za-z.'\-]*(?:\s+[A-Za-z0-9.'\-]+)*"
)
ADDRESS_TAIL = (
    r"(?:,|\n).*$|\s+(?:apt|apartment|suite|ste|unit|fl|floor|room|rm)\b\.?\s*\S+.*$"
    r"|\s+#\s*\S+.*$"
)
_ADDRESS_EUROPE = {
    "de_DE": r"^[^\W\d_][\w.\- ]*?(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)"
    r"\s+\d+[a-z]?\b",
    "fr_FR": r"^(?:\d+(?:\s?(?:bis|ter))?,?\s+)?(?:rue|avenue|av\.|boulevard|bd|chemin|place"
    r"|allée|impasse|quai|route|cours)\s",
    "es_ES": r"^(?:calle|c/|avenida|avda\.|paseo|plaza|camino|ronda|carrer|travesía|rambla"
    r"|urbanización|cañada|pasadizo|glorieta|callejón|vía|alameda|carretera|cuesta|acceso"
    r"|pasaje|c\.)\s.+\d",
    "it_IT": r"^(?:via|viale|piazza|corso|vicolo|largo|borgo|contrada|strada|piazzale|stretto"
    r"|canale|rotonda|incrocio|lungomare)\s.+\d",
    "en_GB": r"^(?:flat|studio|apartment|apt|unit|suite)\.?\s+\d+\w?\s*[,\n]\s*[^\W\d_]",
    "nl_NL": r"^[^\W\d_]+(?:straat|laan|plein|gracht|kade|singel|dijk|hof|baan|dreef|pad"
    r"|steeg)\s+\d+",
}
ADDRESS_EUROPE = "|".join(f"(?:{p})" for p in _ADDRESS_EUROPE.values())
_UPPER = r"[A-ZÀ-ÖØ-Þ]"
_WORD = rf"{_UPPER}[^\W\d_]*(?:['\-.]+[^\W\d_]+)*\.?"
_PARTICLE = r"(?:van|von|de|der|den|du|da|di|del|della|des|la|le|y|e|bin|al|ter|ten|zu)"
_TITLES = (
    r"(?:Mr|Mrs|Ms|Miss|Mx|Master|Dr|Prof|Herr|Frau|Sig|Sig\.ra|Dott|Dott\.ssa|Mme|Mlle|M"
    r"|Sr|Sra|Srta|Don|Doña)\.?"
)
_SUFFIX = r"(?:,?\s+(?:Jr|Sr|II|III|IV|PhD|MD|DDS|MBA|MSc|BSc|B\.\w+|M\.\w+|Dipl\.-\w+)\.?)*"
NAME_TITLE = rf"(?:^|(?<=,))\s*{_TITLES}\s+"
_GIVEN = rf"{_WORD}(?:\s+(?:{_PARTICLE}\s+)*{_WORD}){{1,3}}"
NAME = rf"(?:{_TITLES}\s+)?{_GIVEN}{_SUFFIX}"
NAME_COMMA = rf"{_WORD}(?:\s+{_WORD})?,\s*(?:{_TITLES}\s+)?{_WORD}(?:\s+{_WORD}){{0,2}}"

#: ISO country -> Faker locale of generated values.
COUNTRY_LOCALE = {
    "US": "en_US", "GB": "en_GB", "UK": "en_GB", "DE": "de_DE", "FR": "fr_FR",
    "ES": "es_ES", "IT": "it_IT", "NL": "nl_NL", "BE": "nl_BE", "CH": "de_CH",
    "AT": "de_AT", "DK": "da_DK", "SE": "sv_SE", "NO": "no_NO", "PL": "pl_PL",
    "PT": "pt_PT", "IE": "en_IE", "AU": "en_AU", "NZ": "en_NZ", "IN": "en_IN",
    "JP": "ja_JP", "BR": "pt_BR", "MX": "es_MX", "CA": "en_CA", "FI": "fi_FI",
    "CZ": "cs_CZ", "GR": "el_GR", "TR": "tr_TR",
}  # fmt: skip
#: International calling code -> ISO country (+1 is taken as the US).
PHONE_COUNTRY = {
    "1": "US", "44": "GB", "49": "DE", "33": "FR", "34": "ES", "39": "IT", "31": "NL",
    "32": "BE", "41": "CH", "43": "AT", "45": "DK", "46": "SE", "47": "NO", "48": "PL",
    "351": "PT", "353": "IE", "61": "AU", "64": "NZ", "91": "IN", "81": "JP", "55": "BR",
    "52": "MX", "358": "FI", "420": "CZ", "30": "GR", "90": "TR",
}  # fmt: skip
_EN_STREET = {
    "st", "ave", "av", "rd", "ln", "dr", "blvd", "ct", "pl", "ter", "cir", "hwy", "pkwy",
    "sq", "trl", "cres", "cl", "gr", "gdns", "street", "avenue", "road", "lane", "drive",
    "boulevard", "court", "way", "place", "terrace", "circle", "highway", "parkway",
    "square", "trail", "crescent", "close", "grove", "gardens", "row", "walk", "mews",
}  # fmt: skip
# Words that open place names ("San Diego", "New York"), never counted as given names.
_NOT_GIVEN = {"San", "Santa", "Santo", "New", "Los", "Las", "El", "La", "Le", "St", "Saint",
              "Fort", "Port", "North", "South", "East", "West", "Lake", "Mount", "Des"}  # fmt: skip
_NAME_LOCALES = (
    "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_PT",
    "pt_BR", "es_MX", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "en_IN",
)  # fmt: skip


# -- per-type masks (one boolean per sampled value) ------------------------------------------
def ip_mask(text: pd.Series) -> pd.Series:
    v4 = text.str.fullmatch(IPV4)
    cand = text.str.fullmatch(IPV6_CANDIDATE) & text.str.count(":").ge(2)
    v6 = pd.Series(False, index=text.index)
    for i in np.flatnonzero(cand.to_numpy()):
        try:
            ipaddress.IPv6Address(text.iloc[i])
            v6.iloc[i] = True
        except ValueError:
            pass
    return v4 | v6


def iban_mask(text: pd.Series) -> pd.Series:
    compact = text.str.replace(" ", "", regex=False).str.upper()
    cand = compact.str.fullmatch(IBAN).to_numpy()
    out = np.zeros(len(text), dtype=bool)
    for i in np.flatnonzero(cand):
        out[i] = iban_valid(compact.iloc[i])
    return pd.Series(out, index=text.index)


def card_mask(text: pd.Series) -> pd.Series:
    cand = text.str.fullmatch(CARD).to_numpy()
    digits = text.str.replace(r"\D", "", regex=True)
    out = np.zeros(len(text), dtype=bool)
    for i in np.flatnonzero(cand):
        out[i] = 13 <= len(digits.iloc[i]) <= 19 and luhn_valid(digits.iloc[i])
    return pd.Series(out, index=text.index)


def phone_mask(text: pd.Series) -> pd.Series:
    shape = text.str.fullmatch(PHONE)
    body = text.str.replace(PHONE_EXTENSION, "", regex=True)
    n_digits = body.str.count(r"\d")
    prefixed = body.str.match(r"\s*(?:\+|00)")
    separators = body.str.count(r"[\s().\-/]")
    # National forms: a trunk 0, then 9-12 digits (``0161 4960066``, ``0232781286``).
    national = body.str.fullmatch(r"\s*0[1-9][\d\s\-/]{7,14}") & n_digits.between(9, 12)
    not_date = ~text.str.fullmatch(DATE_LIKE)
    not_number = ~text.str.fullmatch(GROUPED_NUMBER)
    return (
        shape
        & n_digits.between(7, 15)
        & (prefixed | separators.ge(2) | national)
        & not_date
        & not_number
    )


def postcode_masks(text: pd.Series, n_nonnull: int, n_unique: int) -> tuple[pd.Series, pd.Series]:
    """(values of any postcode form, values of a form distinctive enough to detect)."""
    upper = text.str.upper()
    lettered = upper.str.fullmatch(POSTCODE_LETTERS)
    digits = upper.str.fullmatch(POSTCODE_DIGITS)
    plain = upper.str.fullmatch(POSTCODE_PLAIN)
    # Digit forms are also product codes and keys: detected only in a column with many
    # distinct values that repeat (people share a postcode; a key column is unique).
    digits_ok = n_unique >= 50 and n_unique < 0.9 * n_nonnull
    auto = (lettered & (n_unique >= 10)) | (digits & digits_ok)
    return lettered | digits | plain, auto


def address_mask(text: pd.Series) -> pd.Series:
    european = text.str.contains(ADDRESS_EUROPE, case=False, regex=True)
    boxes = text.str.match(ADDRESS_BOX)
    english = text.str.match(ADDRESS_EN)
    if english.mean() >= 0.5:
        street = text.str.replace(ADDRESS_UNIT, "", regex=True)
        street = street.str.replace(ADDRESS_TAIL, "", regex=True, case=False)
        last = street.str.strip().str.split().str[-1].str.rstrip(".").str.lower()
        english = english & last.isin(street_words())
    else:
        english = english & False
    return european | english | boxes


def name_mask(text: pd.Series, n_unique: int) -> pd.Series:
    structure = text.str.fullmatch(NAME) | text.str.fullmatch(NAME_COMMA)
    if n_unique < 3 or structure.mean() < NAME_SHARE:
        return structure & False
    firsts, lasts = person_names()
    words = text.str.replace(NAME_TITLE, "", regex=True).str.replace(",", " ", regex=False)
    tokens = words.str.split()
    known = tokens.map(lambda ts: any(t in firsts or t.title() in firsts for t in ts[:2]))
    known |= tokens.map(lambda ts: any(t in lasts or t.title() in lasts for t in ts))
    return structure & known.astype(bool)


def free_text_mask(text: pd.Series, n_nonnull: int, n_unique: int) -> pd.Series:
    if n_unique < 10 or n_unique < 0.5 * n_nonnull:
        return pd.Series(False, index=text.index)
    return text.str.split().str.len().ge(3) & text.str.contains(r"[^\W\d_]{2}", regex=True)


def iban_valid(compact: str) -> bool:
    """ISO 13616 mod-97 check of an upper-case IBAN without spaces.

    >>> iban_valid("GB82WEST12345698765432"), iban_valid("GB82WEST12345698765433")
    (True, False)
    """
    moved = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a string of digits.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _faker_words(module: str, attributes: tuple[str, ...], locales: tuple[str, ...]) -> set:
    words: set[str] = set()
    for locale in locales:
        try:
            provider = importlib.import_module(f"faker.providers.{module}.{locale}").Provider
        except ImportError:
            continue
        for attribute in attributes:
            words.update(str(w) for w in getattr(provider, attribute, ()) or ())
    return words


@functools.lru_cache(maxsize=1)
def person_names() -> tuple[frozenset[str], frozenset[str]]:
    """Known given names and surnames (Faker's lists for several locales)."""
    firsts = _faker_words(
        "person", ("first_names", "first_names_male", "first_names_female"), _NAME_LOCALES
    )
    lasts = _faker_words("person", ("last_names",), _NAME_LOCALES)
    return frozenset(firsts - _NOT_GIVEN), frozenset(lasts)


@functools.lru_cache(maxsize=1)
def street_words() -> frozenset[str]:
    """Street types, lower case (common abbreviations and Faker's English suffixes)."""
    suffixes = _faker_words("address", ("street_suffixes",), ("en_US", "en_GB", "en_AU", "en_CA"))
    return frozenset(_EN_STREET | {s.lower() for s in suffixes})


def _country_votes(countries: pd.Series) -> Counter[str]:
    votes: Counter[str] = Counter()
    for country, count in countries.value_counts().items():
        locale = COUNTRY_LOCALE.get(str(country).upper())
        if locale:
            votes[locale] += int(count)
    return votes


def _phone_country(text: str) -> str | None:
    digits = text.lstrip()[1:] if text.lstrip().startswith("+") else text.lstrip()[2:]
    digits = "".join(ch for ch in digits[:6] if ch.isdigit())
    for width in (3, 2, 1):
        if digits[:width] in PHONE_COUNTRY:
            return PHONE_COUNTRY[digits[:width]]
    return None


def locale_votes(text: pd.Series, masks: dict[str, pd.Series]) -> dict[str, Counter[str]]:
    """Per semantic type, the locales its matching values point to (calling codes, IBAN
    countries, country domains, postcode and street forms)."""
    votes: dict[str, Counter[str]] = {}
    phones = text[masks["phone"] & text.str.match(r"\s*(?:\+|00)")]
    votes["phone"] = _country_votes(phones.map(_phone_country).dropna())
    votes["iban"] = _country_votes(text[masks["iban"]].str.strip().str[:2])
    tld = text[masks["email"]].str.extract(r"\.([A-Za-z]{2})$", expand=False).dropna()
    votes["email"] = _country_votes(tld)
    codes = text[masks["postcode"]].str.upper()
    votes["postcode"] = Counter()
    for locale, pattern in {**_POSTCODE_LETTERS, **_POSTCODE_DIGITS}.items():
        votes["postcode"][locale] += int(codes.str.fullmatch(pattern).sum())
    streets = text[masks["street_address"]]
    votes["street_address"] = Counter()
    for locale, pattern in _ADDRESS_EUROPE.items():
        votes["street_address"][locale] += int(
            streets.str.contains(pattern, case=False, regex=True).sum()
        )
    return {k: +v for k, v in votes.items()}
