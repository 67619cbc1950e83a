"""The encoder of a column with a semantic type: its values are generated, never learned.

A column holding personal data (emails, phone numbers, names, addresses, IBANs, card numbers,
URLs, IP addresses) or free text is encoded as whether each cell is present: one two-code
span, like a two-label categorical (none at all when the column has no missing cells), so every
generator learns when the column is empty and nothing else. At decoding, each present cell
gets a generated value (:mod:`synthgen.transforms.fakes`): format-preserving fakes from Faker
for personal data, Faker sentences of the column's length for free text.

The fitted state holds format facts only (rounded shares and word-count quantiles, digit masks
shared by several rows, the share of distinct values): a saved model holds no value of the
column.

Examples
--------
>>> from synthgen.schema import Schema
>>> df = pd.DataFrame({"email": [f"person{i}@mail.example" for i in range(30)]})
>>> spec = Schema.infer(df)["email"]
>>> enc = SemanticEncoder(spec, "onehot").fit(df["email"], np.random.default_rng(0))
>>> enc.spans, enc.dim
([], 0)
>>> out = enc.inverse(np.zeros((3, 0)), np.random.default_rng(1))
>>> bool(out.str.contains("@").all()), bool(out.isin(df["email"]).any())
(True, False)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import PersistenceError, SchemaError
from synthgen.schema import ColumnSpec
from synthgen.schema.semantic import check_semantic
from synthgen.transforms.columns import ColumnEncoder
from synthgen.transforms.discrete import make_discrete_transform
from synthgen.transforms.dtypes import restore_dtype
from synthgen.transforms.fakes import default_format, generate, learn_format

__all__ = ["SemanticEncoder"]

_SHARES = (
    "distinct", "comma", "single", "middle", "upper", "city", "newline", "spaced", "dashed",
    "ipv6",
)  # fmt: skip


class SemanticEncoder(ColumnEncoder):
    """Encoder of a column whose :attr:`~synthgen.schema.ColumnSpec.semantic` type is set.

    Parameters
    ----------
    spec : ColumnSpec
        A ``"text"`` column with ``extra["semantic"]`` (and ``extra["locale"]``).
    discrete : str
        Transform of the present/missing code (as for categories).
    """

    def __init__(self, spec: ColumnSpec, discrete: str) -> None:
        super().__init__(spec)
        self.semantic, self.locale = check_semantic(spec)
        self.flag = make_discrete_transform(discrete) if spec.has_missing else None
        self.format: dict[str, Any] = default_format(self.semantic)

    @property
    def n_codes(self) -> int:
        """Codes of the learned part: present (0) and missing (1)."""
        return 2

    def _mask(self, col: pd.Series) -> np.ndarray:
        missing = col.isna().to_numpy()
        if missing.any() and self.flag is None:
            raise SchemaError(
                f"column {self.spec.name!r}: has missing values, but had none when fitted"
            )
        return missing.astype(np.int64)

    def _set_spans(self) -> None:
        dims = [] if self.flag is None else self.flag.dims
        self.spans = [("category", d, a) for _, d, a in dims]

    def fit(
        self, col: pd.Series, rng: np.random.Generator, score: np.ndarray | None = None
    ) -> SemanticEncoder:
        if self.flag is not None:
            self.flag.fit(self._mask(col), 2, rng, score)
        # Under differential privacy the rows seen here are surrogates: only the released
        # missing share is known, so the format stays at its defaults.
        if not (self.spec.extra or {}).get("semantic_dp"):
            self.format = learn_format(self.semantic, col)
        self._set_spans()
        return self

    def transform(self, col: pd.Series, rng: np.random.Generator) -> np.ndarray:
        mask = self._mask(col)
        if self.flag is None:
            return np.zeros((len(col), 0))
        return self.flag.transform(mask, rng)

    def inverse(self, block: np.ndarray, rng: np.random.Generator) -> pd.Series:
        n = len(block)
        missing = np.zeros(n, dtype=bool)
        if self.flag is not None:
            missing = self.flag.inverse(block) == 1
        values = np.empty(n, dtype=object)
        values[:] = None
        n_present = int((~missing).sum())
        values[~missing] = generate(self.semantic, self.format, self.locale, n_present, rng)
        series = pd.Series(values, dtype=object)
        if self.spec.dtype == "category":
            return pd.Series(pd.Categorical(series), name=self.spec.name)
        return restore_dtype(series, self.spec)

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"format": self.format}
        if self.flag is not None:
            state["flag"] = self.flag.get_state()
        return state

    def set_state(self, state: dict[str, Any]) -> SemanticEncoder:
        name = self.spec.name
        try:
            self.format = _checked_format(state["format"])
            if self.flag is not None:
                self.flag.set_state(state["flag"])
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            detail = f"missing {err}" if isinstance(err, KeyError) else str(err)
            raise PersistenceError(f"column {name!r}: invalid saved state: {detail}") from None
        self._set_spans()
        return self


def _is_share(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def _checked_format(fmt: Any) -> dict[str, Any]:
    """A saved format, every entry's type and range checked (model files are untrusted)."""
    if not isinstance(fmt, dict):
        raise ValueError("format must be an object")
    for key, value in fmt.items():
        if key in _SHARES:
            if not _is_share(value):
                raise ValueError(f"format {key!r} must be a share in [0, 1], got {value!r}")
        elif key == "words":
            if not (
                isinstance(value, list)
                and 1 <= len(value) <= 20
                and all(isinstance(v, int) and 1 <= v <= 10_000 for v in value)
            ):
                raise ValueError("format 'words' must list 1-20 whole numbers in [1, 10000]")
        elif key == "patterns":
            if not (isinstance(value, list) and len(value) <= 10):
                raise ValueError("format 'patterns' must be a list of at most 10 patterns")
            for item in value:
                ok = isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                if not ok or len(item[0]) > 40 or not _is_share(item[1]) or item[1] <= 0:
                    raise ValueError(f"invalid phone pattern {item!r}")
        else:
            raise ValueError(f"unknown format entry {key!r}")
    return fmt
