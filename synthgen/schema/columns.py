"""Column specifications: what one column of a table is.

A :class:`ColumnSpec` records the kind of a column (numeric, categorical, datetime, id, constant,
text), the pandas dtype to give back, the missing-value rate and the facts each kind needs to
decode values exactly (bounds, integer-ness, precision, labels, date format).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from synthgen.exceptions import SchemaError

__all__ = ["KINDS", "ColumnSpec"]

#: Every column kind a schema knows.
KINDS: tuple[str, ...] = ("numeric", "categorical", "datetime", "id", "constant", "text")


def _json_value(value: Any) -> Any:
    """Turn a numpy/pandas scalar into a plain JSON value (``None`` for missing)."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@dataclass
class ColumnSpec:
    """One column of a :class:`~synthgen.schema.Schema`.

    Parameters
    ----------
    name : str
        Column name.
    kind : str
        One of :data:`KINDS`.
    dtype : str
        The pandas dtype the column has, and gets back after sampling (``"int64"``,
        ``"float64"``, ``"object"``, ``"category"``, ``"bool"``, ``"datetime64[ns]"``, ...).
    missing_rate : float
        Share of missing cells in the data the schema was inferred from.
    minimum, maximum : float, optional
        Bounds of numeric values (datetimes: nanoseconds since the epoch).
    integer : bool
        Numeric values are whole numbers.
    decimals : int, optional
        Numeric values have at most this many decimal places (``None``: not rounded).
    categories : list, optional
        Labels of a categorical or text column, exactly as found (whitespace included).
    ordered : bool
        A categorical whose labels have an order (pandas ordered categorical).
    datetime_format : str, optional
        ``strftime`` format when datetimes were given as strings; ``None`` for datetime dtypes.
    datetime_unit : str, optional
        Resolution of datetimes: ``"D"``, ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``.
    value : Any
        The single value of a constant column.
    id_prefix : str, optional
        Prefix for generated string identifiers; ``None`` means integer identifiers.
    extra : dict
        Further facts; ``"semantic"`` (with ``"semantic_confidence"``, ``"semantic_source"``
        and ``"locale"``) is the column's semantic type, read from its values by
        :mod:`synthgen.schema.semantic`.

    Examples
    --------
    >>> spec = ColumnSpec("age", "numeric", "int64", minimum=17, maximum=90, integer=True)
    >>> ColumnSpec.from_dict(spec.to_dict()) == spec
    True
    """

    name: str
    kind: str
    dtype: str
    missing_rate: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    decimals: int | None = None
    categories: list[Any] | None = None
    ordered: bool = False
    datetime_format: str | None = None
    datetime_unit: str | None = None
    value: Any = None
    id_prefix: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SchemaError(
                f"column {self.name!r}: unknown kind {self.kind!r}; expected one of {list(KINDS)}"
            )
        if not 0.0 <= float(self.missing_rate) <= 1.0:
            raise SchemaError(
                f"column {self.name!r}: missing_rate must lie in [0, 1], got {self.missing_rate!r}"
            )

    @property
    def has_missing(self) -> bool:
        """Whether the column had any missing cells."""
        return self.missing_rate > 0.0

    @property
    def semantic(self) -> str | None:
        """The semantic type whose values are generated instead of learned (``"email"``,
        ``"free_text"``, ...; see :mod:`synthgen.schema.semantic`), or ``None``."""
        value = (self.extra or {}).get("semantic")
        return value if isinstance(value, str) and value != "none" else None

    @property
    def is_modelled(self) -> bool:
        """Whether a generator learns this column (ids and constants are produced directly,
        and so are the values of a column with a :attr:`semantic` type)."""
        return self.kind in ("numeric", "categorical", "datetime", "text") and not self.semantic

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        out = asdict(self)
        out["categories"] = (
            None if self.categories is None else [_json_value(c) for c in self.categories]
        )
        for key in ("minimum", "maximum", "value"):
            out[key] = _json_value(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSpec:
        """Build a spec from :meth:`to_dict` output."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise SchemaError(
                f"column {data.get('name')!r}: unknown schema fields {sorted(unknown)}"
            )
        if "name" not in data or "kind" not in data or "dtype" not in data:
            raise SchemaError(f"column spec needs 'name', 'kind' and 'dtype', got {sorted(data)}")
        return cls(**data)
