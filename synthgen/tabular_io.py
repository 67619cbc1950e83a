"""Read and write tables as CSV (optionally gzipped) or Parquet, chosen by file extension."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from synthgen.exceptions import DataError
from synthgen.files import atomic_open, check_output_path

__all__ = ["check_table_path", "read_table", "write_table"]

_CSV = (".csv", ".csv.gz", ".tsv")
_PARQUET = (".parquet", ".pq")


def _kind(path: str | os.PathLike[str]) -> str:
    name = Path(path).name.lower()
    if name.endswith(_CSV):
        return "csv"
    if name.endswith(_PARQUET):
        return "parquet"
    raise DataError(
        f"{os.fspath(path)!r}: unknown table format; expected one of {', '.join(_CSV + _PARQUET)}"
    )


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``, ``.tsv``) or Parquet (``.parquet``, ``.pq``) file."""
    kind = _kind(path)
    if not Path(path).exists():
        raise DataError(f"no such file: {os.fspath(path)!r}")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        sep = "\t" if str(path).lower().endswith(".tsv") else ","
        return pd.read_csv(path, sep=sep)
    except (ValueError, OSError) as err:
        raise DataError(f"cannot read {os.fspath(path)!r}: {err}") from None


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
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv.gz"
    >>> write_table(pd.DataFrame({"a": [1, 2]}), path)
    >>> read_table(path)["a"].tolist()
    [1, 2]
    """
    kind = _kind(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    name = str(path).lower()
    with atomic_open(path, "wb") as fh:
        if kind == "parquet":
            frame.to_parquet(fh, index=False)
        else:
            sep = "\t" if name.endswith(".tsv") else ","
            gzip = "gzip" if name.endswith(".gz") else None
            frame.to_csv(fh, index=False, sep=sep, compression=gzip)
