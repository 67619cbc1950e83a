"""Contract check: the structure rules of a table hold in what a generator samples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from synthgen.testing.toys import make_structured_table

__all__ = ["check_structure_kept", "structure_breaks"]


def structure_breaks(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    structure: Any,
    *,
    exact: bool = True,
    schema: Any = None,
) -> list[str]:
    """What in ``synthetic`` breaks a rule of ``structure`` (empty when nothing does).

    A hierarchy's child must be a function of its parent in every row and, with ``exact``
    (not for differentially private fits, whose mapping is noisy), the one of ``real``; a
    missing group's and a coordinate pair's cells must be missing together; coordinates must
    lie within the real bounding box (with ``exact``). A parent's placeholder for its rare
    labels (``"(other)"``, from ``schema``) stands for many parents and is not checked.

    Examples
    --------
    >>> from synthgen.schema import Schema
    >>> real = make_structured_table(1000)
    >>> broken = real.assign(borough=real["borough"].iloc[::-1].to_numpy())
    >>> [b.split(":")[0] for b in structure_breaks(real, broken, Schema.infer(real).structure)]
    ['neighbourhood -> borough', 'neighbourhood -> borough']
    >>> structure_breaks(real, real, Schema.infer(real).structure)
    []
    """

    def labelled(frame: pd.DataFrame) -> pd.DataFrame:
        values = frame.to_numpy(dtype=object)
        values[pd.isna(values)] = "<NA>"  # a missing cell is a value of its own
        return pd.DataFrame(values, columns=frame.columns)

    out = []
    for rule in structure.hierarchies:
        pairs = labelled(synthetic[[rule.parent, rule.child]])
        placeholder = None if schema is None else schema[rule.parent].other_label
        pairs = pairs[pairs[rule.parent] != placeholder]
        many = int((pairs.groupby(rule.parent)[rule.child].nunique() > 1).sum())
        if many:
            out.append(f"{rule.describe()}: {many} parent values with more than one child")
        if exact:
            truth = labelled(real[[rule.parent, rule.child]])
            known = set(truth.itertuples(index=False, name=None))
            wrong = sum(p not in known for p in pairs.itertuples(index=False, name=None))
            if wrong:
                out.append(f"{rule.describe()}: {wrong} rows pair values never paired in the data")
    for names in [*(g.columns for g in structure.missing_groups),
                  *((p.latitude, p.longitude) for p in structure.geo_pairs)]:  # fmt: skip
        masks = synthetic[list(names)].isna().to_numpy()
        broken = int((masks.any(axis=1) & ~masks.all(axis=1)).sum())
        if broken:
            out.append(f"[{', '.join(names)}]: {broken} rows with only some cells missing")
    for pair in structure.geo_pairs if exact else []:
        for name in (pair.latitude, pair.longitude):
            values = synthetic[name].dropna()
            if len(values) and (values.min() < real[name].min() or values.max() > real[name].max()):
                out.append(f"{name}: values outside the data's bounding box")
    return out


def check_structure_kept(generator: Any, data: pd.DataFrame) -> None:
    """Hierarchies, missing-together groups and a coordinate pair found in a listings-like
    table hold in every sampled row: free, under a condition on a derived column, and in
    imputed rows. (``data`` is not used: the check needs a table with structure.)"""
    table = make_structured_table(1000, random_state=1)
    model = clone(generator).set_params(random_state=0).fit(table)
    structure = model.schema_.structure
    private = bool(model.tags.differential_privacy and getattr(model, "epsilon", None))
    if not private:
        found = {(h.parent, h.child) for h in structure.hierarchies}
        assert {("neighbourhood", "borough"), ("cadastral", "district")} <= found, found
        assert structure.missing_groups and structure.geo_pairs, structure.summary()
    out = model.sample(400)
    broken = structure_breaks(table, out, structure, exact=not private, schema=model.schema_)
    assert not broken, f"sampled rows break the structure: {broken}"
    if private:
        return
    out = model.sample(30, conditions={"borough": "Bronx"})
    assert (out["borough"] == "Bronx").all(), "condition on a derived column not met"
    broken = structure_breaks(table, out, structure, schema=model.schema_)
    assert not broken, f"conditioned rows break the structure: {broken}"
    holes = table.head(40).copy()
    holes.loc[holes.index[:20], "neighbourhood"] = np.nan  # its borough is kept
    holes.loc[holes.index[20:], "reviews_per_month"] = np.nan
    done = model.impute(holes)
    broken = structure_breaks(table, done, structure, schema=model.schema_)
    assert not broken, f"imputed rows break the structure: {broken}"
    assert (done["borough"] == table["borough"].head(40)).all(), "impute changed a borough"
