"""Differentially private preprocessing: bounds, bins, label lists and marginals from noise.

A schema inferred from the data is itself private: its bounds are the smallest and largest
value of a person, its label lists contain labels only one person holds. :class:`DPPreprocessor`
rebuilds every data-dependent fact of a schema from Gaussian noisy counts (zero-concentrated
DP), within a budget ``rho`` shared equally by the columns:

- **numeric and datetime columns**: half of the column's budget finds the bounds from a noisy
  histogram over fixed, data-independent buckets (zero, then ``[2**k, 2**(k+1))`` on either
  side); only buckets whose noisy count clears the threshold count, so the extreme values of a
  few people are clipped. The other half measures a fine histogram inside those bounds (unit
  bins for small integer ranges, ``n_bins`` equal bins otherwise, plus an exact-zero bin and a
  missing cell); bins whose noisy count stays under two noise standard deviations are zeroed
  and the bounds shrink to the outermost bins left.
- **categorical and text columns**: a noisy count per observed label and the missing cell. A
  label is kept only when its noisy count reaches ``max(min_category_count,
  1 + sigma * z(delta_share))``, so a label held by one person appears with probability below
  its share of ``delta``. The rows of dropped string labels become ``"(other)"`` when a second
  noisy count of them is large enough, else the commonest kept label.
- **columns with a semantic type** (personal data, free text: ``spec.semantic``) release only
  a noisy count of present and of missing cells: their values are generated, and the format
  facts the encoder would read from them (distinct share, lengths, digit masks) stay at
  defaults. The semantic type and locale are metadata, like a date format.
- **booleans** have a public domain (False, True) and **columns marked public**
  (``spec.extra["public"] = True``: their bounds, labels and missing flag are public knowledge,
  e.g. from a code book) skip the discovery step and spend their whole share on the histogram.

Column names, kinds, dtypes, integer-ness, decimal places and date formats are treated as
public metadata (as by every DP synthesiser); the row count is released only as a noisy total.

The fitted preprocessor never reads raw data again: :meth:`DPPreprocessor.apply` maps a table
onto the released domain (clip, fold labels, fill unreleased missing cells) for the private
training that follows, and :meth:`DPPreprocessor.surrogate` draws rows from the noisy one-way
marginals, on which encoders are fitted instead of the real rows.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from synthgen.exceptions import ConfigurationError
from synthgen.privacy.dp.release import (
    OTHER_LABEL,
    PRESENT_LABEL,
    ColumnRelease,
    ReleaseMechanisms,
    from_float,
    is_public,
    to_float,
    unit_scale,
)
from synthgen.privacy.dp.structure import (
    apply_mappings,
    private_hierarchies,
    private_structure,
    release_mappings,
)
from synthgen.schema import ColumnSpec, Schema

__all__ = ["OTHER_LABEL", "ColumnRelease", "DPPreprocessor", "from_float", "presence", "to_float"]


def presence(col: pd.Series) -> pd.Series:
    """A semantic column as :data:`PRESENT_LABEL` where a value is present (no value kept)."""
    return pd.Series(np.where(col.isna(), None, PRESENT_LABEL), index=col.index, dtype=object)


class DPPreprocessor(ReleaseMechanisms):
    """Differentially private column statistics (see the module docstring).

    Parameters
    ----------
    rho : float
        zCDP budget of the whole preprocessing (shared equally by the budgeted columns).
    delta_threshold : float
        The share of delta spent on thresholded label discovery (shared by those columns).
    min_category_count : int
        Labels (and missing cells) are released only above this noisy count as well.
    n_bins : int
        Fine bins of a numeric column whose range is not a small set of integers.
    numeric_weight : float
        A numeric column's budget relative to a label column's (its bins decide the range
        and shape of everything drawn from it, a label list only which labels exist).
    bucket_share : float
        Share of a numeric column's budget spent on the coarse bounds (the rest on its fine
        histogram).
    edge_buckets : int
        Coarse buckets added beyond the outermost bucket that cleared its threshold on either
        side, so that a rare extreme the coarse step misses can still show in the fine
        histogram (which has more budget per bin and decides the bounds).
    edge_sigmas : float
        A fine bin's noisy count must reach this many noise standard deviations to be kept.
    near_sigmas : float, optional
        A lower bar for fine bins inside the kept range or next to it (see ``_kept_bins``).

    Examples
    --------
    >>> import synthgen as sg
    >>> df = pd.DataFrame({"city": ["A"] * 300 + ["B"] * 200 + ["tiny"],
    ...                    "x": [i % 97 for i in range(501)]})
    >>> pre = DPPreprocessor(rho=1.0, delta_threshold=1e-6).fit(df, sg.Schema.infer(df), 0)
    >>> pre.schema_["city"].categories
    ['A', 'B']
    >>> 0 <= pre.schema_["x"].minimum and pre.schema_["x"].maximum <= 128
    True
    >>> sorted(pre.apply(df)["city"].unique())
    ['A', 'B']
    """

    def __init__(
        self,
        rho: float,
        delta_threshold: float,
        min_category_count: int = 10,
        n_bins: int = 64,
        numeric_weight: float = 1.0,
        bucket_share: float = 0.5,
        edge_buckets: int = 0,
        edge_sigmas: float = 2.0,
        near_sigmas: float | None = None,
    ) -> None:
        self.rho = rho
        self.delta_threshold = delta_threshold
        self.min_category_count = min_category_count
        self.n_bins = n_bins
        self.numeric_weight = numeric_weight
        self.bucket_share = bucket_share
        self.edge_buckets = edge_buckets
        self.edge_sigmas = edge_sigmas
        self.near_sigmas = near_sigmas

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, schema: Schema, random_state: Any = None) -> DPPreprocessor:
        """Release the statistics of ``data`` (not modified) under the budget."""
        from synthgen.utils import check_random_state

        if not (self.rho > 0 and math.isfinite(self.rho)):
            raise ConfigurationError(f"rho must be a positive finite number, got {self.rho!r}")
        if not 0 < self.delta_threshold < 1:
            raise ConfigurationError(
                f"delta_threshold must lie in (0, 1), got {self.delta_threshold!r}"
            )
        rng = check_random_state(random_state)
        budgeted = [s for s in schema if s.kind in ("numeric", "datetime", "categorical", "text")]
        budgeted += [s for s in schema if s.kind == "constant" and s.value is not None]
        discovering = [s for s in budgeted if self._discovers(s)]
        hierarchies = private_hierarchies(schema)  # each one's mapping is released too
        # shares: a numeric column weighs numeric_weight, every other column and mapping 1
        weights = [self._weight(spec) for spec in budgeted] + [1.0] * len(hierarchies)
        self.rho_column_ = self.rho / max(sum(weights), 1.0)
        self.delta_column_ = self.delta_threshold / max(len(discovering), 1)
        self.releases_: dict[str, ColumnRelease] = {}
        self.noise_ = {}
        specs = []
        for spec in schema:
            col = data[spec.name]
            if spec.semantic:
                col = presence(col)
            if spec.kind in ("numeric", "datetime"):
                release = self._numeric(col, spec, rng)
            elif spec.kind in ("categorical", "text") or (
                spec.kind == "constant" and spec.value is not None
            ):
                release = self._labels(col, spec, rng)
            else:
                specs.append(spec)
                continue
            self.releases_[spec.name] = release
            specs.append(self._new_spec(spec, release))
        totals = [r.total for r in self.releases_.values()]
        self.n_rows_ = max(1, round(float(np.median(totals)))) if totals else len(data)
        new_schema = Schema(specs, min_count=schema.min_count)
        for constraint in schema.constraints:
            new_schema.add_constraint(constraint)
        self.schema_ = new_schema
        # A parent whose rare labels were folded into one no longer determines its child.
        kept = [h for h in hierarchies if OTHER_LABEL not in self.releases_[h.parent].labels]
        self.hierarchies_ = {}
        if kept:
            applied = self.apply(data)
            self.hierarchies_ = release_mappings(kept, applied, new_schema, self.rho_column_, rng)
        new_schema.structure = private_structure(schema, new_schema, kept)
        return self

    def _weight(self, spec: ColumnSpec) -> float:
        """Budget weight of a column (see ``numeric_weight``)."""
        return float(self.numeric_weight) if spec.kind in ("numeric", "datetime") else 1.0

    def _discovers(self, spec: ColumnSpec) -> bool:
        if is_public(spec):
            return False
        if spec.kind in ("categorical", "constant"):
            return spec.dtype not in ("bool", "boolean")
        return spec.kind == "text"

    def _threshold(self, sigma: float) -> float:
        z = float(ndtri(1.0 - self.delta_column_))
        return max(float(self.min_category_count), 1.0 + sigma * z)

    @staticmethod
    def _median(release: ColumnRelease) -> float:
        counts = np.asarray(release.counts, dtype=float)
        edges = np.asarray(release.edges)
        n_fine = len(edges) - 1
        mids = (edges[:-1] + edges[1:]) / 2
        values = np.append(mids, 0.0) if release.zero_bin else mids
        order = np.argsort(values, kind="stable")
        cdf = np.cumsum(counts[order])
        pick = order[int(np.searchsorted(cdf, cdf[-1] / 2))]
        value = float(values[pick]) if pick < n_fine or release.zero_bin else float(mids[0])
        return float(np.clip(value, release.low, release.high))

    def _new_spec(self, spec: ColumnSpec, release: ColumnRelease) -> ColumnSpec:
        total = max(release.total, 1.0)
        rate = min(release.missing / total, 1.0) if release.has_missing else 0.0
        if release.has_missing:
            rate = max(rate, 1e-6)
        if spec.semantic:
            extra = {k: v for k, v in spec.extra.items() if k != "semantic_confidence"}
            extra["semantic_dp"] = True  # the encoder keeps the default format
            return dataclasses.replace(spec, missing_rate=rate, categories=[], extra=extra)
        if spec.kind in ("numeric", "datetime"):
            scale = unit_scale(spec)
            low, high = release.low * scale, release.high * scale
            if spec.integer or spec.kind == "datetime":
                low, high = int(low), int(high)
            return dataclasses.replace(spec, minimum=low, maximum=high, missing_rate=rate)
        if spec.kind == "constant":
            if release.labels:
                return dataclasses.replace(spec, missing_rate=rate)
            return dataclasses.replace(spec, value=None, missing_rate=1.0)
        # Every label not released is folded into a released one: nothing is pooled.
        return dataclasses.replace(
            spec, categories=list(release.labels), missing_rate=rate, pooled=False, other_label=None
        )

    # -- using the release ----------------------------------------------------------------------
    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``data`` mapped onto the released domain: numbers clipped to the released
        bounds, dropped labels folded, missing cells the release has no room for filled."""
        out = data.copy()
        for name, release in self.releases_.items():
            spec = self.schema_[name]
            col = data[name]
            if spec.kind in ("numeric", "datetime"):
                x = np.clip(to_float(col, spec), release.low, release.high)
                if not release.has_missing:
                    x = np.where(np.isnan(x), release.fold_to, x)
                back = from_float(x, spec, like=col if spec.kind != "datetime" else None)
                out[name] = back.set_axis(col.index)
                continue
            if spec.kind == "constant":
                continue
            values = (presence(col) if spec.semantic else col).astype(object).copy()
            known = set(release.labels)
            if spec.kind == "categorical":
                unknown = values.notna() & ~values.isin(known)
                values[unknown] = release.fold_to
            if not release.has_missing:
                values[values.isna()] = release.fold_to
            if isinstance(col.dtype, pd.CategoricalDtype):
                out[name] = pd.Categorical(
                    values, categories=list(release.labels), ordered=col.dtype.ordered
                )
            elif spec.dtype in ("bool",) and not values.isna().any():
                out[name] = values.astype(bool)
            else:
                out[name] = values.astype(col.dtype) if col.dtype != object else values
        return out

    def sample_values(
        self, name: str, codes: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray | list[Any]:
        """Values for fine codes of column ``name``: uniform within a numeric bin (0 for the
        zero bin, NaN for the missing code); labels (None for missing) otherwise."""
        release = self.releases_[name]
        codes = np.asarray(codes, dtype=np.int64)
        if release.kind in ("numeric", "datetime"):
            edges = np.asarray(release.edges)
            n_fine = len(edges) - 1
            out = np.full(len(codes), np.nan)
            fine = codes < n_fine
            lo, hi = edges[codes[fine]], edges[codes[fine] + 1]
            out[fine] = lo + rng.random(int(fine.sum())) * (hi - lo)
            if release.zero_bin:
                out[codes == n_fine] = 0.0
            return np.clip(out, release.low, release.high)
        labels = np.empty(len(release.labels) + 1, dtype=object)
        labels[: len(release.labels)] = release.labels
        labels[-1] = None
        return labels[codes]

    def codes(self, name: str, data: pd.DataFrame) -> np.ndarray:
        """Fine codes of column ``name`` of an :meth:`apply`-ed table (missing code last)."""
        release = self.releases_[name]
        spec = self.schema_[name]
        col = data[name]
        if release.kind in ("numeric", "datetime"):
            x = to_float(col, spec)
            edges = np.asarray(release.edges)
            n_fine = len(edges) - 1
            miss = np.isnan(x)
            xs = np.where(miss, release.low, x)
            idx = np.clip(np.searchsorted(edges, xs, side="right") - 1, 0, n_fine - 1)
            if release.zero_bin:
                idx = np.where(xs == 0.0, n_fine, idx)
            return np.where(miss, len(release.counts), idx)
        lookup = {label: i for i, label in enumerate(release.labels)}
        missing_code = len(release.labels)
        out = np.array([lookup.get(v, missing_code) for v in col.astype(object)], dtype=np.int64)
        if release.kind == "text":
            fold = lookup.get(release.fold_to, 0)
            out = np.where(col.notna().to_numpy() & (out == missing_code), fold, out)
        return out

    def surrogate(self, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """Rows drawn column by column from the released marginals (no real row involved)."""
        columns: dict[str, Any] = {}
        for spec in self.schema_:
            if spec.name not in self.releases_:
                columns[spec.name] = pd.Series([None] * n_rows, dtype=object)
                continue
            release = self.releases_[spec.name]
            w = release.weights
            codes = rng.choice(len(w), size=n_rows, p=w)
            values = self.sample_values(spec.name, codes, rng)
            if spec.kind in ("numeric", "datetime"):
                columns[spec.name] = from_float(np.asarray(values, dtype=float), spec)
            elif spec.kind == "constant":
                columns[spec.name] = pd.Series([spec.value] * n_rows, dtype=object)
            elif spec.dtype == "category" and not spec.semantic:
                columns[spec.name] = pd.Series(
                    pd.Categorical(values, categories=spec.categories, ordered=spec.ordered)
                )
            else:
                columns[spec.name] = pd.Series(values, dtype=object)
        frame = pd.DataFrame(columns)
        hierarchies = getattr(self, "hierarchies_", {})
        return apply_mappings(frame, hierarchies, self.schema_) if hierarchies else frame

    def get_state(self) -> dict[str, Any]:
        """JSON-ready release (noisy counts, bounds, labels): safe to store in a model."""
        return {
            "params": {
                "rho": self.rho,
                "delta_threshold": self.delta_threshold,
                "min_category_count": self.min_category_count,
                "n_bins": self.n_bins,
                "numeric_weight": self.numeric_weight,
                "bucket_share": self.bucket_share,
                "edge_buckets": self.edge_buckets,
                "edge_sigmas": self.edge_sigmas,
                "near_sigmas": self.near_sigmas,
            },
            "n_rows": self.n_rows_,
            "columns": [r.to_dict() for r in self.releases_.values()],
            **({"hierarchies": self.hierarchies_} if getattr(self, "hierarchies_", {}) else {}),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], schema: Schema) -> DPPreprocessor:
        """Rebuild a fitted preprocessor from :meth:`get_state` output."""
        pre = cls(**state["params"])
        pre.schema_ = schema
        pre.n_rows_ = int(state["n_rows"])
        pre.releases_ = {}
        pre.hierarchies_ = {
            str(child): (str(parent), [int(i) for i in table])
            for child, (parent, table) in state.get("hierarchies", {}).items()
        }
        for item in state["columns"]:
            release = ColumnRelease(**item)
            spec = schema[release.name]
            if spec.categories is not None and spec.kind != "constant" and not spec.semantic:
                release.labels = list(spec.categories)  # exact label values (JSON may coerce)
            pre.releases_[release.name] = release
        return pre
