"""A CSV file too large for memory, rewritten as Parquet parts in two streamed passes.

``fit_parts(model, "big.csv", fit_rows=N)`` (``synthgen fit big.csv --parts --fit-rows N``)
fits on a CSV file without reading it whole: :func:`csv_to_parts` turns it into a folder of
Parquet parts, one per chunk of rows, which the streamed fit then reads one row group at a
time (:mod:`synthgen.generators.streamed`). The file is read as :func:`read_table` reads a CSV
(:mod:`synthgen.tabular_csv`: the separator sniffed, pandas' missing-value markers and
``"?"``, codes with a leading zero kept as text), but a column's type must be settled over
the whole file, not chunk by chunk:

1. **Types.** The first pass reads each chunk twice over, as pandas infers it and as written,
   and keeps per column: the kinds pandas gave (integers, floats, booleans, text), whether
   it had gaps, and whether every value is a digit string with at least one leading zero.
   A column is ``int64`` when every chunk read it as integers without a gap, ``float64``
   when every chunk read numbers (or nothing), boolean when every chunk read booleans, and
   text otherwise (a column of codes with a leading zero is text, as in memory).
2. **Parts.** The second pass reads the chunks with those types and writes each one as a
   Parquet part with the one Arrow schema they share.

Peak memory is one chunk (``chunk_rows``, 250,000 rows by default) and its text, whatever
the file's length. Differences from reading the file whole are rare and on purpose: a
column that holds numbers in some chunks and words in others is text throughout (pandas
would mix numbers and strings), and a boolean column with gaps is a nullable boolean.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen.exceptions import DataError, DataWarning
from synthgen.tabular_csv import (
    _DIGITS,
    _LEADING_ZERO,
    _check_one_column,
    _checked_dtypes,
    csv_separator,
    csv_settings,
    is_csv_name,
)

__all__ = ["csv_to_parts", "is_csv"]


def is_csv(source: Any) -> bool:
    """Whether ``source`` names one CSV file (``.csv`` or ``.tsv``, either gzipped)."""
    return isinstance(source, (str, os.PathLike)) and is_csv_name(source)


@dataclass
class _Seen:
    """What the first pass learned about one column."""

    kinds: set[str] = field(default_factory=set)
    gaps: bool = False
    digits: bool = True  # every present value a digit string
    leading_zero: bool = False  # one of them with a leading zero
    question_marks: int = 0

    def dtype(self) -> str:
        kinds = self.kinds
        if self.digits and self.leading_zero and kinds <= {"i", "u", "f"}:
            return "str"  # codes such as zip 01002
        if not kinds or kinds <= {"i", "u", "f"}:
            return "int64" if kinds and kinds <= {"i", "u"} and not self.gaps else "float64"
        if kinds == {"b"}:
            return "boolean" if self.gaps else "bool"
        return "str"


def _arrow_type(dtype: str) -> Any:
    import pyarrow as pa

    types = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}
    return types.get(dtype.replace("boolean", "bool"), pa.string())


def _chunks(path: Path, sep: str, chunk_rows: int, **kwargs: Any) -> Any:
    return pd.read_csv(path, sep=sep, chunksize=chunk_rows, **kwargs)


def csv_to_parts(
    path: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    sep: str | None = None,
    dtype: Mapping[str, Any] | None = None,
    na_values: Sequence[str] | None = None,
    chunk_rows: int = 250_000,
) -> list[Path]:
    """Rewrite the CSV file ``path`` as Parquet parts in ``folder`` (module docstring).

    Parameters
    ----------
    path : path-like
        The CSV file (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``).
    folder : path-like
        An existing, empty folder for the parts.
    sep, dtype, na_values
        As :func:`synthgen.read_table` takes them.
    chunk_rows : int
        Rows per chunk and per part.

    Returns
    -------
    list of Path
        The parts, in order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> tmp = pathlib.Path(scratch.name)
    >>> _ = (tmp / "t.csv").write_text("zip,n,x\\n01002,1,NA\\n10001,2,0.5\\n20002,3,1.5\\n")
    >>> parts = csv_to_parts(tmp / "t.csv", tmp, chunk_rows=2)
    >>> back = pd.concat(pd.read_parquet(p) for p in parts)
    >>> back["zip"].tolist(), back["n"].dtype.name, int(back["x"].isna().sum())
    (['01002', '10001', '20002'], 'int64', 1)
    """
    path, where = Path(path), os.fspath(path)
    if not path.is_file():
        raise DataError(f"no such file: {where!r}")
    default = csv_separator(where)
    explicit = sep is not None
    sep, na = csv_settings(path, default, sep, na_values, stacklevel=3)
    given = _checked_dtypes(dtype, where)
    try:
        seen = _first_pass(path, sep, na, chunk_rows, count_marks=na_values is None)
        unknown = sorted(set(given) - set(seen))
        if unknown:
            raise DataError(f"{where!r}: dtype names columns not in the file: {unknown}")
        if len(seen) == 1:
            _check_one_column(next(iter(seen)), sep, explicit, where)
        types = {name: ("given", t) for name, t in given.items()}
        types.update({n: ("seen", s.dtype()) for n, s in seen.items() if n not in given})
        marks = [
            f"{n!r} ({s.question_marks:,} cell(s))" for n, s in seen.items() if s.question_marks
        ]
        if marks:
            warnings.warn(
                f"{where!r}: '?' read as missing in column(s) {', '.join(marks)}; pass "
                "na_values (CLI: --na-values) to choose the missing-value markers",
                DataWarning,
                stacklevel=2,
            )
        return _second_pass(path, Path(folder), sep, na, chunk_rows, types)
    except (ValueError, OSError, TypeError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"cannot read {where!r}: {err}") from None


def _first_pass(
    path: Path, sep: str, na: dict[str, Any], chunk_rows: int, count_marks: bool
) -> dict[str, _Seen]:
    seen: dict[str, _Seen] = {}
    inferred = _chunks(path, sep, chunk_rows, **na)
    written = _chunks(path, sep, chunk_rows, dtype=str, keep_default_na=False, na_values=[])
    for frame, raw in zip(inferred, written, strict=True):
        for name in frame.columns:
            col, text = frame[name], raw[name]
            s = seen.setdefault(name, _Seen())
            present = col.notna().to_numpy()
            s.gaps |= not present.all()
            if present.any():
                s.kinds.add(col.dtype.kind)
            if col.dtype.kind in "iuf" and s.digits and present.any():
                values = text[present]
                s.digits = bool(values.str.match(_DIGITS).all())
                s.leading_zero |= bool(values.str.match(_LEADING_ZERO).any())
            if count_marks:
                s.question_marks += int(((text == "?").to_numpy() & ~present).sum())
    return seen


def _second_pass(
    path: Path,
    folder: Path,
    sep: str,
    na: dict[str, Any],
    chunk_rows: int,
    types: dict[str, tuple[str, Any]],
) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    read_as = {name: t for name, (_, t) in types.items()}
    files, rows = [], 0
    schema = None
    for i, frame in enumerate(_chunks(path, sep, chunk_rows, dtype=read_as, **na)):
        if schema is None:  # the seen types fixed; given ones as the first chunk has them
            first = pa.Table.from_pandas(frame, preserve_index=False).schema
            fields = []
            for name in frame.columns:
                how, t = types[name]
                kind = _arrow_type(t) if how == "seen" else first.field(name).type
                fields.append(pa.field(name, pa.string() if pa.types.is_null(kind) else kind))
            schema = pa.schema(fields)
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        rows += len(frame)
        target = folder / f"part-{i:05d}.parquet"
        pq.write_table(table, target)
        files.append(target)
    if not rows:
        raise DataError(f"{os.fspath(path)!r} holds no rows")
    return files
