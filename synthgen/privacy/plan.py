"""The protections of export as a plan: statistics of the training rows, then one rewrite.

:func:`~synthgen.privacy.protections.protect_training_data` works in two steps, so that a
table read in parts (:func:`~synthgen.safe_export.parts.export_parts`) gets exactly the
protections the whole table would:

1. :class:`TrainingStats` gathers, part after part, what the protections decide from: each
   categorical column's label counts (in the order labels first appear, as
   ``value_counts(sort=False)`` gives them), the first child label of each parent of a
   hierarchy, and every present value of each numeric and datetime column (the clip bounds are
   exact quantiles, moved off values fewer than ``min_category_count`` rows hold).
2. :func:`plan_protections` turns them into a :class:`ProtectionPlan`: per column, the rare
   labels and the label each becomes, or the clip bounds. :meth:`ProtectionPlan.apply`
   rewrites a frame (the whole table, or one part) cell by cell.

Examples
--------
>>> from synthgen.privacy.protections import Protections
>>> x = np.arange(61) % 20 * 1.5
>>> df = pd.DataFrame({"city": ["A"] * 30 + ["B"] * 30 + ["tiny"], "x": x})
>>> schema = Schema.infer(df)
>>> stats = TrainingStats(schema, Protections())
>>> for part in (df.iloc[:40], df.iloc[40:]):
...     stats.add(part)
>>> plan = plan_protections(stats)
>>> city = plan.columns["city"]
>>> list(city.kept), city.into, plan.columns["x"].bounds
(['A', 'B'], 'A', (0.75, 27.75))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.privacy.label_counts import LabelCounts, RareLabels
from synthgen.schema import Schema, is_duration, numeric_values
from synthgen.schema.dates import as_datetimes, restore_dates, to_epoch
from synthgen.schema.safe import avoid_rare

__all__ = ["OTHER_LABEL", "ColumnPlan", "ProtectionPlan", "TrainingStats", "plan_protections"]

#: Label that replaces rare string labels.
OTHER_LABEL = "(other)"


def _clip_values(col: pd.Series, spec: Any) -> np.ndarray:
    """The present values of a numeric, datetime or duration column as floats, in the unit
    its clip bounds are in (the datetime unit since the epoch; nanoseconds for durations)."""
    if spec.kind == "datetime":
        x = to_epoch(as_datetimes(col, spec), spec.datetime_unit or "ns")
    elif is_duration(spec):
        x = numeric_values(col)
    else:
        return col.dropna().to_numpy(dtype=float)
    return x[~np.isnan(x)]


@dataclass
class TrainingStats:
    """What the protections of ``schema`` decide from, gathered from one frame or several
    parts of one table (see the module docstring).

    Parameters
    ----------
    schema : Schema
        Column kinds of the training rows.
    protections : Protections
        Which protections to plan.
    folder : Path, optional
        Where the numeric and datetime values wait (one file per column, eight bytes a
        value), read back one column at a time by :func:`plan_protections`, and where a
        column of a great many text labels spills them
        (:class:`~synthgen.privacy.label_counts.LabelCounts`); in memory when omitted.
    """

    schema: Schema
    protections: Any
    folder: Path | None = None
    labels: dict[str, LabelCounts] = field(default_factory=dict)
    values: dict[str, list[np.ndarray]] = field(default_factory=dict)
    pairs: dict[str, list[pd.DataFrame]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.parents = {h.parent: h.child for h in self.schema.structure.hierarchies}
        k = self.protections.min_category_count
        for spec in self.schema:
            if spec.semantic:
                continue  # values generated, never learned: nothing to merge or clip
            if spec.kind in ("categorical", "text") and k > 1:
                where = None if self.folder is None else self.folder / f"labels-{len(self.labels)}"
                self.labels[spec.name] = LabelCounts(where)
                if spec.name in self.parents:
                    self.pairs[spec.name] = []
            elif (
                spec.kind in ("numeric", "datetime") and self.protections.clip_quantiles is not None
            ):
                self.values[spec.name] = []
        if self.folder is not None:  # one file per numeric column
            self.folder.mkdir(parents=True, exist_ok=True)
            self._files = {n: self.folder / f"values-{i}.f8" for i, n in enumerate(self.values)}

    def add(self, frame: pd.DataFrame) -> None:
        """Gather the statistics of ``frame`` (the next part of the table)."""
        for name, counts in self.labels.items():
            counts.add(frame[name])
            if name in self.pairs:
                pairs = pd.DataFrame(
                    {"p": frame[name].astype(object), "c": frame[self.parents[name]].astype(object)}
                )
                self.pairs[name].append(pairs.dropna(subset=["p"]).drop_duplicates("p"))
        for name, values in self.values.items():
            x = _clip_values(frame[name], self.schema[name])
            if self.folder is None:
                values.append(x)
                continue
            with open(self._files[name], "ab") as f:
                f.write(np.ascontiguousarray(x, dtype=np.float64).tobytes())

    def column_values(self, name: str) -> np.ndarray:
        """Every present value of one numeric or datetime column, as floats."""
        if self.folder is not None:
            path = self._files[name]
            return np.fromfile(path, dtype=np.float64) if path.exists() else np.empty(0)
        return np.concatenate(self.values[name]) if self.values[name] else np.empty(0)


@dataclass
class ColumnPlan:
    """What the protections do to one column.

    Attributes
    ----------
    mapping : dict
        Rare label of a hierarchy's parent -> the label of the same child it becomes.
    kept : Index or None
        With rare labels: the labels held by enough rows; every other label (after
        ``mapping``) becomes ``into``. ``None``: no rare label.
    into : object
        What the labels not ``kept`` become.
    merged : int
        Labels merged (the log's count; for a categorical dtype, unused declared ones too).
    changed : int
        Labels held by a row that the merge changes.
    categories : list or None
        The categories of a categorical dtype after the merge.
    bounds : tuple of float or None
        Clip bounds (numbers as they are, datetimes in their unit since the epoch, durations
        in nanoseconds).
    """

    mapping: dict[Any, Any] = field(default_factory=dict)
    kept: pd.Index | None = None
    into: Any = None
    merged: int = 0
    changed: int = 0
    categories: list[Any] | None = None
    bounds: tuple[float, float] | None = None

    def relabel(self, col: pd.Series) -> pd.Series:
        """The labels of ``col`` after the merges (as objects; missing cells stay missing)."""
        values = col.astype(object)
        if not self.mapping and self.kept is None:
            return values
        values = values.copy()
        if self.mapping:
            within = values.isin(list(self.mapping)).to_numpy()
            values[within] = values[within].map(self.mapping)
        if self.kept is not None:
            rare = values.notna().to_numpy() & ~values.isin(self.kept).to_numpy()
            values[rare] = self.into
        return values


@dataclass
class ProtectionPlan:
    """Per column, the merges and clip bounds of the protections (:func:`plan_protections`)."""

    schema: Schema
    columns: dict[str, ColumnPlan]

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
        """``frame`` protected (a new frame) and a log: ``merged_labels`` (labels merged per
        column) and ``clipped_values`` (values clipped in ``frame``, per column)."""
        out = frame.copy()
        log: dict[str, Any] = {"merged_labels": {}, "clipped_values": {}}
        for name, plan in self.columns.items():
            spec = self.schema[name]
            if plan.bounds is not None:
                new, clipped = _apply_clip(out[name], spec, *plan.bounds)
                out[name] = new
                if clipped:
                    log["clipped_values"][name] = clipped
            elif plan.merged:
                out[name] = _apply_merge(out[name], plan)
                log["merged_labels"][name] = plan.merged
        return out, log


def _apply_merge(col: pd.Series, plan: ColumnPlan) -> pd.Series:
    values = plan.relabel(col)
    if isinstance(col.dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical(values, categories=plan.categories), index=col.index)
    return values.astype(col.dtype)


def _apply_clip(col: pd.Series, spec: Any, lo: float, hi: float) -> tuple[pd.Series, int]:
    if spec.kind == "datetime":
        # Any year, time zone, integer or text dates (synthgen.schema.dates); only the
        # clipped cells are rewritten, every other cell stays exactly as it was.
        x = to_epoch(as_datetimes(col, spec), spec.datetime_unit or "ns")
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
        lo_t, hi_t = pd.Timedelta(int(lo), unit="ns"), pd.Timedelta(int(hi), unit="ns")
        return col.clip(lo_t, hi_t), int(((col < lo_t) | (col > hi_t)).sum())
    clipped = col.clip(lo, hi)
    return clipped.astype(col.dtype), int(((col < lo) | (col > hi)).sum())


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


def _within_parents(counts: pd.Series, child_of: pd.Series, k: int) -> dict[Any, Any]:
    """Rare labels of a hierarchy's parent folded into the commonest label with the same
    child (a rare neighbourhood into its borough's largest one), so the hierarchy still
    holds; labels whose child has no label held by ``k`` rows are left to the plain merge."""
    mapping = {}
    for _, labels in child_of.groupby(child_of.astype(str)).groups.items():
        held = counts[list(labels)].sort_values(ascending=False, kind="stable")
        if held.iloc[0] >= k:
            mapping.update({label: held.index[0] for label in held.index[held < k]})
    return mapping


def _merge_plan(first: pd.Series, within: dict[Any, Any], k: int, dtype: Any) -> ColumnPlan:
    """The merges of one column from its label counts in first-appearance order."""
    if within:  # the counts as the column holds them after the merge within parents
        mapped = pd.Series(first.index.map(lambda v: within.get(v, v)), dtype=object)
        first = pd.Series(first.to_numpy()).groupby(mapped.to_numpy(), sort=False).sum()
    counts = first.sort_values(ascending=False)  # exactly what value_counts() gives
    is_rare = (counts < k).to_numpy()
    plan = ColumnPlan(mapping=dict(within), merged=int(is_rare.sum()) + len(within))
    plan.changed = len(within)
    if isinstance(dtype, pd.CategoricalDtype):
        kept = [c for c in dtype.categories if c not in within]
    if not is_rare.any():
        if isinstance(dtype, pd.CategoricalDtype):
            plan.categories = kept
        return plan
    pooled = int(counts[is_rare].sum())
    into = counts.index[0]
    if pooled >= k and all(isinstance(v, str) for v in counts.index):
        into = OTHER_LABEL
    plan.kept, plan.into = counts.index[~is_rare], into
    held = (counts > 0).to_numpy() & is_rare
    plan.changed += int(held.sum()) - int(bool(held[0]) and counts.index[0] == into)
    if isinstance(dtype, pd.CategoricalDtype):
        gone = set(counts.index[is_rare])
        other = [OTHER_LABEL] if into == OTHER_LABEL and pooled > 0 else []
        plan.categories = [c for c in kept if c not in gone] + other
    return plan


def _spilled_plan(labels: LabelCounts, k: int) -> ColumnPlan | None:
    """The merges of a column of text labels spilled to disk, from the labels ``k`` rows
    hold and the rare ones' totals: what :func:`_merge_plan` makes of the full counts, or
    ``None`` where that needs them (the rare labels too few rows to pool, or a tie for the
    commonest label that ``"(other)"`` is in)."""
    rare: RareLabels | None = labels.rare(k)
    if rare is None:
        return None
    if rare.n_rare == 0:
        return ColumnPlan()
    if rare.rare_rows < k:
        return None  # merged into the commonest label: decided from the full counts
    if rare.top < k and labels.count_of(OTHER_LABEL) == rare.top:
        return None  # "(other)" may be the commonest label, and already what labels become
    plan = ColumnPlan(merged=rare.n_rare, changed=rare.n_rare)
    plan.kept, plan.into = rare.kept, OTHER_LABEL
    return plan


def plan_protections(stats: TrainingStats, dtypes: dict[str, Any] | None = None) -> ProtectionPlan:
    """The :class:`ProtectionPlan` of the gathered statistics (columns in schema order: a
    parent's merge reads its child's labels after the child's own merge).

    ``dtypes``: column -> dtype of the training rows (a categorical dtype keeps its
    categories, less the merged ones); by default the schema's.
    """
    k = stats.protections.min_category_count
    quantiles = stats.protections.clip_quantiles
    columns: dict[str, ColumnPlan] = {}
    for spec in stats.schema:
        name = spec.name
        dtype = (dtypes or {}).get(name)
        if name in stats.labels:
            spilled = None
            if not stats.pairs.get(name) and not isinstance(dtype, pd.CategoricalDtype):
                spilled = _spilled_plan(stats.labels[name], k)
            if spilled is not None:
                columns[name] = spilled
                continue
            counts = stats.labels[name].counts
            if counts is None:
                continue
            within: dict[Any, Any] = {}
            if stats.pairs.get(name):
                pairs = pd.concat(stats.pairs[name], ignore_index=True).drop_duplicates("p")
                child = columns.get(stats.parents[name])
                kids = pairs["c"]
                if child is not None:  # the child as merged before
                    kids = child.relabel(kids)
                within = _within_parents(counts, pd.Series(kids.to_numpy(), index=pairs["p"]), k)
            columns[name] = _merge_plan(counts, within, k, dtype)
        elif name in stats.values:
            values = stats.column_values(name)
            if len(values):
                integer = spec.kind == "datetime" or is_duration(spec) or bool(spec.integer)
                lo, hi = _cut_points(values, quantiles, k, integer)
                columns[name] = ColumnPlan(bounds=(float(lo), float(hi)))
    return ProtectionPlan(stats.schema, columns)
