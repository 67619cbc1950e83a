"""sdmetrics' Column Pair Trends on wide tables: every pair scored from one pass over the rows.

sdmetrics' ``ColumnPairTrends`` scores each pair of columns with a few pandas calls (a
``groupby``, an ``unstack``, a chi-squared test): about 4 ms a pair whatever the rows, so
106 of the 110 s of ``sg.evaluate`` on 5,000 rows of 200 columns (19,900 pairs), and over half
an hour at 1,000 columns. Here every pair's contingency table comes out of one matrix
product of the rows' one-hot codes (a few seconds for 100,000 rows of 200 columns), the
Pearson correlations out of a few more (:mod:`~synthgen.evaluation.pair_correlations`, columns
with gaps included), and each pair is then scored as sdmetrics scores it, all pairs at once
in arrays (only a pair with a constant column, or one whose shared rows are too few or too
alike for the products, goes through ``pearsonr`` on its own, so a table of thousands of
columns spends no Python step on each of its millions of pairs):

- two continuous columns (numbers, dates): ``1 - |r_real - r_synthetic| / 2`` on the rows
  where both are present, counted where the real ``|r|`` is over sdmetrics' threshold (0.5);
- otherwise the contingency similarity (one minus the total variation distance of the two
  joint distributions, missing a category of its own), a continuous column binned on ten
  bins of its own frame's range (NumPy's ``histogram_bin_edges``, as sdmetrics does), counted
  where the real Cramer's V is over sdmetrics' threshold (0.3);
- a constant column, or a pair with fewer than two rows where both are present, scores
  nothing.

The scores equal sdmetrics' up to float rounding (tests compare them on tables with gaps,
dates, constants, boolean and integer labels, and labels only one frame holds). Columns of
a type this does not reproduce (pandas categoricals, dates held as text) leave the pairs to
sdmetrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation import joint_counts as jc
from synthgen.evaluation.pair_correlations import PairCorrelations

__all__ = ["WIDE_PAIRS", "PairTrends", "pair_trends", "pair_trends_details"]

#: Column pairs above which :func:`~synthgen.evaluation.quality.quality_report_scores` scores
#: the pairs here instead of through sdmetrics' report (46 columns or more).
WIDE_PAIRS = 1000

#: Pairs of columns whose contingency tables are scored at once.
_PAIRS_AT_ONCE = 8192

_CONTINUOUS = {"numerical", "datetime"}
_DISCRETE = {"categorical", "ordinal", "boolean"}


@dataclass(frozen=True)
class PairTrends:
    """Every column pair's Column Pair Trends result, in arrays: pair ``k`` is columns
    ``names[first[k]]`` and ``names[second[k]]`` (``itertools.combinations``' order).

    A table of 10,000 columns has 50 million pairs: held here in about 20 bytes a pair,
    where a frame of them (:meth:`frame`, what sdmetrics' report lists) takes several times
    that in text and objects.

    Attributes
    ----------
    names : list of str
        The columns scored, in the metadata's order.
    first, second : numpy.ndarray
        Each pair's columns, int32 positions into ``names``.
    correlation : numpy.ndarray
        Whether a pair is scored by correlation (two continuous columns; else contingency).
    score : numpy.ndarray
        Each pair's score, float64, NaN where it has none.
    meets, unknown : numpy.ndarray
        Whether a pair counts (passes the real association's threshold), and where that is
        unknown (sdmetrics' missing "Meets Threshold?").
    """

    names: list[str]
    first: np.ndarray
    second: np.ndarray
    correlation: np.ndarray
    score: np.ndarray
    meets: np.ndarray
    unknown: np.ndarray

    def mean_score(self) -> float:
        """The Column Pair Trends score: the mean score of the pairs that count, NaN where
        none does (pandas' mean of the details' counted scores, which skips NaN)."""
        counted = self.score[self.meets]
        present = ~np.isnan(counted)
        if not present.any():
            return float("nan")
        # NaN as zero, then one sum over the array: the sum pandas' ``mean`` takes
        return float(np.where(present, counted, 0.0).sum() / present.sum())

    def pair_names(self, pairs: np.ndarray) -> list[str]:
        """``"a / b"`` names of the pairs at positions ``pairs`` (the report's keys)."""
        a, b = self.first[pairs].tolist(), self.second[pairs].tolist()
        return [f"{self.names[i]} / {self.names[j]}" for i, j in zip(a, b, strict=True)]

    def frame(self) -> pd.DataFrame:
        """sdmetrics' details: ``Column 1``, ``Column 2``, ``Metric``, ``Score`` and
        ``Meets Threshold?``, a row a pair."""
        names = np.array(self.names, dtype=object)
        metric = np.where(self.correlation, "CorrelationSimilarity", "ContingencySimilarity")
        return pd.DataFrame(
            {
                "Column 1": names[self.first],
                "Column 2": names[self.second],
                "Metric": metric.astype(object),
                "Score": self.score,
                "Meets Threshold?": pd.arrays.BooleanArray(self.meets, self.unknown),
            }
        )


def pair_trends_details(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: dict[str, Any],
    thresholds: tuple[float, float] = (0.5, 0.3),
) -> pd.DataFrame | None:
    """sdmetrics' Column Pair Trends details: ``Column 1``, ``Column 2``, ``Metric``,
    ``Score`` and ``Meets Threshold?`` for every pair of columns in ``metadata`` order;
    ``None`` where a column's type is not reproduced here. ``thresholds``: the real
    correlation and association a pair must pass to count. (:func:`pair_trends` gives the
    same in arrays, without a row of text a pair.)

    Examples
    --------
    >>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "a", "b"]})
    >>> meta = {"columns": {"x": {"sdtype": "numerical"}, "c": {"sdtype": "categorical"}}}
    >>> details = pair_trends_details(real, real, meta)
    >>> details[["Column 1", "Column 2", "Metric"]].values.tolist(), details["Score"].tolist()
    ([['x', 'c', 'ContingencySimilarity']], [1.0])
    """
    trends = pair_trends(real, synthetic, metadata, thresholds)
    return None if trends is None else trends.frame()


def pair_trends(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: dict[str, Any],
    thresholds: tuple[float, float] = (0.5, 0.3),
) -> PairTrends | None:
    """Column Pair Trends of every pair of columns in ``metadata`` order, in arrays
    (:class:`PairTrends`); ``None`` where a column's type is not reproduced here.
    ``thresholds``: the real correlation and association a pair must pass to count.

    Examples
    --------
    >>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 2.0, 2.5, 5.0],
    ...                      "c": ["a", "a", "b", "b"]})
    >>> meta = {"columns": {"x": {"sdtype": "numerical"}, "y": {"sdtype": "numerical"},
    ...                     "c": {"sdtype": "categorical"}}}
    >>> trends = pair_trends(real, real, meta)
    >>> trends.first.tolist(), trends.second.tolist(), trends.meets.tolist()
    ([0, 0, 1], [1, 2, 2], [True, True, True])
    >>> trends.mean_score(), trends.pair_names(np.array([2]))
    (1.0, ['y / c'])
    """
    columns = list(metadata["columns"])
    sdtype = {c: metadata["columns"][c]["sdtype"] for c in columns}
    frames = (real, synthetic)
    for c in columns:
        for frame in frames:
            if not _supported(frame[c], sdtype[c]):
                return None
    valid = [c for c in columns if sdtype[c] in _CONTINUOUS | _DISCRETE]
    numbers = {c: [_numeric(f[c]) for f in frames] for c in valid if sdtype[c] in _CONTINUOUS}
    codes, width, binned = _discrete_codes(frames, valid, sdtype, numbers)
    discrete = [c for c in valid if sdtype[c] not in _CONTINUOUS]
    # the discrete columns' codes first: their one-hot block is a slice of every row's
    layout = discrete + [c for c in valid if sdtype[c] in _CONTINUOUS]
    offsets = dict(zip(layout, np.cumsum([0] + [width[c] for c in layout]), strict=False))
    corr = PairCorrelations(numbers)
    first, second = _pairs(len(valid))  # itertools.combinations' order
    continuous = np.array([sdtype[c] in _CONTINUOUS for c in valid], dtype=bool)
    both = continuous[first] & continuous[second]
    score = np.full(len(first), np.nan)
    meets = np.zeros(len(first), dtype=bool)
    unknown = np.ones(len(first), dtype=bool)  # "Meets Threshold?" missing
    pairs = np.flatnonzero(both)
    scored = corr.scores(first[pairs], second[pairs], valid, thresholds[0])
    score[pairs], meets[pairs], unknown[pairs] = scored
    # a pair with a column that could not be binned has no score
    ok = np.array([binned.get(c, True) for c in valid], dtype=bool)
    table = np.flatnonzero(~both & ok[first] & ok[second])
    # the pair's joint counts: its row (either column) against its discrete column
    swap = continuous[second[table]]  # the second column continuous: the first is discrete
    x = np.where(swap, second[table], first[table])
    d = np.where(swap, first[table], second[table])
    w = np.array([width[c] for c in valid])
    start = np.array([offsets[c] for c in valid])
    sizes = (len(real), len(synthetic))
    # rows holding each code, by its offset in ``layout``, in each frame
    held = [jc.held_codes(codes[i], layout, width) for i in range(2)]
    target, places = jc.product_places(held, layout, width, offsets)
    sink = len(target) and int(target.max())  # the codes out of the products: zero counts
    blocks = jc.blocks(discrete, width, sink + 1)
    run = {c: b for b, block in enumerate(blocks) for c in block}
    block_of = np.array([run.get(c, -1) for c in valid], dtype=np.int64)
    split = int(sum(width[c] for c in discrete))  # where the continuous columns' codes start
    for b, block in enumerate(blocks):  # the counts against a block of discrete columns
        span = (places[block[0]][0], places[block[-1]][1])
        counts = [
            jc.joint_counts(codes[i], layout, block, span, target, offsets, split) for i in range(2)
        ]
        # a block's code's row in the counts; the codes out of the products read the last
        row = np.where(target == sink, span[1] - span[0], target - span[0])
        inside = np.flatnonzero(block_of[d] == b)
        # pairs of equal tables together
        for at, (wx, wd) in _tables_alike(table[inside], w[x[inside]], w[d[inside]]):
            at = inside[at]
            xs = start[x[at]][:, None] + np.arange(wx)  # the pairs' codes' offsets
            ds = start[d[at]][:, None] + np.arange(wd)
            take = (row[ds][:, None, :], target[xs][:, :, None])
            margins = [(held[i][xs], held[i][ds]) for i in range(2)]
            tables = [jc.whole_tables(counts[i][take], *margins[i]) for i in range(2)]
            pair_scores, pair_meets = jc.contingency(*tables, sizes, thresholds[1], margins[0])
            rows = table[at]
            score[rows], meets[rows], unknown[rows] = pair_scores, pair_meets, False
    return PairTrends(valid, first, second, both, score, meets, unknown)


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``i < j`` of ``n`` columns in ``itertools.combinations``' order, as two
    int32 arrays (``numpy.triu_indices``' int64 takes twice the memory: 800 MB for the 50
    million pairs of 10,000 columns).

    Examples
    --------
    >>> [a.tolist() for a in _pairs(4)]
    [[0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3]]
    """
    counts = np.arange(n - 1, 0, -1)
    first = np.repeat(np.arange(n - 1, dtype=np.int32), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)  # where each first column's run starts
    second = (np.arange(len(first)) - starts + first + 1).astype(np.int32)
    return first, second


def _tables_alike(pairs: np.ndarray, wx: np.ndarray, wd: np.ndarray):
    """Batches of at most ``_PAIRS_AT_ONCE`` positions into ``pairs`` whose joint tables have
    the same shape ``(wx, wd)``: shapes in the order they first appear, pairs in order within
    a shape. Yields ``(positions, (wx, wd))``."""
    if not len(pairs):
        return
    key = wx.astype(np.int64) * (int(wd.max()) + 1) + wd
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")[group]
    order = np.argsort(rank, kind="stable")
    bounds = np.flatnonzero(np.diff(rank[order])) + 1
    for members in np.split(order, bounds):
        for lo in range(0, len(members), _PAIRS_AT_ONCE):
            at = members[lo : lo + _PAIRS_AT_ONCE]
            yield at, (int(wx[at[0]]), int(wd[at[0]]))


def _supported(column: pd.Series, sdtype: str) -> bool:
    """Whether a column's values are scored here as sdmetrics scores them: dates as
    ``datetime64``, numbers of a numeric type, labels of any type but pandas categoricals
    (whose unobserved categories sdmetrics' ``groupby`` would count) and dates."""
    dtype = column.dtype
    if sdtype == "datetime":
        return pd.api.types.is_datetime64_dtype(dtype)
    if sdtype == "numerical":
        return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    is_date = pd.api.types.is_datetime64_any_dtype(dtype)
    return not isinstance(dtype, pd.CategoricalDtype) and not is_date


def _numeric(column: pd.Series) -> np.ndarray:
    """A continuous column as float64 (dates as nanoseconds), missing as NaN."""
    if pd.api.types.is_datetime64_dtype(column.dtype):
        missing = column.isna().to_numpy()
        values = column.to_numpy().astype("datetime64[ns]").astype(np.int64).astype(np.float64)
        return np.where(missing, np.nan, values)
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _discrete_codes(frames, valid, sdtype, numbers):
    """Each column's codes in both frames (a continuous column binned on its own frame's
    ten bins, missing in bin 11; labels coded over both frames, missing a label), each
    column's number of codes, and whether each continuous column could be binned."""
    codes: list[dict[str, np.ndarray]] = [{}, {}]
    width: dict[str, int] = {}
    binned: dict[str, bool] = {}
    for c in valid:
        if sdtype[c] in _CONTINUOUS:
            binned[c] = True
            for i in range(2):
                x = numbers[c][i]
                try:
                    edges = np.histogram_bin_edges(x[~np.isnan(x)])
                except ValueError:  # an infinite value: sdmetrics' binning fails too
                    binned[c] = False
                    edges = np.zeros(11)
                codes[i][c] = np.digitize(x, edges)
            width[c] = 12
            continue
        joined = pd.concat([frames[0][c], frames[1][c]], ignore_index=True)
        coded, labels = pd.factorize(joined, use_na_sentinel=False)
        n = len(frames[0])
        codes[0][c], codes[1][c] = coded[:n], coded[n:]
        width[c] = max(len(labels), 1)
    return codes, width, binned
