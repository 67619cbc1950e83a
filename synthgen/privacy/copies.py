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

Near copies are searched by :class:`synthgen.privacy.near.NearCopies` (a table in parts:
:mod:`synthgen.privacy.spilled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.data import PreparedData, prepare
from synthgen.evaluation.distance import row_keys
from synthgen.evaluation.keyed import RowGroups
from synthgen.privacy.near import NearCopies, near_copy_distances
from synthgen.schema import Schema

__all__ = [
    "CopyFilter",
    "NearCopies",
    "copy_decision",
    "merge_holdout_labels",
    "near_copy_distances",
    "new_copy_stats",
]


def new_copy_stats() -> dict[str, Any]:
    """The copy filter's running counts, before any row was checked."""
    return {
        "checked": 0,
        "exact_copies": 0,
        "near_copies": 0,
        "natural_duplicates": 0,
        "base_rate": None,
        "copy_rate": None,
        "near_copy_distance": None,
        "method": None,
    }


def copy_decision(
    stats: dict[str, Any], counts: np.ndarray, near: np.ndarray, n_rows: int
) -> np.ndarray:
    """The rows of one batch to drop, from each row's count of equal training rows and
    whether it lies within the near-copy limit; updates ``stats`` (its ``base_rate`` set).

    Natural duplicates (copies of rows several training rows share, the most shared first)
    are kept while the copies of the ``n_rows`` rows kept in all stay within the holdout's
    own rate; every other copy, and every near copy, is dropped.

    Examples
    --------
    >>> stats = dict(new_copy_stats(), base_rate=0.5)
    >>> drop = copy_decision(stats, np.array([0, 3, 1, 0]), np.array([0, 0, 0, 1], bool), 4)
    >>> drop.tolist(), stats["natural_duplicates"], stats["exact_copies"]
    ([False, False, True, True], 1, 1)
    """
    if stats["copy_rate"] is None:
        stats["copy_rate"] = float(np.mean(counts > 0)) if len(counts) else 0.0
    room = int(np.floor(stats["base_rate"] * n_rows)) - stats["natural_duplicates"]
    shared = np.flatnonzero(counts >= 2)
    keep = shared[np.argsort(-counts[shared], kind="stable")][: max(room, 0)]
    is_copy = counts > 0
    allowed = np.zeros(len(counts), dtype=bool)
    allowed[keep] = True
    near = near & ~is_copy
    exact = is_copy & ~allowed
    stats["checked"] += len(counts)
    stats["exact_copies"] += int(exact.sum())
    stats["near_copies"] += int(near.sum())
    stats["natural_duplicates"] += len(keep)
    return exact | near


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
    prepared : PreparedData, optional
        The training rows (``"real"``) and the holdout already coded (a table read in parts:
        :func:`synthgen.safe_export.passes.prepare_parts`); ``train`` and ``holdout`` are then
        not read.

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
    prepared: PreparedData | None = field(default=None, repr=False)
    stats: dict[str, Any] = field(default_factory=dict)
    _prep: PreparedData | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.stats = new_copy_stats()

    def _setup(self) -> None:
        """The training and holdout rows coded once, for every batch: their keys, the
        holdout's duplicate rate and the near-copy search."""
        prep = self.prepared
        self.prepared = None  # held once, as ``_prep``
        if prep is None:
            # the holdout's first row stands in for the synthetic rows (coded per batch)
            prep = prepare(self.train, self.holdout.iloc[:1], self.holdout, schema=self.schema)
        merge_holdout_labels(prep, self.merged_into)
        self._prep = prep
        num, codes = prep.take("real")
        self._train = RowGroups(lambda rows: row_keys(num[rows], codes[rows]), len(codes))
        self.stats["base_rate"] = float(np.mean(self._counts(*prep.take("holdout")) > 0))
        self._near = NearCopies(prep, self.near_copy_quantile)

    def _counts(self, num: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """How many training rows equal each of these rows."""
        return self._train.count_of(row_keys(num, codes))

    def check(self, synthetic: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of ``synthetic`` to drop; updates :attr:`stats`."""
        if self._prep is None:
            self._setup()
        num, codes = self._prep.encode(synthetic, "synthetic rows")
        counts = self._counts(num, codes)
        near = self._near.distances(num, codes) < self._near.limit
        self.stats["near_copy_distance"], self.stats["method"] = self._near.limit, self._near.method
        return copy_decision(self.stats, counts, near, self.n_rows)


def merge_holdout_labels(
    prep: PreparedData, merged_into: dict[str, Any], held: dict[str, int] | None = None
) -> None:
    """Code the holdout's labels the training rows do not hold as the label rare labels were
    merged into (``merged_into``: column -> label), in ``prep.codes["holdout"]``.

    ``held``: column -> how many labels the training rows hold, the first codes (as
    :func:`~synthgen.safe_export.passes.prepare_parts` orders them); by default the codes
    of ``prep.codes["real"]``.
    """
    for name, label in merged_into.items():
        if name not in prep.categorical or label not in prep.categories[name]:
            continue
        j = prep.categorical.index(name)
        labels = prep.categories[name]
        known = np.zeros(len(labels), dtype=bool)
        if held is None:
            known[np.unique(prep.codes["real"][:, j])] = True
        else:
            known[: held[name]] = True
        known[[k for k, v in enumerate(labels) if v is None]] = True  # missing stays missing
        codes = prep.codes["holdout"][:, j]
        prep.codes["holdout"][:, j] = np.where(known[codes], codes, labels.index(label))
