"""Per-column encoders: a pandas column in, a float block out, and back again exactly.

Each encoder owns one :class:`~synthgen.schema.ColumnSpec` and restores on decode what the spec
promises: dtype, exact labels, bounds, integer-ness, decimal precision, date format and the
missing-value pattern (missing cells are modelled as a flag or a category, never dropped).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import PersistenceError, SchemaError
from synthgen.schema import ColumnSpec, is_duration, numeric_values
from synthgen.schema.dates import as_datetimes, restore_dates, to_epoch
from synthgen.schema.safe import DEFAULT_MIN_COUNT, avoid_rare
from synthgen.transforms import _state
from synthgen.transforms.capped import CodeCap
from synthgen.transforms.discrete import make_discrete_transform
from synthgen.transforms.dtypes import restore_dtype
from synthgen.transforms.numeric import make_numeric_transform

__all__ = ["ColumnEncoder", "make_column_encoder"]

_UNIT_NS = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


class ColumnEncoder:
    """Base class: a column encoder with no output (ids and constants).

    Subclasses set :attr:`spans` (``[(role, dim, activation), ...]``) when fitted.
    """

    def __init__(self, spec: ColumnSpec) -> None:
        self.spec = spec
        self.spans: list[tuple[str, int, str]] = []

    @property
    def dim(self) -> int:
        return sum(d for _, d, _ in self.spans)

    def fit(
        self, col: pd.Series, rng: np.random.Generator, score: np.ndarray | None = None
    ) -> ColumnEncoder:
        """Learn the column; ``score`` (one number per row) may order discrete codes."""
        return self

    def transform(self, col: pd.Series, rng: np.random.Generator) -> np.ndarray:
        return np.zeros((len(col), 0))

    def inverse(self, block: np.ndarray, rng: np.random.Generator) -> pd.Series:
        n = len(block)
        spec = self.spec
        if spec.kind == "id":
            if spec.id_prefix is None:
                values = pd.Series(np.arange(1, n + 1, dtype=np.int64))
            else:
                width = max(6, len(str(n)))
                values = pd.Series([f"{spec.id_prefix}{i:0{width}d}" for i in range(1, n + 1)])
            return restore_dtype(values, spec)
        values = pd.Series([spec.value] * n, dtype=object)
        if spec.dtype.startswith("datetime") and spec.value is not None:
            return pd.Series(pd.to_datetime([spec.value] * n), name=spec.name).astype(spec.dtype)
        if spec.dtype.startswith("timedelta") and spec.value is not None:
            return pd.Series(pd.to_timedelta([spec.value] * n), name=spec.name).astype(spec.dtype)
        return restore_dtype(values, spec)

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> ColumnEncoder:
        return self


class NumericEncoder(ColumnEncoder):
    """Numbers and datetimes: a value transform plus a missing flag when the column has gaps."""

    def __init__(
        self,
        spec: ColumnSpec,
        numeric: str,
        discrete: str,
        min_count: int = DEFAULT_MIN_COUNT,
        **numeric_kwargs: Any,
    ):
        super().__init__(spec)
        self.min_count = min_count
        if numeric in ("quantile", "gmm"):
            numeric_kwargs = {**numeric_kwargs, "min_count": min_count}
        self.value = make_numeric_transform(numeric, **numeric_kwargs)
        self.flag = make_discrete_transform(discrete) if spec.has_missing else None
        self.fill = 0.0

    @property
    def _unit(self) -> int:
        return _UNIT_NS[self.spec.datetime_unit or "ns"]

    @property
    def _timelike(self) -> bool:
        """Datetimes and durations: modelled in their own unit, bounds in nanoseconds."""
        return self.spec.kind == "datetime" or is_duration(self.spec)

    def to_float(self, col: pd.Series) -> np.ndarray:
        """The column as floats (datetimes in their own unit since the epoch, durations in
        their own unit), NaN if missing."""
        spec = self.spec
        if is_duration(spec):
            return numeric_values(col) / self._unit
        if spec.kind != "datetime":
            return col.to_numpy(dtype=float, na_value=np.nan)
        # Any year, time zone, integer or text dates (see synthgen.schema.dates).
        return to_epoch(as_datetimes(col, spec), spec.datetime_unit or "ns")

    def _clip(self, x: np.ndarray) -> np.ndarray:
        """Values clipped to the spec's bounds (in the encoder's unit). The bounds are not any
        one row's value (see :mod:`synthgen.schema.safe`): clipping before learning keeps the
        most extreme rows from shaping what is stored (a mixture mode on one outlier)."""
        spec = self.spec
        if spec.minimum is None or spec.maximum is None:
            return x
        scale = self._unit if self._timelike else 1
        return np.clip(x, spec.minimum / scale, spec.maximum / scale)

    def _round(self, x: np.ndarray) -> np.ndarray:
        """Round to the column's precision, staying inside its bounds (a bound such as 20.5,
        halfway between two people's values, keeps whole numbers to 21 and up)."""
        spec = self.spec
        if spec.kind == "datetime" or spec.integer:
            digits = 0
        elif spec.decimals is not None:
            digits = spec.decimals
        else:
            return x
        x = np.round(x, digits)
        if spec.minimum is None or spec.maximum is None:
            return x
        scale, unit = 10.0**digits, self._unit if self._timelike else 1
        low = np.ceil(spec.minimum / unit * scale - 1e-9) / scale
        high = np.floor(spec.maximum / unit * scale + 1e-9) / scale
        return np.clip(x, low, max(low, high))

    def fit(
        self, col: pd.Series, rng: np.random.Generator, score: np.ndarray | None = None
    ) -> NumericEncoder:
        x = self._clip(self.to_float(col))
        mask = np.isnan(x)
        observed = x[~mask]
        # The stand-in for missing cells: the median, unless one row holds it.
        median = np.array([np.median(observed)]) if len(observed) else np.zeros(1)
        held = int(np.count_nonzero(observed == median[0]))
        if 0 < held < self.min_count:  # (one pass; moving it off sorts the column)
            median = avoid_rare(median, observed, self.min_count)
        self.fill = float(median[0])
        self.value.fit(observed, rng)
        if self.flag is not None:
            self.flag.fit(mask.astype(np.int64), 2, rng, score)
        self._set_spans()
        return self

    def _set_spans(self) -> None:
        self.spans = list(self.value.dims)
        if self.flag is not None:
            self.spans += [("missing", d, a) for _, d, a in self.flag.dims]

    def transform(self, col: pd.Series, rng: np.random.Generator) -> np.ndarray:
        x = self._clip(self.to_float(col))
        mask = np.isnan(x)
        if mask.any() and self.flag is None:
            raise SchemaError(
                f"column {self.spec.name!r}: has missing values, but had none when fitted"
            )
        block = self.value.transform(np.where(mask, self.fill, x), rng)
        if self.flag is not None:
            block = np.hstack([block, self.flag.transform(mask.astype(np.int64), rng)])
        return block

    def inverse(self, block: np.ndarray, rng: np.random.Generator) -> pd.Series:
        spec = self.spec
        dv = sum(d for _, d, _ in self.value.dims)
        x = self._round(self._clip(self.value.inverse(block[:, :dv])))
        missing = np.zeros(len(x), dtype=bool)
        if self.flag is not None:
            missing = self.flag.inverse(block[:, dv:]) == 1
        if spec.kind == "datetime":
            values = restore_dates(np.where(missing, np.nan, x), spec)
            if spec.datetime_format is None:
                return values.rename(spec.name)
            return restore_dtype(values, spec)
        if is_duration(spec):
            ns = np.where(missing, 0, x * self._unit).astype("int64")
            durations = pd.Series(pd.to_timedelta(ns, unit="ns"))
            durations[missing] = pd.NaT
            return durations.astype(spec.dtype).rename(spec.name)
        values = pd.Series(np.where(missing, np.nan, x) if missing.any() else x)
        return restore_dtype(values, spec)

    def get_state(self) -> dict[str, Any]:
        state = {"fill": self.fill, "value": self.value.get_state()}
        if self.flag is not None:
            state["flag"] = self.flag.get_state()
        return state

    def set_state(self, state: dict[str, Any]) -> NumericEncoder:
        with _checked_state(self.spec):
            self.fill = _state.number(state, "fill")
            self.value.set_state(state["value"])
            if self.flag is not None:
                self.flag.set_state(state["flag"])
                if self.flag.n_codes != 2:
                    raise ValueError(f"missing flag has {self.flag.n_codes} codes, expected 2")
            self._set_spans()
        return self


