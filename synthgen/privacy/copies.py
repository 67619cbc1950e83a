"""The copy filter of privacy-safe export: which synthetic rows give a training row away.

A synthetic row is dropped (and export draws another) when it is

- an **exact copy**: equal to a training row, unless it is a *natural duplicate*: several
  training rows share it and the synthetic rows copy training rows no more often than real
  unseen rows (the holdout) equal training rows. A table where 23% of the rows repeat other
  rows keeps its repeats; a generator that reproduces one person's row does not;
- a **near copy**: nearer to a training row than all but ``near_copy_quantile`` of the holdout
  rows are to theirs (closer than real unseen people come by chance). When more than that
  share of holdout rows equal a training row, the limit is 0 and only exact copies count.

Everything is compared as the generator saw it: the synthetic rows against the *protected*
training rows (a generator that reproduces a row whose rare label was merged still copies that
person), and the holdout after the same label merges (``merged_into``); numbers need no such
step, as the distance clips them to the training range. Distances are the mixed-type distance
of :mod:`synthgen.evaluation.distance` (numbers scaled to [0, 1], a category mismatch costs 1).

It is fast on large tables: rows are hashed to byte keys and matched by sorting, and near
copies are searched with a k-d tree in a compact space where each categorical column is one
coordinate spaced 2 apart, so that, below a limit of 1, distances there equal the mixed
distances (a near copy matches every category); only when the limit is 1 or more does the
filter fall back to a brute-force search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from synthgen.evaluation.data import PreparedData, prepare
from synthgen.evaluation.distance import (
    MixedEmbedding,
    match_counts,
    nearest_exact,
    row_keys,
)
from synthgen.schema import Schema

__all__ = ["CopyFilter", "near_copy_distances"]

#: Spacing of category codes in the compact space: any mismatch is farther than any limit < 1.
_CODE_SPACING = 2.0


def _embeddings(prep: PreparedData, compact: bool) -> dict[str, np.ndarray]:
    frames = [f for f in ("real", "synthetic", "holdout") if f in prep.num]
    all_num = np.concatenate([prep.num[f] for f in frames])
    n_cats = [] if compact else [len(prep.categories[c]) for c in prep.categorical]
    emb = MixedEmbedding(prep.num["real"], n_cats, num_missing=np.isnan(all_num).any(axis=0))
    out = {}
    for f in frames:
        x = emb.transform(prep.num[f], prep.codes[f])
        if compact:
            x = np.hstack([x, prep.codes[f].astype(float) * _CODE_SPACING])
        out[f] = x
    return out


def near_copy_distances(
    prep: PreparedData, near_copy_quantile: float
) -> tuple[float, np.ndarray, str]:
    """The near-copy limit and each synthetic row's distance to its nearest training row.

    Returns ``(limit, distances, method)``. Distances at or above the limit may be reported
    as ``inf`` (the search stops there); ``method`` is ``"kd-tree"`` or ``"brute force"``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("ab"), 600)})
    >>> prep = prepare(df.iloc[:400], df.iloc[:50], df.iloc[400:])  # synthetic = 50 train rows
    >>> limit, d, how = near_copy_distances(prep, 0.05)
    >>> bool(0 < limit < 1), bool((d == 0).all()), how
    (True, True, 'kd-tree')
    """
    if near_copy_quantile <= 0:
        return 0.0, np.full(prep.n_rows("synthetic"), np.inf), "off"
    emb = _embeddings(prep, compact=True)
    tree = cKDTree(emb["real"])
    # Holdout distances below 1 are exact in the compact space; the rest are >= 1.
    hold_d, _ = tree.query(emb["holdout"], k=1, distance_upper_bound=1.0)
    with np.errstate(invalid="ignore"):  # a quantile among the infinities is not finite
        limit = float(np.quantile(hold_d, near_copy_quantile))
    if np.isfinite(limit) and limit < 1.0:
        if limit == 0.0:
            return 0.0, np.full(prep.n_rows("synthetic"), np.inf), "kd-tree"
        syn_d, _ = tree.query(emb["synthetic"], k=1, distance_upper_bound=limit)
        return limit, np.asarray(syn_d, dtype=float), "kd-tree"
    # A limit of 1 or more lets near copies differ in a category: search the full space
    # (columns of many labels hashed for the search, their mismatches then costed exactly).
    all_num = np.concatenate([prep.num[f] for f in ("real", "synthetic", "holdout")])
    full = MixedEmbedding(
        prep.num["real"],
        [len(prep.categories[c]) for c in prep.categorical],
        num_missing=np.isnan(all_num).any(axis=0),
    )
    real = prep.take("real")
    hold_d = nearest_exact(full, prep.take("holdout"), real)[0][:, 0]
    limit = float(np.quantile(hold_d, near_copy_quantile))
    return limit, nearest_exact(full, prep.take("synthetic"), real)[0][:, 0], "brute force"


@dataclass
class CopyFilter:
    """Finds copies of training rows in batches of synthetic rows (see the module docstring).

    Parameters
    ----------
    train, holdout : DataFrame
        The training rows the generator learned from (after the protections) and the real rows
        it never saw.
    schema : Schema
        Column kinds of ``train``.
    near_copy_quantile : float
        Share of holdout rows allowed to be nearer to a training row than a kept synthetic row
        (0: exact copies only).
    n_rows : int
        Rows export will keep in all: with the holdout's duplicate rate it sets how many natural
        duplicates may be kept.
    merged_into : dict, optional
        Column -> the label rare labels were merged into; holdout labels missing from ``train``
        are mapped to it, so the holdout is judged as the generator saw the training rows.

    Attributes
    ----------
    stats : dict
        Running counts: ``exact_copies`` and ``near_copies`` dropped, ``natural_duplicates``
        kept, ``checked`` rows, the holdout's ``base_rate``, the first batch's ``copy_rate``,
        the ``near_copy_distance`` limit and the search ``method``.

    Examples
    --------
    >>> df = pd.DataFrame({"c": list("ab") * 100, "x": np.arange(200) % 7})
    >>> f = CopyFilter(df.iloc[:150], df.iloc[150:], Schema.infer(df), 0.01, n_rows=50)
    >>> drop = f.check(df.iloc[:50])  # every row repeats: natural duplicates, none dropped
    >>> int(drop.sum()), f.stats["natural_duplicates"], f.stats["base_rate"]
    (0, 50, 1.0)
    """

    train: pd.DataFrame
    holdout: pd.DataFrame
    schema: Schema
    near_copy_quantile: float
    n_rows: int
    merged_into: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stats = {
            "checked": 0,
            "exact_copies": 0,
            "near_copies": 0,
            "natural_duplicates": 0,
            "base_rate": None,
            "copy_rate": None,
            "near_copy_distance": None,
            "method": None,
        }

    def check(self, synthetic: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of ``synthetic`` to drop; updates :attr:`stats`."""
        prep = prepare(self.train, synthetic, self.holdout, schema=self.schema)
        self._merge_holdout_labels(prep)
        train_keys = row_keys(*prep.take("real"))
        counts = match_counts(train_keys, row_keys(*prep.take("synthetic")))
        st = self.stats
        if st["base_rate"] is None:
            base = float(np.mean(match_counts(train_keys, row_keys(*prep.take("holdout"))) > 0))
            st["base_rate"], st["copy_rate"] = base, float(np.mean(counts > 0))
        # Natural duplicates: copies of rows several training rows share, the most shared first,
        # as long as the copy rate stays within the holdout's own rate.
        room = int(np.floor(st["base_rate"] * self.n_rows)) - st["natural_duplicates"]
        shared = np.flatnonzero(counts >= 2)
        keep = shared[np.argsort(-counts[shared], kind="stable")][: max(room, 0)]
        is_copy = counts > 0
        allowed = np.zeros(len(counts), dtype=bool)
        allowed[keep] = True
        limit, dist, method = near_copy_distances(prep, self.near_copy_quantile)
        near = (dist < limit) & ~is_copy
        exact = is_copy & ~allowed
        st["checked"] += len(counts)
        st["exact_copies"] += int(exact.sum())
        st["near_copies"] += int(near.sum())
        st["natural_duplicates"] += len(keep)
        st["near_copy_distance"], st["method"] = limit, method
        return exact | near

    def _merge_holdout_labels(self, prep: PreparedData) -> None:
        for name, label in self.merged_into.items():
            if name not in prep.categorical or label not in prep.categories[name]:
                continue
            j = prep.categorical.index(name)
            labels = prep.categories[name]
            known = np.zeros(len(labels), dtype=bool)
            known[np.unique(prep.codes["real"][:, j])] = True
            known[[k for k, v in enumerate(labels) if v is None]] = True  # missing stays missing
            codes = prep.codes["holdout"][:, j]
            prep.codes["holdout"][:, j] = np.where(known[codes], codes, labels.index(label))
