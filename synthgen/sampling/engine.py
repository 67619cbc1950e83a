"""Draw rows that meet conditions and constraints: native conditioning, then bounded rejection.

Requests are rows of a *fixed* table (set cells are fixed, missing cells free) plus row checks
(sets, ranges, constraints). A generator that supports native conditioning draws each
candidate given its request's fixed cells; any other generator draws freely and keeps the
candidates whose cells match. Either way the fixed cells are then written back exactly, every
check is applied, and requests still open are redrawn with more candidates per request. A
budget of candidate rows bounds the work: past it, a ConditionError names the rarest check and
the share of candidates that met it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgen.exceptions import ConditionError
from synthgen.schema import Schema

__all__ = ["Check", "draw_rows", "overwrite_fixed"]

#: Largest number of candidate rows drawn in one round.
MAX_BATCH = 100_000


@dataclass(frozen=True)
class Check:
    """A named row test: ``func(candidates, requests) -> bool mask`` (frames aligned by row)."""

    name: str
    func: Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


def overwrite_fixed(candidates: pd.DataFrame, requests: pd.DataFrame) -> pd.DataFrame:
    """Write the set cells of ``requests`` into ``candidates`` keeping the candidates' dtypes."""
    out = candidates.copy()
    for name in requests.columns:
        has = requests[name].notna().to_numpy()
        if not has.any():
            continue
        values = out[name].to_numpy(dtype=object, copy=True)
        values[has] = requests[name].to_numpy(dtype=object)[has]
        out[name] = pd.Series(values, index=out.index).astype(out[name].dtype)
    return out


def _window(schema: Schema, name: str) -> float:
    """Tolerance for matching a continuous fixed value by rejection (0 for exact matching)."""
    spec = schema[name]
    if spec.kind == "numeric" and not spec.integer:
        return 0.005 * float(spec.maximum - spec.minimum)
    return 0.0


def _matches(candidates: pd.DataFrame, requests: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Candidates whose cells agree with their request's fixed cells."""
    ok = np.ones(len(candidates), dtype=bool)
    for name in requests.columns:
        req = requests[name]
        has = req.notna().to_numpy()
        if not has.any():
            continue
        cand = candidates[name]
        width = _window(schema, name)
        if width > 0:
            diff = (cand.astype(float) - req.astype(float)).abs().to_numpy()
            same = diff <= width
        else:
            same = (cand.astype(object).to_numpy() == req.astype(object).to_numpy()) & cand.notna()
        ok &= ~has | np.asarray(same, dtype=bool)
    return ok


def draw_rows(
    model,
    fixed: pd.DataFrame,
    checks: list[Check],
    rng: np.random.Generator,
    *,
    max_candidates: int | None = None,
) -> pd.DataFrame:
    """One row per request of ``fixed`` that meets its fixed cells and every check.

    Parameters
    ----------
    model : BaseGenerator
        A fitted generator.
    fixed : DataFrame
        One row per wanted output row; set cells are fixed, missing cells are free.
    checks : list of Check
        Further tests every row must pass.
    rng : numpy Generator
        Source of randomness.
    max_candidates : int, optional
        Budget of candidate rows; default ``200,000 + 100 * len(fixed)``.
    """
    n = len(fixed)
    budget = max_candidates or 200_000 + 100 * n
    fixed = fixed.reset_index(drop=True)
    set_columns = [c for c in fixed.columns if fixed[c].notna().any()]
    fixed = fixed[set_columns]
    native = model._supports_conditioning and bool(set_columns)
    rows: list[pd.DataFrame] = []
    positions: list[np.ndarray] = []
    pending = np.arange(n)
    drawn, factor = 0, 1
    passed = {"fixed values": 0, **{c.name: 0 for c in checks}}
    while len(pending):
        reps = max(1, min(factor, MAX_BATCH // len(pending)))
        req_idx = np.tile(pending, reps)
        requests = fixed.iloc[req_idx].reset_index(drop=True)
        if native:
            candidates = model._draw_given(requests, rng)
            ok = np.ones(len(requests), dtype=bool)
        else:
            candidates = model._draw(len(requests), rng)
            ok = _matches(candidates, requests, model.schema_)
        passed["fixed values"] += int(ok.sum())
        candidates = overwrite_fixed(candidates, requests)
        for check in checks:
            mask = np.asarray(check.func(candidates, requests), dtype=bool)
            passed[check.name] += int(mask.sum())
            ok &= mask
        drawn += len(requests)
        accepted = np.flatnonzero(ok)
        served, first = np.unique(req_idx[accepted], return_index=True)
        if len(served):
            rows.append(candidates.iloc[accepted[first]])
            positions.append(served)
            pending = np.setdiff1d(pending, served, assume_unique=True)
        if len(pending) and drawn >= budget:
            if native or not set_columns:
                passed.pop("fixed values")  # always met in these cases: not informative
            rarest = min(passed, key=lambda k: passed[k]) if passed else "the request"
            met = passed.get(rarest, 0)
            raise ConditionError(
                f"could not fill {len(pending)} of {n} rows after drawing {drawn:,} candidates: "
                f"{rarest} is too rare under this model (met by {met:,} candidates, a rate of "
                f"{met / drawn:.2g}); relax the condition or sample fewer rows"
            )
        rate = len(accepted) / len(requests)
        factor = int(min(1000, np.ceil(1.5 / max(rate, 1e-3))))
    order = np.concatenate(positions) if positions else np.zeros(0, dtype=int)
    out = pd.concat(rows, ignore_index=True) if rows else model._draw(1, rng).iloc[:0]
    out.index = order
    return out.sort_index().reset_index(drop=True)
