"""Checks and detection behind :class:`~synthgen.schema.metadata.Metadata`.

The structure checks need no data (unknown tables, a foreign key that does not point at a
primary key, cycles); the table checks compare the metadata with the tables and report
counts, never values; detection reads keys from column names and values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import MetadataError
from synthgen.schema.dates import parse_text_dates

__all__ = [
    "check_structure",
    "detect_foreign_keys",
    "detect_primary_key",
    "detect_sequence_key",
    "orderable_problem",
    "parse_metadata_dict",
    "validate_tables",
]

#: Longest table or column name a metadata file may hold, and most tables and links.
MAX_NAME = 1000
MAX_TABLES = 10_000

_SEQUENCE_NAMES = {
    "date", "time", "timestamp", "datetime", "year", "period", "step", "seq", "sequence",
    "order", "position", "ts", "day", "month", "week",
}  # fmt: skip
_SEQUENCE_SUFFIXES = ("_date", "_time", "_at", "_ts", "_year", "date", "time")


# -- structure (no data) ---------------------------------------------------------------------
def _check_name(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise MetadataError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME:
        raise MetadataError(f"{what} is longer than {MAX_NAME} characters")


def check_structure(tables: Mapping[str, Any], fks: tuple[Any, ...]) -> list[str]:
    """Check the metadata on its own; return the tables in topological order."""
    for name, t in tables.items():
        _check_name(name, "a table name")
        for field in ("primary_key", "sequence_key"):
            value = getattr(t, field)
            if value is not None:
                _check_name(value, f"table {name!r}: {field}")
        if t.sequence_key is not None and t.sequence_key == t.primary_key:
            raise MetadataError(
                f"table {name!r}: column {t.sequence_key!r} cannot be both the primary key "
                "and the sequence key"
            )
    seen = set()
    for fk in fks:
        for field in ("child", "column", "parent", "parent_column"):
            _check_name(getattr(fk, field), f"foreign key {field}")
        link = f"foreign key {fk.child}.{fk.column} -> {fk.parent}.{fk.parent_column}"
        for side in (fk.child, fk.parent):
            if side not in tables:
                raise MetadataError(
                    f"{link}: unknown table {side!r}; the tables are {list(tables)}"
                )
        if fk.child == fk.parent:
            raise MetadataError(
                f"{link}: a table linked to itself is not supported (a cycle of one table)"
            )
        parent_pk = tables[fk.parent].primary_key
        if fk.parent_column != parent_pk:
            raise MetadataError(
                f"{link}: a foreign key must point at its parent's primary key; the primary "
                f"key of table {fk.parent!r} is {parent_pk!r}"
            )
        if fk.column == tables[fk.child].primary_key:
            raise MetadataError(
                f"{link}: column {fk.column!r} of table {fk.child!r} cannot be both its primary "
                "key and a foreign key"
            )
        if fk.column == tables[fk.child].sequence_key:
            raise MetadataError(
                f"{link}: column {fk.column!r} of table {fk.child!r} cannot be both a foreign "
                "key and the sequence key"
            )
        if (fk.child, fk.column) in seen:
            raise MetadataError(f"table {fk.child!r}: column {fk.column!r} has two foreign keys")
        seen.add((fk.child, fk.column))
    with_parent = {fk.child for fk in fks}
    for name, t in tables.items():
        if t.sequence_key is not None and name not in with_parent:
            raise MetadataError(
                f"table {name!r}: sequence key {t.sequence_key!r} needs a foreign key in the "
                "table (a sequence is the events of one parent row)"
            )
    return _topological(list(tables), fks)


def _topological(names: list[str], fks: tuple[Any, ...]) -> list[str]:
    parents = {n: {fk.parent for fk in fks if fk.child == n} for n in names}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(names):
        ready = [n for n in names if n not in done and parents[n] <= done]
        if not ready:
            stuck = [n for n in names if n not in done]
            raise MetadataError(
                f"the foreign keys form a cycle among tables {stuck}: every table must have "
                "parents that do not depend on it"
            )
        order.extend(ready)
        done.update(ready)
    return order


# -- tables against metadata -----------------------------------------------------------------
def orderable_problem(col: pd.Series) -> str | None:
    """Why ``col`` cannot order a sequence (``None`` when it can: numbers or dates)."""
    n_missing = int(col.isna().sum())
    if n_missing:
        return f"has {n_missing} missing value(s); every event needs its place in the order"
    if pd.api.types.is_bool_dtype(col.dtype):
        return "holds booleans; expected dates or numbers"
    if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_datetime64_any_dtype(col.dtype):
        return None
    if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
        parsed = parse_text_dates(col)
        if parsed is not None and int(parsed.values.isna().sum()) == 0:
            return None
    return f"holds {col.dtype} values that are not all dates; expected dates or numbers"


def _require_column(df: pd.DataFrame, table: str, column: str, role: str) -> None:
    if column not in df.columns:
        raise MetadataError(
            f"table {table!r}: {role} column {column!r} is not in the table (its columns: "
            f"{list(df.columns)[:20]})"
        )


def validate_tables(meta: Any, tables: dict[str, pd.DataFrame]) -> None:
    """Check the tables against the metadata; messages give counts, never values."""
    missing = [n for n in meta.tables if n not in tables]
    if missing:
        raise MetadataError(f"table(s) {missing} of the metadata are not among the tables given")
    unknown = [n for n in tables if n not in meta.tables]
    if unknown:
        raise MetadataError(f"table(s) {unknown} are not in the metadata")
    for name, t in meta.tables.items():
        df = tables[name]
        if len(df) == 0:
            raise MetadataError(f"table {name!r} has no rows")
        if t.primary_key is not None:
            _require_column(df, name, t.primary_key, "primary key")
            key = df[t.primary_key]
            n_missing = int(key.isna().sum())
            if n_missing:
                raise MetadataError(
                    f"table {name!r}: primary key {t.primary_key!r} has {n_missing} missing "
                    "value(s)"
                )
            n_dup = int(key.duplicated().sum())
            if n_dup:
                raise MetadataError(
                    f"table {name!r}: primary key {t.primary_key!r} has {n_dup} duplicate "
                    f"value(s) ({int(key.duplicated(keep=False).sum())} rows share a key)"
                )
        if t.sequence_key is not None:
            _require_column(df, name, t.sequence_key, "sequence key")
            problem = orderable_problem(df[t.sequence_key])
            if problem:
                raise MetadataError(f"table {name!r}: sequence key {t.sequence_key!r} {problem}")
    first = {}
    for fk in meta.foreign_keys:
        first.setdefault(fk.child, fk)
        child, parent = tables[fk.child], tables[fk.parent]
        _require_column(child, fk.child, fk.column, "foreign key")
        _require_column(parent, fk.parent, fk.parent_column, "primary key")
        values = child[fk.column]
        absent = values.isna()
        if absent.any() and first[fk.child] is fk:
            raise MetadataError(
                f"table {fk.child!r}: foreign key {fk.column!r} has {int(absent.sum())} missing "
                f"value(s); every row must belong to a row of {fk.parent!r} (its first parent)"
            )
        dangling = ~values.isin(parent[fk.parent_column]) & ~absent
        if dangling.any():
            n_rows, n_keys = int(dangling.sum()), int(values[dangling].nunique())
            hint = ""
            if n_rows == int((~absent).sum()):
                hint = (
                    f" (none matches: {fk.column!r} is {values.dtype}, "
                    f"{fk.parent}.{fk.parent_column} is {parent[fk.parent_column].dtype})"
                )
            raise MetadataError(
                f"table {fk.child!r}: foreign key {fk.column!r} has {n_rows} row(s) with "
                f"{n_keys} value(s) that match no {fk.parent}.{fk.parent_column}{hint}"
            )


# -- detection -------------------------------------------------------------------------------
def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _singular(name: str) -> str:
    n = _norm(name)
    if n.endswith("ies") and len(n) > 3:
        return n[:-3] + "y"
    if n.endswith("s") and len(n) > 1:
        return n[:-1]
    return n


def _key_like(col: pd.Series) -> bool:
    """Unique, non-missing integers or strings."""
    if len(col) == 0 or col.isna().any():
        return False
    is_int = pd.api.types.is_integer_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)
    is_text = col.dtype == object or pd.api.types.is_string_dtype(col.dtype)
    if is_text and not all(isinstance(v, str) for v in col.iloc[:1000]):
        return False
    return (is_int or is_text) and not col.duplicated().any()


def _names_other_table(column: str, others: list[str]) -> bool:
    c = _norm(column)
    return any(c.startswith(_singular(o)) or c.startswith(_norm(o)) for o in others)


def detect_primary_key(name: str, df: pd.DataFrame, others: list[str] = ()) -> str | None:  # type: ignore[assignment]
    """A column of unique, non-missing integers or strings whose name marks it as the key."""
    wanted = ["id", f"{_norm(name)}id", f"{_singular(name)}id", "key", "uuid"]
    by_norm = {}
    for col in df.columns:
        by_norm.setdefault(_norm(str(col)), col)
    for w in wanted:
        if w in by_norm and _key_like(df[by_norm[w]]):
            return str(by_norm[w])
    for col in df.columns:
        n = str(col).lower()
        hinted = n.endswith("id") and not _names_other_table(str(col), others)
        if hinted and _key_like(df[col]):
            return str(col)
    return None


def _fk_hint(column: str, parent: str, parent_key: str) -> bool:
    c, p = _norm(column), _norm(parent_key)
    if c in {_norm(parent) + p, _singular(parent) + p}:
        return True
    return c == p and p not in {"id", "key"}


def detect_foreign_keys(
    tables: dict[str, pd.DataFrame], pks: dict[str, str | None]
) -> list[tuple[str, str, str, str]]:
    """``(child, column, parent, parent_column)`` of every column whose name points at another
    table's primary key and whose values are all keys of it."""
    found = []
    for child, df in tables.items():
        for col in df.columns:
            if col == pks[child]:
                continue
            for parent, pdf in tables.items():
                pk = pks[parent]
                if parent == child or pk is None or not _fk_hint(str(col), parent, pk):
                    continue
                values = df[col].dropna()
                if len(values) and values.isin(pdf[pk]).all():
                    found.append((child, str(col), parent, pk))
                    break
    return found


