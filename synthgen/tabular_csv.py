"""Reading CSV files as users have them: separators, missing-value markers and codes.

- **Separator.** Unless one is given, the first lines decide: the file's default (``,``,
  or a tab for ``.tsv``) when it splits them into a steady number of fields, otherwise the
  common separator (``;``, tab, ``|``, ``,``) that does, with a :class:`DataWarning` saying
  which. A file that still parses into one column whose header holds another separator is
  refused (or, with a separator given, warned about): fitting it as one column is never
  what was meant.
- **Missing values.** pandas' markers (empty, ``NA``, ``N/A``, ``NaN``, ``null``, ``None``,
  ...) plus ``"?"`` (as in the UCI tables), with a warning naming the columns where a ``"?"``
  was read as missing; ``na_values`` replaces the whole list (an empty field stays missing).
- **Codes.** A column of digit strings with a leading zero (zip ``01002``, code ``007``) is
  read as strings, so it comes back as written, not as ``1002`` and ``7``.
- **Types.** ``dtype`` maps a column to a pandas dtype (``{"zip": "str"}``).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from synthgen.exceptions import DataError, DataWarning

__all__ = [
    "CSV_SUFFIXES",
    "DEFAULT_EXTRA_NA",
    "SEPARATORS",
    "csv_separator",
    "csv_settings",
    "is_csv_name",
    "read_csv_table",
    "sniff_separator",
]

#: Names read and written as CSV (any case): a tab separates ``.tsv`` fields, ``.gz`` is gzip.
CSV_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".tsv", ".tsv.gz")

#: Separators tried when the default one does not split a file's first lines.
SEPARATORS: tuple[str, ...] = (",", ";", "\t", "|")
#: Markers read as missing on top of pandas' own list (unless ``na_values`` is given).
DEFAULT_EXTRA_NA: tuple[str, ...] = ("?",)

_SNIFF_BYTES = 64 * 1024
_SNIFF_ROWS = 50
_DIGITS = re.compile(r"^\d+$")
_LEADING_ZERO = re.compile(r"^0\d+$")


def is_csv_name(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a CSV file by its suffix (:data:`CSV_SUFFIXES`, any case).

    Examples
    --------
    >>> [is_csv_name(p) for p in ("a.CSV", "b.tsv.gz", "c.parquet", "d.csv.bz2")]
    [True, True, False, False]
    """
    return os.fspath(path).lower().endswith(CSV_SUFFIXES)


def csv_separator(path: str | os.PathLike[str]) -> str:
    """The separator a CSV file of this name has by default: a tab for ``.tsv`` and
    ``.tsv.gz``, else a comma.

    Examples
    --------
    >>> csv_separator("rows.tsv.gz"), csv_separator("rows.csv")
    ('\\t', ',')
    """
    return "\t" if os.fspath(path).lower().endswith((".tsv", ".tsv.gz")) else ","


def _shown(sep: str) -> str:
    return {"\t": "tab", " ": "space"}.get(sep, repr(sep))


def _head(path: str | os.PathLike[str]) -> tuple[str, bool]:
    """The first bytes of the file as text, and whether the file is longer."""
    opener = gzip.open if str(path).lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read(_SNIFF_BYTES + 1)
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {os.fspath(path)!r}: {err}") from None
    return data[:_SNIFF_BYTES].decode("utf-8", errors="replace"), len(data) > _SNIFF_BYTES


def _field_counts(text: str, sep: str, truncated: bool) -> list[int]:
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    except csv.Error:
        return []
    rows = [r for r in rows if r]
    if truncated and len(rows) > 1:
        rows = rows[:-1]  # the last row may be cut in the middle
    return [len(r) for r in rows[:_SNIFF_ROWS]]


def _steady(counts: list[int]) -> int:
    """The number of fields when every row has the same number, above one (else 0)."""
    return counts[0] if counts and counts[0] > 1 and len(set(counts)) == 1 else 0


def sniff_separator(text: str, default: str = ",", *, truncated: bool = False) -> str:
    """The separator of CSV text: ``default`` when it splits every row into the same number
    (above one) of fields, else the common separator that does (the most fields wins), else
    ``default``.

    Examples
    --------
    >>> sniff_separator("a;b;c\\n1;2,5;3\\n4;5;6\\n")
    ';'
    >>> sniff_separator("a,b\\n1,2\\n")
    ','
    """
    if _steady(_field_counts(text, default, truncated)):
        return default
    best, fields = default, 0
    for sep in SEPARATORS:
        if sep == default:
            continue
        n = _steady(_field_counts(text, sep, truncated))
        if n > fields:
            best, fields = sep, n
    return best


