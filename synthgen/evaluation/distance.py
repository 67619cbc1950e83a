"""Mixed-type distances between rows, computed without an ``n x m`` matrix in memory.

Rows are embedded so that the Euclidean distance between embeddings is a mixed-type distance:

* numeric columns are min-max scaled to [0, 1] with the *training* ranges (values outside are
  clipped), so a column contributes ``(x - y)**2``;
* categorical columns are one-hot coded with weight ``1/sqrt(2)``, so a mismatch contributes
  exactly 1 and a match 0; missing is a category of its own (missing == missing costs 0);
* a numeric column with missing cells gets an indicator coordinate: a missing cell sits at 0.5
  with indicator ``sqrt(0.75)``, so missing vs missing costs 0 and missing vs present costs
  between 0.75 and 1, like a categorical mismatch;
* a high-cardinality column (more than :data:`~synthgen.evaluation.data.MAX_EXACT_CODES`
  codes) is not one-hot coded: each code is a random sign vector of :data:`HASH_DIMS`
  coordinates derived from the code alone (a hash, no state), so equal codes still cost 0 and
  different ones cost 1 on average (within about 12%): the width stays :data:`HASH_DIMS`
  however many labels the column has.

Nearest neighbours come from sklearn's brute-force search (chunked, BLAS-fast); the distances
of the returned candidates are then recomputed exactly from coordinate differences, because the
``|x|^2 + |y|^2 - 2xy`` trick of the fast search leaves round-off that would turn exact copies
(distance 0) into tiny positive numbers and break ties.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from synthgen.evaluation.data import MAX_EXACT_CODES

__all__ = ["HASH_DIMS", "MixedEmbedding", "nearest", "nearest_exact", "row_keys"]

_ONEHOT = 1.0 / np.sqrt(2.0)
_MISSING_INDICATOR = np.sqrt(0.75)
#: Coordinates of the hashed codes of a high-cardinality column.
HASH_DIMS = 64
#: Bytes of the candidates' coordinates :func:`nearest` holds at once.
_EXACT_BYTES = 32 * 2**20


def _hashed_signs(codes: np.ndarray, dims: int = HASH_DIMS) -> np.ndarray:
    """A fixed +-1/sqrt(dims) vector per code (splitmix64 of code and coordinate).

    Examples
    --------
    >>> v = _hashed_signs(np.array([7, 7, 8]))
    >>> bool((v[0] == v[1]).all()), round(float(np.sum((v[0] - v[2]) ** 2) / 2), 1) > 0.5
    (True, True)
    """
    x = codes.astype(np.uint64)[:, None] * np.uint64(dims) + np.arange(dims, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    bits = (x & np.uint64(1)).astype(np.float64)
    return (2.0 * bits - 1.0) / np.sqrt(dims)


class MixedEmbedding:
    """Embed numeric values and category codes in a space where Euclidean = mixed distance.

    Parameters
    ----------
    num_ref : ndarray
        Numeric values of the reference (training) rows, used for the scaling.
    n_categories : list of int
        Number of codes of each categorical column.
    scale : {"minmax", "standard"}
        ``"minmax"``: numerics to [0, 1] (privacy distances). ``"standard"``: z-scores and
        unweighted one-hot (the embedding of alpha-precision / beta-recall).
    num_missing : ndarray of bool, optional
        Which numeric columns need a missing-value indicator (default: those with NaN in
        ``num_ref``).

    Examples
    --------
    >>> emb = MixedEmbedding(np.array([[0.0], [10.0]]), [2])
    >>> x = emb.transform(np.array([[0.0], [10.0]]), np.array([[0], [1]]))
    >>> float(np.linalg.norm(x[0] - x[1]) ** 2)
    2.0
    """

    def __init__(
        self,
        num_ref: np.ndarray,
        n_categories: list[int],
        *,
        scale: str = "minmax",
        num_missing: np.ndarray | None = None,
    ) -> None:
        if scale not in ("minmax", "standard"):
            raise ValueError(f"unknown scale {scale!r}")
        self.scale = scale
        self.n_categories = list(n_categories)
        with np.errstate(all="ignore"):
            if num_ref.shape[1] and len(num_ref):
                all_nan = np.isnan(num_ref).all(axis=0)
                ref = np.where(all_nan, 0.0, num_ref)
                if scale == "minmax":
                    self.offset = np.nanmin(ref, axis=0)
                    spread = np.nanmax(ref, axis=0) - self.offset
                else:
                    self.offset = np.nanmean(ref, axis=0)
                    spread = np.nanstd(ref, axis=0)
            else:
                self.offset = np.zeros(num_ref.shape[1])
                spread = np.ones(num_ref.shape[1])
        self.spread = np.where(spread > 0, spread, 1.0)
        if num_missing is None:
            num_missing = np.isnan(num_ref).any(axis=0)
        self.num_missing = np.asarray(num_missing, dtype=bool)
        # column blocks, so that attacks can use a subset of the columns
        self.num_blocks: list[np.ndarray] = []
        pos = 0
        for j in range(num_ref.shape[1]):
            width = 2 if self.num_missing[j] else 1
            self.num_blocks.append(np.arange(pos, pos + width))
            pos += width
        self.cat_blocks: list[np.ndarray] = []
        #: Categorical columns coded by hashed sign vectors (approximate mismatch cost).
        self.hashed = [j for j, n in enumerate(self.n_categories) if n > MAX_EXACT_CODES]
        for n in self.n_categories:
            width = n if n <= MAX_EXACT_CODES else HASH_DIMS
            self.cat_blocks.append(np.arange(pos, pos + width))
            pos += width
        self.dim = pos

    def transform(self, num: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Embedding ``(n_rows, dim)`` of the given numeric values and category codes."""
        n = len(num) if num.ndim == 2 and num.shape[1] else len(codes)
        out = np.zeros((n, self.dim), dtype=float)
        weight = _ONEHOT if self.scale == "minmax" else 1.0
        for j, block in enumerate(self.num_blocks):
            x = (num[:, j] - self.offset[j]) / self.spread[j]
            if self.scale == "minmax":
                x = np.clip(x, 0.0, 1.0)
            missing = np.isnan(x)
            out[:, block[0]] = np.where(missing, 0.5 if self.scale == "minmax" else 0.0, x)
            if len(block) == 2:
                out[:, block[1]] = np.where(
                    missing, _MISSING_INDICATOR if self.scale == "minmax" else 1.0, 0.0
                )
        for j, block in enumerate(self.cat_blocks):
            size = self.n_categories[j]
            c = np.clip(codes[:, j], 0, size - 1)
            if size <= MAX_EXACT_CODES:
                out[np.arange(n), block[c]] = weight
                continue
            out[:, block] = weight * _hashed_signs(c)
        return out

    def columns(self, num_idx: list[int], cat_idx: list[int]) -> np.ndarray:
        """Embedding coordinates of a subset of numeric and categorical columns."""
        parts = [self.num_blocks[j] for j in num_idx] + [self.cat_blocks[j] for j in cat_idx]
        return np.concatenate(parts) if parts else np.empty(0, dtype=int)