def _sequence_name(column: str) -> bool:
    n = column.lower()
    return n in _SEQUENCE_NAMES or n.endswith(_SEQUENCE_SUFFIXES)


def detect_sequence_key(df: pd.DataFrame, exclude: set[Any]) -> str | None:
    """A date or number column named like an order (``date``, ``year``, ``*_at``)."""
    for col in df.columns:
        if col in exclude or not _sequence_name(str(col)):
            continue
        series = df[col]
        if pd.api.types.is_float_dtype(series.dtype):
            x = series.to_numpy(dtype=float, na_value=np.nan)
            if not np.all(np.isfinite(x) & (x == np.round(x))):
                continue  # an amount named "..._time" is no order; whole numbers may be
        if orderable_problem(series) is None:
            return str(col)
    return None


# -- JSON (hostile input) --------------------------------------------------------------------
def _check_record(record: Any, what: str, required: set[str], optional: set[str]) -> dict:
    if not isinstance(record, dict):
        raise MetadataError(f"{what} must be a JSON object, got {type(record).__name__}")
    keys = set(record)
    if not required <= keys or not keys <= required | optional:
        raise MetadataError(
            f"{what} must have the keys {sorted(required)} (optional: {sorted(optional)}), "
            f"got {sorted(map(str, keys))}"
        )
    return record


