"""Conditional sampling, imputation and rebalancing for any fitted generator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConditionError, ConfigurationError
from synthgen.sampling.conditions import parse_conditions, parse_fixed_frame
from synthgen.sampling.engine import Check, draw_rows
from synthgen.schema import check_frame
from synthgen.utils import check_random_state

__all__ = ["impute", "rebalance", "sample_conditioned"]


def _constraint_checks(schema) -> list[Check]:
    return [
        Check(f"constraint {c!r}", lambda cand, req, c=c: c.is_satisfied(cand))
        for c in schema.constraints
    ]


def sample_conditioned(model, n_samples: int, conditions: Any, rng: np.random.Generator):
    """Rows meeting ``conditions`` (mapping or per-row DataFrame) and the schema constraints."""
    schema = model.schema_
    checks = _constraint_checks(schema)
    if conditions is None:
        fixed = pd.DataFrame(index=range(n_samples))
    elif isinstance(conditions, pd.DataFrame):
        if len(conditions) != n_samples:
            raise ConditionError(
                f"per-row conditions have {len(conditions)} rows but n_samples is {n_samples}; "
                "leave n_samples out to draw one row per condition row"
            )
        fixed = parse_fixed_frame(conditions, schema).reset_index(drop=True)
    else:
        parsed = parse_conditions(conditions, schema)
        equal = {c.column: c.values[0] for c in parsed if c.kind == "eq"}
        fixed = pd.DataFrame({k: [v] * n_samples for k, v in equal.items()}, index=range(n_samples))
        checks = [
            Check(f"condition {c.describe()}", lambda cand, req, c=c: c.mask(cand))
            for c in parsed
            if c.kind != "eq"
        ] + checks
    if isinstance(conditions, pd.DataFrame):
        return draw_rows(model, fixed, checks, rng, match="nearest")
    name = " and ".join(f"condition {c} == {fixed[c].iloc[0]!r}" for c in fixed.columns)
    return draw_rows(model, fixed, checks, rng, fixed_name=name or "the fixed values")


def impute(model, data: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Fill missing cells of ``data`` given each row's observed cells (see ``model.impute``)."""
    data = check_frame(data)
    model.schema_.validate(data)
    schema = model.schema_
    fillable = [c.name for c in schema if c.is_modelled and c.missing_rate < 1.0]
    holes = data[fillable].isna()
    needs = holes.any(axis=1).to_numpy()
    out = data.copy()
    if not needs.any():
        return out
    learned = [c.name for c in schema if c.is_modelled]
    fixed = data.loc[needs, learned].reset_index(drop=True)

    def filled(cand: pd.DataFrame, req: pd.DataFrame) -> np.ndarray:
        # A request's free cells are its missing ones; none may stay missing.
        free = req.reindex(columns=fillable).isna().to_numpy()
        return ~(free & cand[fillable].isna().to_numpy()).any(axis=1)

    checks = [Check("imputed cells are not missing", filled), *_constraint_checks(schema)]
    rows = draw_rows(model, fixed, checks, rng, match="nearest")
    for name in learned:
        values = out[name].to_numpy(dtype=object, copy=True)
        values[needs] = rows[name].to_numpy(dtype=object)
        out[name] = pd.Series(values, index=out.index).astype(out[name].dtype)
    return out


def rebalance(
    model,
    data: pd.DataFrame,
    target: str,
    *,
    ratio: float = 1.0,
    random_state: Any = None,
) -> pd.DataFrame:
    """Synthetic rows of the smaller classes of ``target`` for augmentation.

    Each class with fewer rows than ``ratio`` times the largest class gets enough synthetic
    rows (drawn under the condition ``target == class``) to reach it. Returns only the new
    rows; ``pd.concat([data, new])`` gives the augmented table.

    Examples
    --------
    >>> import synthgen as sg
    >>> df = sg.datasets.load_adult().head(2000)
    >>> model = sg.make_generator("copula", random_state=0).fit(df)
    >>> extra = sg.rebalance(model, df, "income", ratio=1.0, random_state=0)
    >>> counts = pd.concat([df, extra])["income"].value_counts()
    >>> int(counts["<=50K"]) == int(counts[">50K"])
    True
    """
    data = check_frame(data)
    if target not in data.columns:
        raise ConditionError(f"target column {target!r} is not in the data")
    if not 0.0 < float(ratio) <= 1.0:
        raise ConfigurationError(f"ratio must lie in (0, 1], got {ratio!r}")
    model._check_fitted()
    rng = check_random_state(random_state)
    counts = data[target].value_counts()
    goal = round(ratio * counts.max())
    parts = []
    for label, count in counts.items():
        missing = goal - int(count)
        if missing > 0:
            value = label.item() if hasattr(label, "item") else label
            parts.append(model.sample(missing, conditions={target: value}, random_state=rng))
    if not parts:
        return data.iloc[:0].copy()
    return pd.concat(parts, ignore_index=True)
