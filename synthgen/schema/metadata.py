"""Metadata of linked tables: primary keys, foreign keys and the order of event sequences.

A :class:`Metadata` names each table (:class:`TableMeta`: its primary key and, for a child
table whose rows are events, the column that orders them) and the links between tables
(:class:`ForeignKey`: a child column whose values are keys of a parent table). It is detected
from the tables (:meth:`Metadata.detect`, every part overridable), checked against them
(:meth:`Metadata.validate`) and written to and read from JSON like a single-table schema.

Examples
--------
>>> import pandas as pd
>>> users = pd.DataFrame({"id": [1, 2, 3], "age": [31, 45, 27]})
>>> orders = pd.DataFrame({"users_id": [1, 1, 3], "date": ["2024-01-02", "2024-03-01",
...                        "2024-02-11"], "amount": [9.5, 12.0, 3.2]})
>>> meta = Metadata.detect({"users": users, "orders": orders})
>>> meta.foreign_keys
(ForeignKey(child='orders', column='users_id', parent='users', parent_column='id'),)
>>> meta.tables["orders"].sequence_key, meta.topological_order()
('date', ['users', 'orders'])
>>> Metadata.from_dict(meta.to_dict()) == meta
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from synthgen.exceptions import MetadataError
from synthgen.files import atomic_write
from synthgen.schema.metadata_checks import (
    check_structure,
    detect_foreign_keys,
    detect_primary_key,
    detect_sequence_key,
    parse_metadata_dict,
    validate_tables,
)

__all__ = ["METADATA_VERSION", "ForeignKey", "Metadata", "TableMeta"]

#: Version of the JSON layout written by :meth:`Metadata.to_dict`.
METADATA_VERSION = 1


@dataclass(frozen=True)
class ForeignKey:
    """``child.column`` holds keys of ``parent.parent_column`` (the parent's primary key)."""

    child: str
    column: str
    parent: str
    parent_column: str

    def to_dict(self) -> dict[str, str]:
        return {
            "child": self.child,
            "column": self.column,
            "parent": self.parent,
            "parent_column": self.parent_column,
        }


@dataclass(frozen=True)
class TableMeta:
    """One table: its primary key (optional) and, for a child table, its sequence key.

    ``sequence_key`` is the order column (dates or numbers) of a child table: its rows form
    one sequence per parent row (through the table's first foreign key).
    """

    name: str
    primary_key: str | None = None
    sequence_key: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "primary_key": self.primary_key,
            "sequence_key": self.sequence_key,
        }