def parse_metadata_dict(data: Any, version: int) -> tuple[list[dict], list[dict]]:
    """Checked ``(tables, foreign_keys)`` records of a metadata dict from an untrusted file."""
    data = _check_record(data, "metadata", {"tables"}, {"version", "foreign_keys"})
    got = data.get("version", version)
    if isinstance(got, bool) or not isinstance(got, int) or got < 1:
        raise MetadataError(f"metadata version must be an integer >= 1, got {got!r}")
    if got > version:
        raise MetadataError(
            f"metadata version {got} is newer than this synthgen reads (up to {version})"
        )
    tables, fks = data["tables"], data.get("foreign_keys", [])
    for what, value in (("tables", tables), ("foreign_keys", fks)):
        if not isinstance(value, list):
            raise MetadataError(f"metadata {what} must be a JSON list, got {type(value).__name__}")
        if len(value) > MAX_TABLES:
            raise MetadataError(f"metadata {what} has more than {MAX_TABLES} entries")
    out_tables = []
    for i, rec in enumerate(tables):
        rec = _check_record(rec, f"tables[{i}]", {"name"}, {"primary_key", "sequence_key"})
        _check_name(rec["name"], f"tables[{i}].name")
        for field in ("primary_key", "sequence_key"):
            if rec.get(field) is not None:
                _check_name(rec[field], f"tables[{i}].{field}")
        out_tables.append({k: rec.get(k) for k in ("name", "primary_key", "sequence_key")})
    out_fks = []
    fields = {"child", "column", "parent", "parent_column"}
    for i, rec in enumerate(fks):
        rec = _check_record(rec, f"foreign_keys[{i}]", fields, set())
        for field in sorted(fields):
            _check_name(rec[field], f"foreign_keys[{i}].{field}")
        out_fks.append({k: rec[k] for k in fields})
    return out_tables, out_fks
