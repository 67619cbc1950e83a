"""Writing sampled rows to disk chunk by chunk: Parquet parts, or one CSV file.

A :class:`ChunkWriter` writes into a hidden temporary folder; :func:`move_into_place` moves the
finished output to its path at the very end, so nothing half-written is ever at that path.
Parquet chunks arrive as Arrow tables built block by block (:func:`to_arrow`,
:func:`join_tables`): converting each drawn block once and joining the tables without a copy
costs half of building one pandas frame per chunk and converting it.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.exceptions import PersistenceError

__all__ = [
    "PART",
    "ChunkWriter",
    "csv_options",
    "join_tables",
    "move_into_place",
    "parts_to_rewrite",
    "to_arrow",
]

#: The name of Parquet part ``i`` in an output folder.
PART = "part-{:05d}.parquet"

_ARROW_ERRORS = (pa.ArrowException, TypeError, ValueError)


def csv_options(target: Path) -> tuple[str, bool]:
    """The separator of a CSV output ``target`` (a tab for ``.tsv``), and whether it is
    gzipped (``.gz``).

    Examples
    --------
    >>> csv_options(Path("rows.tsv")), csv_options(Path("rows.csv.gz"))
    (('\\t', False), (',', True))
    """
    name = target.name.lower()
    return ("\t" if name.endswith(".tsv") else ","), name.endswith(".gz")


def to_arrow(frame: pd.DataFrame, part: int) -> pa.Table:
    """``frame`` as an Arrow table with its own inferred types; ``PersistenceError`` naming
    chunk ``part`` when a column cannot be written as Parquet."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except _ARROW_ERRORS as err:
        raise PersistenceError(f"cannot write chunk {part} as Parquet: {err}") from None


def parts_to_rewrite(schemas: list[pa.Schema]) -> list[int]:
    """The parts, written each with its own Arrow schema by separate processes, to write
    again with part 0's (types and metadata), as one :class:`ChunkWriter` writes them: the
    same bytes whoever wrote them.

    Examples
    --------
    >>> a = to_arrow(pd.DataFrame({"c": ["x"]}), 0).schema
    >>> b = to_arrow(pd.DataFrame({"c": [None]}), 1).schema
    >>> parts_to_rewrite([a, a, b])
    [2]
    """
    return [i for i, s in enumerate(schemas) if not s.equals(schemas[0], check_metadata=True)]


def join_tables(tables: list[pa.Table], part: int) -> pa.Table:
    """The rows of ``tables`` in order, as one table (no copy); a column missing in every row
    of one block (an Arrow ``null`` column) takes the type the others give it.

    Examples
    --------
    >>> a = to_arrow(pd.DataFrame({"c": [None, None]}), 0)
    >>> b = to_arrow(pd.DataFrame({"c": ["x", None]}), 0)
    >>> joined = join_tables([a, b], 0)
    >>> joined.num_rows, str(joined.schema.field("c").type)
    (4, 'string')
    """
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except _ARROW_ERRORS as err:
        raise PersistenceError(f"cannot write chunk {part} as Parquet: {err}") from None


class ChunkWriter:
    """Write chunks into the temporary folder (Parquet parts, or one CSV file).

    The caller's thread turns a chunk into Arrow (or CSV text); a background thread writes
    it (Parquet encoding and compression, gzip, ``fsync``: work that releases the GIL) while
    the caller draws the next chunk. One write is pending at most, so two chunks are in
    memory at worst; a write's error is raised by the next :meth:`write` or by
    :meth:`close`, which waits for the last write. :meth:`abort` waits too, so the
    temporary folder can be removed after it.
    """

    def __init__(self, tmp: Path, fmt: str, target: Path) -> None:
        self.tmp, self.fmt, self.parts = tmp, fmt, 0
        self.schema: pa.Schema | None = None
        self.csv: IO[Any] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None
        if fmt == "csv":
            self.sep, gz = csv_options(target)
            self.file = tmp / "table"
            self.raw = open(self.file, "wb")  # noqa: SIM115 - closed in close() / abort()
            if gz:
                self.csv = gzip.open(self.raw, "wb")  # noqa: SIM115
            else:
                self.csv = self.raw

    def write(self, frame: pd.DataFrame) -> None:
        """Write ``frame`` as the next chunk: CSV lines (the header before the first), or a
        Parquet part (:meth:`write_table`)."""
        if self.fmt == "csv":
            assert self.csv is not None
            text = frame.to_csv(index=False, header=self.parts == 0, sep=self.sep)
            self._submit(self.csv.write, text.encode("utf-8"))
            self.parts += 1
            return
        self.write_table(to_arrow(frame, self.parts))

    def write_table(self, table: pa.Table) -> None:
        """Write the Arrow ``table`` as the next Parquet part, with the first part's schema
        (types and metadata: a later part whose inferred types differ, a column missing in
        all its rows say, is cast to it)."""
        if self.schema is None:
            self.schema = table.schema
        elif not table.schema.equals(self.schema, check_metadata=True):
            try:
                table = table.cast(self.schema)
            except _ARROW_ERRORS as err:
                raise PersistenceError(
                    f"cannot write chunk {self.parts} as Parquet: its columns do not fit the "
                    f"types of the first chunk ({err})"
                ) from None
        self._submit(_write_parquet, table, self.tmp / PART.format(self.parts))
        self.parts += 1

    def _submit(self, fn: Any, *args: Any) -> None:
        """Run ``fn(*args)`` in the background once the previous write is done."""
        self._wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="synthgen-writer")
        self._pending = self._pool.submit(fn, *args)

    def _wait(self) -> None:
        """Wait for the pending write; raise its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    @property
    def output(self) -> Path:
        """What :func:`move_into_place` moves: the CSV file, or the folder of parts."""
        return self.file if self.fmt == "csv" else self.tmp

    def close(self) -> None:
        """Wait for the last write (raising its error) and sync a CSV file to disk."""
        try:
            self._wait()
        finally:
            self._stop()
        if self.fmt == "csv":
            assert self.csv is not None
            if self.csv is not self.raw:  # the gzip stream's end (the file stays open)
                self.csv.close()
            self.raw.flush()
            os.fsync(self.raw.fileno())
            self.raw.close()

    def abort(self) -> None:
        """Wait for a pending write (ignoring its error) and close a CSV file."""
        with contextlib.suppress(Exception):
            self._wait()
        self._stop()
        if self.fmt == "csv":
            with contextlib.suppress(Exception):
                self.csv.close()  # type: ignore[union-attr]
            with contextlib.suppress(Exception):
                self.raw.close()


def _write_parquet(table: pa.Table, path: Path) -> None:
    with open(path, "wb") as fh:
        pq.write_table(table, fh)
        fh.flush()
        os.fsync(fh.fileno())


def move_into_place(tmp: Path, fmt: str, path: Path, source: Path) -> None:
    """Move the finished output ``source`` (the folder ``tmp`` of Parquet parts, or the CSV
    file in it) to ``path``, replacing an old one only at the very end."""
    trash = None
    if path.exists() and (path.is_dir() or fmt == "parquet"):
        trash = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
        os.replace(path, trash / "old")
    os.replace(source, path)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    if fmt == "csv":
        shutil.rmtree(tmp, ignore_errors=True)