class CategoricalEncoder(ColumnEncoder):
    """Labels as codes ``0..K-1`` (missing is its own code K when the column has gaps).

    Free-text columns (kind ``"text"``), and columns whose rare labels the schema left out
    (``spec.pooled``), keep only their frequent labels; every other label shares one pooled
    code, which decodes to the spec's ``other_label`` placeholder or, without one, to a stored
    label drawn by frequency, so no value held by a few rows is ever learned or reproduced.
    """

    def __init__(self, spec: ColumnSpec, discrete: str, max_codes: int | None = None) -> None:
        super().__init__(spec)
        self.categories: list[Any] = list(spec.categories or [])
        self.pooled = spec.kind == "text" or spec.pooled
        self.codes = make_discrete_transform(discrete)
        # A cap on one-hot / index width (transforms.capped); a frequency score is one number.
        self.max_codes = max_codes if discrete in ("onehot", "index") else None
        self.cap: CodeCap | None = None
        self._index: pd.Index | None = None
        self._array: np.ndarray | None = None

    @property
    def n_label_codes(self) -> int:  # labels, then the pooled and the missing code (if any)
        return len(self.categories) + int(self.pooled) + int(self.spec.has_missing)

    @property
    def n_codes(self) -> int:  # codes the model sees (fewer than n_label_codes if capped)
        return self.n_label_codes if self.cap is None else self.cap.n_model_codes

    @property
    def missing_code(self) -> int:
        return len(self.categories) + int(self.pooled)

    def to_codes(self, col: pd.Series) -> np.ndarray:
        """Model codes of the labels (see :meth:`label_codes` and :attr:`cap`)."""
        codes = self.label_codes(col)
        return codes if self.cap is None else self.cap.forward(codes)

    def label_codes(self, col: pd.Series) -> np.ndarray:
        """Integer codes of the labels; missing cells get :attr:`missing_code`."""
        # (Not pd.Categorical: pandas 3 deprecates labels outside the categories, as pooled.)
        if self._index is None:  # built once: a column may hold a million labels
            self._index = pd.Index(self.categories, dtype=object)
        codes = self._index.get_indexer(col.astype(object)).astype(np.int64)
        missing = col.isna().to_numpy() if (codes < 0).any() else np.zeros(len(codes), bool)
        unseen = (codes < 0) & ~missing  # a missing cell is no label: its code is -1 too
        if unseen.any():
            if not self.pooled:
                labels = pd.unique(col[unseen])[:5].tolist()
                raise SchemaError(
                    f"column {self.spec.name!r}: categories not seen when fitted: {labels!r}"
                )
            codes[unseen] = len(self.categories)
        if missing.any():
            if not self.spec.has_missing:
                raise SchemaError(
                    f"column {self.spec.name!r}: has missing values, but had none when fitted"
                )
            codes[missing] = self.missing_code
        return codes

    def fit(
        self, col: pd.Series, rng: np.random.Generator, score: np.ndarray | None = None
    ) -> CategoricalEncoder:
        codes = self.label_codes(col)
        self.cap = None
        if self.max_codes is not None and self.n_label_codes > self.max_codes:
            extra = self.n_label_codes - len(self.categories)
            self.cap = CodeCap(len(self.categories), extra).fit(codes, self.max_codes)
            codes = self.cap.forward(codes)
        self.codes.fit(codes, self.n_codes, rng, score)
        self.spans = [("category", d, a) for _, d, a in self.codes.dims]
        return self

    def transform(self, col: pd.Series, rng: np.random.Generator) -> np.ndarray:
        return self.codes.transform(self.to_codes(col), rng)

    def inverse(self, block: np.ndarray, rng: np.random.Generator) -> pd.Series:
        codes = self.codes.inverse(block)
        if self.cap is not None:
            codes = self.cap.backward(codes, rng)
        k = len(self.categories)
        labels = self._labels()[np.minimum(codes, k)]  # one gather: codes past k are missing
        plain = self.spec.dtype == "object"
        if self.pooled:
            pooled = codes == k
            if pooled.any() and self.spec.other_label is not None:
                labels[pooled] = self.spec.other_label
            elif pooled.any():
                labels[pooled] = self._draw_frequent(int(pooled.sum()), rng)
        if plain:  # what restore_dtype would give, without searching every cell for None
            return pd.Series(labels, dtype=object, name=self.spec.name)
        return restore_dtype(pd.Series(labels, dtype=object), self.spec)

    def _draw_frequent(self, n: int, rng: np.random.Generator) -> np.ndarray:
        k = len(self.categories)
        if k == 0 and self.spec.kind == "categorical":  # no label common enough to give back
            return np.full(n, self._labels()[-1], dtype=object)  # a missing cell
        if k == 0:
            return np.array([f"{self.spec.name}-{i}" for i in rng.integers(0, 10**9, n)])
        p = self.codes.freq[:k] if self.cap is None else self.cap.label_freq
        p = p / p.sum() if p.sum() > 0 else np.full(k, 1.0 / k)
        return self._labels()[rng.choice(k, size=n, p=p)]

    def _labels(self) -> np.ndarray:
        """The labels by code as an object array (built once), then what a missing cell
        decodes to: NaN in an object column (what pandas reads), None before a cast."""
        if self._array is None:
            self._array = np.empty(len(self.categories) + 1, dtype=object)
            self._array[:-1] = self.categories
            self._array[-1] = np.nan if self.spec.dtype == "object" else None
        return self._array

    def get_state(self) -> dict[str, Any]:
        state = {"codes": self.codes.get_state()}
        if self.cap is not None:
            state["cap"] = self.cap.get_state()
        return state

    def set_state(self, state: dict[str, Any]) -> CategoricalEncoder:
        with _checked_state(self.spec):
            self.cap = None
            if "cap" in state:
                extra = self.n_label_codes - len(self.categories)
                self.cap = CodeCap(len(self.categories), extra).set_state(state["cap"])
            self.codes.set_state(state["codes"])
            if self.codes.n_codes != self.n_codes:
                raise ValueError(
                    f"{self.codes.n_codes} codes saved, but the schema gives {self.n_codes}"
                )
            self.spans = [("category", d, a) for _, d, a in self.codes.dims]
        return self


@contextlib.contextmanager
def _checked_state(spec: ColumnSpec) -> Iterator[None]:
    """Turn a malformed saved state into a PersistenceError naming the column."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        detail = f"missing {err}" if isinstance(err, KeyError) else str(err)
        raise PersistenceError(f"column {spec.name!r}: invalid saved state: {detail}") from None


def make_column_encoder(
    spec: ColumnSpec,
    *,
    numeric: str,
    discrete: str,
    min_count: int = DEFAULT_MIN_COUNT,
    max_codes: int | None = None,
    **numeric_kwargs: Any,
) -> ColumnEncoder:
    """The encoder for one column, chosen by its kind (``max_codes``: see
    :mod:`synthgen.transforms.capped`)."""
    if spec.kind in ("numeric", "datetime"):
        return NumericEncoder(spec, numeric, discrete, min_count, **numeric_kwargs)
    if spec.kind in ("categorical", "text"):
        return CategoricalEncoder(spec, discrete, max_codes)
    return ColumnEncoder(spec)
