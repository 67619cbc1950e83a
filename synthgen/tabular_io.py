"""Read and write tables as CSV (optionally gzipped) or Parquet, chosen by file extension."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from synthgen.exceptions import DataError

__all__ = ["read_table", "write_table"]

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


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``frame`` as CSV or Parquet, by the extension of ``path``."""
    kind = _kind(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        frame.to_parquet(path, index=False)
    else:
        sep = "\t" if str(path).lower().endswith(".tsv") else ","
        frame.to_csv(path, index=False, sep=sep)
