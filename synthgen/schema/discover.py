"""Find the :class:`~synthgen.schema.structure.Structure` of a table at ``Schema.infer``.

Everything is vectorised over integer codes. Candidates are looked for on a sample of rows
when the table is large, and every rule found is then checked on all rows: a rule that one row
breaks is not reported.

- **Hierarchies** ``parent -> child``: both columns categorical-like (the child may also be a
  number with a few values, each held by several rows), the parent with at least as many
  labels (a missing cell counting as a label) and on average ``MIN_SUPPORT`` rows per label,
  so that a near-unique column does not "determine" everything; a one-to-one pair keeps one
  direction (a label determines a number; else the earlier column leads). The list is
  minimal: ``a -> c`` is dropped when ``a -> b -> c`` holds, and a child keeps one parent
  (the one with the fewest labels).
- **Missing-together groups**: columns whose missing-cell masks are identical, with at least
  ``MIN_SUPPORT`` missing and present cells.
- **Coordinate pairs**: two numeric columns with fractional values (three or more decimals),
  mostly distinct, missing in the same rows, one within [-90, 90] (latitude) and the other
  within [-180, 180], that carry coordinate-like names, or else sit next to each other,
  are printed with a fixed precision (3 to 6 decimals), have one axis on one side of zero
  and are not both within [-1, 1].
- **Suggestions**: ``a <= b`` (or ``<``) for numeric or datetime pairs whose ranges overlap and
  that hold on every row where both are present; transitive ones are dropped.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import SchemaError
from synthgen.schema.constraints import Inequality
from synthgen.schema.dates import as_datetimes
from synthgen.schema.pairs import viable_orders
from synthgen.schema.structure import (
    GeoPair,
    Hierarchy,
    MissingGroup,
    Structure,
    factorize,
    fd_breaks,
)

__all__ = ["MIN_SUPPORT", "discover_structure"]

#: Rows of evidence a rule needs (per parent label, missing cells of a group).
MIN_SUPPORT = 5
#: Fewest rows for any rule to be looked for.
MIN_ROWS = 50
#: Largest number of distinct values of a numeric hierarchy child.
MAX_CHILD_VALUES = 64
#: Rows of the first look at every (parent, child) pair of a hierarchy: a child that is no
#: function of its parent on them is none on the probe either, which reads only the rest.
FIRST_LOOK_ROWS = 64
#: Largest number of rules of each type reported.
MAX_RULES = 20

_LAT = re.compile(r"(^|[^a-z])(lat|latitude)([^a-z]|$)|latitude", re.I)
_LON = re.compile(r"(^|[^a-z])(lon|lng|long|longitude)([^a-z]|$)|longitude", re.I)


def discover_structure(
    data: pd.DataFrame,
    schema: Any,
    *,
    max_rows: int = 20_000,
    random_state: int = 0,
    missing: Mapping[str, np.ndarray] | None = None,
) -> Structure:
    """The structure rules that hold on every row of ``data`` (see the module docstring).

    ``missing``: each column's ``isna()`` as a boolean array when the caller has them, a
    column it leaves out having no missing cell (``None``: found here).

    Examples
    --------
    >>> from synthgen.schema import Schema
    >>> rng = np.random.default_rng(0)
    >>> town = rng.choice([f"t{i}" for i in range(12)], 600)
    >>> df = pd.DataFrame({"town": town, "region": [f"r{int(t[1:]) % 3}" for t in town]})
    >>> discover_structure(df, Schema.infer(df, structure=False)).hierarchies
    [Hierarchy(parent='town', child='region')]
    """
    if len(data) < MIN_ROWS:
        return Structure()
    # Row positions to look at before checking all rows: a small probe that rejects most
    # candidates at once, then the sample.
    rng = np.random.default_rng(random_state)
    sample = np.arange(len(data))
    if len(data) > max_rows:
        sample = np.sort(rng.choice(len(data), max_rows, replace=False))
    stages = [sample[:1000]] + ([sample] if len(sample) < len(data) else [])
    return Structure(
        hierarchies=_hierarchies(data, stages, schema),
        missing_groups=_missing_groups(data, schema, missing),
        geo_pairs=_geo_pairs(data, schema),
        suggestions=_suggestions(data, stages, schema),
    )


# -- hierarchies ----------------------------------------------------------------------------
def _child_like(spec: Any, col: pd.Series) -> bool:
    if spec.kind == "categorical":
        return True
    if spec.kind != "numeric" or spec.dtype.startswith("timedelta"):
        return False
    if col.iloc[:1000].nunique() > MAX_CHILD_VALUES:  # a first look rejects most numbers
        return False
    counts = col.value_counts()
    return len(counts) <= MAX_CHILD_VALUES and int(counts.min()) >= MIN_SUPPORT


def _hierarchies(data: pd.DataFrame, stages: list[np.ndarray], schema: Any) -> list[Hierarchy]:
    names = [s.name for s in schema if _child_like(s, data[s.name])]
    codes = {n: factorize(data[n]) for n in names}
    labels = {n: int(codes[n].max()) + 1 for n in names}
    n_rows = len(data)
    parents = [
        n for n in names
        if schema[n].kind == "categorical" and labels[n] >= 3
        and n_rows / labels[n] >= MIN_SUPPORT
    ]  # fmt: skip
    order = {n: i for i, n in enumerate(schema.names)}
    probe, later = stages[0], stages[1:]
    probe_codes = np.column_stack([codes[n][probe] for n in names]) if names else None
    edges: list[tuple[str, str]] = []
    for parent in parents:
        on_probe = _on_probe(codes[parent][probe], probe_codes)
        for j in np.flatnonzero(on_probe):
            child = names[j]
            if child == parent or labels[child] < 2 or labels[child] > labels[parent]:
                continue
            if labels[child] == labels[parent] and not _leads(schema, parent, child, order):
                continue
            p, c = codes[parent], codes[child]
            if not on_probe[j] or any(fd_breaks(p[rows], c[rows]) for rows in later):
                continue
            if fd_breaks(p, c) == 0:
                edges.append((parent, child))
    edge_set = set(edges)
    # Minimal set: drop a -> c when a -> b -> c holds.
    minimal = [
        (a, c) for a, c in edges
        if not any((a, b) in edge_set and (b, c) in edge_set for b in names if b not in (a, c))
    ]  # fmt: skip
    best: dict[str, str] = {}
    for parent, child in minimal:  # one parent per child: the closest (fewest labels)
        if child not in best or labels[parent] < labels[best[child]]:
            best[child] = parent
    out = [Hierarchy(p, c) for c, p in best.items()]
    out.sort(key=lambda h: (order[h.parent], order[h.child]))
    return out[:MAX_RULES]


def _functions_of(parent: np.ndarray, children: np.ndarray) -> np.ndarray:
    """Which columns of ``children`` (rows x columns of codes) are functions of ``parent``:
    one test of every child at once (the rows sorted by parent, each parent label's block
    holding one child code), where :func:`fd_breaks` would take one call per pair."""
    order = np.argsort(parent, kind="stable")
    sorted_parent = parent[order]
    starts = np.flatnonzero(np.r_[True, sorted_parent[1:] != sorted_parent[:-1]])
    block = children[order]
    low = np.minimum.reduceat(block, starts, axis=0)
    return (np.maximum.reduceat(block, starts, axis=0) == low).all(axis=0)


def _on_probe(parent: np.ndarray, children: np.ndarray) -> np.ndarray:
    """:func:`_functions_of` on the probe rows, the children first tested on the first
    :data:`FIRST_LOOK_ROWS` of them: each parent of a wide table meets every column, and a
    first look rejects most pairs in a fifteenth of the reading (the same answer: the
    probe holds those rows).

    Examples
    --------
    >>> parent = np.arange(200) % 4
    >>> late = np.r_[parent[:100], parent[100:] * 0]  # breaks only after the first look
    >>> children = np.column_stack([parent % 2, np.arange(200) % 3, late])
    >>> _on_probe(parent, children).tolist()
    [True, False, False]
    """
    first = _functions_of(parent[:FIRST_LOOK_ROWS], children[:FIRST_LOOK_ROWS])
    keep = np.flatnonzero(first)
    if len(parent) <= FIRST_LOOK_ROWS or not len(keep):
        return first
    out = np.zeros(children.shape[1], dtype=bool)
    out[keep] = _functions_of(parent, children[:, keep])
    return out


def _leads(schema: Any, a: str, b: str, order: dict[str, int]) -> bool:
    """Which of a one-to-one pair is the parent: a label over a number, else the earlier."""
    ka, kb = schema[a].kind, schema[b].kind
    if ka != kb:
        return ka == "categorical"
    return order[a] < order[b]


# -- missing groups -------------------------------------------------------------------------
def _missing_groups(
    data: pd.DataFrame, schema: Any, known: Mapping[str, np.ndarray] | None
) -> list[MissingGroup]:
    groups: dict[bytes, list[str]] = {}
    for spec in schema:
        if spec.kind in ("id", "constant"):
            continue
        if known is None:
            mask = data[spec.name].isna().to_numpy()
        elif spec.name in known:
            mask = known[spec.name]
        else:  # no missing cell
            continue
        missing = int(mask.sum())
        if missing < MIN_SUPPORT or len(mask) - missing < MIN_SUPPORT:
            continue
        groups.setdefault(np.packbits(mask).tobytes(), []).append(spec.name)
    out = [MissingGroup(tuple(g)) for g in groups.values() if len(g) >= 2]
    return out[:MAX_RULES]


# -- coordinates ----------------------------------------------------------------------------
def _coordinate_like(spec: Any, col: pd.Series) -> tuple[float, float, bool] | None:
    """Range of a column that could hold coordinates (and whether its values have a fixed
    precision of 3 to 6 decimals), else None."""
    if spec.kind != "numeric" or spec.integer or spec.dtype.startswith("timedelta"):
        return None
    if spec.decimals is not None and spec.decimals < 3:
        return None
    values = col.dropna().to_numpy(dtype=float)
    if len(values) < MIN_ROWS or len(np.unique(values)) < 0.2 * len(values):
        return None
    low, high = float(values.min()), float(values.max())
    if low < -180 or high > 180 or high - low <= 0:
        return None
    return low, high, spec.decimals is not None


def _geo_pairs(data: pd.DataFrame, schema: Any) -> list[GeoPair]:
    ranges = {s.name: _coordinate_like(s, data[s.name]) for s in schema}
    found = [n for n, r in ranges.items() if r is not None]
    position = {n: i for i, n in enumerate(schema.names)}
    used: set[str] = set()
    out = []
    gaps: dict[str, np.ndarray] = {}  # a column's missing cells, found once

    def same_gaps(a: str, b: str) -> bool:
        for name in (a, b):
            if name not in gaps:
                gaps[name] = data[name].isna().to_numpy()
        return np.array_equal(gaps[a], gaps[b])

    for a, b in _coordinate_candidates(found, schema.names):
        if a in used or b in used:
            continue
        (la, ha, fixed_a), (lb, hb, fixed_b) = ranges[a], ranges[b]  # type: ignore[misc]
        lat_a, lat_b = la >= -90 and ha <= 90, lb >= -90 and hb <= 90
        if not (lat_a or lat_b):
            continue
        named = (_LAT.search(a) and _LON.search(b)) or (_LAT.search(b) and _LON.search(a))
        # Without coordinate names, values must look like a place's coordinates: printed
        # with a fixed precision, side by side, one axis on one side of zero (most places
        # are), and not both within [-1, 1] (scores and shares are).
        looks = (
            fixed_a and fixed_b and abs(position[a] - position[b]) == 1
            and (la > 0 or ha < 0 or lb > 0 or hb < 0)
            and max(abs(la), abs(ha), abs(lb), abs(hb)) > 1
        )  # fmt: skip
        if not (named or looks) or not same_gaps(a, b):
            continue
        if lat_a and lat_b:  # both could be latitudes: names decide, else the first one
            latitude = b if _LAT.search(b) and not _LAT.search(a) else a
        else:
            latitude = a if lat_a else b
        longitude = b if latitude == a else a
        out.append(GeoPair(latitude, longitude))
        used.update((a, b))
    return out[:MAX_RULES]


def _coordinate_candidates(found: list[str], names: list[str]) -> list[tuple[str, str]]:
    """The pairs of ``found`` (columns that could hold coordinates, in schema order) that can
    be a coordinate pair, in the order of ``itertools.combinations(found, 2)``: a pair is one
    only if its names say latitude and longitude, or its columns are neighbours in the schema
    (``names``). Only those are looked at: a wide table of numbers within [-180, 180] has
    hundreds of thousands of other pairs (1,000 such columns: 499,500).

    Examples
    --------
    >>> _coordinate_candidates(["lat", "x", "y", "lon"], ["lat", "x", "y", "z", "lon"])
    [('lat', 'x'), ('lat', 'lon'), ('x', 'y')]
    """
    at = {n: i for i, n in enumerate(found)}
    lats = [i for i, n in enumerate(found) if _LAT.search(n)]
    lons = [i for i, n in enumerate(found) if _LON.search(n)]
    pairs = {(min(i, j), max(i, j)) for i in lats for j in lons if i != j}
    for i, name in enumerate(names[:-1]):
        if name in at and names[i + 1] in at:
            pairs.add((at[name], at[names[i + 1]]))
    return [(found[i], found[j]) for i, j in sorted(pairs)]


# -- suggestions ----------------------------------------------------------------------------
def _ordered_values(spec: Any, col: pd.Series) -> np.ndarray | None:
    col = col.reset_index(drop=True)  # by position: a repeated index must not matter
    if spec.kind == "numeric" and not spec.dtype.startswith("timedelta"):
        return col.to_numpy(dtype=float, na_value=np.nan)
    if spec.kind == "datetime":
        try:  # the one reading of dates (formats, integer dates, time zones, far years)
            parsed = as_datetimes(col, spec)
        except SchemaError:
            return None
        seconds = parsed.to_numpy().astype("datetime64[s]")  # no overflow before 1677
        out = seconds.astype("int64").astype(float)
        out[pd.isna(parsed).to_numpy()] = np.nan
        return out
    return None


def _suggestions(data: pd.DataFrame, stages: list[np.ndarray], schema: Any) -> list[Inequality]:
    values = {}
    for spec in schema:
        v = _ordered_values(spec, data[spec.name])
        if v is not None:
            values[spec.name] = (spec.kind, v)
    # Ranges of each column: a pair whose ranges do not overlap is skipped at once (the
    # rule below would drop it after reading every row; most pairs of a wide table).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        low = np.array([np.nanmin(v) if len(v) else np.nan for _, v in values.values()], float)
        high = np.array([np.nanmax(v) if len(v) else np.nan for _, v in values.values()], float)
    names = list(values)
    probe, later = stages[0], stages[1:]
    viable = viable_orders(
        np.column_stack([v[probe] for _, v in values.values()]) if names else None,
        np.unique([kind for kind, _ in values.values()], return_inverse=True)[1],
        low,
        high,
    )

    sampled: dict[str, list[np.ndarray]] = {}  # a column on the later stages' rows

    def on_later(name: str) -> list[np.ndarray]:
        if name not in sampled:  # gathered once, not once per pair
            sampled[name] = [values[name][1][rows] for rows in later]
        return sampled[name]

    complete = {k: not np.isnan(v).any() for k, (_, v) in values.items()}
    edges: dict[tuple[str, str], str] = {}
    # The pairs of combinations(values, 2) with an order left to check, in that order.
    for ia, ib in sorted({(min(i, j), max(i, j)) for i, j in viable}):
        for i, j in ((ia, ib), (ib, ia)):
            lo, hi = names[i], names[j]
            if (i, j) not in viable or any(
                (x > y).any() for x, y in zip(on_later(lo), on_later(hi), strict=True)
            ):
                continue  # broken on the probe or the sample (comparisons with NaN pass)
            vl, vh = values[lo][1], values[hi][1]
            if complete[lo] and complete[hi]:  # every row counts; the ranges overlap
                if np.all(vl <= vh):
                    edges[(lo, hi)] = "<" if np.all(vl < vh) else "<="
                    break
                continue
            both = ~np.isnan(vl) & ~np.isnan(vh)
            if both.sum() < MIN_ROWS or not np.all(vl[both] <= vh[both]):
                continue
            # Ranges that do not overlap are ordered trivially (age <= income): no rule.
            if np.max(vl[both]) <= np.min(vh[both]):
                continue
            edges[(lo, hi)] = "<" if np.all(vl[both] < vh[both]) else "<="
            break
    above_of: dict[str, set[str]] = {}  # lo -> every hi of an edge (lo, hi)
    below_of: dict[str, set[str]] = {}
    for lo, hi in edges:
        above_of.setdefault(lo, set()).add(hi)
        below_of.setdefault(hi, set()).add(lo)
    # Transitive edges dropped: lo <= m <= hi makes lo <= hi implied (m neither end).
    out = [
        Inequality(lo, op, hi) for (lo, hi), op in edges.items()
        if not (above_of[lo] & below_of[hi]) - {lo, hi}
    ]  # fmt: skip
    return out[:MAX_RULES]
