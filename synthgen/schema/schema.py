"""The :class:`Schema` of a table: its columns in order, with a JSON round-trip."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConstraintError, SchemaError
from synthgen.schema.columns import KINDS, ColumnSpec
from synthgen.schema.constraints import Constraint, constraint_from_dict
from synthgen.schema.discover import discover_structure
from synthgen.schema.infer import (
    _categorical_spec,
    _datetime_spec,
    _parse_dates,
    check_frame,
    infer_column,
    text_spec,
)
from synthgen.schema.structure import Structure

__all__ = ["SCHEMA_VERSION", "Schema"]

SCHEMA_VERSION = 1


def _forced_column(name: str, col: pd.Series, kind: str) -> ColumnSpec:
    """Spec of ``col`` when the user says its kind is ``kind``."""
    nonnull = col.dropna()
    missing = (len(col) - len(nonnull)) / len(col)
    dtype = str(col.dtype)
    if kind == "categorical":
        return _categorical_spec(name, col, missing)
    if kind == "text":
        return text_spec(name, col, missing)
    if kind == "constant":
        value = nonnull.mode().iloc[0] if len(nonnull) else None
        return ColumnSpec(name, "constant", dtype, missing_rate=missing, value=value)
    if kind == "id":
        prefix = None
        if not pd.api.types.is_numeric_dtype(col.dtype):
            prefix = f"{name}-"
        minimum = float(nonnull.min()) if prefix is None and len(nonnull) else 0.0
        return ColumnSpec(name, "id", dtype, minimum=minimum, id_prefix=prefix)
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            return _datetime_spec(name, dtype, col, missing, None)
        parsed = _parse_dates(nonnull.astype(str)) if len(nonnull) else None
        if parsed is None:
            raise SchemaError(
                f"column {name!r}: declared datetime, but its values do not parse with one "
                "known date format"
            )
        return _datetime_spec(name, dtype, parsed[1], missing, parsed[0])
    # numeric
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        raise SchemaError(
            f"column {name!r}: declared numeric, but its dtype is {dtype}; "
            "expected an integer or float column"
        )
    spec = infer_column(name, col, max_int_categories=0)
    if spec.kind != "numeric":
        values = nonnull.to_numpy(dtype=float)
        whole = bool(np.all(values == np.round(values))) if len(values) else True
        spec = ColumnSpec(
            name,
            "numeric",
            dtype,
            missing_rate=missing,
            minimum=float(values.min()) if len(values) else 0.0,
            maximum=float(values.max()) if len(values) else 0.0,
            integer=whole,
            decimals=0 if whole else None,
        )
    return spec


class Schema:
    """The columns of a table, in order: what each one is and how to give it back.

    Build one with :meth:`infer`, edit it with :meth:`set_kind` (or by changing a
    :class:`ColumnSpec`), store it with :meth:`to_json` and check a table against it with
    :meth:`validate`.

    Examples
    --------
    >>> df = pd.DataFrame({"age": [31, 45, 27, 60], "sex": ["F", "M", "F", None]})
    >>> schema = Schema.infer(df)
    >>> [(c.name, c.kind) for c in schema]
    [('age', 'categorical'), ('sex', 'categorical')]
    >>> schema = Schema.infer(df, kinds={"age": "numeric"})
    >>> schema["age"].kind, schema["sex"].missing_rate
    ('numeric', 0.25)
    >>> Schema.from_json(schema.to_json()) == schema
    True
    """

    def __init__(
        self,
        columns: list[ColumnSpec],
        constraints: list[Constraint] | None = None,
        structure: Structure | None = None,
    ) -> None:
        names = [c.name for c in columns]
        if len(set(names)) != len(names):
            raise SchemaError(f"schema has duplicate column names: {names}")
        self.columns: list[ColumnSpec] = list(columns)
        self.constraints: list[Constraint] = []
        for constraint in constraints or []:
            self.add_constraint(constraint)
        self.structure = Structure() if structure is None else structure
        self.structure.check_schema(self)

    def with_structure(self, structure: Structure | None) -> Schema:
        """A copy of the schema with ``structure`` (``None``: no structure rules)."""
        return Schema(list(self.columns), list(self.constraints), structure)

    def accept_suggestions(self, which: list[int] | None = None) -> Schema:
        """Turn suggested constraints (``structure.suggestions``: all, or those at the
        positions in ``which``) into constraints; returns the schema (chainable).

        Examples
        --------
        >>> df = pd.DataFrame({"start": range(60), "end": [i + 5 for i in range(60)]})
        >>> schema = Schema.infer(df, kinds={"start": "numeric", "end": "numeric"})
        >>> schema.structure.suggestions
        [Inequality('start' < 'end')]
        >>> schema.accept_suggestions().constraints
        [Inequality('start' < 'end')]
        """
        for constraint in self.structure.take_suggestions(which):
            if constraint not in self.constraints:
                self.add_constraint(constraint)
        return self

    def add_constraint(self, constraint: Constraint) -> Schema:
        """Add a rule every generated row must meet; returns the schema (chainable)."""
        if not isinstance(constraint, Constraint):
            raise ConstraintError(
                f"expected a synthgen constraint (Inequality, Bounds, ...), "
                f"got {type(constraint).__name__}"
            )
        constraint.check_schema(self)
        self.constraints.append(constraint)
        return self

    def check_constraints(self, data: pd.DataFrame) -> None:
        """Fit the constraints on ``data`` and raise ConstraintError where rows break one (or
        break a structure rule)."""
        self.structure.check_data(data)
        for constraint in self.constraints:
            constraint.fit(data)
            broken = int((~constraint.is_satisfied(data)).sum())
            if broken:
                raise ConstraintError(
                    f"{constraint!r} is broken by {broken} of {len(data)} rows of the data; "
                    "fix the data or drop the constraint"
                )

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def infer(
        cls,
        data: pd.DataFrame,
        *,
        kinds: Mapping[str, str] | None = None,
        max_int_categories: int = 15,
        max_categories: int = 500,
        structure: bool = True,
    ) -> Schema:
        """Detect the schema of ``data``, and its structure (``schema.structure``).

        Parameters
        ----------
        data : DataFrame
            The table (not modified).
        kinds : mapping, optional
            Column name -> kind, overriding detection for those columns.
        max_int_categories : int
            Whole-number columns with at most this many distinct values are categorical.
        max_categories : int
            String columns with more distinct values than this, most held by one row, are text.
        structure : bool
            Look for hierarchies, missing-together groups, coordinate pairs and suggested
            inequalities (see :mod:`synthgen.schema.discover`); ``False`` leaves them out.
        """
        data = check_frame(data)
        kinds = dict(kinds or {})
        unknown = set(kinds) - set(data.columns)
        if unknown:
            raise SchemaError(f"kinds names columns not in the data: {sorted(unknown)}")
        columns = []
        for name in data.columns:
            if name in kinds:
                if kinds[name] not in KINDS:
                    raise SchemaError(
                        f"column {name!r}: unknown kind {kinds[name]!r}; "
                        f"expected one of {list(KINDS)}"
                    )
                columns.append(_forced_column(name, data[name], kinds[name]))
            else:
                columns.append(
                    infer_column(
                        name,
                        data[name],
                        max_int_categories=max_int_categories,
                        max_categories=max_categories,
                    )
                )
        schema = cls(columns)
        if structure:
            schema.structure = discover_structure(data, schema)
        return schema

    def set_kind(self, name: str, kind: str, data: pd.DataFrame) -> Schema:
        """Return a copy of the schema with column ``name`` re-described as ``kind``."""
        if name not in self.names:
            raise SchemaError(f"column {name!r} is not in the schema")
        out = Schema(
            [ColumnSpec.from_dict(c.to_dict()) for c in self.columns], list(self.constraints)
        )
        idx = out.names.index(name)
        out.columns[idx] = _forced_column(name, data[name], kind)
        out.structure = self.structure.restricted(out)  # rules the new kind rules out go
        return out

    # -- access -------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise SchemaError(f"column {name!r} is not in the schema (columns: {self.names})")

    def __iter__(self) -> Iterator[ColumnSpec]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Schema)
            and self.columns == other.columns
            and self.constraints == other.constraints
            and self.structure == other.structure
        )

    def summary(self) -> str:
        """The schema as text for review: a line per column, then the structure rules."""
        lines = [
            f"{c.name}: {c.kind} ({c.dtype}, {c.missing_rate:.1%} missing)" for c in self.columns
        ]
        rules = self.structure.summary()
        return "\n".join([*lines, rules] if rules else lines)

    def __repr__(self) -> str:
        inner = ", ".join(f"{c.name}: {c.kind}" for c in self.columns)
        return f"Schema({inner})"

    # -- validation ---------------------------------------------------------------------------
    def validate(self, data: pd.DataFrame, *, allow_unseen: bool = False) -> pd.DataFrame:
        """Check that ``data`` fits this schema; return it unchanged.

        Raises
        ------
        SchemaError
            Columns missing or extra, a numeric column that is not numeric, dates that do not
            parse, or (unless ``allow_unseen``) categories the schema has never seen.
        """
        data = check_frame(data)
        missing = [n for n in self.names if n not in data.columns]
        extra = [n for n in data.columns if n not in self.names]
        if missing or extra:
            raise SchemaError(
                "the data does not match the schema: "
                f"missing columns {missing}, unexpected columns {extra}"
            )
        for spec in self.columns:
            col = data[spec.name]
            nonnull = col.dropna()
            if spec.kind == "numeric" and (
                not pd.api.types.is_numeric_dtype(col.dtype)
                or pd.api.types.is_bool_dtype(col.dtype)
            ):
                raise SchemaError(
                    f"column {spec.name!r}: schema says numeric, data has dtype {col.dtype}"
                )
            if spec.kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(col.dtype):
                fmt = spec.datetime_format
                parsed = pd.to_datetime(nonnull.astype(str), format=fmt, errors="coerce")
                bad = nonnull[parsed.isna()]
                if len(bad):
                    raise SchemaError(
                        f"column {spec.name!r}: {len(bad)} value(s) do not parse as dates with "
                        f"format {fmt!r}, e.g. {bad.iloc[0]!r}"
                    )
            if spec.kind == "categorical" and not allow_unseen:
                seen = set(spec.categories or [])
                unseen = [v for v in pd.unique(nonnull) if v not in seen]
                if unseen:
                    raise SchemaError(
                        f"column {spec.name!r}: categories not in the schema: {unseen[:5]!r}"
                    )
        return data

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``{"version", "columns", "constraints", "structure"}``)."""
        return {
            "version": SCHEMA_VERSION,
            "columns": [c.to_dict() for c in self.columns],
            "constraints": [c.to_dict() for c in self.constraints],
            "structure": self.structure.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        """Rebuild a schema from :meth:`to_dict` output."""
        version = data.get("version", SCHEMA_VERSION)
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"schema format version {version} is newer than this synthgen supports "
                f"({SCHEMA_VERSION}); upgrade synthgen"
            )
        if "columns" not in data:
            raise SchemaError("schema JSON needs a 'columns' list")
        return cls(
            [ColumnSpec.from_dict(dict(c)) for c in data["columns"]],
            [constraint_from_dict(c) for c in data.get("constraints", [])],
            Structure.from_dict(data.get("structure")),
        )

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The schema as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike[str]) -> Schema:
        """Read a schema from JSON text or from a file path."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            with open(text_or_path, encoding="utf-8") as fh:
                text = fh.read()
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as err:
            raise SchemaError(f"schema JSON is not valid: {err}") from None
