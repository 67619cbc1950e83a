"""The :class:`Schema` of a table: its columns in order, with a JSON round-trip."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from synthgen.exceptions import ConstraintError, SchemaError
from synthgen.files import atomic_write
from synthgen.schema.columns import KINDS, ColumnSpec, is_duration
from synthgen.schema.constraints import Constraint, constraint_from_dict
from synthgen.schema.discover import discover_structure
from synthgen.schema.forced import forced_column as _forced_column
from synthgen.schema.infer import check_frame, infer_column
from synthgen.schema.safe import DEFAULT_MIN_COUNT
from synthgen.schema.structure import Structure

__all__ = ["SCHEMA_VERSION", "Schema"]

SCHEMA_VERSION = 1


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
        *,
        min_count: int = DEFAULT_MIN_COUNT,
    ) -> None:
        names = [c.name for c in columns]
        if len(set(names)) != len(names):
            raise SchemaError(f"schema has duplicate column names: {names}")
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise SchemaError(f"min_count must be a positive integer, got {min_count!r}")
        #: Values and labels held by fewer rows are never stored (here or in a fitted model).
        self.min_count = min_count
        self.columns: list[ColumnSpec] = list(columns)
        self.constraints: list[Constraint] = []
        for constraint in constraints or []:
            self.add_constraint(constraint)
        self.structure = Structure() if structure is None else structure
        self.structure.check_schema(self)

    def with_structure(self, structure: Structure | None) -> Schema:
        """A copy of the schema with ``structure`` (``None``: no structure rules)."""
        return Schema(
            list(self.columns), list(self.constraints), structure, min_count=self.min_count
        )

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
        min_count: int = DEFAULT_MIN_COUNT,
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
        min_count : int
            Values and labels held by fewer rows are never stored, in the schema or in a
            model fitted with it: such labels are pooled (given back as ``"(other)"`` in
            string columns), numeric bounds are the mean of the ``min_count`` most extreme
            values, and quantile tables are interpolated (see :mod:`synthgen.schema.safe`).
            ``1`` stores every label and the exact extremes.
        structure : bool
            Look for hierarchies, missing-together groups, coordinate pairs and suggested
            inequalities (see :mod:`synthgen.schema.discover`); ``False`` leaves them out.
        """
        data = check_frame(data)
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise SchemaError(f"min_count must be a positive integer, got {min_count!r}")
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
                columns.append(_forced_column(name, data[name], kinds[name], min_count))
            else:
                columns.append(
                    infer_column(
                        name,
                        data[name],
                        max_int_categories=max_int_categories,
                        max_categories=max_categories,
                        min_count=min_count,
                    )
                )
        schema = cls(columns, min_count=min_count)
        if structure:
            schema.structure = discover_structure(data, schema)
        return schema

    def set_kind(self, name: str, kind: str, data: pd.DataFrame) -> Schema:
        """Return a copy of the schema with column ``name`` re-described as ``kind``."""
        if name not in self.names:
            raise SchemaError(f"column {name!r} is not in the schema")
        out = Schema(
            [ColumnSpec.from_dict(c.to_dict()) for c in self.columns],
            list(self.constraints),
            min_count=self.min_count,
        )
        idx = out.names.index(name)
        out.columns[idx] = _forced_column(name, data[name], kind, self.min_count)
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
            and self.min_count == other.min_count
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
            parse, or (unless ``allow_unseen``) categories the schema has never seen (a column
            with pooled rare labels takes any label: an unknown one is one of the rare ones).
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
            durations = pd.api.types.is_timedelta64_dtype(col.dtype)
            if spec.kind == "numeric" and durations != is_duration(spec):
                raise SchemaError(
                    f"column {spec.name!r}: schema says dtype {spec.dtype}, data has {col.dtype}"
                )
            if (
                spec.kind == "numeric"
                and not durations
                and (
                    not pd.api.types.is_numeric_dtype(col.dtype)
                    or pd.api.types.is_bool_dtype(col.dtype)
                )
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
            if spec.kind == "categorical" and not allow_unseen and not spec.pooled:
                seen = set(spec.categories or [])
                unseen = [v for v in pd.unique(nonnull) if v not in seen]
                if unseen:
                    raise SchemaError(
                        f"column {spec.name!r}: categories not in the schema: {unseen[:5]!r}"
                    )
        return data

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``{"version", "min_count", "columns", "constraints",
        "structure"}``)."""
        return {
            "version": SCHEMA_VERSION,
            "min_count": self.min_count,
            "columns": [c.to_dict() for c in self.columns],
            "constraints": [c.to_dict() for c in self.constraints],
            "structure": self.structure.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        """Rebuild a schema from :meth:`to_dict` output (parsed JSON; never reads a file).

        Every field is checked, so a damaged or hostile schema gives a SchemaError.
        """
        if not isinstance(data, Mapping):
            raise SchemaError(f"a schema must be a JSON object, got {type(data).__name__}")
        version = data.get("version", SCHEMA_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise SchemaError(f"schema version must be a positive integer, got {version!r}")
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"schema format version {version} is newer than this synthgen supports "
                f"({SCHEMA_VERSION}); upgrade synthgen"
            )
        min_count = data.get("min_count", DEFAULT_MIN_COUNT)
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise SchemaError(f"schema min_count must be a positive integer, got {min_count!r}")
        columns, constraints = data.get("columns"), data.get("constraints", [])
        if not isinstance(columns, list):
            raise SchemaError("schema JSON needs a 'columns' list")
        if not isinstance(constraints, list) or not all(isinstance(c, dict) for c in constraints):
            raise SchemaError("schema 'constraints' must be a list of objects")
        try:
            built = [constraint_from_dict(c) for c in constraints]
        except (TypeError, ValueError, KeyError) as err:
            if isinstance(err, SchemaError):
                raise
            raise SchemaError(f"schema holds an invalid constraint: {err}") from None
        return cls(
            [ColumnSpec.from_dict(c) for c in columns],
            built,
            Structure.from_dict(data.get("structure")),
            min_count=min_count,
        )

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The schema as JSON text; also written to ``path`` when given (atomically)."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            atomic_write(path, text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike[str]) -> Schema:
        """Read a schema from JSON text, or from a file when given a path.

        A :class:`~pathlib.Path` is always a file; a string is JSON text when it starts with
        ``{`` and a file path otherwise. Use :meth:`from_json_text` for text that must never
        be taken for a path (text from an untrusted source).
        """
        if isinstance(text_or_path, str) and text_or_path.lstrip().startswith("{"):
            return cls.from_json_text(text_or_path)
        try:
            with open(text_or_path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as err:
            raise SchemaError(
                f"cannot read schema file {os.fspath(text_or_path)!r}: {err.strerror or err}"
            ) from None
        return cls.from_json_text(text)

    @classmethod
    def from_json_text(cls, text: str | bytes) -> Schema:
        """Parse a schema from JSON text only (never opens a file).

        Examples
        --------
        >>> Schema.from_json_text("/dev/stdin")
        Traceback (most recent call last):
        ...
        synthgen.exceptions.SchemaError: schema JSON is not valid: Expecting value: ...
        """
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise SchemaError(f"schema JSON is not valid: {err}") from None
        return cls.from_dict(data)
