"""Label counts of the protections, merged part after part, spilled to disk when a column
holds too many labels to keep them all.

:class:`LabelCounts` keeps each label's count in the order labels first appear (as
``value_counts(sort=False)`` gives them). A column of one-off codes in a table of tens of
millions of rows would hold every code in memory (about a hundred bytes a label); given a
folder, a column of text labels spills them once it holds :data:`SPILL_LABELS`: each part's
labels, counts and first rows go to one of :data:`BUCKETS` files on disk by a hash of the
label, and :meth:`LabelCounts.rare` then reads one bucket at a time and keeps only the labels
held by enough rows (what the protections keep), with what they need of the rare ones (how
many, how many rows, the commonest count). Where that is not enough to decide exactly what
the whole column's counts would (a tie for the commonest label that includes ``"(other)"``,
too few rare rows to pool, labels that are not text), :attr:`LabelCounts.counts` reads every
bucket back into the full counts, as they would have been in memory.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["BUCKETS", "SPILL_LABELS", "LabelCounts", "RareLabels"]

#: Labels held in memory before a column of text labels spills them (with a folder).
SPILL_LABELS = 1_000_000

#: Files the spilled labels are spread over (one is read at a time).
BUCKETS = 32

#: Labels of parts waiting to be merged into the counts (at least).
_WAITING = 100_000


@dataclass
class RareLabels:
    """A column's labels split by a count threshold ``k`` (:meth:`LabelCounts.rare`).

    Attributes
    ----------
    kept : Index
        The labels at least ``k`` rows hold.
    n_rare : int
        Labels fewer than ``k`` rows hold.
    rare_rows : int
        Rows holding them.
    top : int
        The commonest label's count.
    """

    kept: pd.Index
    n_rare: int
    rare_rows: int
    top: int


class LabelCounts:
    """Label counts merged part after part, in the order the labels first appear.

    Each part's counts wait in a list and are merged with the rest (one ``groupby`` that
    keeps the first-appearance order) once they hold as many labels as the merged counts, so
    a column of a million labels costs about ``log`` merges of its labels, not one per part.

    Parameters
    ----------
    folder : Path, optional
        Where a column of text labels spills its labels once it holds :data:`SPILL_LABELS`.

    Examples
    --------
    >>> c = LabelCounts()
    >>> c.add(pd.Series(["b", "a", "b"]))
    >>> c.add(pd.Series(["c", "a"]))
    >>> c.counts.to_dict()
    {'b': 2, 'a': 2, 'c': 1}
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._merged: pd.Series | None = None
        self._waiting: list[pd.Series] = []
        self._held = 0
        self._spilled = False
        self._rows = 0  # rows added since the labels spilled (their first rows' keys)

    @property
    def spilled(self) -> bool:
        """Whether the labels wait on disk."""
        return self._spilled

    def add(self, col: pd.Series) -> None:
        """Count the labels of ``col`` (the next part of the column)."""
        if self._spilled:
            self._spill_part(col)
            return
        part = col.value_counts(sort=False)
        self._waiting.append(part)
        self._held += len(part)
        if self._held > max(_WAITING, 0 if self._merged is None else len(self._merged)):
            self._merge()
            if self._should_spill(col):
                self._spill_merged()

    def _merge(self) -> None:
        parts = ([] if self._merged is None else [self._merged]) + self._waiting
        self._waiting, self._held = [], 0
        if not parts:
            return
        joined = pd.concat(parts)
        if isinstance(joined.index, pd.CategoricalIndex):
            joined.index = joined.index.astype(object)
        # positions of each label's first appearance: labels may be bools, or mixed types
        codes, uniques = pd.factorize(joined.index)
        totals = np.bincount(codes, weights=joined.to_numpy(), minlength=len(uniques))
        self._merged = pd.Series(totals.astype(np.int64), index=uniques, name=parts[0].name)

    def _should_spill(self, col: pd.Series) -> bool:
        merged = self._merged
        return (
            self.folder is not None
            and merged is not None
            and len(merged) >= SPILL_LABELS
            and not isinstance(col.dtype, pd.CategoricalDtype)
            and pd.api.types.infer_dtype(merged.index, skipna=False) == "string"
        )

    # -- on disk ----------------------------------------------------------------------------

    def _bucket(self, b: int) -> Path:
        assert self.folder is not None
        return self.folder / f"labels-{b:03d}.arrows"  # Arrow IPC streams, one per part

    def _write(self, labels: np.ndarray, counts: np.ndarray, keys: np.ndarray) -> None:
        import pyarrow as pa

        bucket = _bucket_of(labels)
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(BUCKETS + 1))
        for b in np.flatnonzero(np.diff(bounds)):
            rows = order[bounds[b] : bounds[b + 1]]
            table = pa.table(
                {
                    "label": pa.array(labels[rows], type=pa.string()),
                    "count": pa.array(counts[rows], type=pa.int64()),
                    "key": pa.array(keys[rows], type=pa.int64()),
                }
            )
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            with open(self._bucket(int(b)), "ab") as f:
                f.write(sink.getvalue().to_pybytes())

    def _spill_merged(self) -> None:
        """Move the merged counts to disk (their keys: first-appearance ranks)."""
        assert self._merged is not None and self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        merged, self._merged = self._merged, None
        self._base = len(merged)
        labels = merged.index.to_numpy(dtype=object)
        self._write(labels, merged.to_numpy(), np.arange(len(merged), dtype=np.int64))
        self._spilled = True

    def _spill_part(self, col: pd.Series) -> None:
        codes, uniques = pd.factorize(col)  # missing cells: -1, not counted
        present = np.flatnonzero(codes >= 0)
        labels = np.asarray(uniques, dtype=object)
        if len(labels) and pd.api.types.infer_dtype(labels, skipna=False) != "string":
            self._unspill()  # not text after all: back in memory
            self.add(col)
            return
        counts = np.bincount(codes[present], minlength=len(labels))
        _, first = np.unique(codes[present], return_index=True)
        # a label first seen after the spill: after every earlier label, by its first row
        keys = self._base + self._rows + present[first]
        self._rows += len(col)
        self._write(labels, counts, keys.astype(np.int64))

    def _read(self, b: int) -> pd.DataFrame:
        """One bucket's labels: each label's count and first key."""
        import pyarrow as pa

        path = self._bucket(b)
        if not path.exists():
            return pd.DataFrame({"count": [], "key": []}, index=pd.Index([], dtype=object))
        tables = []
        with pa.OSFile(str(path), "rb") as f:
            while f.tell() < f.size():
                tables.append(pa.ipc.open_stream(f).read_all())
        frame = pa.concat_tables(tables).to_pandas()
        return frame.groupby("label", sort=False).agg(count=("count", "sum"), key=("key", "min"))

    def _unspill(self) -> None:
        """Read every bucket back into the merged counts, in first-appearance order."""
        frames = [self._read(b) for b in range(BUCKETS)]
        every = pd.concat(frames).sort_values("key", kind="stable")
        self._merged = pd.Series(
            every["count"].to_numpy(np.int64), index=every.index.astype(object)
        )
        self._spilled = False
        shutil.rmtree(self.folder, ignore_errors=True)  # type: ignore[arg-type]

    @property
    def counts(self) -> pd.Series | None:
        """Every label's count (``None`` before any part); spilled labels are read back."""
        if self._spilled:
            self._unspill()
        if self._waiting:
            self._merge()
        return self._merged

    def rare(self, k: int) -> RareLabels | None:
        """The labels split at ``k`` rows, a bucket at a time, when the labels were spilled
        (``None`` otherwise: use :attr:`counts`)."""
        if not self._spilled:
            return None
        kept, n_rare, rare_rows, top = [], 0, 0, 0
        for b in range(BUCKETS):
            frame = self._read(b)
            rare = frame["count"] < k
            kept.append(frame.index[~rare.to_numpy()])
            n_rare += int(rare.sum())
            rare_rows += int(frame["count"][rare].sum())
            top = max(top, int(frame["count"].max()) if len(frame) else 0)
        index = kept[0].append(kept[1:]) if kept else pd.Index([], dtype=object)
        return RareLabels(pd.Index(index, dtype=object), n_rare, rare_rows, top)

    def count_of(self, label: str) -> int:
        """How many rows hold ``label`` (0 when none), from the spilled labels."""
        frame = self._read(int(_bucket_of(np.array([label], dtype=object))[0]))
        return int(frame["count"].get(label, 0))


def _bucket_of(labels: np.ndarray) -> np.ndarray:
    """Each label's bucket file."""
    return pd.util.hash_array(labels) % np.uint64(BUCKETS)
