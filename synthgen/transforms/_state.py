"""Checks of saved transform states: a saved model is untrusted data.

Each helper returns the checked value or raises ``ValueError`` with a short description; the
column encoders turn that into a :class:`~synthgen.exceptions.PersistenceError` naming the
column.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Longest list a saved transform state may hold (quantiles, modes, codes).
MAX_STATE_LENGTH = 10_000_000


def number(state: dict[str, Any], key: str) -> float:
    """A finite number stored under ``key``."""
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number, got {value!r}")
    return float(value)


def integer(state: dict[str, Any], key: str, low: int, high: int) -> int:
    """An integer in ``[low, high]`` stored under ``key``."""
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key} must be an integer in [{low}, {high}], got {value!r}")
    return value


def numbers(
    state: dict[str, Any],
    key: str,
    *,
    length: int | None = None,
    min_length: int = 0,
    max_length: int = MAX_STATE_LENGTH,
    dtype: Any = float,
) -> np.ndarray:
    """A list of finite numbers (of ``length``, when given) stored under ``key``.

    Examples
    --------
    >>> numbers({"q": [1, 2.5]}, "q").tolist()
    [1.0, 2.5]
    >>> numbers({"q": [1, None]}, "q")
    Traceback (most recent call last):
    ...
    ValueError: q must be a list of numbers
    """
    values = state[key]

    def ok(v: Any) -> bool:
        if dtype is bool:
            return isinstance(v, bool)
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if not isinstance(values, list) or not all(ok(v) for v in values):
        raise ValueError(f"{key} must be a list of numbers")
    if length is not None and len(values) != length:
        raise ValueError(f"{key} has {len(values)} entries, expected {length}")
    if not min_length <= len(values) <= max_length:
        raise ValueError(f"{key} has {len(values)} entries, expected {min_length} to {max_length}")
    try:
        out = np.asarray(values, dtype=dtype)
    except OverflowError:
        raise ValueError(f"{key} holds numbers too large for a float") from None
    if dtype is float and not np.isfinite(out).all():
        raise ValueError(f"{key} holds NaN or infinite values")
    return out
