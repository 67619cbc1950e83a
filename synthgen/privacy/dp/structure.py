"""Structure rules under differential privacy.

Which columns form a hierarchy, a missing-together group or a coordinate pair is schema
metadata, public like the column kinds. What a hierarchy maps to is not: the
parent-label -> child-label mapping is released here from a Gaussian noisy contingency table
(one row changes one cell by one: L2 sensitivity 1) by taking each parent label's noisy
argmax, and the surrogate rows the encoders are fitted on follow that mapping, so a private
model derives children through a private mapping. Dropped: a hierarchy with a numeric child
or whose parent's rare labels were folded into one ``"(other)"`` label (which no longer
determines a child), a group with a member whose missing cells were not released, and rules
on columns that the release changed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from synthgen.schema import Schema
from synthgen.schema.structure import Hierarchy, MissingGroup, Structure

__all__ = ["HierarchyRelease", "private_hierarchies", "private_structure"]

#: child -> (parent, child label position for each parent label position; the last entry is
#: for a missing parent; -1 stands for a missing child).
HierarchyRelease = dict[str, tuple[str, list[int]]]


def private_hierarchies(schema: Schema) -> list[Hierarchy]:
    """The hierarchies of ``schema`` a private fit can keep (a categorical child)."""
    return [h for h in schema.structure.hierarchies if schema[h.child].kind == "categorical"]


def _positions(col: pd.Series, labels: list[Any]) -> np.ndarray:
    """Label positions in ``labels``; ``len(labels)`` for a missing (or unknown) cell."""
    codes = pd.Categorical(col.astype(object), categories=labels).codes.astype(np.int64)
    return np.where(codes < 0, len(labels), codes)


def release_mappings(
    hierarchies: list[Hierarchy],
    applied: pd.DataFrame,
    released: Schema,
    rho_each: float,
    rng: np.random.Generator,
) -> HierarchyRelease:
    """Each hierarchy's mapping from a noisy contingency table of the ``applied`` rows (the
    data mapped onto the released labels), spending ``rho_each`` per hierarchy."""
    out: HierarchyRelease = {}
    sigma = math.sqrt(1.0 / (2.0 * rho_each))
    for h in hierarchies:
        parents = list(released[h.parent].categories or [])
        children = list(released[h.child].categories or [])
        p = _positions(applied[h.parent], parents)
        c = _positions(applied[h.child], children)
        counts = np.zeros((len(parents) + 1, len(children) + 1))
        np.add.at(counts, (p, c), 1.0)
        noisy = counts + rng.normal(0.0, sigma, counts.shape)
        if not released[h.child].has_missing:
            noisy[:, -1] = -np.inf  # the child may not be missing in the private model
        best = noisy.argmax(axis=1)
        out[h.child] = (h.parent, [int(b) if b < len(children) else -1 for b in best])
    return out


def apply_mappings(frame: pd.DataFrame, release: HierarchyRelease, schema: Schema) -> pd.DataFrame:
    """``frame`` (surrogate rows) with every released parent label present and each child
    derived through its released mapping."""
    out = frame.copy()
    for child, (parent, table) in release.items():
        labels = list(schema[parent].categories or [])
        n = min(len(labels), len(out))
        values = out[parent].to_numpy(dtype=object, copy=True)
        values[:n] = labels[:n]  # every label present, so encoders learn every mapping
        out[parent] = pd.Series(values, index=out.index).astype(out[parent].dtype)
        kids = np.empty(len(schema[child].categories or []) + 1, dtype=object)
        kids[:-1] = schema[child].categories or []
        kids[-1] = None
        pick = np.asarray(table, dtype=np.int64)[_positions(out[parent], labels)]
        derived = pd.Series(kids[np.where(pick < 0, len(kids) - 1, pick)], index=out.index)
        if isinstance(out[child].dtype, pd.CategoricalDtype):
            out[child] = derived.astype(out[child].dtype)
        else:
            out[child] = derived.astype(object)
    return out


def private_structure(schema: Schema, released: Schema, kept: list[Hierarchy]) -> Structure:
    """The structure of the released schema: rules that still fit it."""
    structure = schema.structure
    groups = []
    for group in structure.missing_groups:
        if all(released[c].has_missing for c in group.columns):
            groups.append(MissingGroup(group.columns))
    candidate = Structure(list(kept), groups, list(structure.geo_pairs),
                          list(structure.suggestions))  # fmt: skip
    return candidate.restricted(released)
