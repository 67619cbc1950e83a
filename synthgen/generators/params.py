"""Declarative parameter constraints, checked once in ``fit`` (the scikit-learn way).

A generator lists, for each constructor parameter, the constraints any one of which the value
must meet (``_parameter_constraints``, merged along the class hierarchy). :func:`validate_params`
checks them all and raises :class:`~synthgen.exceptions.ConfigurationError` naming the
parameter, what it accepts and what it got. Every constraint can also produce a value it
rejects (:meth:`Constraint.invalid`), so the contract suite tests the validation of every
parameter of every generator without hand-written cases.

Examples
--------
>>> class Toy:
...     _parameter_constraints = {"epochs": [Integer(1)], "tau": [Real(0, open_low=True), None]}
...     def get_params(self, deep=False):
...         return {"epochs": self.epochs, "tau": self.tau}
>>> toy = Toy()
>>> toy.epochs, toy.tau = 3, None
>>> validate_params(toy)
>>> toy.epochs = 0
>>> validate_params(toy)
Traceback (most recent call last):
...
synthgen.exceptions.ConfigurationError: epochs of Toy must be an integer >= 1, got 0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from synthgen.exceptions import ConfigurationError

__all__ = [
    "Boolean",
    "Check",
    "Constraint",
    "IntTuple",
    "Integer",
    "Options",
    "Real",
    "Seed",
    "constraints_of",
    "validate_params",
]


class Constraint:
    """One acceptable kind of value; a parameter accepts a value meeting any of its list."""

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def invalid(self) -> Any:
        """A value this constraint rejects (the contract suite feeds it to ``fit``)."""
        return object()


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


class Integer(Constraint):
    """An integer (not a bool) in ``[low, high]`` (``None``: unbounded)."""

    def __init__(self, low: int | None = None, high: int | None = None) -> None:
        self.low, self.high = low, high

    def accepts(self, value: Any) -> bool:
        if not _is_int(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"an integer in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"an integer >= {self.low}"
        if self.high is not None:
            return f"an integer <= {self.high}"
        return "an integer"

    def invalid(self) -> Any:
        if self.low is not None:
            return self.low - 1
        if self.high is not None:
            return self.high + 1
        return 0.5


class Real(Constraint):
    """A finite number (not a bool) between ``low`` and ``high``, each end closed unless open."""

    def __init__(
        self,
        low: float | None = None,
        high: float | None = None,
        *,
        open_low: bool = False,
        open_high: bool = False,
    ) -> None:
        self.low, self.high, self.open_low, self.open_high = low, high, open_low, open_high

    def accepts(self, value: Any) -> bool:
        if not _is_real(value) or not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return self.high is None or (value < self.high if self.open_high else value <= self.high)

    def describe(self) -> str:
        if self.low is None and self.high is None:
            return "a finite number"
        if self.high is None:
            op = ">" if self.open_low else ">="
            return f"a number {op} {_bound(self.low)}"  # type: ignore[arg-type]
        if self.low is None:
            op = "<" if self.open_high else "<="
            return f"a number {op} {_bound(self.high)}"
        left = "(" if self.open_low else "["
        right = ")" if self.open_high else "]"
        return f"a number in {left}{_bound(self.low)}, {_bound(self.high)}{right}"

    def invalid(self) -> Any:
        if self.low is not None:
            return self.low if self.open_low else self.low - 1
        if self.high is not None:
            return self.high if self.open_high else self.high + 1
        return math.nan


class Options(Constraint):
    """One of the listed values (compared with ``==``, strings case-sensitively)."""

    def __init__(self, *values: Any) -> None:
        self.values = values

    def accepts(self, value: Any) -> bool:
        return isinstance(value, type(self.values[0])) and value in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def invalid(self) -> Any:
        return "not-an-option" if isinstance(self.values[0], str) else object()


class Boolean(Constraint):
    """``True`` or ``False`` (numpy bools too)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        return "a bool"

    def invalid(self) -> Any:
        return "yes"


class IntTuple(Constraint):
    """A tuple or list of integers ``>= low`` with at least ``min_len`` items."""

    def __init__(self, low: int = 1, min_len: int = 1) -> None:
        self.low, self.min_len = low, min_len

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, (tuple, list))
            and len(value) >= self.min_len
            and all(_is_int(v) and v >= self.low for v in value)
        )

    def describe(self) -> str:
        return f"a tuple of at least {self.min_len} integers >= {self.low}"

    def invalid(self) -> Any:
        return (self.low - 1,)


class Seed(Constraint):
    """A random state: ``None``, a non-negative integer or a ``numpy.random.Generator``."""

    def accepts(self, value: Any) -> bool:
        return (
            value is None
            or isinstance(value, np.random.Generator)
            or (_is_int(value) and value >= 0)
        )

    def describe(self) -> str:
        return "None, a non-negative integer or a numpy Generator"

    def invalid(self) -> Any:
        return -1


class Check(Constraint):
    """A value ``predicate`` accepts (for the few parameters no other constraint describes)."""

    def __init__(self, predicate: Callable[[Any], bool], description: str, bad: Any) -> None:
        self.predicate, self.description, self.bad = predicate, description, bad

    def accepts(self, value: Any) -> bool:
        try:
            return bool(self.predicate(value))
        except Exception:  # a predicate that cannot judge the value rejects it
            return False

    def describe(self) -> str:
        return self.description

    def invalid(self) -> Any:
        return self.bad


class _NoneConstraint(Constraint):
    def accepts(self, value: Any) -> bool:
        return value is None

    def describe(self) -> str:
        return "None"


def _make(constraint: Any) -> Constraint:
    if constraint is None:
        return _NoneConstraint()
    if isinstance(constraint, Constraint):
        return constraint
    raise TypeError(f"not a parameter constraint: {constraint!r}")


def constraints_of(cls: type) -> dict[str, list[Constraint]]:
    """Every parameter's constraints, merged from ``cls`` and its bases (the subclass wins)."""
    merged: dict[str, list[Constraint]] = {}
    for klass in reversed(cls.__mro__):
        own: Mapping[str, Any] = klass.__dict__.get("_parameter_constraints", {})
        merged.update({name: [_make(c) for c in spec] for name, spec in own.items()})
    return merged


def validate_params(estimator: Any) -> None:
    """Check every parameter of ``estimator`` against its declared constraints.

    Raises
    ------
    ConfigurationError
        A value no constraint of its parameter accepts, naming the parameter, what it
        accepts and the value; or a parameter with no declared constraint (a bug in the
        generator, reported the same way so it cannot go unnoticed).
    """
    cls = type(estimator)
    table = constraints_of(cls)
    for name, value in estimator.get_params(deep=False).items():
        if name not in table:
            raise ConfigurationError(f"{cls.__name__} declares no constraint for {name!r}")
        options = table[name]
        if any(c.accepts(value) for c in options):
            continue
        wanted = " or ".join(c.describe() for c in options)
        raise ConfigurationError(f"{name} of {cls.__name__} must be {wanted}, got {value!r}")