class Metadata:
    """Tables, their keys and the foreign keys that link them.

    Parameters
    ----------
    tables : iterable of TableMeta, or mapping of name to TableMeta
        The tables (their order is kept where no link decides it).
    foreign_keys : iterable of ForeignKey
        The links. A table's first foreign key names the parent its rows are generated
        under (and, with a sequence key, the parent whose events they are).

    Raises
    ------
    MetadataError
        A foreign key names an unknown table or a parent without that primary key, the links
        form a cycle, a sequence key sits in a table without a foreign key or on a key column.
    """

    def __init__(
        self,
        tables: Iterable[TableMeta] | Mapping[str, TableMeta],
        foreign_keys: Iterable[ForeignKey] = (),
    ) -> None:
        items = list(tables.values()) if isinstance(tables, Mapping) else list(tables)
        for t in items:
            if not isinstance(t, TableMeta):
                raise MetadataError(f"tables must be TableMeta objects, got {type(t).__name__}")
        fks = tuple(foreign_keys)
        for fk in fks:
            if not isinstance(fk, ForeignKey):
                raise MetadataError(
                    f"foreign_keys must be ForeignKey objects, got {type(fk).__name__}"
                )
        self.tables: dict[str, TableMeta] = {t.name: t for t in items}
        if len(self.tables) != len(items):
            names = [t.name for t in items]
            dup = sorted({n for n in names if names.count(n) > 1})
            raise MetadataError(f"table names must be unique, found {dup!r} more than once")
        self.foreign_keys: tuple[ForeignKey, ...] = fks
        self._order = check_structure(self.tables, self.foreign_keys)

    # -- navigation ---------------------------------------------------------------------------
    def parents_of(self, table: str) -> list[ForeignKey]:
        """The foreign keys of ``table`` (its links to its parents), in declared order."""
        self._check_table(table)
        return [fk for fk in self.foreign_keys if fk.child == table]

    def children_of(self, table: str) -> list[ForeignKey]:
        """The foreign keys that point at ``table`` (its links to its children)."""
        self._check_table(table)
        return [fk for fk in self.foreign_keys if fk.parent == table]

    def roots(self) -> list[str]:
        """Tables without a parent, in table order."""
        children = {fk.child for fk in self.foreign_keys}
        return [name for name in self.tables if name not in children]

    def topological_order(self) -> list[str]:
        """Every table after all of its parents (ties keep the table order)."""
        return list(self._order)

    def _check_table(self, table: str) -> None:
        if table not in self.tables:
            raise MetadataError(f"unknown table {table!r}; the tables are {list(self.tables)}")

    # -- data ---------------------------------------------------------------------------------
    @classmethod
    def detect(
        cls,
        tables: Mapping[str, pd.DataFrame],
        *,
        primary_keys: Mapping[str, str | None] | None = None,
        foreign_keys: Iterable[ForeignKey | Mapping[str, str] | tuple] | None = None,
        sequence_keys: Mapping[str, str | None] | None = None,
    ) -> Metadata:
        """Metadata read from the tables; any part given is used as it is.

        Parameters
        ----------
        tables : dict of str to DataFrame
            The tables by name.
        primary_keys : dict, optional
            ``{table: column or None}``; tables left out are detected: a column of unique,
            non-missing integers or strings named ``id``, ``<table>_id``, ``key`` or the like.
        foreign_keys : iterable, optional
            Every link (``ForeignKey``, ``(child, column, parent, parent_column)`` or a dict of
            those fields); replaces detection. Detected: a column whose values are all keys of
            another table and whose name says so (``players_id`` -> ``players.id``).
        sequence_keys : dict, optional
            ``{table: column or None}``; tables left out are detected: in a table with a
            foreign key, a date or whole-number column named like ``date``, ``year``,
            ``time``, ``*_at``. ``None`` turns the sequence off.

        Returns
        -------
        Metadata
            Validated against ``tables``.
        """
        tables = _check_tables(tables)
        primary_keys = dict(primary_keys or {})
        sequence_keys = dict(sequence_keys or {})
        for what, given in (("primary_keys", primary_keys), ("sequence_keys", sequence_keys)):
            unknown = sorted(set(given) - set(tables))
            if unknown:
                raise MetadataError(f"{what} names unknown table(s) {unknown}")
        pks = {
            name: primary_keys[name]
            if name in primary_keys
            else detect_primary_key(name, df, [o for o in tables if o != name])
            for name, df in tables.items()
        }
        if foreign_keys is None:
            fks = [ForeignKey(*f) for f in detect_foreign_keys(tables, pks)]
        else:
            fks = [_as_foreign_key(f) for f in foreign_keys]
        with_parent = {fk.child for fk in fks}
        metas = []
        for name, df in tables.items():
            if name in sequence_keys:
                seq = sequence_keys[name]
            elif name in with_parent:
                used = {pks[name]} | {fk.column for fk in fks if fk.child == name}
                seq = detect_sequence_key(df, exclude=used)
            else:
                seq = None
            metas.append(TableMeta(name, pks[name], seq))
        meta = cls(metas, fks)
        meta.validate(tables)
        return meta

    def validate(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Check that ``tables`` fit this metadata.

        Raises
        ------
        MetadataError
            A table missing or unknown, a named column missing, a primary key with missing or
            repeated values, foreign key values that match no parent key, a sequence key that
            is not dates or numbers. Messages name the table and column and give counts, never
            values.
        """
        validate_tables(self, _check_tables(tables))

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``{"version", "tables", "foreign_keys"}``)."""
        return {
            "version": METADATA_VERSION,
            "tables": [t.to_dict() for t in self.tables.values()],
            "foreign_keys": [fk.to_dict() for fk in self.foreign_keys],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Metadata:
        """Rebuild metadata from :meth:`to_dict` output, checking every field (the dict may
        come from an untrusted file: anything malformed is a MetadataError)."""
        tables, fks = parse_metadata_dict(data, METADATA_VERSION)
        return cls([TableMeta(**t) for t in tables], [ForeignKey(**f) for f in fks])

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The metadata as JSON text; also written to ``path`` when given (atomically)."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            atomic_write(path, text)
        return text

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> Metadata:
        """Read metadata from a JSON file (see :meth:`from_json_text` for text)."""
        where = os.fspath(path)
        try:
            if not os.path.isfile(where):
                raise MetadataError(f"no metadata file at {where!r} (or it is not a file)")
            if os.path.getsize(where) > 16 * 2**20:
                raise MetadataError(f"metadata file {where!r} is larger than 16 MiB")
            with open(where, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as err:
            raise MetadataError(f"cannot read metadata file {where!r}: {err}") from None
        return cls.from_json_text(text)

    @classmethod
    def from_json_text(cls, text: str | bytes) -> Metadata:
        """Parse metadata from JSON text only (never opens a file)."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise MetadataError(f"metadata JSON is not valid: {err}") from None
        return cls.from_dict(data)

    # -- comparison and display ---------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metadata):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        links = ", ".join(
            f"{f.child}.{f.column}->{f.parent}.{f.parent_column}" for f in self.foreign_keys
        )
        return f"Metadata(tables={list(self.tables)}, foreign_keys=[{links}])"


def _check_tables(tables: Any) -> dict[str, pd.DataFrame]:
    if not isinstance(tables, Mapping) or not tables:
        raise MetadataError(
            "tables must be a non-empty dict of table name to DataFrame, got "
            f"{type(tables).__name__}"
        )
    for name, df in tables.items():
        if not isinstance(name, str) or not name:
            raise MetadataError(f"table names must be non-empty strings, got {name!r}")
        if not isinstance(df, pd.DataFrame):
            raise MetadataError(
                f"table {name!r} must be a pandas DataFrame, got {type(df).__name__}"
            )
    return dict(tables)


def _as_foreign_key(value: Any) -> ForeignKey:
    if isinstance(value, ForeignKey):
        return value
    if isinstance(value, Mapping):
        fields = {"child", "column", "parent", "parent_column"}
        if set(value) != fields:
            raise MetadataError(f"a foreign key dict needs exactly the keys {sorted(fields)}")
        return ForeignKey(**{k: value[k] for k in fields})
    if isinstance(value, (tuple, list)) and len(value) == 4:
        return ForeignKey(*value)
    raise MetadataError(
        "a foreign key is a ForeignKey, a dict or a (child, column, parent, parent_column) "
        f"tuple, got {type(value).__name__}"
    )
