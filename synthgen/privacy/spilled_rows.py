"""Coded rows spilled to disk by partition: the files of the copy filter of export in parts.

:class:`SpilledRows` appends rows coded like the training rows (numbers, categorical codes,
each row's index) to raw files, one set per *partition*: a hash of the row's categorical
combination, or of the codes of some columns (a *key*). :mod:`synthgen.privacy.spilled`
checks copies a partition at a time; :mod:`synthgen.privacy.spilled_near` spills the same
rows again by key.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from synthgen.evaluation.keyed import fingerprints
from synthgen.privacy.multi_index import combination_keys

__all__ = [
    "PART_ROWS",
    "SAMPLE_ROWS",
    "SpilledRows",
    "combination_in",
    "narrowed",
    "partition_of",
]

#: Training rows per partition on average (what the filter holds at a time).
PART_ROWS = 1_000_000

#: Rows whose categorical codes :class:`SpilledRows` samples (to deal the columns into
#: groups and to estimate a search's work, :mod:`synthgen.privacy.spilled_near`).
SAMPLE_ROWS = 20_000


def partition_of(codes: np.ndarray, n_parts: int, key: Sequence[int] | None = None) -> np.ndarray:
    """Each row's partition: a hash of its categorical codes (those of the ``key`` columns;
    ``None``: every column) modulo ``n_parts``.

    Examples
    --------
    >>> p = partition_of(np.array([[1, 2], [3, 4], [1, 2]]), 8)
    >>> bool(p[0] == p[2]), bool(((0 <= p) & (p < 8)).all())
    (True, True)
    >>> k = partition_of(np.array([[1, 2], [1, 4]]), 8, key=[0])
    >>> bool(k[0] == k[1])
    True
    """
    if key is not None:
        codes = codes[:, list(key)]
    if n_parts <= 1 or codes.shape[1] == 0:
        return np.zeros(len(codes), dtype=np.int64)
    return (_combination_prints(codes) % np.uint64(n_parts)).astype(np.int64)


def _combination_prints(codes: np.ndarray) -> np.ndarray:
    """A 64-bit fingerprint of each row's categorical combination."""
    return fingerprints(combination_keys(codes, list(range(codes.shape[1]))))


