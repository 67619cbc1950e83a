"""Structure of a table beyond its columns: hierarchies, missing-together groups, coordinates.

A :class:`Structure` lives on the schema (``schema.structure``), is found by
:meth:`Schema.infer <synthgen.schema.Schema.infer>` (see :mod:`synthgen.schema.discover`),
round-trips through the schema JSON and is kept by every generator (the table encoder models a
hierarchy's child through its parent, a missing-together group through one missing flag and a
coordinate pair as one point):

- :class:`Hierarchy` ``parent -> child``: the parent's label determines the child's
  (neighbourhood -> borough, zip -> city). A missing cell counts as a label on both sides.
- :class:`MissingGroup`: columns whose cells are missing in exactly the same rows.
- :class:`GeoPair`: a latitude and a longitude column, modelled as one point.
- ``suggestions``: inequalities that hold on every row (``start <= end``), listed for review
  only; :meth:`Schema.accept_suggestions <synthgen.schema.Schema.accept_suggestions>` turns
  them into constraints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConstraintError, SchemaError
from synthgen.schema.constraints import Constraint, Inequality, constraint_from_dict

__all__ = ["GeoPair", "Hierarchy", "MissingGroup", "Structure", "factorize"]

#: Kinds a hierarchy's parent and child may have.
PARENT_KINDS = ("categorical",)
CHILD_KINDS = ("categorical", "numeric")


def factorize(col: pd.Series) -> np.ndarray:
    """Integer codes of a column's values, a missing cell being a value of its own (the
    last code).

    Examples
    --------
    >>> factorize(pd.Series(["b", None, "b", "a"])).tolist()
    [0, 2, 0, 1]
    """
    # Missing cells as pandas' sentinel (-1), then a code of their own: asking pandas for
    # that code instead searches an object column for missing cells in a pass of its own.
    codes, uniques = pd.factorize(col.astype(object))
    codes = codes.astype(np.int64)
    codes[codes < 0] = len(uniques)
    return codes


def fd_breaks(parent: np.ndarray, child: np.ndarray) -> int:
    """Rows whose parent code maps to more than one child code: all rows of each parent code
    beyond those holding its commonest child (0 when ``parent -> child`` is a function)."""
    pairs = parent * (int(child.max()) + 1) + child
    uniq, counts = np.unique(pairs, return_counts=True)
    owner = uniq // (int(child.max()) + 1)
    order = np.lexsort((-counts, owner))
    first = np.ones(len(order), dtype=bool)
    first[1:] = owner[order][1:] != owner[order][:-1]
    return int(counts.sum() - counts[order][first].sum())


@dataclass(frozen=True)
class Hierarchy:
    """``parent -> child``: each parent label (missing included) has one child label."""

    parent: str
    child: str

    def to_dict(self) -> dict[str, Any]:
        return {"parent": self.parent, "child": self.child}

    def describe(self) -> str:
        return f"{self.parent} -> {self.child}"


@dataclass(frozen=True)
class MissingGroup:
    """Columns missing in exactly the same rows (the first one leads)."""

    columns: tuple[str, ...]

    def to_dict(self) -> list[str]:
        return list(self.columns)

    def describe(self) -> str:
        return ", ".join(self.columns)


@dataclass(frozen=True)
class GeoPair:
    """A latitude and a longitude column, modelled together as one point."""

    latitude: str
    longitude: str

    def to_dict(self) -> dict[str, Any]:
        return {"latitude": self.latitude, "longitude": self.longitude}

    def describe(self) -> str:
        return f"{self.latitude}, {self.longitude}"


@dataclass
class Structure:
    """The structure rules of a table (see the module docstring).

    Examples
    --------
    >>> s = Structure(hierarchies=[Hierarchy("city", "country")],
    ...               missing_groups=[MissingGroup(("a", "b"))])
    >>> Structure.from_dict(s.to_dict()) == s
    True
    >>> print(s.summary())
    Structure (kept exactly by every generator; edit "structure" in the schema JSON to change):
      hierarchy         city -> country
      missing together  a, b
    """

    hierarchies: list[Hierarchy] = field(default_factory=list)
    missing_groups: list[MissingGroup] = field(default_factory=list)
    geo_pairs: list[GeoPair] = field(default_factory=list)
    suggestions: list[Constraint] = field(default_factory=list)

    @property
    def rules(self) -> list[Hierarchy | MissingGroup | GeoPair]:
        """Every rule that generators keep (suggestions excluded)."""
        return [*self.hierarchies, *self.missing_groups, *self.geo_pairs]

    def __bool__(self) -> bool:
        return bool(self.rules or self.suggestions)

    # -- checks -------------------------------------------------------------------------------
    def check_schema(self, schema: Any) -> None:
        """Raise SchemaError when a rule names an unknown column, a column of the wrong kind,
        or when rules overlap in a way no encoder can keep (a child with two parents, a cycle,
        a column in two groups or two pairs)."""
        names = set(schema.names)

        def need(name: Any, what: str) -> Any:
            if not isinstance(name, str) or name not in names:
                raise SchemaError(f"structure: {what} names column {name!r}, not in the schema")
            return schema[name]

        children: dict[str, str] = {}
        for rule in self.hierarchies:
            where = f"hierarchy {rule.describe()}"
            parent, child = need(rule.parent, where), need(rule.child, where)
            if rule.parent == rule.child:
                raise SchemaError(f"structure: {where} relates a column to itself")
            if parent.kind not in PARENT_KINDS or child.kind not in CHILD_KINDS:
                raise SchemaError(
                    f"structure: {where}: a parent must be categorical and a child categorical "
                    f"or numeric, got {parent.kind} -> {child.kind}"
                )
            if rule.child in children:
                raise SchemaError(
                    f"structure: column {rule.child!r} has two parents "
                    f"({children[rule.child]!r} and {rule.parent!r}); keep one"
                )
            children[rule.child] = rule.parent
        for start in children:  # walk up from every child: a cycle never reaches a root
            seen, node = {start}, start
            while node in children:
                node = children[node]
                if node in seen:
                    raise SchemaError(f"structure: hierarchies form a cycle through {node!r}")
                seen.add(node)
        grouped: set[str] = set()
        for group in self.missing_groups:
            where = f"missing group [{group.describe()}]"
            if len(group.columns) < 2 or len(set(group.columns)) != len(group.columns):
                raise SchemaError(f"structure: {where} needs two or more distinct columns")
            for name in group.columns:
                spec = need(name, where)
                if spec.kind in ("id", "constant"):
                    raise SchemaError(f"structure: {where}: column {name!r} is {spec.kind}")
                if name in grouped:
                    raise SchemaError(f"structure: column {name!r} is in two missing groups")
                grouped.add(name)
        paired: set[str] = set()
        for pair in self.geo_pairs:
            where = f"coordinate pair ({pair.describe()})"
            for name in (pair.latitude, pair.longitude):
                spec = need(name, where)
                if spec.kind != "numeric":
                    raise SchemaError(f"structure: {where}: column {name!r} is not numeric")
                if name in paired or name in children or name in children.values():
                    raise SchemaError(
                        f"structure: column {name!r} is in two coordinate pairs or hierarchies"
                    )
                paired.add(name)
            if pair.latitude == pair.longitude:
                raise SchemaError(f"structure: {where} names one column twice")
        for suggestion in self.suggestions:
            try:
                suggestion.check_schema(schema)
            except ConstraintError as err:
                raise SchemaError(f"structure: suggestion {err}") from None

    def check_data(self, data: pd.DataFrame) -> None:
        """Raise ConstraintError naming the first rule that rows of ``data`` break."""
        for rule in self.hierarchies:
            broken = fd_breaks(factorize(data[rule.parent]), factorize(data[rule.child]))
            if broken:
                raise ConstraintError(
                    f"hierarchy {rule.describe()} is broken by {broken} of {len(data)} rows of "
                    f"the data (a {rule.parent} value with more than one {rule.child}); fix the "
                    "data or drop the rule from schema.structure"
                )
        for rule in [*self.missing_groups, *self.geo_pairs]:
            names = list(rule.columns) if isinstance(rule, MissingGroup) else [
                rule.latitude, rule.longitude]  # fmt: skip
            masks = data[names].isna().to_numpy()
            broken = int((masks.any(axis=1) & ~masks.all(axis=1)).sum())
            if broken:
                what = "missing group" if isinstance(rule, MissingGroup) else "coordinate pair"
                raise ConstraintError(
                    f"{what} [{rule.describe()}] is broken by {broken} of {len(data)} rows of "
                    "the data (some of its cells missing, others not); fix the data or drop "
                    "the rule from schema.structure"
                )

    def restricted(self, schema: Any) -> Structure:
        """The rules that still fit ``schema`` (after a column changed kind)."""
        out = Structure()
        for name in ("hierarchies", "missing_groups", "geo_pairs", "suggestions"):
            for rule in getattr(self, name):
                trial = Structure(**{name: [*getattr(out, name), rule]})
                try:
                    trial.check_schema(schema)
                except SchemaError:
                    continue
                getattr(out, name).append(rule)
        return out

    def holding(self, data: pd.DataFrame, schema: Any) -> Structure:
        """The rules that fit ``schema`` and that every row of ``data`` meets (after the data
        was changed, e.g. rare labels merged)."""
        out = self.restricted(schema)
        for name in ("hierarchies", "missing_groups", "geo_pairs"):
            kept = []
            for rule in getattr(out, name):
                try:
                    Structure(**{name: [rule]}).check_data(data)
                except ConstraintError:
                    continue
                kept.append(rule)
            setattr(out, name, kept)
        out.suggestions = [s for s in out.suggestions if bool(s.is_satisfied(data).all())]
        return out

    def take_suggestions(self, which: list[int] | None = None) -> list[Constraint]:
        """Remove and return the suggestions at the positions in ``which`` (all: ``None``)."""
        pending = self.suggestions
        picked = list(range(len(pending))) if which is None else list(which)
        for i in picked:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(pending):
                raise SchemaError(
                    f"no suggestion at position {i!r}: there are {len(pending)} suggestions"
                )
        chosen = [pending[i] for i in picked]
        self.suggestions = [s for i, s in enumerate(pending) if i not in picked]
        return chosen

    # -- review -------------------------------------------------------------------------------
    def summary(self) -> str:
        """The rules as text for review (empty string when there are none)."""
        lines = []
        if self.rules:
            lines.append(
                'Structure (kept exactly by every generator; edit "structure" in the schema '
                "JSON to change):"
            )
            lines += [f"  hierarchy         {r.describe()}" for r in self.hierarchies]
            lines += [f"  missing together  {g.describe()}" for g in self.missing_groups]
            lines += [f"  coordinates       {p.describe()}" for p in self.geo_pairs]
        if self.suggestions:
            lines.append(
                "Suggested constraints (hold on every row; not applied until accepted with "
                "schema.accept_suggestions()):"
            )
            lines += [f"  {_describe(s)}" for s in self.suggestions]
        return "\n".join(lines)

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "hierarchies": [r.to_dict() for r in self.hierarchies],
            "missing_groups": [g.to_dict() for g in self.missing_groups],
            "geo_pairs": [p.to_dict() for p in self.geo_pairs],
            "suggestions": [s.to_dict() for s in self.suggestions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Structure:
        """Rebuild from :meth:`to_dict` output (``None``: no structure); every entry checked."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise SchemaError(f"schema 'structure' must be an object, got {type(data).__name__}")
        unknown = set(data) - {"hierarchies", "missing_groups", "geo_pairs", "suggestions"}
        if unknown:
            raise SchemaError(f"schema 'structure' has unknown entries {sorted(unknown)}")

        def items(key: str) -> list[Any]:
            value = data.get(key, [])
            if not isinstance(value, list):
                raise SchemaError(f"structure '{key}' must be a list")
            return value

        def entry(item: Any, keys: tuple[str, ...], key: str) -> list[str]:
            if not isinstance(item, Mapping) or set(item) != set(keys):
                raise SchemaError(f"structure '{key}' entries must be objects with {list(keys)}")
            values = [item[k] for k in keys]
            if not all(isinstance(v, str) for v in values):
                raise SchemaError(f"structure '{key}': column names must be strings")
            return values

        hierarchies = [Hierarchy(*entry(h, ("parent", "child"), "hierarchies"))
                       for h in items("hierarchies")]  # fmt: skip
        groups = []
        for g in items("missing_groups"):
            if not isinstance(g, list) or not all(isinstance(c, str) for c in g):
                raise SchemaError("structure 'missing_groups' entries must be lists of names")
            groups.append(MissingGroup(tuple(g)))
        pairs = [GeoPair(*entry(p, ("latitude", "longitude"), "geo_pairs"))
                 for p in items("geo_pairs")]  # fmt: skip
        suggestions = []
        for s in items("suggestions"):
            if not isinstance(s, dict):
                raise SchemaError("structure 'suggestions' entries must be objects")
            try:
                suggestions.append(constraint_from_dict(s))
            except ConstraintError as err:
                raise SchemaError(f"structure: invalid suggestion: {err}") from None
        return cls(hierarchies, groups, pairs, suggestions)


def _describe(constraint: Constraint) -> str:
    if isinstance(constraint, Inequality):
        return f"{constraint.low_column} {constraint.operator} {constraint.high_column}"
    return repr(constraint)
