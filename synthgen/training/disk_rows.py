"""Training rows kept in a file and read a batch at a time: memory that does not grow with rows.

A neural fit streamed from Parquet parts (:mod:`synthgen.generators.streamed`) writes each row
group's encoded rows to a :class:`DiskRows` file, and training reads every batch's rows from
it by their index, with ``os.pread`` (no memory map: the pages read stay in the operating
system's file cache, outside the process, and are dropped under memory pressure). The Trainer
shuffles indices as always, so batches are the same as from the rows in memory.

Indexing follows the index: a torch index gives a tensor on its device, a numpy index or a
slice a numpy array.

Examples
--------
>>> import tempfile, numpy as np, torch
>>> scratch = tempfile.TemporaryDirectory()  # removed after the example
>>> rows = DiskRows.create(scratch.name, n_cols=2, dtype=np.float32)
>>> rows.append(np.array([[0, 1], [2, 3], [4, 5]], dtype=np.float32))
>>> len(rows), rows[torch.tensor([2, 0])].tolist()
(3, [[4.0, 5.0], [0.0, 1.0]])
>>> rows[1:3].tolist(), rows.columns(1, 2)[:, 0].tolist()
([[2.0, 3.0], [4.0, 5.0]], [1.0, 3.0, 5.0])
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DiskRows", "as_rows"]

#: Rows read at once by a sequential scan (columns, chunks).
_SCAN_ROWS = 65_536


class DiskRows:
    """Rows of ``n_cols`` numbers of one ``dtype`` in a file, appended block by block.

    Use :meth:`create`; the file is removed with its folder by the caller.
    """

    def __init__(self, path: Path, n_cols: int, dtype: Any) -> None:
        self.path, self.n_cols, self.dtype = Path(path), int(n_cols), np.dtype(dtype)
        self.row_bytes = self.n_cols * self.dtype.itemsize
        self.n_rows = 0
        self._fd: int | None = None

    @classmethod
    def create(cls, folder: str | os.PathLike[str], n_cols: int, dtype: Any) -> DiskRows:
        """An empty file of rows in ``folder``."""
        fd, name = tempfile.mkstemp(prefix="rows-", suffix=".bin", dir=folder)
        os.close(fd)
        return cls(Path(name), n_cols, dtype)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_rows, self.n_cols)

    def __len__(self) -> int:
        return self.n_rows

    def append(self, block: np.ndarray) -> None:
        """Add rows at the end (cast to the file's dtype)."""
        block = np.ascontiguousarray(block, dtype=self.dtype).reshape(-1, self.n_cols)
        with open(self.path, "ab") as fh:
            fh.write(block.tobytes())
        self.n_rows += len(block)

    def _read(self, index: np.ndarray) -> np.ndarray:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        size, fd = self.row_bytes, self._fd
        index = np.asarray(index, dtype=np.int64).ravel()
        if len(index) and (index.min() < 0 or index.max() >= self.n_rows):
            raise IndexError(f"row index out of range for {self.n_rows} rows")
        data = b"".join(os.pread(fd, size, int(i) * size) for i in index)
        return np.frombuffer(data, dtype=self.dtype).reshape(len(index), self.n_cols).copy()

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` in one read."""
        start, stop = max(0, start), min(stop, self.n_rows)
        count = max(0, stop - start) * self.n_cols
        with open(self.path, "rb") as fh:
            fh.seek(start * self.row_bytes)
            out = np.fromfile(fh, dtype=self.dtype, count=count)
        return out.reshape(-1, self.n_cols)

    def chunks(self, rows: int = _SCAN_ROWS) -> Iterator[np.ndarray]:
        """The rows in order, ``rows`` at a time."""
        for start in range(0, self.n_rows, rows):
            yield self.read_range(start, start + rows)

    def columns(self, lo: int, hi: int) -> np.ndarray:
        """Columns ``lo:hi`` of every row (a scan of the file)."""
        out = np.empty((self.n_rows, hi - lo), dtype=self.dtype)
        done = 0
        for block in self.chunks():
            out[done : done + len(block)] = block[:, lo:hi]
            done += len(block)
        return out

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self.n_rows)
            if step == 1:
                return self.read_range(start, stop)
            return self._read(np.arange(start, stop, step))
        if type(index).__module__.startswith("torch"):
            import torch

            rows = self._read(index.detach().cpu().numpy())
            return torch.from_numpy(rows).to(index.device)
        return self._read(np.asarray(index))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:  # best effort: the descriptor of a dropped file
        with contextlib.suppress(OSError):
            self.close()


def as_rows(matrix: Any) -> Any:
    """What training indexes: :class:`DiskRows` as they are, an array as a CPU tensor."""
    if isinstance(matrix, DiskRows):
        return matrix
    import torch

    return torch.from_numpy(np.asarray(matrix))
