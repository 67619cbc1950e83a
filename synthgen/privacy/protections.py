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

import pandas as pd

from synthgen.exceptions import ConfigurationError
from synthgen.privacy.plan import OTHER_LABEL, TrainingStats, plan_protections
from synthgen.schema import Schema

__all__ = ["OTHER_LABEL", "Protections", "protect_training_data", "protected_schema"]


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
    stats = TrainingStats(schema, protections)
    stats.add(data)
    plan = plan_protections(stats, dict(data.dtypes))
    out, log = plan.apply(data)
    return out, protected_schema(out, schema), log


def protected_schema(out: pd.DataFrame, schema: Schema) -> Schema:
    """The schema of protected training rows ``out`` (of a table of schema ``schema``): the
    same kinds and semantic types, the structure rules and constraints that still hold."""
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
    return new_schema
