"""Drawing linked tables from fitted :class:`TablePlan` objects.

Tables are drawn parents first. A root table's rows are drawn freely (with their child
counts); a child's rows are drawn given their parent's values, as many per parent row as the
parent's count column says; a sequence table's events are drawn step by step over all
parents that still have events to come, each given the parent, its place and the previous
event, and its order value is the previous one plus a step that is never negative, so every
sequence is in order by construction. Keys are fresh, and foreign keys are synthetic parent
keys, so every foreign key resolves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConfigurationError
from synthgen.relational.features import OrderSpec, make_keys
from synthgen.relational.fitting import context_frame
from synthgen.relational.plan import AT, GAP, LEFT, POS, TablePlan, count_name
from synthgen.schema.metadata import Metadata

__all__ = [
    "Drawn",
    "SequenceState",
    "assemble",
    "draw_sequences",
    "draw_tables",
    "fill_counts",
    "roots_for_further_keys",
    "seen_labels",
    "whole_counts",
]


class Drawn:
    """A drawn table: its rows (own columns, order column, counts), keys, parent rows."""

    def __init__(self, frame: pd.DataFrame, keys: pd.Series | None, parent: np.ndarray | None):
        self.frame = frame
        self.keys = keys
        self.parent = parent


def whole_counts(values: Any) -> np.ndarray:
    """Drawn counts as whole numbers >= 0 (a missing count is 0)."""
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.clip(np.nan_to_num(np.round(x), nan=0.0), 0, None).astype(np.int64)


def seen_labels(model: Any, fixed: pd.DataFrame) -> pd.DataFrame:
    """Labels the generator never saw in a context column are left free (missing) instead
    of failing: a parent label that only childless rows had, or a seed parent's new label."""
    schema = model.schema_
    for name in fixed.columns:
        if name not in schema:
            continue
        spec = schema[name]
        if spec.kind != "categorical" or spec.pooled or spec.categories is None:
            continue
        known = pd.Index(list(spec.categories), dtype=object)
        ok = known.get_indexer(fixed[name].astype(object)) >= 0
        if not ok.all():
            fixed[name] = fixed[name].astype(object).where(ok)
    return fixed


