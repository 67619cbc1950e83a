"""What export's protections changed, per column, in numbers and in plain sentences.

:func:`protection_changes` compares the training rows before and after
:func:`~synthgen.privacy.protections.protect_training_data`; :func:`change_sentences` turns
those records and the copy filter's counts into the lines the CLI prints and the report shows.
Only counts and the clip bounds are recorded (a bound is an inner quantile, held by many rows),
never a merged label or an extreme value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.schema import Schema

__all__ = ["change_sentences", "protection_changes"]


def _as_numbers(col: pd.Series, spec) -> np.ndarray:
    """Values as floats in one order (datetimes and durations in nanoseconds; NaN = missing)."""
    if pd.api.types.is_timedelta64_dtype(col.dtype):
        values = col.to_numpy(dtype="timedelta64[ns]")
    elif pd.api.types.is_datetime64_any_dtype(col.dtype) or spec.kind == "datetime":
        parsed = (
            col
            if pd.api.types.is_datetime64_any_dtype(col.dtype)
            else pd.to_datetime(col, format=spec.datetime_format, errors="coerce")
        )
        if getattr(parsed.dtype, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(None)
        values = parsed.to_numpy(dtype="datetime64[ns]")
    else:
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out = values.astype("int64").astype(float)
    out[pd.isna(values)] = np.nan
    return out


def _shown(value: Any) -> Any:
    """A bound as JSON can hold it: numbers stay numbers, dates and durations become text."""
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, (int, float, str)) else str(value)


def protection_changes(
    before: pd.DataFrame, after: pd.DataFrame, schema: Schema
) -> dict[str, dict[str, Any]]:
    """Per column, how many values were clipped (and to which bounds) and labels merged.

    Returns ``{"clipped": {column: {"values", "raised", "low", "lowered", "high"}},
    "merged": {column: {"labels", "rows", "into"}}}``: ``raised`` values below ``low`` were
    set to ``low``, ``lowered`` values above ``high`` to ``high`` (a side with no change has
    no bound); ``labels`` rare labels held by ``rows`` rows became one of ``into``.

    Examples
    --------
    >>> before = pd.DataFrame({"x": [1.0, 5, 5, 5, 9], "c": ["a", "a", "a", "b", "z"]})
    >>> after = pd.DataFrame({"x": [5.0, 5, 5, 5, 6], "c": ["a", "a", "a", "b", "a"]})
    >>> kinds = {"x": "numeric", "c": "categorical"}
    >>> ch = protection_changes(before, after, Schema.infer(before, kinds=kinds))
    >>> ch["clipped"]["x"]
    {'values': 2, 'raised': 1, 'low': 5, 'lowered': 1, 'high': 6}
    >>> ch["merged"]["c"]
    {'labels': 1, 'rows': 1, 'into': ['a']}
    """
    out: dict[str, dict[str, Any]] = {"clipped": {}, "merged": {}}
    for spec in schema:
        old, new = before[spec.name], after[spec.name]
        if spec.kind in ("numeric", "datetime"):
            a, b = _as_numbers(old, spec), _as_numbers(new, spec)
            raised, lowered = np.flatnonzero(b > a), np.flatnonzero(b < a)
            if len(raised) or len(lowered):
                out["clipped"][spec.name] = {
                    "values": len(raised) + len(lowered),
                    "raised": len(raised),
                    "low": _shown(new.iloc[raised[0]]) if len(raised) else None,
                    "lowered": len(lowered),
                    "high": _shown(new.iloc[lowered[0]]) if len(lowered) else None,
                }
        elif spec.kind in ("categorical", "text"):
            changed = (old.astype(object) != new.astype(object)) & old.notna()
            if changed.any():
                out["merged"][spec.name] = {
                    "labels": int(old[changed].nunique()),
                    "rows": int(changed.sum()),
                    "into": sorted((_shown(v) for v in pd.unique(new[changed])), key=str),
                }
    return out


def _n(count: int, word: str) -> str:
    """``count`` and ``word``, plural unless one (``_n(1, "row")`` is ``"1 row"``)."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def change_sentences(
    changes: dict[str, Any], copies: dict[str, Any] | None, min_count: int
) -> list[str]:
    """The changes as short sentences, clipping and merging per column, then the copy filter.

    Examples
    --------
    >>> ch = {"clipped": {"age": {"values": 3, "raised": 0, "low": None, "lowered": 3,
    ...                           "high": 79}}, "merged": {}}
    >>> change_sentences(ch, None, 10)
    ['age: 3 values above 79 lowered to 79 (extreme values are never learned).']
    >>> change_sentences({}, {"exact_copies": 1, "near_copies": 12}, 10)  # doctest: +ELLIPSIS
    ['13 synthetic rows dropped and redrawn as copies of training rows (1 exact, 12 near: ...']
    """
    lines = []
    for name, c in changes.get("clipped", {}).items():
        parts = []
        if c["raised"]:
            parts.append(f"{_n(c['raised'], 'value')} below {c['low']} raised to {c['low']}")
        if c["lowered"]:
            parts.append(f"{_n(c['lowered'], 'value')} above {c['high']} lowered to {c['high']}")
        lines.append(f"{name}: {', '.join(parts)} (extreme values are never learned).")
    for name, m in changes.get("merged", {}).items():
        into = ", ".join(repr(v) for v in m["into"])
        lines.append(
            f"{name}: {_n(m['labels'], 'label')} held by fewer than {min_count} rows "
            f"({_n(m['rows'], 'row')}) merged into {into}."
        )
    if copies:
        exact, near = copies.get("exact_copies", 0), copies.get("near_copies", 0)
        if exact or near:
            lines.append(
                f"{_n(exact + near, 'synthetic row')} dropped and redrawn as copies of training "
                f"rows ({exact:,} exact, {near:,} near: nearer to a training row than real "
                "unseen rows come)."
            )
        if copies.get("natural_duplicates"):
            n = copies["natural_duplicates"]
            lines.append(
                f"{n:,} {'row' if n == 1 else 'rows'} kept that equal a row several training "
                f"rows share: natural duplicates ({copies['base_rate']:.1%} of real unseen rows "
                "also equal a training row)."
            )
    return lines
