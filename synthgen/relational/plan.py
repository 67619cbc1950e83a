"""What the relational model learns about one table besides its generator: a :class:`TablePlan`.

Names of the columns the relational model adds to a table's training rows:

- ``__n__<child>__<column>``: in a parent, how many rows of ``child`` point at each row
  through ``column`` (the parent's generator learns counts jointly with the parent's values);
- ``__p__<column>``: in a child, its parent row's value of ``column`` (the context), with
  ``__p__<column>?missing`` where the parent's column has gaps;
- in a sequence table: ``__pos`` (the event's place, from 0), ``__left`` (events after it),
  ``__gap`` (the order value's step from the previous event; for the first event its offset
  from the parent's anchor column, or its value) and ``__prev__<column>`` (the previous
  event's values; ``__prev____at``: its order value, so that an event knows where in time
  its sequence stands, e.g. how much of the data's window is left).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthgen.exceptions import PersistenceError
from synthgen.relational.features import Feature, OrderSpec
from synthgen.schema.metadata import ForeignKey

__all__ = ["AT", "GAP", "LEFT", "POS", "TablePlan", "context_name", "count_name", "lag_name"]

POS, LEFT, GAP = "__pos", "__left", "__gap"
#: The lag source of an event's order value (its previous event's date or number).
AT = "__at"


def count_name(fk: ForeignKey) -> str:
    """The parent's column counting the child rows of ``fk``."""
    return f"__n__{fk.child}__{fk.column}"


def context_name(column: str) -> str:
    return f"__p__{column}"


def lag_name(column: str) -> str:
    return f"__prev__{column}"


@dataclass
class TablePlan:
    """One table of a fitted :class:`~synthgen.relational.RelationalSynthesizer`.

    Attributes
    ----------
    name : str
        The table.
    columns : list of str
        Its columns, in the order given back.
    own : list of str
        The columns its generator learns (all but keys and the order column).
    key_dtype : str or None
        The primary key's dtype (fresh keys are made in it).
    counts : list of str
        Count columns of its child links (see :func:`count_name`).
    context : list of Feature
        Its first parent's columns as conditioning inputs (empty for a root table).
    order : OrderSpec or None
        The order column of a sequence table.
    lags : list of Feature
        The previous event's columns as conditioning inputs (sequence tables).
    secondary_missing : dict of str to float
        Share of missing values of each further foreign key column.
    n_rows : int
        Training rows (a root table is sampled at ``scale`` times this).
    model : BaseGenerator or None
        The table's generator (of a sequence table: of its first events).
    next_model : BaseGenerator or None
        The generator of a sequence table's further events (``None`` when no parent had
        more than one).
    """

    name: str
    columns: list[str]
    own: list[str]
    key_dtype: str | None = None
    counts: list[str] = field(default_factory=list)
    context: list[Feature] = field(default_factory=list)
    order: OrderSpec | None = None
    lags: list[Feature] = field(default_factory=list)
    secondary_missing: dict[str, float] = field(default_factory=dict)
    n_rows: int = 0
    model: Any = None
    next_model: Any = None

    @property
    def context_columns(self) -> list[str]:
        return [c for f in self.context for c in f.columns]

    @property
    def lag_columns(self) -> list[str]:
        return [c for f in self.lags for c in f.columns]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (the generator is saved apart)."""
        return {
            "name": self.name,
            "columns": list(self.columns),
            "own": list(self.own),
            "key_dtype": self.key_dtype,
            "counts": list(self.counts),
            "context": [f.to_dict() for f in self.context],
            "order": None if self.order is None else self.order.to_dict(),
            "lags": [f.to_dict() for f in self.lags],
            "secondary_missing": dict(self.secondary_missing),
            "n_rows": self.n_rows,
        }

    @classmethod
    def from_dict(cls, data: Any) -> TablePlan:
        """Rebuild from :meth:`to_dict` output read from an untrusted file."""
        keys = {"name", "columns", "own", "key_dtype", "counts", "context", "order", "lags",
                "secondary_missing", "n_rows"}  # fmt: skip
        if not isinstance(data, dict) or set(data) != keys:
            raise PersistenceError(f"a saved table must be an object with the keys {sorted(keys)}")
        for name in ("columns", "own", "counts"):
            _names(data[name], name)
        if not isinstance(data["name"], str) or not isinstance(
            data["key_dtype"], (str, type(None))
        ):
            raise PersistenceError("a saved table's name and key_dtype must be strings")
        n = data["n_rows"]
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 2**40:
            raise PersistenceError(f"saved n_rows must be a whole number >= 0, got {n!r:.40}")
        missing = data["secondary_missing"]
        if not isinstance(missing, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            and 0 <= v <= 1 for k, v in missing.items()
        ):  # fmt: skip
            raise PersistenceError("saved secondary_missing must map columns to shares in [0, 1]")
        for name in ("context", "lags"):
            if not isinstance(data[name], list):
                raise PersistenceError(f"saved {name} must be a list")
        return cls(
            name=data["name"],
            columns=list(data["columns"]),
            own=list(data["own"]),
            key_dtype=data["key_dtype"],
            counts=list(data["counts"]),
            context=[Feature.from_dict(f) for f in data["context"]],
            order=None if data["order"] is None else OrderSpec.from_dict(data["order"]),
            lags=[Feature.from_dict(f) for f in data["lags"]],
            secondary_missing={k: float(v) for k, v in missing.items()},
            n_rows=n,
        )


def _names(value: Any, what: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) < 2000 for v in value):
        raise PersistenceError(f"saved {what} must be a list of column names")
