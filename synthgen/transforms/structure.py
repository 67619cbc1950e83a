"""Keep a schema's structure rules in every generator, by what the generators model.

:class:`StructureCodec` sits in front of the column encoders of a
:class:`~synthgen.transforms.table.TableEncoder`. It turns the real table into the *model
table* that generators learn, and turns model rows back into real rows that meet every rule:

- a **hierarchy** ``parent -> child``: the child is not modelled. After sampling it is derived
  from the parent through the parent-label -> child-label mapping learned at fit, so every row
  is consistent and the child's marginal follows the parent's (which the model keeps).
  The mapping only stores labels the parent's encoder keeps, by position, and a numeric
  child's values held by at least ``MIN_SUPPORT`` rows.
- a **missing-together group**: the leader (its first modelled column) keeps its missing flag;
  the other columns are modelled as never missing, their cells in the leader's missing rows
  filled with values drawn from the column's own observed values (so their marginals are
  unchanged), and are blanked after sampling exactly where the leader is missing.
- a **coordinate pair**: modelled as one point: a grid-cell token (a categorical column of the
  model table, on a quantile grid of each axis) plus each axis' offset inside its cell. Every
  generator then learns where points lie jointly (no point in an empty cell) while each axis'
  marginal is kept by the cell frequencies and offsets.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import PersistenceError
from synthgen.schema import ColumnSpec, Schema
from synthgen.transforms.dtypes import restore_dtype
from synthgen.transforms.structure_rules import Derivation, Grid, blank, hot_deck

__all__ = ["StructureCodec"]


class StructureCodec:
    """Real table <-> model table for the structure rules of a schema (module docstring).

    Examples
    --------
    >>> from synthgen.testing import make_structured_table
    >>> df = make_structured_table(2000)
    >>> schema = Schema.infer(df)
    >>> codec = StructureCodec().fit(df, schema, np.random.default_rng(0))
    >>> model = codec.forward(df, np.random.default_rng(0))
    >>> "borough" in model.columns, bool(model["reviews_per_month"].isna().any())
    (False, False)
    >>> back = codec.backward(model, np.random.default_rng(0))
    >>> back["district"].equals(df["district"]), bool(codec.consistent(back).all())
    (True, True)
    """

    def __init__(self) -> None:
        self.derivations: list[Derivation] = []
        self.groups: list[tuple[str, list[str]]] = []
        self.grids: list[Grid] = []

    @property
    def active(self) -> bool:
        return bool(self.derivations or self.groups or self.grids)

    @property
    def derived(self) -> list[str]:
        """Columns that are not modelled but derived from their parent."""
        return [d.child for d in self.derivations]

    def _derive(
        self, d: Derivation, cols: dict[str, pd.Series], keep: np.ndarray, rng: Any
    ) -> pd.Series:
        """The child column derived from its parent, except in rows ``keep`` marks."""
        want = d.derive(cols[d.parent], self.schema[d.parent], self.schema[d.child], rng)
        if not keep.any():
            return want
        values = want.to_numpy(dtype=object, copy=True)
        values[keep] = cols[d.child].to_numpy(dtype=object)[keep]
        return restore_dtype(pd.Series(values, dtype=object), self.schema[d.child])

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> StructureCodec:
        """Learn the mappings and grids of ``schema.structure`` from ``data``."""
        self.schema = schema
        structure = schema.structure
        pending = list(structure.hierarchies)
        children = {h.child for h in pending}
        while pending:  # parents before their children: a chain is derived top-down
            done = {d.child for d in self.derivations}
            ready = [h for h in pending if h.parent not in children or h.parent in done]
            for h in ready:
                parent, child = schema[h.parent], schema[h.child]
                self.derivations.append(Derivation.fit(data, parent, child, schema.min_count))
                pending.remove(h)
        paired = {p.latitude: p for p in structure.geo_pairs}
        paired.update({p.longitude: p for p in structure.geo_pairs})
        for group in structure.missing_groups:
            members = [c for c in group.columns if c not in self.derived]
            plain = [c for c in members if c not in paired]
            leader = plain[0] if plain else members[0] if members else None
            pair = paired.get(leader or "")
            followers = [c for c in members if c != leader and not (pair and c in
                         (pair.latitude, pair.longitude))]  # fmt: skip
            if leader is not None and followers:
                self.groups.append((leader, followers))
        following = {f for _, fs in self.groups for f in fs}
        for pair in structure.geo_pairs:
            lat = data[pair.latitude].to_numpy(dtype=float, na_value=np.nan)
            lon = data[pair.longitude].to_numpy(dtype=float, na_value=np.nan)
            both = ~np.isnan(lat) & ~np.isnan(lon)
            size = int(np.clip(round(np.sqrt(both.sum() / 40)), 2, 12))
            cell = f"{pair.latitude}|{pair.longitude} cell"
            while cell in schema:
                cell += "_"
            self.grids.append(Grid(
                pair.latitude, pair.longitude, cell, size,
                Grid.levels(lat[both], schema[pair.latitude], schema.min_count),
                Grid.levels(lon[both], schema[pair.longitude], schema.min_count),
                pair.latitude not in following and schema[pair.latitude].has_missing,
            ))  # fmt: skip
        return self

    def model_specs(self) -> list[ColumnSpec]:
        """The columns of the model table, in order."""
        if not self.active:
            return list(self.schema)
        derived, grids = set(self.derived), {g.latitude: g for g in self.grids}
        offsets = {g.longitude for g in self.grids} | set(grids)
        following = {f for _, fs in self.groups for f in fs}
        out = []
        for spec in self.schema:
            if spec.name in derived:
                continue
            if spec.name in grids:
                g = grids[spec.name]
                rate = spec.missing_rate if g.has_missing else 0.0
                out.append(ColumnSpec(g.cell, "categorical", "object", missing_rate=rate,
                                      categories=list(range(g.n_cells))))  # fmt: skip
            if spec.name in offsets:
                out.append(ColumnSpec(spec.name, "numeric", "float64", minimum=0.0, maximum=1.0))
            elif spec.name in following:
                out.append(dataclasses.replace(spec, missing_rate=0.0))
            else:
                out.append(spec)
        return out

    # -- real <-> model ---------------------------------------------------------------------
    def forward(
        self, data: pd.DataFrame, rng: np.random.Generator, *, partial: bool = False
    ) -> pd.DataFrame:
        """The model table of ``data``. With ``partial`` (conditions: missing cells are free,
        columns may be absent) nothing is filled in."""
        if not self.active:
            return data
        cols = {name: data[name] for name in data.columns}
        for _, followers in self.groups:
            for name in followers:
                if name in cols and not partial:
                    cols[name] = hot_deck(cols[name], self.schema[name], rng)
        for g in self.grids:
            lat = cols.pop(g.latitude, None)
            lon = cols.pop(g.longitude, None)
            if lat is None and lon is None:
                continue
            n = len(data)
            x = np.full(n, np.nan) if lat is None else lat.to_numpy(dtype=float, na_value=np.nan)
            y = np.full(n, np.nan) if lon is None else lon.to_numpy(dtype=float, na_value=np.nan)
            i, u = g.locate(x, g.lat_levels)
            j, v = g.locate(y, g.lon_levels)
            both = ~np.isnan(x) & ~np.isnan(y)
            cell = np.full(n, None, dtype=object)
            cell[both] = (i * g.size + j)[both].tolist()
            if not partial and not g.has_missing:
                cell[~both] = rng.integers(0, g.n_cells, int((~both).sum())).tolist()
            cols[g.cell] = pd.Series(cell, index=data.index, dtype=object)
            for name, off in ((g.latitude, u), (g.longitude, v)):
                off = pd.Series(off, index=data.index)
                cols[name] = off if partial else hot_deck(off, None, rng)
        names = [s.name for s in self.model_specs() if s.name in cols]
        return pd.DataFrame({name: cols[name] for name in names}, index=data.index)

    def backward(self, model: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """Real rows from model rows: coordinates placed, groups blanked, children derived."""
        if not self.active:
            return model
        cols = {name: model[name] for name in model.columns}
        for g in self.grids:
            cell = cols.pop(g.cell)
            missing = cell.isna().to_numpy()
            code = np.where(missing, 0, cell.to_numpy(dtype=float, na_value=0)).astype(np.int64)
            for name, index, levels in ((g.latitude, code // g.size, g.lat_levels),
                                        (g.longitude, code % g.size, g.lon_levels)):  # fmt: skip
                spec = self.schema[name]
                x = g.place(index, cols[name].to_numpy(dtype=float), levels, spec)
                x[missing] = np.nan
                cols[name] = restore_dtype(pd.Series(x), spec)
        for leader, followers in self.groups:
            missing = cols[leader].isna().to_numpy()
            for name in followers:
                cols[name] = blank(cols[name], missing, self.schema[name])
        for d in self.derivations:
            cols[d.child] = self._derive(d, cols, np.zeros(len(model), dtype=bool), rng)
        # copy=False: every column here is new (decoded, placed, blanked or derived) and
        # shares memory with no other; TableEncoder.inverse_transform decides whether the
        # table is worth consolidating (a copy of it).
        return pd.DataFrame({name: cols[name] for name in self.schema.names}, copy=False)

    # -- checks for sampling --------------------------------------------------------------------
    def consistent(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of a real-table ``frame`` that meet every rule kept here."""
        ok = np.ones(len(frame), dtype=bool)
        for d in self.derivations:
            parent = frame[d.parent].reset_index(drop=True)
            want = d.derive(parent, self.schema[d.parent], self.schema[d.child])
            have = frame[d.child].reset_index(drop=True)
            same = (want.astype(object) == have.astype(object)) | (want.isna() & have.isna())
            ok &= same.to_numpy(dtype=bool) | ~d.determined(parent, self.schema[d.parent])
        for leader, followers in self.groups:
            masks = frame[[leader, *followers]].isna().to_numpy()
            ok &= masks.all(axis=1) | ~masks.any(axis=1)
        for g in self.grids:
            masks = frame[[g.latitude, g.longitude]].isna().to_numpy()
            ok &= masks.all(axis=1) | ~masks.any(axis=1)
        return ok

    def rederive(
        self, frame: pd.DataFrame, fixed: pd.DataFrame, rng: np.random.Generator
    ) -> pd.DataFrame:
        """``frame`` with children derived again where ``fixed`` does not set them, below a
        parent that ``fixed`` sets (fixed cells were written over sampled ones)."""
        out, changed = frame, {c for c in fixed.columns if fixed[c].notna().any()}
        for d in self.derivations:
            if d.parent not in changed:
                continue
            held = np.zeros(len(frame), dtype=bool)
            if d.child in fixed.columns:
                held = fixed[d.child].notna().to_numpy()
            if held.all():
                continue
            out = out.copy() if out is frame else out
            cols = {d.parent: out[d.parent].reset_index(drop=True),
                    d.child: out[d.child].reset_index(drop=True)}  # fmt: skip
            derived = self._derive(d, cols, held, rng)
            out[d.child] = derived.set_axis(out.index).astype(out[d.child].dtype)
            changed.add(d.child)
        return out

    # -- persistence ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {
            "derivations": [dataclasses.asdict(d) for d in self.derivations],
            "groups": [[leader, list(fs)] for leader, fs in self.groups],
            "grids": [dataclasses.asdict(g) for g in self.grids],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any] | None, schema: Schema) -> StructureCodec:
        codec = cls()
        codec.schema = schema
        if state is None:
            return codec
        if not isinstance(state, dict):
            raise PersistenceError("saved structure state must be an object")
        try:
            codec.derivations = [Derivation(**d) for d in state["derivations"]]
            codec.groups = [(leader, list(fs)) for leader, fs in state["groups"]]
            codec.grids = [Grid(**g) for g in state["grids"]]
        except (KeyError, TypeError, ValueError) as err:
            raise PersistenceError(f"invalid saved structure state: {err!r}") from None
        problems = [r.problem(schema) for r in [*codec.derivations, *codec.grids]]
        for leader, followers in codec.groups:
            names = [leader, *followers]
            if not all(isinstance(n, str) and n in schema for n in names):
                problems.append(f"missing group {names!r} names columns not in the schema")
        for problem in problems:
            if problem:
                raise PersistenceError(f"invalid saved structure state: {problem}")
        return codec
