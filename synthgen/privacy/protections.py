"""Output protections for privacy-safe export.

Applied before a generator sees the data:

- labels held by fewer than ``min_category_count`` rows are merged into ``"(other)"`` (string
  columns) or replaced by the column's most common label (booleans, numbers), so a rare label
  is never learned, stored in the model or emitted;
- numeric and datetime values are clipped to inner quantiles (``clip_quantiles``), not to the
  observed minimum and maximum, so the extremes of single people are never reproduced; a
  clip bound is never a value held by fewer than ``min_category_count`` rows (it moves
  inwards to a value no row holds, or one that many rows hold).

Applied to the output:

- synthetic rows equal to a training row, or nearer to one than ``near_copy_quantile`` of real
  unseen (holdout) rows are to their own nearest training row, are dropped and redrawn; rows
  that several training rows share are kept at the data's own duplicate rate
  (:mod:`synthgen.privacy.copies`).

Identifier columns are always generated, never learned (see the schema's ``id`` kind).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConfigurationError
from synthgen.schema import Schema, is_duration, numeric_values
from synthgen.schema.dates import as_datetimes, restore_dates, to_epoch
from synthgen.schema.safe import avoid_rare

__all__ = ["OTHER_LABEL", "Protections", "protect_training_data"]

#: Label that replaces rare string labels.
OTHER_LABEL = "(other)"


@dataclass(frozen=True)
class Protections:
    """Which protections export applies (all on by default).

    Parameters
    ----------
    min_category_count : int
        Labels held by fewer rows are merged (0 turns this off).
    clip_quantiles : tuple of float or None
        Inner quantiles numeric and datetime values are clipped to.
    filter_copies : bool
        Drop and redraw synthetic rows that copy, or nearly copy, a training row (natural
        duplicates are kept at the rate real unseen rows repeat training rows).
    near_copy_quantile : float
        A synthetic row is a near copy when it is closer to a training row than this share of
        holdout rows are to theirs (0 keeps only the exact-copy filter).

    Examples
    --------
    >>> Protections().min_category_count
    10
    """

    min_category_count: int = 10
    clip_quantiles: tuple[float, float] | None = (0.005, 0.995)
    filter_copies: bool = True
    near_copy_quantile: float = 0.01

    def __post_init__(self) -> None:
        if self.min_category_count < 0:
            raise ConfigurationError("min_category_count must be >= 0")
        if self.clip_quantiles is not None:
            lo, hi = self.clip_quantiles
            if not 0.0 <= lo < hi <= 1.0:
                raise ConfigurationError(
                    f"clip_quantiles must satisfy 0 <= low < high <= 1, got {self.clip_quantiles}"
                )
        if not 0.0 <= self.near_copy_quantile < 0.5:
            raise ConfigurationError("near_copy_quantile must lie in [0, 0.5)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _merge_rare(col: pd.Series, k: int) -> tuple[pd.Series, int]:
    counts = col.value_counts()
    rare = counts.index[counts < k]
    if len(rare) == 0:
        return col, 0
    is_rare = col.isin(rare)
    stringy = all(isinstance(v, str) for v in counts.index)
    values = col.astype(object).copy()
    if stringy:
        values[is_rare] = OTHER_LABEL
        if int(is_rare.sum()) < k:
            # The pooled label itself would be rare: fold it into the commonest label.
            values[is_rare] = counts.index[0]
    else:
        values[is_rare] = counts.index[0]
    if isinstance(col.dtype, pd.CategoricalDtype):
        keep = [c for c in col.cat.categories if c not in set(rare)]
        cats = keep + ([OTHER_LABEL] if (values == OTHER_LABEL).any() else [])
        return pd.Series(pd.Categorical(values, categories=cats), index=col.index), len(rare)
    return values.astype(col.dtype), len(rare)


def _merge_rare_within(col: pd.Series, child: pd.Series, k: int) -> tuple[pd.Series, int]:
    """Rare labels of a hierarchy's parent folded into the commonest label with the same
    child (a rare neighbourhood into its borough's largest one), so the hierarchy still
    holds; labels whose child has no label held by ``k`` rows are left to :func:`_merge_rare`."""
    counts = col.value_counts()
    pairs = pd.DataFrame({"p": col.astype(object), "c": child.astype(object)}).dropna(subset=["p"])
    child_of = pairs.drop_duplicates("p").set_index("p")["c"]
    mapping = {}
    for _, labels in child_of.groupby(child_of.astype(str)).groups.items():
        held = counts[list(labels)].sort_values(ascending=False, kind="stable")
        if held.iloc[0] >= k:
            mapping.update({label: held.index[0] for label in held.index[held < k]})
    if not mapping:
        return col, 0
    values = col.astype(object).copy()
    rare = values.isin(list(mapping))
    values[rare] = values[rare].map(mapping)
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = [c for c in col.cat.categories if c not in mapping]
        return pd.Series(pd.Categorical(values, categories=cats), index=col.index), len(mapping)
    return values.astype(col.dtype), len(mapping)


_UNIT_NS = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def _cut_points(values: np.ndarray, quantiles: tuple[float, float], k: int, integer: bool):
    """The clip bounds: inner quantiles, moved inwards off any value fewer than ``k`` rows
    hold, so a bound is never one person's value (a unique capital gain of 77777 at the
    99.5% quantile is replaced by a value no row holds, or by one ``k`` rows hold)."""
    lo, hi = np.quantile(values, quantiles, method="inverted_cdf")
    return avoid_rare(
        np.array([lo, hi], dtype=float),
        values,
        max(k, 2),
        inward=np.array([True, False]),
        integer=integer,
    )


def _clip(
    col: pd.Series, spec, quantiles: tuple[float, float], k: int = 10
) -> tuple[pd.Series, int]:
    if spec.kind == "datetime":
        # Any year, time zone, integer or text dates (synthgen.schema.dates); only the
        # clipped cells are rewritten, every other cell stays exactly as it was.
        x = to_epoch(as_datetimes(col, spec), spec.datetime_unit or "ns")
        present = x[~np.isnan(x)]
        if present.size == 0:
            return col, 0
        lo, hi = _cut_points(present, quantiles, k, True)
        mask = ~np.isnan(x) & ((x < lo) | (x > hi))
        if not mask.any():
            return col, 0
        new = restore_dates(np.clip(x[mask], lo, hi), spec)
        if pd.api.types.is_numeric_dtype(col.dtype):
            new = new.astype(col.dtype)
        out = col.copy()
        out.iloc[np.flatnonzero(mask)] = new.array
        return out, int(mask.sum())
    if is_duration(spec):
        ns = numeric_values(col)
        ns = ns[~np.isnan(ns)]
        if len(ns) == 0:
            return col, 0
        lo, hi = _cut_points(ns, quantiles, k, True)
        lo_t, hi_t = pd.Timedelta(int(lo), unit="ns"), pd.Timedelta(int(hi), unit="ns")
        return col.clip(lo_t, hi_t), int(((col < lo_t) | (col > hi_t)).sum())
    values = col.dropna().to_numpy(dtype=float)
    if len(values) == 0:
        return col, 0
    lo, hi = _cut_points(values, quantiles, k, bool(spec.integer))
    clipped = col.clip(lo, hi)
    return clipped.astype(col.dtype), int(((col < lo) | (col > hi)).sum())


def protect_training_data(
    data: pd.DataFrame, schema: Schema, protections: Protections
) -> tuple[pd.DataFrame, Schema, dict[str, Any]]:
    """Merge rare labels and clip extremes; returns the new table, its schema and a log.

    Examples
    --------
    >>> df = pd.DataFrame({"city": ["A"] * 30 + ["B"] * 30 + ["tiny"], "x": range(61)})
    >>> out, schema, log = protect_training_data(df, Schema.infer(df), Protections())
    >>> sorted(out["city"].unique().tolist()), log["merged_labels"]
    (['A', 'B'], {'city': 1})
    """
    out = data.copy()
    log: dict[str, Any] = {"merged_labels": {}, "clipped_values": {}}
    parents = {h.parent: h.child for h in schema.structure.hierarchies}
    for spec in schema:
        col = out[spec.name]
        if spec.semantic:
            continue  # values generated, never learned: nothing to merge
        if spec.kind in ("categorical", "text") and protections.min_category_count > 1:
            within = 0
            if spec.name in parents:
                col, within = _merge_rare_within(
                    col, out[parents[spec.name]], protections.min_category_count
                )
                out[spec.name] = col
            new, merged = _merge_rare(col, protections.min_category_count)
            merged += within
            if merged:
                out[spec.name] = new
                log["merged_labels"][spec.name] = merged
        elif spec.kind in ("numeric", "datetime") and protections.clip_quantiles is not None:
            new, clipped = _clip(
                col, spec, protections.clip_quantiles, protections.min_category_count
            )
            out[spec.name] = new
            if clipped:
                log["clipped_values"][spec.name] = clipped
    kinds = {spec.name: spec.kind for spec in schema}
    # The schema's semantic decisions (detected, forced or turned off) carry over as they were.
    semantic = {spec.name: spec.semantic or "none" for spec in schema}
    locales = [spec.extra["locale"] for spec in schema if spec.semantic and "locale" in spec.extra]
    locale = locales[0] if locales else None
    new_schema = Schema.infer(
        out,
        kinds=kinds,
        semantic=semantic,
        locale=locale,
        min_count=schema.min_count,
        structure=False,
    )
    # The schema's structure rules (as reviewed) carry over where the new data still meets them.
    new_schema.structure = schema.structure.holding(out, new_schema)
    for constraint in schema.constraints:
        new_schema.add_constraint(constraint)
    return out, new_schema, log
