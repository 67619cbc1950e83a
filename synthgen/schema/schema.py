"""The :class:`Schema` of a table: its columns in order, with a JSON round-trip."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConstraintError, SchemaError
from synthgen.files import atomic_write
from synthgen.schema.columns import KINDS, ColumnSpec
from synthgen.schema.constraints import Constraint
from synthgen.schema.discover import discover_structure
from synthgen.schema.forced import forced_column
from synthgen.schema.infer import check_frame, infer_column
from synthgen.schema.safe import DEFAULT_MIN_COUNT
from synthgen.schema.semantic import apply_semantics, summary_frame
from synthgen.schema.semantic import describe as describe_semantic
from synthgen.schema.structure import Structure
from synthgen.schema.validation import SCHEMA_VERSION, parse_schema_fields, validate_frame

__all__ = ["SCHEMA_VERSION", "Schema"]


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
        semantic: Mapping[str, str] | None = None,
        locale: str | None = None,
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
        semantic : mapping, optional
            Column name -> semantic type (``"email"``, ``"free_text"``, ...; see
            :mod:`synthgen.schema.semantic`), overriding detection from the values; ``"none"``
            turns it off, so the column's real values are modelled (and may be reproduced).
        locale : str, optional
            Faker locale of generated personal values; guessed from the data when omitted.
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
        # Each column's missing cells, found once: inference and the search for columns
        # missing together both read them (a pass over every value of an object column).
        missing: dict[str, np.ndarray] = {}
        for name in data.columns:
            cells = data[name].isna().to_numpy()
            if cells.any():
                missing[name] = cells
            if name in kinds:
                if kinds[name] not in KINDS:
                    raise SchemaError(
                        f"column {name!r}: unknown kind {kinds[name]!r}; "
                        f"expected one of {list(KINDS)}"
                    )
                columns.append(forced_column(name, data[name], kinds[name], min_count))
            else:
                columns.append(
                    infer_column(
                        name,
                        data[name],
                        max_int_categories=max_int_categories,
                        max_categories=max_categories,
                        min_count=min_count,
                        missing_cells=cells,
                    )
                )
        schema = cls(
            apply_semantics(data, columns, semantic=semantic, locale=locale),
            min_count=min_count,
        )
        if structure:
            schema.structure = discover_structure(data, schema, missing=missing)
        return schema

    def set_kind(self, name: str, kind: str, data: pd.DataFrame) -> Schema:
        """Return a copy of the schema with column ``name`` re-described as ``kind``."""
        if name not in self.names:
            raise SchemaError(f"column {name!r} is not in the schema")
        if kind not in KINDS:
            raise SchemaError(
                f"column {name!r}: unknown kind {kind!r}; expected one of {list(KINDS)}"
            )
        data = check_frame(data)
        if name not in data.columns:
            raise SchemaError(f"column {name!r} is not in the data")
        out = self._copy()
        idx = out.names.index(name)
        out.columns[idx] = forced_column(name, data[name], kind, self.min_count)
        out.structure = self.structure.restricted(out)  # rules the new kind rules out go
        return out

    def _copy(self) -> Schema:
        return Schema(
            [ColumnSpec.from_dict(c.to_dict()) for c in self.columns],
            list(self.constraints),
            min_count=self.min_count,
        )

    def complete(self, data: pd.DataFrame) -> Schema:
        """The schema with what a hand-edited spec left out learned from ``data``.

        A column whose kind was changed in the JSON (``"kind": "categorical"`` on a numeric
        column) needs no list of categories typed in: a categorical or text spec without
        ``categories``, or a numeric or datetime spec without bounds, is described afresh
        from the data as that kind (as :meth:`set_kind` does). Complete specs are kept as
        they are; the schema itself is not modified. :meth:`BaseGenerator.fit` calls this.

        Examples
        --------
        >>> df = pd.DataFrame({"code": [1, 2, 3] * 5})
        >>> edited = Schema.infer(df, kinds={"code": "numeric"}).to_dict()
        >>> edited["columns"][0].update(kind="categorical", categories=None)
        >>> Schema.from_dict(edited).complete(df)["code"].categories
        [1, 2, 3]
        """
        if all(c.is_complete for c in self.columns):
            return self
        data = check_frame(data)
        out = self._copy()
        for i, spec in enumerate(out.columns):
            if not spec.is_complete:
                if spec.name not in data.columns:
                    raise SchemaError(f"column {spec.name!r} is not in the data")
                out.columns[i] = forced_column(
                    spec.name, data[spec.name], spec.kind, self.min_count
                )
        out.structure = self.structure.restricted(out)
        return out

    # -- access -------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSpec:
        # A name -> position index, checked on every hit and rebuilt when ``columns`` has
        # changed: a lookup stays O(1) on a table of thousands of columns.
        index = self.__dict__.get("_positions")
        i = index.get(name) if index is not None else None
        if i is None or i >= len(self.columns) or self.columns[i].name != name:
            index = {c.name: k for k, c in reversed(list(enumerate(self.columns)))}
            self.__dict__["_positions"] = index
            i = index.get(name)
        if i is None:
            raise SchemaError(f"column {name!r} is not in the schema (columns: {self.names})")
        return self.columns[i]

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
        """The schema as text for review: a line per column (with its semantic type and what
        happens to its values, where it has one), then the structure rules and suggestions."""
        lines = []
        for c in self.columns:
            line = f"{c.name}: {c.kind} ({c.dtype}, {c.missing_rate:.1%} missing)"
            if c.semantic:
                line += f"; {describe_semantic(c)}"
            lines.append(line)
        rules = self.structure.summary()
        return "\n".join([*lines, rules] if rules else lines)

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{c.name}: {c.kind}" + (f" ({c.semantic})" if c.semantic else "") for c in self
        )
        return f"Schema({inner})"

    def summary_frame(self) -> pd.DataFrame:
        """One row per column: kind, dtype, missing share, semantic type, its confidence and
        what happens to the values (``note``)."""
        return summary_frame(self)

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
        return validate_frame(self, data, allow_unseen=allow_unseen)

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
        min_count, columns, built = parse_schema_fields(data)
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
