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


def _nearest(
    model, requests: pd.DataFrame, rng: np.random.Generator, k: int
) -> tuple[pd.DataFrame, int]:
    """For generators without native conditioning: for each request, its ``k`` nearest free
    draws (standardised one-hot space, fixed cells only) from a fresh pool, in random order.

    Returns ``len(requests) * k`` candidates, request by request, and the pool size.
    """
    from sklearn.neighbors import NearestNeighbors

    from synthgen.transforms import TableEncoder

    pool_size = int(min(50_000, max(2_000, 20 * len(requests), 2 * k)))
    pool = model.draw(pool_size, rng)
    # Every column, a hierarchy's child included, counts in the distance.
    flat = model.schema_.with_structure(None)
    space = TableEncoder("quantile", "onehot").fit(pool, flat, random_state=rng)
    pool_matrix = space.transform(pool, random_state=rng)
    req_matrix, known = space.encode_fixed(requests, random_state=rng)
    patterns, inverse = np.unique(known, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    choice = np.empty((len(requests), k), dtype=np.int64)
    for p, pattern in enumerate(patterns):
        rows = np.flatnonzero(inverse == p)
        dims = np.flatnonzero(pattern)
        if len(dims) == 0:
            choice[rows] = rng.integers(0, pool_size, (len(rows), k))
            continue
        index = NearestNeighbors(n_neighbors=k).fit(pool_matrix[:, dims])
        choice[rows] = index.kneighbors(req_matrix[np.ix_(rows, dims)])[1]
    choice = rng.permuted(choice, axis=1)
    return pool.iloc[choice.ravel()].reset_index(drop=True), pool_size


def draw_rows(
    model,
    fixed: pd.DataFrame,
    checks: list[Check],
    rng: np.random.Generator,
    *,
    max_candidates: int | None = None,
    match: str = "reject",
    fixed_name: str = "the fixed values",
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
    match : {"reject", "nearest"}
        For generators without native conditioning: keep only free draws whose cells match
        the fixed ones (exact in distribution, may be too rare), or take free draws nearest to
        the fixed cells (always feasible, approximate; used for imputation and per-row
        conditions, where many cells are fixed at once).
    fixed_name : str
        How error messages name the fixed cells (e.g. ``"condition income == '>50K'"``).
    """
    n = len(fixed)
    budget = max_candidates or 200_000 + 100 * n
    fixed = fixed.reset_index(drop=True)
    set_columns = [c for c in fixed.columns if fixed[c].notna().any()]
    fixed = fixed[set_columns]
    native = model.tags.conditioning and bool(set_columns)
    structure = model.encoder_.structure_
    if structure.active:
        # Fixed cells are written over drawn ones: children below a fixed parent are derived
        # again, and rows whose fixed cells break a rule with the drawn ones are redrawn.
        rule = Check("the structure rules", lambda cand, req: structure.consistent(cand))
        checks = [*checks, rule]
    rows: list[pd.DataFrame] = []
    positions: list[np.ndarray] = []
    pending = np.arange(n)
    drawn, factor = 0, 1
    passed = {fixed_name: 0, **{c.name: 0 for c in checks}}
    while len(pending):
        reps = max(1, min(factor, MAX_BATCH // len(pending)))
        req_idx = np.tile(pending, reps)
        requests = fixed.iloc[req_idx].reset_index(drop=True)
        if native:
            candidates = model.draw_given(requests, rng)
            ok = np.ones(len(requests), dtype=bool)
        elif match == "nearest" and set_columns:
            # Each open request gets its k nearest draws; k grows while requests stay open.
            k = int(min(factor * 5, 500))
            candidates, cost = _nearest(model, fixed.iloc[pending].reset_index(drop=True), rng, k)
            req_idx = np.repeat(pending, k)
            requests = fixed.iloc[req_idx].reset_index(drop=True)
            ok = np.ones(len(requests), dtype=bool)
            drawn += cost - len(requests)  # the pool is the real cost of this round
        else:
            candidates = model.draw(len(requests), rng)
            ok = _matches(candidates, requests, model.schema_)
        passed[fixed_name] += int(ok.sum())
        candidates = overwrite_fixed(candidates, requests)
        if structure.active:
            candidates = structure.rederive(candidates, requests, rng)
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
            if native or not set_columns or match == "nearest":
                passed.pop(fixed_name)  # always met in these cases: not informative
            rarest = min(passed, key=lambda k: passed[k]) if passed else "the request"
            met = passed.get(rarest, 0)
            raise ConditionError(
                f"could not fill {len(pending)} of {n} rows after drawing {drawn:,} candidates: "
                f"{rarest} is too rare under this model (met by {met:,} candidates, a rate of "
                f"{met / drawn:.2g}); relax the condition or sample fewer rows"
            )
        rate = len(accepted) / len(requests)
        if match == "nearest" and not native:
            factor *= 2
        else:
            factor = int(min(1000, np.ceil(1.5 / max(rate, 1e-3))))
    order = np.concatenate(positions) if positions else np.zeros(0, dtype=int)
    out = pd.concat(rows, ignore_index=True) if rows else model.draw(1, rng).iloc[:0]
    out.index = order
    return out.sort_index().reset_index(drop=True)
