"""Keys of linked tables as the evaluation sees them: input checks, key columns, subjects.

A *subject* is one row of the subject table (a root of the metadata) with every row that
descends from it. Each row of a descendant table is assigned to a subject through the table's
first foreign key whose parent is itself assigned (the parent its rows are generated under), so
a table with several parents still has one subject per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from synthgen.exceptions import EvaluationError
from synthgen.schema.metadata import ForeignKey, Metadata

__all__ = [
    "check_tables",
    "key_columns",
    "sequence_link",
    "subject_ids",
    "subject_root",
]


def check_tables(tables: Any, metadata: Metadata, what: str) -> dict[str, pd.DataFrame]:
    """``tables`` as a dict holding every table of ``metadata`` with its key columns.

    Only the structure is checked (tables, key columns): the values of a synthetic set are
    what the integrity metrics measure, so dangling or repeated keys are not errors here.
    """
    if not isinstance(metadata, Metadata):
        raise EvaluationError(
            f"metadata must be a synthgen Metadata, got {type(metadata).__name__}"
        )
    if not isinstance(tables, Mapping):
        raise EvaluationError(
            f"{what} must be a dict of table name to DataFrame, got {type(tables).__name__}"
        )
    missing = [t for t in metadata.tables if t not in tables]
    extra = [t for t in tables if t not in metadata.tables]
    if missing or extra:
        raise EvaluationError(
            f"{what} does not hold the tables of the metadata: missing {missing}, "
            f"unexpected {extra}"
        )
    out: dict[str, pd.DataFrame] = {}
    for name in metadata.tables:
        df = tables[name]
        if not isinstance(df, pd.DataFrame):
            raise EvaluationError(
                f"{what}: table {name!r} must be a pandas DataFrame, got {type(df).__name__}"
            )
        needed = [c for c in key_columns(metadata, name) if c not in df.columns]
        seq = metadata.tables[name].sequence_key
        if seq is not None and seq not in df.columns:
            needed.append(seq)
        if needed:
            raise EvaluationError(f"{what}: table {name!r} lacks the key column(s) {needed}")
        out[name] = df
    return out


def key_columns(metadata: Metadata, table: str) -> list[str]:
    """The primary key and foreign key columns of ``table`` (left out of the value metrics:
    key values are identifiers, not data).

    Examples
    --------
    >>> from synthgen.schema.metadata import TableMeta
    >>> meta = Metadata([TableMeta("u", "id"), TableMeta("o")],
    ...                 [ForeignKey("o", "u_id", "u", "id")])
    >>> key_columns(meta, "u"), key_columns(meta, "o")
    (['id'], ['u_id'])
    """
    cols = [metadata.tables[table].primary_key]
    cols += [fk.column for fk in metadata.parents_of(table)]
    cols += [fk.parent_column for fk in metadata.children_of(table)]
    return list(dict.fromkeys(c for c in cols if c is not None))


def sequence_link(metadata: Metadata, table: str) -> ForeignKey | None:
    """The foreign key that groups the rows of a sequence table into sequences (its first
    one), or ``None`` when ``table`` has no sequence key."""
    if metadata.tables[table].sequence_key is None:
        return None
    parents = metadata.parents_of(table)
    return parents[0] if parents else None


def subject_root(metadata: Metadata, root: str | None = None) -> str:
    """The subject table: ``root`` when given, else the only root of the metadata."""
    roots = metadata.roots()
    if root is not None:
        if root not in roots:
            raise EvaluationError(f"root {root!r} is not a root table of the metadata: {roots}")
        return root
    if len(roots) != 1:
        raise EvaluationError(
            f"the metadata has {len(roots)} root tables {roots}: name the subject table with root="
        )
    return roots[0]


def subject_ids(
    tables: Mapping[str, pd.DataFrame], metadata: Metadata, root: str
) -> dict[str, pd.Series]:
    """For every table reachable from ``root``, the subject (root key) of each row.

    The root's own rows are their subjects (by primary key, or by row position when it has
    none); a descendant row takes the subject of its parent row through the table's first
    foreign key whose parent table is reachable. Rows whose key matches no parent get a
    missing subject. Tables not reachable from ``root`` are absent from the result.

    Examples
    --------
    >>> from synthgen.schema.metadata import TableMeta
    >>> meta = Metadata([TableMeta("u", "id"), TableMeta("o")],
    ...                 [ForeignKey("o", "u_id", "u", "id")])
    >>> ids = subject_ids({"u": pd.DataFrame({"id": [7, 8]}),
    ...                    "o": pd.DataFrame({"u_id": [8, 8, 9]})}, meta, "u")
    >>> ids["o"].tolist()
    [8.0, 8.0, nan]
    """
    pk = metadata.tables[root].primary_key
    root_df = tables[root]
    ids: dict[str, pd.Series] = {
        root: root_df[pk] if pk is not None else pd.Series(range(len(root_df)), index=root_df.index)
    }
    for table in metadata.topological_order():
        if table in ids:
            continue
        link = next((fk for fk in metadata.parents_of(table) if fk.parent in ids), None)
        if link is None:
            continue
        parent = tables[link.parent]
        # a repeated parent key (possible in a synthetic set) maps to its first row's subject
        lookup = pd.Series(ids[link.parent].to_numpy(), index=parent[link.parent_column].to_numpy())
        lookup = lookup[~lookup.index.duplicated(keep="first")]
        child = tables[table]
        ids[table] = pd.Series(child[link.column].map(lookup).to_numpy(), index=child.index)
    return ids
