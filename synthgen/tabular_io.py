"""Read and write tables as CSV (optionally gzipped) or Parquet, chosen by file extension."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen.exceptions import DataError
from synthgen.files import atomic_open, check_output_path
from synthgen.tabular_csv import CSV_SUFFIXES, csv_separator, is_csv_name, read_csv_table

__all__ = ["check_table_path", "read_table", "write_table"]

_PARQUET = (".parquet", ".pq")


def _kind(path: str | os.PathLike[str]) -> str:
    if is_csv_name(Path(path).name):
        return "csv"
    if Path(path).name.lower().endswith(_PARQUET):
        return "parquet"
    known = ", ".join(CSV_SUFFIXES + _PARQUET)
    raise DataError(f"{os.fspath(path)!r}: unknown table format; expected one of {known}")


def read_table(
    path: str | os.PathLike[str],
    *,
    sep: str | None = None,
    dtype: Mapping[str, Any] | None = None,
    na_values: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.tsv``, either gzipped) or Parquet (``.parquet``, ``.pq``) file.

    CSV files are read as users have them (see :mod:`synthgen.tabular_csv`): the separator
    is sniffed unless ``sep`` is given, ``"?"`` is read as missing unless ``na_values`` says
    which markers are, and codes with leading zeros stay strings. ``dtype`` (column -> pandas
    dtype) applies to both formats; ``sep`` and ``na_values`` to CSV only.
    """
    kind = _kind(path)
    where = os.fspath(path)
    if not Path(path).exists():
        raise DataError(f"no such file: {where!r}")
    try:
        if kind == "parquet":
            return _with_dtypes(pd.read_parquet(path), dtype, where)
        return read_csv_table(
            path, default_sep=csv_separator(path), sep=sep, dtype=dtype, na_values=na_values
        )
    except (ValueError, OSError, TypeError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"cannot read {where!r}: {err}") from None


def _with_dtypes(frame: pd.DataFrame, dtype: Mapping[str, Any] | None, where: str) -> pd.DataFrame:
    unknown = sorted(set(dtype or {}) - set(frame.columns))
    if unknown:
        raise DataError(f"{where!r}: dtype names columns not in the file: {unknown}")
    return frame.astype(dict(dtype)) if dtype else frame


def check_table_path(path: str | os.PathLike[str]) -> None:
    """Check, before any work, that a table can be written at ``path``: a known format (by
    its extension) in an existing, writable folder.

    Examples
    --------
    >>> check_table_path("out.xlsx")
    Traceback (most recent call last):
    ...
    synthgen.exceptions.DataError: 'out.xlsx': unknown table format; expected one of ...
    """
    _kind(path)
    check_output_path(path, what="table")


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``frame`` as CSV or Parquet, by the extension of ``path``.

    The file is written atomically (see :mod:`synthgen.files`): an interrupted or failed
    write (a full disk, Ctrl-C) leaves the previous file, if any, as it was and no partial
    file. The folder is created when missing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> path = pathlib.Path(scratch.name) / "t.csv.gz"
    >>> write_table(pd.DataFrame({"a": [1, 2]}), path)
    >>> read_table(path)["a"].tolist()
    [1, 2]
    """
    kind = _kind(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        if kind == "parquet":
            frame.to_parquet(fh, index=False)
        else:
            gzip = "gzip" if str(path).lower().endswith(".gz") else None
            frame.to_csv(fh, index=False, sep=csv_separator(path), compression=gzip)