class SpilledRows:
    """Coded rows appended to raw files in ``folder``, one set per partition, with each
    row's position among the rows added (its ``index``, unless ``indexed`` is false).

    Parameters
    ----------
    folder : Path
        Where the files go (made if missing).
    n_parts, n_num, n_cat : int
        Partitions, numeric and categorical columns.
    indexed : bool
        Whether each row's index is kept.
    key : sequence of int, optional
        The categorical columns whose codes pick a row's partition (``None``: all).
    sample_rows : int
        Categorical codes of a seeded uniform sample of at most this many rows kept in
        memory (:attr:`sample`).

    Attributes
    ----------
    n_rows : int
        Rows added.
    missing : ndarray of bool
        Numeric columns with a missing value.
    low, high : ndarray
        Each numeric column's least and greatest value (NaN when it has none).
    sample : ndarray
        The sampled rows' codes (in no particular order).

    Examples
    --------
    >>> import tempfile
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> rows = SpilledRows(Path(scratch.name), 4, 1, 1)
    >>> rows.add(np.array([[1.0], [np.nan], [3.0]]), np.array([[0], [1], [0]]))
    >>> sorted(int(i) for p in range(4) for i in rows.load(p)[2])
    [0, 1, 2]
    >>> rows.low.tolist(), rows.high.tolist(), rows.missing.tolist()
    ([1.0], [3.0], [True])
    >>> by_code = rows.by_key([0])  # the same rows, partitioned by column 0's codes
    >>> sorted(int(i) for p in range(4) for i in by_code.load(p)[2])
    [0, 1, 2]
    """

    def __init__(
        self,
        folder: Path,
        n_parts: int,
        n_num: int,
        n_cat: int,
        indexed: bool = True,
        key: Sequence[int] | None = None,
        sample_rows: int = SAMPLE_ROWS,
    ) -> None:
        self.folder, self.n_parts = Path(folder), max(int(n_parts), 1)
        self.widths = {"num": n_num, "codes": n_cat, "index": int(indexed)}
        self.key = None if key is None else [int(j) for j in key]
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sizes = np.zeros(self.n_parts, dtype=np.int64)
        self.n_rows = 0
        self.missing = np.zeros(n_num, dtype=bool)
        self.low, self.high = np.full(n_num, np.nan), np.full(n_num, np.nan)
        self.sample = np.empty((0, n_cat), dtype=np.int64)
        self._sample_rows, self._priority = int(sample_rows), np.empty(0)
        self._rng = np.random.default_rng(0)
        self._keyed: dict[tuple[int, ...], SpilledRows] = {}

    def _path(self, p: int, what: str) -> Path:
        return self.folder / f"{p:05d}.{what}"

    def add(self, num: np.ndarray, codes: np.ndarray, index: np.ndarray | None = None) -> None:
        """Append rows coded like the training rows (``index``: their positions, when they
        are not the next ones)."""
        if len(codes) == 0:
            return
        part = partition_of(codes, self.n_parts, self.key)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self.n_parts + 1))
        if index is None:
            index = np.arange(self.n_rows, self.n_rows + len(codes), dtype=np.int64)
        arrays = {
            "num": np.ascontiguousarray(num, dtype=np.float64),
            "codes": np.ascontiguousarray(codes, dtype=np.int64),
            "index": np.asarray(index, dtype=np.int64),
        }
        for p in np.flatnonzero(np.diff(bounds)):
            rows = order[bounds[p] : bounds[p + 1]]
            for what, values in arrays.items():
                if self.widths[what]:
                    with open(self._path(int(p), what), "ab") as f:
                        f.write(values[rows].tobytes())
            self.sizes[p] += len(rows)
        self.n_rows += len(codes)
        self._keep_sample(arrays["codes"])
        if num.shape[1]:
            self.missing |= np.isnan(num).any(axis=0)
            self.low = np.fmin(self.low, np.fmin.reduce(num, axis=0))
            self.high = np.fmax(self.high, np.fmax.reduce(num, axis=0))

    def _keep_sample(self, codes: np.ndarray) -> None:
        """The rows of least priority (a seeded uniform draw per row, in the order added)."""
        if not self._sample_rows:
            return
        priority = np.concatenate([self._priority, self._rng.random(len(codes))])
        held = np.concatenate([self.sample, codes])
        if len(priority) > self._sample_rows:
            keep = np.argpartition(priority, self._sample_rows - 1)[: self._sample_rows]
            priority, held = priority[keep], held[keep]
        self._priority, self.sample = priority, held

    def load(self, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Partition ``p``'s rows: ``(num, codes, index)``."""
        out = []
        for what, dtype in (("num", np.float64), ("codes", np.int64), ("index", np.int64)):
            width, n = self.widths[what], int(self.sizes[p])
            if width == 0 or n == 0:
                out.append(np.empty((n, width), dtype=dtype))
                continue
            out.append(np.fromfile(self._path(p, what), dtype=dtype).reshape(n, width))
        return out[0], out[1], out[2].reshape(-1)  # no index: empty

    def by_key(self, key: Sequence[int]) -> SpilledRows:
        """These rows spilled again, partitioned by the codes of the ``key`` columns (in a
        subfolder; made once, kept until :meth:`forget_keys` or :meth:`remove`)."""
        name = tuple(int(j) for j in key)
        if name not in self._keyed:
            widths = self.widths
            out = SpilledRows(
                self.folder / f"key-{len(self._keyed)}",
                self.n_parts,
                widths["num"],
                widths["codes"],
                indexed=bool(widths["index"]),
                key=name,
                sample_rows=0,
            )
            for p in range(self.n_parts):
                num, codes, index = self.load(p)
                out.add(num, codes, index if widths["index"] else None)
            self._keyed[name] = out
        return self._keyed[name]

    def spilled_by(self, keys: list[list[int]]) -> bool:
        """Whether these rows are spilled again by every key of ``keys`` (and no other)."""
        return set(self._keyed) == {tuple(int(j) for j in key) for key in keys}

    def forget_keys(self) -> None:
        """Delete the rows spilled again by key."""
        for rows in self._keyed.values():
            rows.remove()
        self._keyed.clear()

    def remove(self) -> None:
        """Delete the files (those spilled again by key too)."""
        self._keyed.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


def combination_in(codes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Which rows of ``codes`` share their categorical combination with a row of ``others``.

    Examples
    --------
    >>> combination_in(np.array([[1, 2], [1, 3]]), np.array([[1, 3]])).tolist()
    [False, True]
    """
    if codes.shape[1] == 0:
        return np.ones(len(codes), dtype=bool)
    return np.isin(_combination_prints(codes), _combination_prints(others))


#: A partition's training rows are first narrowed to those sharing a combination (of the key
#: columns) with the rows checked when they are this many times as many (a round of redraws).
FEW = 4


def narrowed(
    num: np.ndarray, codes: np.ndarray, checked: np.ndarray, key: Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A partition's training rows ``(num, codes)``, only those sharing the combination of
    the ``key`` columns (``None``: every column) with a row of ``checked`` when those are
    few (:data:`FEW`): the rest cannot be near a checked row sharing that key.

    Examples
    --------
    >>> codes = np.array([[0, 1], [0, 2], [1, 1], [1, 2], [2, 2]])
    >>> num = np.arange(5.0)[:, None]
    >>> narrowed(num, codes, np.array([[1, 9]]), key=[0])[0].ravel().tolist()
    [2.0, 3.0]
    """
    if FEW * len(checked) >= len(codes):
        return num, codes
    cols = list(range(codes.shape[1])) if key is None else list(key)
    same = combination_in(codes[:, cols], checked[:, cols])
    return num[same], codes[same]
