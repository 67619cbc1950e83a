"""Extending given event sequences: further events after each sequence's last one.

The events a sequence already has play the part of drawn ones: the parent row gives the
context, the last event gives the lags (its values and its step from the event before), its
order value is where the new steps start, and the place and the events left count from the
sequence's real length. New events come from the same event model as a sampled sequence's
later events, so they are in order after the given ones by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConfigurationError, DataError
from synthgen.relational.features import make_keys
from synthgen.relational.fitting import gap_values, group_positions
from synthgen.relational.plan import AT, GAP, count_name
from synthgen.relational.sampling import SequenceState, draw_sequences, fill_counts
from synthgen.schema import check_frame

__all__ = ["extend_sequences"]


def _counts(n_events: Any, n_parents: int) -> np.ndarray:
    values = np.full(n_parents, n_events) if np.ndim(n_events) == 0 else np.asarray(n_events)
    if values.shape != (n_parents,):
        raise ConfigurationError(
            f"n_events must be one count or one count per parent row ({n_parents}), "
            f"got shape {values.shape}"
        )
    ok = values.dtype.kind in "iu" or (
        values.dtype.kind == "f" and np.all(np.isfinite(values)) and np.all(values % 1 == 0)
    )
    if values.dtype == bool or not ok or np.any(values < 0):
        raise ConfigurationError("n_events must be whole numbers >= 0")
    return values.astype(np.int64)


def _check_columns(frame: pd.DataFrame, needed: list[str], what: str, table: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"{what} lack the column(s) {missing} of table {table!r}")


def _state(plan: Any, events: pd.DataFrame, owner: np.ndarray, n_parents: int) -> SequenceState:
    """Each parent's real sequence: its length, last order value and last event's lags."""
    order = plan.order
    values = order.to_float(events[order.column])
    sort = np.lexsort((np.arange(len(events)), values, owner))
    owner, values = owner[sort], values[sort]
    rows = events.iloc[sort].reset_index(drop=True)
    pos, _ = group_positions(owner)
    begin = np.bincount(owner, minlength=n_parents).astype(np.int64)
    is_last = np.r_[owner[1:] != owner[:-1], True] if len(owner) else np.zeros(0, bool)
    diff = np.where(pos > 0, values - np.r_[values[:1], values[:-1]], 0.0)
    step = np.where(pos > 0, gap_values(diff, order).astype(float), np.nan)
    value = np.zeros(n_parents)
    value[owner[is_last]] = values[is_last]
    last = {}
    for f in plan.lags:
        src = (
            step if f.column == GAP else values if f.column == AT
            else rows[f.column].to_numpy(dtype=object)
        )  # fmt: skip
        col = np.full(n_parents, None, dtype=object)
        col[owner[is_last]] = [None if pd.isna(v) else v for v in src[is_last]]
        last[f.column] = col
    return SequenceState(begin, value, last)


def _further_keys(
    given: pd.Series, n: int, plan: Any, column: str, rng: np.random.Generator
) -> np.ndarray:
    """A further foreign key (a second parent) of new events: keys the given events already
    use, drawn at their frequency (so every one resolves wherever the given ones do),
    missing at the share the training data had."""
    pool = given.dropna().to_numpy(dtype=object)
    out = np.full(n, None, dtype=object)
    present = rng.random(n) >= plan.secondary_missing.get(column, 0.0)
    if present.any() and len(pool) == 0:
        raise DataError(
            f"events: the foreign key {column!r} has no value to continue from (give at "
            f"least one event that has it, or further_keys={{{column!r}: keys}})"
        )
    out[present] = pool[rng.integers(0, len(pool), int(present.sum()))]
    return pd.Series(out, dtype=object).infer_objects().to_numpy()


def _fresh_keys(table: str, events: pd.DataFrame, pk: str, n: int, like: str | None):
    """``n`` keys of the table's kind that none of the given events has."""
    taken = set(events[pk].tolist())
    pool = make_keys(table, n + len(taken), like)
    return pool[~pool.isin(taken)].iloc[:n].reset_index(drop=True)


