"""One table stored as several Parquet files (a folder of parts): list, check, split by rank.

A folder of parts is read in file-name order (hidden files and names starting with ``_``,
like Spark's ``_SUCCESS``, are skipped), as :meth:`sample_to` and most engines write it. Every
part must have the first part's columns and column types (an empty part only its column
names); a part that differs is named in the error. The parts' row groups (Parquet's unit of
reading) in order make up the table: rank ``r`` of ``world`` reads a contiguous run of them
holding about ``1/world`` of the rows (:func:`rank_units`), so that the ranks' rows, in rank
order, are the table's rows in order.

The parts are read into memory one rank's share at a time, or one row group at a time by the
copula's streamed fit (:mod:`synthgen.generators.streamed`).

Examples
--------
>>> import tempfile, pathlib, pandas as pd
>>> scratch = tempfile.TemporaryDirectory()  # removed after the example
>>> folder = pathlib.Path(scratch.name)
>>> for i in range(3):
...     pd.DataFrame({"x": range(10 * i, 10 * i + 10)}).to_parquet(folder / f"part-{i}.parquet")
>>> parts = ParquetParts(folder)
>>> parts.n_rows, len(parts.units)
(30, 3)
>>> [len(parts.read(rank_units(parts, r, 2))) for r in range(2)]
[10, 20]
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen.exceptions import DataError, SchemaError

__all__ = ["ParquetParts", "frame_from_bytes", "frame_to_bytes", "rank_units"]

_SUFFIXES = (".parquet", ".pq")
_INDEX = re.compile(r"__index_level_\d+__")


def _pq() -> Any:
    import pyarrow.parquet as pq

    return pq


def _list(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if not folder.is_dir():
            if Path(source).is_file():
                return [Path(source)]
            raise DataError(f"no such folder of Parquet parts: {os.fspath(source)!r}")
        files = sorted(
            p
            for p in folder.iterdir()
            if p.is_file()
            and p.name.lower().endswith(_SUFFIXES)
            and not p.name.startswith((".", "_"))
        )
        if not files:
            raise DataError(f"{os.fspath(source)!r} holds no Parquet file (.parquet, .pq)")
        return files
    files = [Path(p) for p in source]
    if not files:
        raise DataError("no Parquet file given")
    for p in files:
        if not p.is_file():
            raise DataError(f"no such file: {os.fspath(p)!r}")
        if not p.name.lower().endswith(_SUFFIXES):
            raise DataError(f"{os.fspath(p)!r} is not a Parquet file (.parquet, .pq)")
    return files


class ParquetParts:
    """The parts of one table: files, their row groups and the common Arrow schema.

    Parameters
    ----------
    source : path or list of paths
        A folder of Parquet files, one Parquet file, or a list of Parquet files (in order).

    Raises
    ------
    DataError
        No Parquet file, a missing or unreadable file.
    SchemaError
        A part whose columns or column types differ from the first part's.
    """

    def __init__(self, source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> None:
        pq = _pq()
        self.files = _list(source)
        #: (file index, row group, rows) in table order.
        self.units: list[tuple[int, int, int]] = []
        self.schema: Any = None
        read = []
        for path in self.files:
            try:
                meta = pq.ParquetFile(path).metadata
                read.append((path, meta, _without_index(pq.read_schema(path))))
            except Exception as err:  # pyarrow's errors: not Parquet, truncated, unreadable
                raise DataError(f"cannot read the Parquet file {str(path)!r}: {err}") from None
        # The columns come from the first part with rows: pandas writes the text columns of an
        # empty frame as type null, so an empty part need only have the same column names.
        with_rows = [(path, schema) for path, meta, schema in read if meta.num_rows]
        first, self.schema = with_rows[0] if with_rows else (read[0][0], read[0][2])
        for i, (path, meta, schema) in enumerate(read):
            empty = meta.num_rows == 0 and schema.names == self.schema.names
            if not empty and not schema.equals(self.schema):
                raise SchemaError(
                    f"the Parquet part {str(path)!r} does not have the columns of "
                    f"{str(first)!r}: {_difference(self.schema, schema)}"
                )
            self.units += [(i, g, meta.row_group(g).num_rows) for g in range(meta.num_row_groups)]
        self.n_rows = sum(n for _, _, n in self.units)
        self.columns: list[str] = list(self.schema.names)

    def read(self, units: Sequence[tuple[int, int, int]]) -> pd.DataFrame:
        """The rows of ``units`` (from :attr:`units`), in order, as one frame."""
        pq = _pq()
        frames = []
        by_file: dict[int, list[int]] = {}
        for i, g, _ in units:
            by_file.setdefault(i, []).append(g)
        for i, groups in by_file.items():
            path = self.files[i]
            try:
                table = pq.ParquetFile(path).read_row_groups(groups)
                frames.append(table.to_pandas())
            except Exception as err:
                raise DataError(f"cannot read the Parquet file {str(path)!r}: {err}") from None
        if not frames:
            return self.schema.empty_table().to_pandas()
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _without_index(schema: Any) -> Any:
    """The columns of a part, less the unnamed index pandas stores as ``__index_level_0__``
    (read back as the frame's index, not a column: a part written from a slice has one, an
    empty part or one with a default index has none)."""
    for name in [n for n in schema.names if _INDEX.fullmatch(n)]:
        schema = schema.remove(schema.get_field_index(name))
    return schema.remove_metadata()


def _difference(first: Any, other: Any) -> str:
    a = {f.name: str(f.type) for f in first}
    b = {f.name: str(f.type) for f in other}
    if list(a) != list(b):
        return f"columns {list(b)} instead of {list(a)}"
    changed = [f"{c!r} is {b[c]} instead of {a[c]}" for c in a if a[c] != b[c]]
    return "; ".join(changed) or "different column types"


def rank_units(parts: ParquetParts, rank: int, world: int) -> list[tuple[int, int, int]]:
    """The row groups rank ``rank`` of ``world`` reads: a contiguous run holding about
    ``1/world`` of the rows (a row group goes to the rank where its middle row falls, moved
    to a neighbour where that would leave a rank without any).

    Raises
    ------
    DataError
        When there are fewer row groups than processes.
    """
    n = len(parts.units)
    if n < world:
        raise DataError(
            f"{len(parts.files)} Parquet file(s) with {n} row group(s) cannot give rows to "
            f"each of {world} processes (process {n} would get none): write the table in more "
            "files or row groups, or start fewer processes"
        )
    start, total, owner = 0, max(parts.n_rows, 1), 0
    mine = []
    for i, unit in enumerate(parts.units):
        wanted = min(world - 1, (2 * start + unit[2]) * world // (2 * total))
        # no rank skipped (at most one more than the last), enough row groups left for the rest
        low = max(owner, world - n + i)
        owner = min(max(wanted, low), owner + 1) if i else 0
        if owner == rank:
            mine.append(unit)
        start += unit[2]
    return mine


def frame_to_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as Parquet bytes (how ranks exchange rows: data, never pickles)."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def frame_from_bytes(blob: bytes) -> pd.DataFrame:
    """The frame :func:`frame_to_bytes` wrote."""
    return pd.read_parquet(io.BytesIO(blob))
