"""Constraints every generated row must meet, stored with the schema.

Add them before fitting: ``schema.add_constraint(sg.Inequality("start", "<", "end"))``. The
data must meet them (fitting checks, and names the constraint and how many rows break it),
and every sampled row meets them: generators draw, check and redraw.

Built-in constraints round-trip through the schema JSON and the saved model; a
:class:`Predicate` wraps any Python callable and so lives only in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthgen.exceptions import ConstraintError

__all__ = [
    "Bounds",
    "Constraint",
    "FixedCombinations",
    "Inequality",
    "Positive",
    "Predicate",
    "constraint_from_dict",
]


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as numbers or naive datetimes (aware ones in UTC), so any two compare."""
    col = frame[column]
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col
    if not pd.api.types.is_datetime64_any_dtype(col.dtype):
        col = pd.to_datetime(col, errors="coerce", utc=True)
    if getattr(col.dtype, "tz", None) is not None:
        col = col.dt.tz_convert("UTC").dt.tz_localize(None)
    return col


class Constraint:
    """Base class: a rule on the columns of one row."""

    kind: ClassVar[str] = ""
    _registry: ClassVar[dict[str, type[Constraint]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            Constraint._registry[cls.kind] = cls

    @property
    def columns(self) -> list[str]:
        raise NotImplementedError

    def check_schema(self, schema: Any) -> None:
        """Raise ConstraintError when a column is missing or of the wrong kind."""
        for name in self.columns:
            if name not in schema:
                raise ConstraintError(f"{self!r}: column {name!r} is not in the schema")

    def fit(self, data: pd.DataFrame) -> None:
        """Learn what the rule needs from the real data (most rules need nothing)."""

    def is_satisfied(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows that meet the rule."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self))


class Inequality(Constraint):
    """``low_column < high_column`` (or ``<=``) wherever both are present.

    Examples
    --------
    >>> rule = Inequality("start", "<", "end")
    >>> rule.is_satisfied(pd.DataFrame({"start": [1, 5, None], "end": [2, 3, 0]})).tolist()
    [True, False, True]
    """

    kind = "inequality"

    def __init__(self, low_column: str, operator: str, high_column: str) -> None:
        if operator not in ("<", "<=", ">", ">="):
            raise ConstraintError(f"Inequality operator must be <, <=, > or >=, got {operator!r}")
        if operator.startswith(">"):
            low_column, high_column = high_column, low_column
            operator = operator.replace(">", "<")
        self.low_column, self.operator, self.high_column = low_column, operator, high_column

    @property
    def columns(self) -> list[str]:
        return [self.low_column, self.high_column]

    def check_schema(self, schema: Any) -> None:
        super().check_schema(schema)
        for name in self.columns:
            if schema[name].kind not in ("numeric", "datetime"):
                raise ConstraintError(
                    f"{self!r}: column {name!r} is {schema[name].kind}, not numeric or datetime"
                )

    def is_satisfied(self, frame: pd.DataFrame) -> np.ndarray:
        low, high = _numeric(frame, self.low_column), _numeric(frame, self.high_column)
        ok = low < high if self.operator == "<" else low <= high
        return (ok | low.isna() | high.isna()).to_numpy(dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "low_column": self.low_column, "operator": self.operator,
                "high_column": self.high_column}  # fmt: skip

    def __repr__(self) -> str:
        return f"Inequality({self.low_column!r} {self.operator} {self.high_column!r})"


class Bounds(Constraint):
    """``low <= column <= high`` wherever the column is present (either end may be ``None``).

    Examples
    --------
    >>> Bounds("age", 18, 65).is_satisfied(pd.DataFrame({"age": [17, 30, None]})).tolist()
    [False, True, True]
    """

    kind = "bounds"

    def __init__(self, column: str, low: float | None = None, high: float | None = None) -> None:
        if low is None and high is None:
            raise ConstraintError(f"Bounds on {column!r} needs low or high")
        if low is not None and high is not None and low > high:
            raise ConstraintError(f"Bounds on {column!r}: low {low} > high {high}")
        self.column, self.low, self.high = column, low, high

    @property
    def columns(self) -> list[str]:
        return [self.column]

    def check_schema(self, schema: Any) -> None:
        super().check_schema(schema)
        if schema[self.column].kind != "numeric":
            raise ConstraintError(f"{self!r}: column {self.column!r} is not numeric")

    def is_satisfied(self, frame: pd.DataFrame) -> np.ndarray:
        col = frame[self.column]
        ok = pd.Series(True, index=col.index)
        if self.low is not None:
            ok &= col >= self.low
        if self.high is not None:
            ok &= col <= self.high
        return (ok | col.isna()).to_numpy(dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "low": self.low, "high": self.high}

    def __repr__(self) -> str:
        return f"Bounds({self.column!r}, {self.low!r}, {self.high!r})"


class Positive(Bounds):
    """``column > 0`` (or ``>= 0`` with ``strict=False``) wherever present.

    Examples
    --------
    >>> Positive("x").is_satisfied(pd.DataFrame({"x": [0.0, 2.0]})).tolist()
    [False, True]
    """

    kind = "positive"

    def __init__(self, column: str, strict: bool = True) -> None:
        super().__init__(column, low=0.0)
        self.strict = strict

    def is_satisfied(self, frame: pd.DataFrame) -> np.ndarray:
        col = frame[self.column]
        ok = col > 0 if self.strict else col >= 0
        return (ok | col.isna()).to_numpy(dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "strict": self.strict}

    def __repr__(self) -> str:
        return f"Positive({self.column!r}, strict={self.strict})"


def _key(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(None if pd.isna(v) else v for v in values)


class FixedCombinations(Constraint):
    """Only combinations of these columns' values that occur in the real data
    (``city`` with its own ``country``). Learned in ``fit``.

    Examples
    --------
    >>> rule = FixedCombinations(["city", "country"])
    >>> rule.fit(pd.DataFrame({"city": ["Paris", "Lyon"], "country": ["FR", "FR"]}))
    >>> rule.is_satisfied(pd.DataFrame({"city": ["Paris", "Paris"], "country": ["FR", "DE"]}))
    array([ True, False])
    """

    kind = "fixed_combinations"

    def __init__(self, columns: Sequence[str], combinations: Sequence[Sequence[Any]] | None = None):
        if len(columns) < 2:
            raise ConstraintError("FixedCombinations needs at least two columns")
        self._columns = list(columns)
        self.combinations = None if combinations is None else [list(c) for c in combinations]

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def fit(self, data: pd.DataFrame) -> None:
        rows = data[self._columns].drop_duplicates().itertuples(index=False, name=None)
        self.combinations = sorted((list(_key(r)) for r in rows), key=repr)

    def is_satisfied(self, frame: pd.DataFrame) -> np.ndarray:
        if self.combinations is None:
            raise ConstraintError(f"{self!r} has not been fitted on data yet")
        allowed = {tuple(c) for c in self.combinations}
        rows = frame[self._columns].itertuples(index=False, name=None)
        return np.fromiter((_key(r) in allowed for r in rows), dtype=bool, count=len(frame))

    def to_dict(self) -> dict[str, Any]:
        combos = None
        if self.combinations is not None:
            combos = [[v.item() if hasattr(v, "item") else v for v in c] for c in self.combinations]
        return {"kind": self.kind, "columns": self._columns, "combinations": combos}

    def __repr__(self) -> str:
        return f"FixedCombinations({self._columns!r})"


class Predicate(Constraint):
    """Any rule as a Python callable ``frame -> boolean array``. Kept in memory only: a schema
    or model holding one cannot be saved (add it again after loading).

    Examples
    --------
    >>> rule = Predicate(lambda f: f["a"] % 2 == 0, name="a is even")
    >>> rule.is_satisfied(pd.DataFrame({"a": [1, 2]})).tolist()
    [False, True]
    """

    kind = "predicate"

    def __init__(self, function: Callable[[pd.DataFrame], Any], name: str = "predicate",
                 columns: Sequence[str] = ()) -> None:  # fmt: skip
        if not callable(function):
            raise ConstraintError(f"Predicate needs a callable, got {type(function).__name__}")
        self.function, self.name, self._columns = function, name, list(columns)

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def is_satisfied(self, frame: pd.DataFrame) -> np.ndarray:
        try:
            out = np.asarray(self.function(frame), dtype=bool)
        except Exception as err:
            raise ConstraintError(f"{self!r} raised {type(err).__name__}: {err}") from err
        if out.shape != (len(frame),):
            raise ConstraintError(
                f"{self!r} must return one boolean per row ({len(frame)}), got shape {out.shape}"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        raise ConstraintError(
            f"{self!r} wraps Python code and cannot be saved; remove it before saving and add "
            "it again after loading"
        )

    def __repr__(self) -> str:
        return f"Predicate({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return id(self)


def constraint_from_dict(data: dict[str, Any]) -> Constraint:
    """Rebuild a built-in constraint from its :meth:`Constraint.to_dict` output."""
    data = dict(data)
    kind = data.pop("kind", None)
    cls = Constraint._registry.get(kind or "")
    if cls is None or cls is Predicate:
        raise ConstraintError(f"unknown constraint kind {kind!r}")
    try:
        return cls(**data)
    except TypeError as err:
        raise ConstraintError(f"bad {kind} constraint {data!r}: {err}") from None