def extend_sequences(
    model: Any,
    table: str,
    parents: pd.DataFrame,
    events: pd.DataFrame,
    n_events: Any,
    rng: np.random.Generator,
    further_keys: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Draw ``n_events`` further events of each parent's sequence in ``table``.

    Parameters
    ----------
    model : RelationalSynthesizer
        Fitted; ``table`` must be one of its sequence tables (it has an order column).
    table : str
        The sequence table.
    parents : DataFrame
        Rows of its parent table: the parent's key and the columns its generator learned.
    events : DataFrame
        The sequences so far: rows of ``table`` with the foreign key to ``parents``, the order
        column and the table's own columns. A parent without events starts a new sequence.
    n_events : int or array-like of int
        Events to add per parent row (one count for all, or one per row).
    rng : numpy.random.Generator
    further_keys : dict of str to array-like, optional
        For a table with further foreign keys (a second parent): the keys each such column
        may take (e.g. ``{"store_id": stores["id"]}``); by default the keys the given events
        use, at their frequency.

    Returns
    -------
    DataFrame
        Only the new events, with the table's columns: fresh primary keys (none equal to a
        given event's key), the parent's key, order values at or after the parent's last
        given event; a further foreign key (a second parent) takes keys the given events
        use. Tables below ``table`` are not drawn.

    Examples
    --------
    >>> import pandas as pd, synthgen as sg
    >>> users = pd.DataFrame({"id": [1, 2, 3, 4], "age": [30, 40, 50, 60]})
    >>> buys = pd.DataFrame({"user": [1, 1, 2, 3, 3, 4], "day": [1, 3, 2, 5, 9, 1],
    ...                      "amt": [5.0, 7.0, 2.0, 1.0, 4.0, 3.0]})
    >>> meta = sg.Metadata.detect({"users": users, "buys": buys}, sequence_keys={"buys": "day"},
    ...                           foreign_keys=[("buys", "user", "users", "id")])
    >>> model = sg.RelationalSynthesizer(generator="marginals", random_state=0)
    >>> model = model.fit({"users": users, "buys": buys}, meta)
    >>> more = model.extend_sequences("buys", users.head(2), buys[buys.user <= 2], 2)
    >>> len(more), bool((more.groupby("user").day.min() >= [3, 2]).all())
    (4, True)
    """
    meta = model.metadata_
    if table not in meta.tables:
        raise ConfigurationError(f"unknown table {table!r}; the tables are {list(meta.tables)}")
    plan = model.plans_[table]
    links = meta.parents_of(table)
    if plan.order is None or not links:
        raise ConfigurationError(f"table {table!r} is not a sequence table (no order column)")
    fk, further = links[0], {f.column: f for f in links[1:]}
    unknown = sorted(set(further_keys or {}) - set(further))
    if unknown:
        raise ConfigurationError(
            f"further_keys: {unknown} are not further foreign keys of table {table!r} "
            f"(those are {sorted(further)})"
        )
    parent_pk = meta.tables[fk.parent].primary_key
    parents = check_frame(parents, what="parents")
    if not (isinstance(events, pd.DataFrame) and len(events) == 0):  # no events: all new
        events = check_frame(events, what="events")
    parent_plan = model.plans_[fk.parent]
    parent_order = [] if parent_plan.order is None else [parent_plan.order.column]
    _check_columns(parents, [parent_pk, *parent_plan.own, *parent_order], "parents", fk.parent)
    _check_columns(events, [fk.column, *further, plan.order.column, *plan.own], "events", table)
    keys = parents[parent_pk].reset_index(drop=True)
    if keys.isna().any() or keys.duplicated().any():
        raise DataError(f"parents: key column {parent_pk!r} has missing or repeated values")
    owner = pd.Index(keys).get_indexer(events[fk.column])
    if np.any(owner < 0):
        raise DataError(
            f"events: {int(np.sum(owner < 0))} row(s) of {fk.column!r} point at no given parent"
        )
    if events[plan.order.column].isna().any():
        raise DataError(f"events: the order column {plan.order.column!r} has missing values")
    state = _state(plan, events.reset_index(drop=True), owner, len(keys))
    lengths = state.begin + _counts(n_events, len(keys))
    # This link's count is the final length; other links' counts are drawn given it.
    frame = parents.reset_index(drop=True).copy()
    frame[count_name(fk)] = lengths
    frame = fill_counts(model.plans_[fk.parent], frame, rng)
    drawn, ppos = draw_sequences(plan, frame, lengths, rng, state)
    out: dict[str, Any] = {}
    pk = meta.tables[table].primary_key
    for column in plan.columns:
        if column == pk:
            out[column] = _fresh_keys(table, events, pk, len(drawn), plan.key_dtype)
        elif column == fk.column:
            out[column] = keys.to_numpy()[ppos]
        elif column in further:
            pool = (further_keys or {}).get(column)
            pool = events[column] if pool is None else pd.Series(np.asarray(pool, dtype=object))
            out[column] = _further_keys(pool, len(drawn), plan, column, rng)
        else:
            out[column] = drawn[column].reset_index(drop=True)
    return pd.DataFrame(out, index=range(len(drawn)))
