"""The passes of :func:`~synthgen.safe_export.parts.export_parts` over a table in parts.

- :func:`split_parts` splits the rows into training rows (written as Parquet parts to a
  working folder) and a holdout, keeping seeded samples of both halves in memory.
- :func:`protect_parts` gathers the protections' statistics from every training row
  (:mod:`synthgen.privacy.plan`), then writes the protected training rows as parts.
- :func:`prepare_parts` codes every protected training row for the copy filter, eight bytes
  a cell (:class:`~synthgen.evaluation.data.PreparedData`), with every label the training
  rows hold.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.data import PreparedData, prepare
from synthgen.exceptions import DataError
from synthgen.generators.streamed import Smallest, checked_groups
from synthgen.parquet_parts import ParquetParts
from synthgen.privacy.changes import protection_changes
from synthgen.privacy.label_counts import LabelCounts
from synthgen.privacy.plan import ProtectionPlan, TrainingStats, plan_protections
from synthgen.privacy.spilled import PART_ROWS, SpilledRows
from synthgen.schema import Schema
from synthgen.schema.infer import categorical_from_counts

__all__ = [
    "Split",
    "exact_schema",
    "prepare_parts",
    "protect_parts",
    "spill_parts",
    "split_parts",
]


class _PartWriter:
    """Frames written as numbered Parquet parts of one Arrow schema into ``folder``."""

    def __init__(self, folder: Path, schema: Any) -> None:
        self.folder, self.schema, self.parts = folder, schema, 0
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError) as err:
            raise DataError(f"cannot write the training rows as Parquet: {err}") from None
        pq.write_table(table, self.folder / f"part-{self.parts:05d}.parquet")
        self.parts += 1


@dataclass
class Split:
    """The training rows (parts in a working folder) and seeded samples of both halves.

    Attributes
    ----------
    train : ParquetParts
        Every training row.
    train_sample, holdout_sample : DataFrame
        Uniform samples (at most ``sample_rows`` rows each, in table order).
    n_train, n_holdout : int
        Rows of each half.
    missing : dict
        Column -> missing cells among the training rows.
    """

    train: ParquetParts
    train_sample: pd.DataFrame
    holdout_sample: pd.DataFrame
    n_train: int
    n_holdout: int
    missing: dict[str, int] = field(default_factory=dict)


def split_parts(
    parts: ParquetParts, folder: Path, holdout_share: float, seed: int, sample_rows: int
) -> Split:
    """Split the rows of ``parts``: each row is a holdout row when its uniform draw (one
    seeded stream, in table order, so the split does not depend on how the rows are grouped)
    is below ``holdout_share``; the training rows are written to ``folder``."""
    draws, keys = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    writer = _PartWriter(folder, parts.schema)
    train, hold = Smallest(sample_rows), Smallest(sample_rows)
    missing: dict[str, int] = {}
    for _, chunk in checked_groups(parts):
        held = draws.random(len(chunk)) < holdout_share
        key = keys.random(len(chunk))
        rows = chunk[~held]
        writer.write(rows)
        for name, n in rows.isna().sum().items():
            missing[name] = missing.get(name, 0) + int(n)
        train.add(rows, key[~held])
        hold.add(chunk[held], key[held])
    empty = parts.schema.empty_table().to_pandas()
    train_sample, holdout_sample = train.frame(), hold.frame()
    return Split(
        ParquetParts(folder) if writer.parts else parts,
        empty if train_sample is None else train_sample,
        empty if holdout_sample is None else holdout_sample,
        train.added,
        hold.added,
        missing,
    )


def _merge_changes(total: dict[str, Any], part: dict[str, Any], plan: ProtectionPlan) -> None:
    """Add one part's :func:`~synthgen.privacy.changes.protection_changes` to ``total``
    (labels counted from the plan: a rare label may appear in several parts)."""
    for name, c in part["clipped"].items():
        t = total["clipped"].setdefault(name, dict(c, values=0, raised=0, lowered=0))
        for key in ("values", "raised", "lowered"):
            t[key] += c[key]
        for key in ("low", "high"):
            t[key] = c[key] if t[key] is None else t[key]
    for name, m in part["merged"].items():
        t = total["merged"].setdefault(name, {"labels": 0, "rows": 0, "into": []})
        t["labels"] = plan.columns[name].changed
        t["rows"] += m["rows"]
        t["into"] = sorted(set(t["into"]) | set(m["into"]), key=str)


def protect_parts(
    train: ParquetParts, folder: Path, schema: Schema, protections: Any
) -> tuple[ParquetParts, ProtectionPlan, dict[str, Any], dict[str, pd.Series]]:
    """The protections planned from every training row (one pass), then applied part by
    part into ``folder`` (a second pass); returns the protected parts, the plan, the log
    (``merged_labels``, ``clipped_values``, ``changes``, as export's) and each categorical
    and text column's label counts after the protections (in the order labels first
    appear)."""
    # the numbers wait on disk, read back one column at a time
    values = folder.parent / f"{folder.name}-values"
    stats = TrainingStats(schema, protections, values)
    dtypes: dict[str, Any] = {}
    try:
        for _, chunk in checked_groups(train):
            stats.add(chunk)
            dtypes = dtypes or dict(chunk.dtypes)
        plan = plan_protections(stats, dtypes)
    finally:
        shutil.rmtree(values, ignore_errors=True)
    writer = _PartWriter(folder, train.schema)
    log: dict[str, Any] = {"merged_labels": {}, "clipped_values": {}}
    changes: dict[str, Any] = {"clipped": {}, "merged": {}}
    # the labels learned (categorical and text columns; semantic ones are generated)
    counts = {
        s.name: LabelCounts()
        for s in schema
        if s.kind in ("categorical", "text") and not s.semantic
    }
    for _, chunk in checked_groups(train):
        out, part_log = plan.apply(chunk)
        writer.write(out)
        for name, held in counts.items():
            held.add(out[name])
        log["merged_labels"].update(part_log["merged_labels"])
        for name, n in part_log["clipped_values"].items():
            log["clipped_values"][name] = log["clipped_values"].get(name, 0) + n
        _merge_changes(changes, protection_changes(chunk, out, schema), plan)
    log["changes"] = changes
    after = {name: held.counts for name, held in counts.items() if held.counts is not None}
    return (ParquetParts(folder) if writer.parts else train), plan, log, after


def _chunks(parts: ParquetParts) -> Iterator[pd.DataFrame]:
    for _, chunk in checked_groups(parts):
        yield chunk


def _coder(
    train: ParquetParts,
    holdout: pd.DataFrame,
    schema: Schema,
    labels: dict[str, pd.Series],
    missing: dict[str, int],
) -> PreparedData:
    """The coding of the copy filter (kinds from a first part; labels those the training
    rows hold, then the holdout's others, missing last), its holdout coded."""
    first = next(_chunks(train), None)
    if first is None:
        raise DataError("the table has no training row")
    prep = prepare(first, holdout.iloc[:1], holdout, schema=schema)
    for name in prep.categorical:
        held = pd.Index(labels[name].index, dtype=object)
        extra = pd.unique(holdout[name].astype(object).dropna().to_numpy())
        extra = extra[held.get_indexer(extra) < 0]
        gaps = missing.get(name, 0) > 0 or bool(holdout[name].isna().any())
        prep.categories[name] = [*held, *extra] + ([None] if gaps else [])
    prep._labels.clear()
    prep.codes["synthetic"] = prep.encode(holdout.iloc[:1], "holdout")[1]
    prep.codes["holdout"] = prep.encode(holdout, "holdout")[1]
    return prep


def spill_parts(
    train: ParquetParts,
    n_train: int,
    holdout: pd.DataFrame,
    schema: Schema,
    labels: dict[str, pd.Series],
    missing: dict[str, int],
    folder: Path,
) -> tuple[PreparedData, SpilledRows]:
    """As :func:`prepare_parts`, but the training rows are appended to files in ``folder``
    by partition (:class:`~synthgen.privacy.spilled.SpilledRows`, about
    :data:`~synthgen.privacy.spilled.PART_ROWS` rows each) instead of held in memory;
    ``prep`` codes the synthetic rows and holds the holdout's codes."""
    prep = _coder(train, holdout, schema, labels, missing)
    n_parts = -(-max(n_train, 1) // PART_ROWS)
    rows = SpilledRows(folder, n_parts, len(prep.numeric), len(prep.categorical), indexed=False)
    for chunk in _chunks(train):
        rows.add(*prep.encode(chunk, "training rows"))
    return prep, rows


def prepare_parts(
    train: ParquetParts,
    n_train: int,
    holdout: pd.DataFrame,
    schema: Schema,
    labels: dict[str, pd.Series],
    missing: dict[str, int],
) -> PreparedData:
    """Every training row of ``train`` (``n_train`` rows) and the ``holdout`` rows coded
    alike, for :class:`~synthgen.privacy.copies.CopyFilter` (``prepared=``): the kinds from
    a first part; each categorical column's labels those the training rows hold (``labels``:
    :func:`protect_parts`' counts, in first-appearance order), then the holdout's others,
    missing last when a training (``missing``) or holdout cell is missing; the rows coded
    part by part into arrays made once."""
    prep = _coder(train, holdout, schema, labels, missing)
    num = np.empty((n_train, len(prep.numeric)))
    codes = np.empty((n_train, len(prep.categorical)), dtype=np.int64)
    start = 0
    for chunk in _chunks(train):
        stop = start + len(chunk)
        num[start:stop], codes[start:stop] = prep.encode(chunk, "training rows")
        start = stop
    prep.num["real"], prep.codes["real"] = num, codes
    return prep


def exact_schema(
    schema: Schema, counts: dict[str, pd.Series], missing: dict[str, int], n_rows: int
) -> Schema:
    """``schema`` (inferred from a sample) with every column's missing rate, and every
    unordered categorical column's labels, from the counts of every training row (text
    columns keep theirs: their unseen labels are pooled)."""
    for i, spec in enumerate(schema.columns):
        new = dataclasses.replace(spec, missing_rate=missing.get(spec.name, 0) / max(n_rows, 1))
        listed = spec.kind == "categorical" and not spec.ordered
        if spec.name in counts and listed and not spec.dtype.startswith("category"):
            labels = categorical_from_counts(
                spec.name, counts[spec.name], spec.dtype, 0.0, schema.min_count
            )
            new = dataclasses.replace(
                new,
                categories=labels.categories,
                pooled=labels.pooled,
                other_label=labels.other_label,
            )
        schema.columns[i] = new
    return schema