def nearest(
    query: np.ndarray, reference: np.ndarray, k: int = 1, *, extra: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean distances and indices of the ``k`` nearest reference rows of each query.

    Candidates come from a fast search (``k + extra`` of them); their distances are recomputed
    from coordinate differences and re-sorted (stable: ties keep the search order), so exact
    duplicates are at distance exactly 0.

    Examples
    --------
    >>> ref = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 4.0]])
    >>> d, i = nearest(np.array([[3.0, 4.0], [0.9, 0.0]]), ref, k=2)
    >>> d.round(3).tolist(), i.tolist()
    ([[0.0, 4.472], [0.1, 0.9]], [[2, 1], [1, 0]])
    """
    if len(reference) == 0:
        raise ValueError("reference set is empty")
    k = min(k, len(reference))
    n_cand = min(k + extra, len(reference))
    nn = NearestNeighbors(n_neighbors=n_cand, algorithm="brute", n_jobs=1).fit(reference)
    dist = np.empty((len(query), k))
    idx = np.empty((len(query), k), dtype=np.int64)
    step = 2048
    # the candidates' coordinates a few rows at a time: a wide table's one-hot rows
    # (thousands of coordinates) times 2,048 rows times the candidates would take GBs
    rows = max(1, _EXACT_BYTES // (8 * n_cand * max(reference.shape[1], 1)))
    for start in range(0, len(query), step):
        q = query[start : start + step]
        cand = nn.kneighbors(q, return_distance=False)
        exact = np.empty(cand.shape, dtype=np.result_type(reference, query))
        for lo in range(0, len(q), rows):
            diff = reference[cand[lo : lo + rows]] - q[lo : lo + rows, None, :]
            exact[lo : lo + rows] = np.sqrt((diff**2).sum(axis=2))
        order = np.argsort(exact, axis=1, kind="stable")[:, :k]
        dist[start : start + step] = np.take_along_axis(exact, order, axis=1)
        idx[start : start + step] = np.take_along_axis(cand, order, axis=1)
    return dist, idx


def nearest_exact(
    emb: MixedEmbedding,
    query: tuple[np.ndarray, np.ndarray],
    reference: tuple[np.ndarray, np.ndarray],
    k: int = 1,
    *,
    extra: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nearest` on ``(num, codes)`` rows, with exact mismatch costs in hashed columns.

    Candidates come from two searches (``k + extra`` each: with and without the hashed
    columns); their distances are then recomputed with a hashed column's mismatch costing
    exactly what a one-hot mismatch costs (1 with ``"minmax"`` scaling). Without hashed
    columns this is :func:`nearest`.

    Examples
    --------
    >>> emb = MixedEmbedding(np.zeros((3, 0)), [1000])
    >>> ref = (np.zeros((3, 0)), np.array([[1], [2], [3]]))
    >>> d, i = nearest_exact(emb, (np.zeros((2, 0)), np.array([[2], [999]])), ref)
    >>> d[:, 0].tolist(), int(i[0, 0])
    ([0.0, 1.0], 1)
    """
    q, r = emb.transform(*query), emb.transform(*reference)
    if not emb.hashed:
        return nearest(q, r, k)
    k = min(k, len(r))
    n_cand = min(k + extra, len(r))
    keep = np.setdiff1d(np.arange(emb.dim), np.concatenate([emb.cat_blocks[j] for j in emb.hashed]))
    # Candidates: the nearest with the hashed columns (rows sharing their labels rank well)
    # and the nearest without them (the best rows that differ in them).
    if len(keep):
        base = nearest(q[:, keep], r[:, keep], n_cand, extra=0)[1]
    else:  # nothing but hashed columns: every row that differs costs the same
        base = np.tile(np.arange(n_cand), (len(q), 1))
    cand = np.concatenate([nearest(q, r, n_cand, extra=0)[1], base], axis=1)
    cand.sort(axis=1)
    cost = 1.0 if emb.scale == "minmax" else 2.0  # 2 * weight**2, as a one-hot mismatch
    dist = np.empty((len(q), k))
    idx = np.empty((len(q), k), dtype=np.int64)
    for start in range(0, len(q), 2048):
        c = cand[start : start + 2048]
        qq = q[start : start + 2048][:, keep]
        d2 = ((r[:, keep][c] - qq[:, None, :]) ** 2).sum(axis=2)
        for j in emb.hashed:
            d2 += cost * (reference[1][c, j] != query[1][start : start + 2048, j][:, None])
        d2[:, 1:][c[:, 1:] == c[:, :-1]] = np.inf  # a row found twice counts once
        order = np.argsort(d2, axis=1, kind="stable")[:, :k]
        dist[start : start + 2048] = np.sqrt(np.take_along_axis(d2, order, axis=1))
        idx[start : start + 2048] = np.take_along_axis(c, order, axis=1)
    return dist, idx


def row_keys(num: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """One key per row, as fixed-size bytes (numpy ``void``); equal rows (missing == missing)
    get equal keys. Vectorised: the keys are views of one float array, no loop over rows.

    Examples
    --------
    >>> keys = row_keys(np.array([[1.0], [np.nan], [1.0]]), np.array([[0], [0], [0]]))
    >>> bool(keys[0] == keys[2]), bool(keys[0] == keys[1])
    (True, False)
    """
    num = num if num.ndim == 2 else num.reshape(len(num), -1)
    # one array: the numbers, the codes, and a constant column so that a table without used
    # columns still gets (equal) keys
    both = np.concatenate([num, codes.astype(float), np.zeros((len(num), 1))], axis=1)
    if num.shape[1]:
        left = both[:, : num.shape[1]]
        np.copyto(left, np.inf, where=np.isnan(left))  # NaN != NaN; inf cannot occur here
        left += 0.0  # turns -0.0 into 0.0
    return both.view(np.dtype((np.void, both.dtype.itemsize * both.shape[1]))).ravel()
