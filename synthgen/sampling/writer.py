"""Writing sampled rows to disk chunk by chunk: Parquet parts, or one CSV file.

A :class:`ChunkWriter` writes into a hidden temporary folder; :func:`move_into_place` moves the
finished output to its path at the very end, so nothing half-written is ever at that path.
Parquet chunks arrive as Arrow tables built block by block (:func:`to_arrow`,
:func:`join_tables`): each drawn block is converted once and the tables are joined without a
copy, instead of building one pandas frame per chunk and converting it (figures in
docs/scale-log.md).
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
from synthgen.tabular_csv import csv_separator

__all__ = [
    "PART",
    "ChunkWriter",
    "csv_options",
    "join_tables",
    "move_into_place",
    "settle_schema",
    "to_arrow",
    "widen",
]

#: The name of Parquet part ``i`` in an output folder.
PART = "part-{:05d}.parquet"

_ARROW_ERRORS = (pa.ArrowException, TypeError, ValueError)


def csv_options(target: Path) -> tuple[str, bool]:
    """The separator of a CSV output ``target`` (a tab for ``.tsv`` and ``.tsv.gz``), and
    whether it is gzipped (``.gz``).

    Examples
    --------
    >>> csv_options(Path("rows.tsv")), csv_options(Path("rows.csv.gz"))
    (('\\t', False), (',', True))
    >>> csv_options(Path("rows.tsv.gz"))
    ('\\t', True)
    """
    return csv_separator(target.name), target.name.lower().endswith(".gz")


def to_arrow(frame: pd.DataFrame, part: int) -> pa.Table:
    """``frame`` as an Arrow table with its own inferred types; ``PersistenceError`` naming
    chunk ``part`` when a column cannot be written as Parquet."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except _ARROW_ERRORS as err:
        raise PersistenceError(f"cannot write chunk {part} as Parquet: {err}") from None


def widen(schema: pa.Schema, other: pa.Schema) -> pa.Schema:
    """``schema`` with each of its ``null`` fields (a column missing in every row so far)
    taking ``other``'s type for it, and ``other``'s metadata when any did; ``schema`` itself
    when none did.

    Examples
    --------
    >>> empty = to_arrow(pd.DataFrame({"c": [None], "x": [1.0]}), 0).schema
    >>> full = to_arrow(pd.DataFrame({"c": ["a"], "x": [2.0]}), 1).schema
    >>> str(widen(empty, full).field("c").type), widen(full, empty) is full
    ('string', True)
    """
    fields, changed = [], False
    for field in schema:
        if pa.types.is_null(field.type) and field.name in other.names:
            theirs = other.field(field.name)
            if not pa.types.is_null(theirs.type):
                field, changed = theirs, True
        fields.append(field)
    return pa.schema(fields, metadata=other.metadata) if changed else schema


def settle_schema(schemas: list[pa.Schema]) -> tuple[pa.Schema, list[int]]:
    """The schema of parts written each with its own Arrow schema (by separate processes),
    as one :class:`ChunkWriter` settles it (part 0's, each of its ``null`` fields widened by
    the first later part that types it), and the parts to write again with it: the same
    bytes whoever wrote them.

    Examples
    --------
    >>> a = to_arrow(pd.DataFrame({"c": [None]}), 0).schema
    >>> b = to_arrow(pd.DataFrame({"c": ["x"]}), 1).schema
    >>> schema, again = settle_schema([a, b, a])
    >>> str(schema.field("c").type), again
    ('string', [0, 2])
    """
    target = schemas[0]
    for schema in schemas[1:]:
        target = widen(target, schema)
    return target, [i for i, s in enumerate(schemas) if not s.equals(target, check_metadata=True)]


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
        #: The schema is final (a worker's part): parts are cast to it, never widen it.
        self.settled = False
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
        (types and metadata): a later part whose inferred types differ (a column missing in
        all its rows, say) is cast to it. A column missing in every row of the parts before
        (an Arrow ``null`` column) takes this part's type instead, and those parts are
        written again with it (unless :attr:`settled`: a worker writing one part with the
        schema already settled over every part)."""
        if self.schema is None:
            self.schema = table.schema
        elif not table.schema.equals(self.schema, check_metadata=True):
            wider = self.schema if self.settled else widen(self.schema, table.schema)
            if wider is not self.schema:
                self._rewrite(wider)
            try:
                table = table.cast(self.schema)
            except _ARROW_ERRORS as err:
                raise PersistenceError(
                    f"cannot write chunk {self.parts} as Parquet: its columns do not fit the "
                    f"types of the first chunk ({err})"
                ) from None
        self._submit(_write_parquet, table, self.tmp / PART.format(self.parts))
        self.parts += 1

    def _rewrite(self, schema: pa.Schema) -> None:
        """Write the parts so far again with ``schema`` (only ``null`` columns widened)."""
        self._wait()
        for i in range(self.parts):
            path = self.tmp / PART.format(i)
            _write_parquet(pq.read_table(path).cast(schema), path)
        self.schema = schema

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