def _checked_dtypes(dtype: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    out = {}
    for name, value in (dtype or {}).items():
        try:
            out[name] = pd.api.types.pandas_dtype(value)
        except (TypeError, ValueError):
            raise DataError(
                f"{where!r}: dtype {value!r} of column {name!r} is not a pandas dtype"
            ) from None
    return out


def _may_be_codes(col: pd.Series) -> bool:
    """Whether a column pandas read as numbers may be codes: whole numbers, none negative."""
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        return False
    values = col.dropna().to_numpy(dtype=float)
    return len(values) > 0 and bool((values >= 0).all() and (values == values.round()).all())


def _keep_codes(frame: pd.DataFrame, raw: dict[int, pd.Series], positions: list[int]):
    """Numeric columns whose cells are digit strings, one with a leading zero, as strings."""
    out = frame
    for i in positions:
        col = frame.iloc[:, i]
        present = col.notna().to_numpy()
        text = raw[i][present]
        if text.str.match(_LEADING_ZERO).any() and text.str.match(_DIGITS).all():
            if out is frame:
                out = frame.copy()
            out.isetitem(i, raw[i].astype(object).where(present, None))
    return out


def _warn_markers(frame: pd.DataFrame, raw: dict[int, pd.Series], positions: list[int],
                  path: str) -> None:  # fmt: skip
    found = []
    for i in positions:
        n = int(((raw[i] == "?") & frame.iloc[:, i].isna().to_numpy()).sum())
        if n:
            found.append(f"{frame.columns[i]!r} ({n:,} cell(s))")
    if found:
        warnings.warn(
            f"{path!r}: '?' read as missing in column(s) {', '.join(found)}; pass na_values "
            "(CLI: --na-values) to choose the missing-value markers",
            DataWarning,
            stacklevel=4,
        )


def csv_settings(
    path: str | os.PathLike[str],
    default_sep: str,
    sep: str | None,
    na_values: Sequence[str] | None,
    *,
    stacklevel: int = 3,
) -> tuple[str, dict[str, Any]]:
    """The separator (sniffed, with a warning, unless given) and pandas' missing-value
    keywords of a CSV file, as :func:`read_csv_table` reads it."""
    if sep is None:
        text, truncated = _head(path)
        sep = sniff_separator(text, default_sep, truncated=truncated)
        if sep != default_sep:
            warnings.warn(
                f"{os.fspath(path)!r}: read with separator {_shown(sep)} (sniffed from its "
                "first lines); pass sep (CLI: --sep) to choose",
                DataWarning,
                stacklevel=stacklevel,
            )
    if na_values is None:
        return sep, {"keep_default_na": True, "na_values": list(DEFAULT_EXTRA_NA)}
    return sep, {"keep_default_na": False, "na_values": ["", *na_values]}


def read_csv_table(
    path: str | os.PathLike[str],
    *,
    default_sep: str = ",",
    sep: str | None = None,
    dtype: Mapping[str, Any] | None = None,
    na_values: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a CSV file (see the module docstring for what is sniffed and kept).

    Parameters
    ----------
    path : path-like
        The file (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``).
    default_sep : str
        The separator the extension implies.
    sep : str, optional
        The separator; sniffed from the first lines when omitted.
    dtype : mapping, optional
        Column name -> pandas dtype (``"str"`` keeps a column's text as written).
    na_values : sequence of str, optional
        The cell values read as missing (an empty cell always is). Default: pandas' list
        plus ``"?"``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> path = pathlib.Path(scratch.name) / "t.csv"
    >>> _ = path.write_text("zip,n\\n01002,1\\n10001,2\\n")
    >>> read_csv_table(path)["zip"].tolist()
    ['01002', '10001']
    """
    where = os.fspath(path)
    types = _checked_dtypes(dtype, where)
    explicit = sep is not None
    sep, na = csv_settings(path, default_sep, sep, na_values, stacklevel=4)
    frame = pd.read_csv(path, sep=sep, dtype=dict(dtype or {}) or None, **na)
    unknown = sorted(set(types) - set(frame.columns))
    if unknown:
        raise DataError(f"{where!r}: dtype names columns not in the file: {unknown}")
    if frame.shape[1] == 1:
        _check_one_column(frame.columns[0], sep, explicit, where)
    # The cells as written, for the columns where they matter: numbers that may be codes
    # (a leading zero) and, with the default markers, columns with missing cells (a "?").
    codes = [
        i for i, name in enumerate(frame.columns)
        if name not in types and _may_be_codes(frame.iloc[:, i])
    ]  # fmt: skip
    gaps = [i for i in range(frame.shape[1]) if frame.iloc[:, i].isna().any()]
    gaps = gaps if na_values is None else []
    wanted = sorted(set(codes) | set(gaps))
    if not wanted:
        return frame
    table = pd.read_csv(
        path, sep=sep, dtype=str, keep_default_na=False, na_values=[], usecols=wanted
    )
    raw = {i: table.iloc[:, k] for k, i in enumerate(wanted)}
    _warn_markers(frame, raw, gaps, where)
    return _keep_codes(frame, raw, codes)


def _check_one_column(header: Any, sep: str, explicit: bool, where: str) -> None:
    others = [s for s in SEPARATORS if s != sep and s in str(header)]
    if not others:
        return
    message = (
        f"{where!r} parses into one column with separator {_shown(sep)}, but its header "
        f"holds {_shown(others[0])}"
    )
    if explicit:
        warnings.warn(f"{message}; is the separator right?", DataWarning, stacklevel=4)
        return
    raise DataError(f"{message}: pass sep={others[0]!r} (CLI: --sep) to read it")