def fill_counts(plan: TablePlan, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Given parent rows (modified here: pass a copy) with the child-count columns they lack
    drawn given their own values and the counts they have."""
    missing = [c for c in plan.counts if c not in frame.columns]
    if missing and plan.model is not None:
        schema = plan.model.schema_
        known = [c for c in [*plan.own, *plan.counts] if c in frame.columns and c in schema]
        drawn = _given(plan.model, frame[known].copy(), rng)
        for c in missing:
            frame[c] = whole_counts(drawn[c])
    return frame


def _given(model: Any, fixed: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    return model.draw_given(seen_labels(model, fixed), rng).reset_index(drop=True)


def _body(plan: TablePlan, rows: pd.DataFrame | None, n: int) -> pd.DataFrame:
    cols = plan.own + plan.counts
    if rows is None:
        return pd.DataFrame(index=range(n))
    return rows[cols].reset_index(drop=True)


def _draw_root(plan: TablePlan, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if plan.model is None or n == 0:
        return _body(plan, None, n)
    return _body(plan, plan.model.draw(n, rng), n)


def _draw_children(
    plan: TablePlan, parent: pd.DataFrame, ppos: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    if plan.model is None or len(ppos) == 0:
        return _body(plan, None, len(ppos))
    ctx = context_frame(plan.context, parent).iloc[ppos].reset_index(drop=True)
    return _body(plan, _given(plan.model, ctx, rng), len(ppos))


def _lag_source(values: np.ndarray) -> pd.Series:
    return pd.Series(values, dtype=object).infer_objects()


def _floors(plan: TablePlan, ctx: pd.DataFrame, whole: bool) -> np.ndarray:
    """Per parent row, the earliest first event its floors allow (``-inf`` without any): the
    largest known value of the parent features no first event of the data came before."""
    order = plan.order
    assert order is not None
    out = np.full(len(ctx), -np.inf)
    kinds = {f.name: f for f in plan.context}
    for name in order.floors:
        f = kinds.get(name)
        if f is None or name not in ctx.columns:
            continue
        as_year = f.kind == "date" and order.kind == "number"
        spec = OrderSpec(**{**order.to_dict(), "anchor": name, "anchor_year": as_year})
        base = spec.anchor_values(ctx[name].to_numpy(dtype=float))
        if whole:
            base = np.ceil(base)
        if f.flag:  # a missing parent value sets no floor
            base = np.where(ctx[f"{name}?missing"].to_numpy() == 0, base, -np.inf)
        out = np.maximum(out, base)
    return out


@dataclass
class SequenceState:
    """Where each parent's sequence stands before drawing: events it already has
    (``begin``), the last order value (``value``) and the last event's values by lag source
    column (``last``; the step of the last event under :data:`GAP`)."""

    begin: np.ndarray
    value: np.ndarray
    last: dict[str, np.ndarray]


def draw_sequences(
    plan: TablePlan,
    parent: pd.DataFrame,
    lengths: np.ndarray,
    rng: np.random.Generator,
    state: SequenceState | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Events ``state.begin[i]`` (0 without ``state``) to ``lengths[i] - 1`` of each parent
    row ``i``, each given the parent, its place, the events left and the previous event;
    returns the events (sorted by parent, then place) and each one's parent position."""
    order = plan.order
    assert order is not None
    n_parents = len(parent)
    ctx_all = context_frame(plan.context, parent)
    start = np.zeros(n_parents)
    if order.anchor is not None:
        start = order.anchor_values(ctx_all[order.anchor].to_numpy(dtype=float))
    whole = (order.kind == "number" and order.integer) or (
        order.kind == "date" and order.whole_days
    )
    floor = _floors(plan, ctx_all, whole)
    sources = {f.column for f in plan.lags}
    if state is None:
        last = {c: np.full(n_parents, None, dtype=object) for c in sources}
        begin, value = np.zeros(n_parents, np.int64), np.zeros(n_parents)
    else:
        last = {c: state.last[c].astype(object).copy() for c in sources}
        begin, value = state.begin, state.value.astype(float).copy()
    pieces, owners, places, values = [], [], [], []
    if plan.next_model is None:  # no parent had a second event: neither does a drawn one
        lengths = np.minimum(lengths, 1)
    for pos in range(int(begin.min(initial=0)), int(lengths.max(initial=0))):
        idx = np.nonzero((lengths > pos) & (begin <= pos))[0]
        if len(idx) == 0:
            continue
        fixed = ctx_all.iloc[idx].reset_index(drop=True)
        if pos == 0:
            out = _given(plan.model, fixed, rng)
        else:
            fixed[POS] = pos
            fixed[LEFT] = lengths[idx] - pos - 1
            for f in plan.lags:
                src = _lag_source(last[f.column][idx] if pos > 1 or f.column != GAP else
                                  np.full(len(idx), None, object))  # fmt: skip
                for name, col in f.transform(src).items():
                    fixed[name] = col
            out = _given(plan.next_model, fixed, rng)
        gap = pd.to_numeric(out[GAP], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        gap = np.nan_to_num(gap, nan=0.0)
        step = start[idx] + gap if pos == 0 else value[idx] + np.maximum(gap, 0.0)
        value[idx] = np.round(step) if whole else step
        if pos == 0:  # later events follow the first, so they keep its floors too
            value[idx] = np.maximum(value[idx], floor[idx])
        for c in sources:
            last[c][idx] = (
                gap if c == GAP else value[idx] if c == AT else out[c].to_numpy(dtype=object)
            )
        pieces.append(out[plan.own + plan.counts])
        owners.append(idx)
        places.append(np.full(len(idx), pos))
        values.append(value[idx].copy())
    if not pieces:
        frame = _body(plan, None, 0)
        frame[order.column] = order.from_float(np.zeros(0))
        return frame, np.zeros(0, np.int64)
    owner = np.concatenate(owners)
    sort = np.lexsort((np.concatenate(places), owner))
    frame = pd.concat(pieces, ignore_index=True).iloc[sort].reset_index(drop=True)
    frame[order.column] = order.from_float(np.concatenate(values)[sort]).to_numpy()
    return frame, owner[sort]


def draw_tables(
    plans: dict[str, TablePlan],
    meta: Metadata,
    rng: np.random.Generator,
    *,
    n_roots: dict[str, int] | None = None,
    given: dict[str, Drawn] | None = None,
) -> dict[str, Drawn]:
    """Draw every table reachable from ``n_roots`` (root tables and their row counts) and
    from ``given`` (tables whose rows are supplied), parents first."""
    drawn: dict[str, Drawn] = dict(given or {})
    for name in meta.topological_order():
        if name in drawn:
            continue
        plan = plans[name]
        links = meta.parents_of(name)
        if not links:
            if n_roots is None or name not in n_roots:
                continue
            frame, ppos = _draw_root(plan, n_roots[name], rng), None
        else:
            fk = links[0]
            if fk.parent not in drawn:
                continue
            parent = drawn[fk.parent].frame
            lengths = whole_counts(parent[count_name(fk)]) if len(parent) else np.zeros(0, int)
            if plan.order is not None:
                frame, ppos = draw_sequences(plan, parent, lengths, rng)
            else:
                ppos = np.repeat(np.arange(len(parent)), lengths)
                frame = _draw_children(plan, parent, ppos, rng)
        pk = meta.tables[name].primary_key
        keys = None if pk is None else make_keys(name, len(frame), plan.key_dtype)
        drawn[name] = Drawn(frame, keys, ppos)
    return drawn


def _secondary(
    fk: Any, n: int, drawn: dict[str, Drawn], share: float, rng: np.random.Generator
) -> np.ndarray:
    """Further foreign keys: parent keys repeated as often as the parent's drawn count for
    this link says, shuffled (so that parent's children-per-row shape holds), topped up with
    uniform draws; missing where the link was missing in the data, at its share."""
    if fk.parent not in drawn:
        raise ConfigurationError(
            f"table {fk.child!r}: its foreign key {fk.column!r} points at table {fk.parent!r}, "
            "which is not drawn here; use sample() to draw all tables"
        )
    parent = drawn[fk.parent]
    keys = parent.keys.to_numpy()
    out = np.full(n, None, dtype=object)
    present = rng.random(n) >= share
    need = int(present.sum())
    if len(keys) == 0 or need == 0:
        return out
    pool = np.repeat(np.arange(len(keys)), whole_counts(parent.frame[count_name(fk)]))
    rng.shuffle(pool)
    if len(pool) < need:
        pool = np.concatenate([pool, rng.integers(0, len(keys), need - len(pool))])
    out[present] = keys[pool[:need]]
    return out


def assemble(
    plans: dict[str, TablePlan], meta: Metadata, drawn: dict[str, Drawn],
    rng: np.random.Generator, skip: tuple[str, ...] = (),
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The drawn tables with the data's columns in their order: keys and foreign keys set,
    count columns dropped."""
    out = {}
    for name, d in drawn.items():
        if name in skip:
            continue
        plan, t = plans[name], meta.tables[name]
        links = meta.parents_of(name)
        cols: dict[str, Any] = {}
        for column in plan.columns:
            if column == t.primary_key:
                cols[column] = d.keys.to_numpy()
            elif links and column == links[0].column:
                parent_keys = drawn[links[0].parent].keys
                cols[column] = parent_keys.to_numpy()[d.parent]
            elif column in {fk.column for fk in links[1:]}:
                fk = next(f for f in links[1:] if f.column == column)
                share = plan.secondary_missing.get(column, 0.0)
                cols[column] = _secondary(fk, len(d.frame), drawn, share, rng)
            else:
                cols[column] = d.frame[column].to_numpy()
        frame = pd.DataFrame(cols, index=range(len(d.frame)))
        for column in plan.columns:  # keep the drawn dtypes (DataFrame() keeps arrays' own)
            if column in d.frame.columns:
                frame[column] = d.frame[column].reset_index(drop=True)
            elif column in cols and pd.Series(cols[column]).dtype == object:
                frame[column] = pd.Series(cols[column], dtype=object).infer_objects()
        out[name] = frame
    return out


def roots_for_further_keys(
    meta: Metadata, plans: dict[str, TablePlan], parent_table: str
) -> dict[str, int]:
    """Root tables to draw (at scale 1) so that the further foreign keys of the tables below
    ``parent_table`` (a child's second parent) have keys to point at."""

    def chain(table: str) -> list[str]:
        out = [table]
        while meta.parents_of(out[-1]):
            out.append(meta.parents_of(out[-1])[0].parent)
        return out

    below = [t for t in meta.topological_order() if parent_table in chain(t)]
    roots = {}
    for table in below:
        for fk in meta.parents_of(table)[1:]:
            up = chain(fk.parent)
            if parent_table not in up:
                roots[up[-1]] = plans[up[-1]].n_rows
    return roots
