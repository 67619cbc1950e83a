"""Shared prefixes while decoding: rows that have drawn the same tokens so far hold the same
keys, values and hidden states, so the network runs once per distinct prefix.

Every row of a chunk starts alike (free sampling, or the same fixed columns), and the first
columns often hold few labels or one fixed value: among 4,096 rows of bank marketing the
first column (age, in 32 x 32 bins) leaves about 970 distinct prefixes, and three fixed
columns leave one. :class:`PrefixLanes` keeps one lane of the key/value cache per distinct
prefix, and the rows' states are read out of their lanes for the draws. A lane runs the
arithmetic its rows would; only a sum over a few lanes may round differently from the same
sum over the whole chunk (a vector kernel's tail), so models saved before shared prefixes
keep a lane per row and draw the rows they always drew.
"""

from __future__ import annotations

import torch

from synthgen.generators.transformer.decoding import LaneCache

__all__ = ["PrefixLanes"]

#: Lanes stop sharing once the distinct prefixes pass this share of the rows: a step over
#: most of the rows saves less than the regrouping (a sort of the rows' prefixes and a copy
#: of the cache) costs.
_MAX_SHARE = 0.5

#: Largest prefix key (lane x tokens of the column) held in an int64.
_MAX_KEY = 2**62


class PrefixLanes:
    """Which lane of a :class:`.LaneCache` each row's prefix is in.

    Parameters
    ----------
    n_rows : int
        Rows of the chunk (the cache holds as many lanes).
    device : torch device
        Where the rows' lane indices live.

    Examples
    --------
    >>> lanes = PrefixLanes(4, "cpu")
    >>> lanes.n_lanes, lanes.active
    (1, True)
    >>> cache = LaneCache(1, 4, 1, 2, 1)
    >>> cache.keys[0][0, 0, 0, :1], cache.values[0][0, 0, 0, :1] = 5.0, 6.0
    >>> cache.length = 1
    >>> main, fine = torch.tensor([2, 0, 2, 2]), torch.zeros(4, dtype=torch.long)
    >>> lanes.advance(cache, main, fine)  # rows 0, 2 and 3 share a prefix
    (tensor([0, 2]), tensor([0, 0]))
    >>> lanes.row_lane.tolist(), cache.keys[0][0, 0, 0, :2].tolist()
    ([1, 0, 1, 1], [5.0, 5.0])
    """

    def __init__(self, n_rows: int, device: torch.device | str) -> None:
        self.n_rows = n_rows
        self.row_lane = torch.zeros(n_rows, dtype=torch.long, device=device)
        self.n_lanes = 1
        self.active = n_rows > 1

    @classmethod
    def for_chunk(cls, cache: object, n_rows: int) -> PrefixLanes | None:
        """Lanes for a chunk of ``n_rows`` rows that start alike in ``cache``, or ``None``
        where the cache keeps a lane per row: a cache in heads, or a wide network's, whose
        positions sum several cells per row."""
        if type(cache) is not LaneCache:
            return None
        return cls(n_rows, cache.keys[0].device)

    def rows(self, hidden: torch.Tensor) -> torch.Tensor:
        """The rows' states ``(n_rows, d)`` from their lanes' ``hidden`` ``(n_lanes, d)``."""
        if len(hidden) == 1:
            return hidden.expand(self.n_rows, -1)
        return hidden.index_select(0, self.row_lane)

    def advance(
        self, cache: LaneCache, main: torch.Tensor, fine: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Split the lanes by the tokens ``main``/``fine`` ``(n_rows,)`` the rows took in the
        column just visited, moving the cache's lanes to match; the tokens of each new lane
        (``(n_lanes,)`` each), or ``None`` when the prefixes stop sharing (every row then
        holds its own lane, row ``i`` in lane ``i``)."""
        fine_span = int(fine.max()) + 1
        span = (int(main.max()) + 1) * fine_span
        if self.n_lanes * span < _MAX_KEY:
            key = (self.row_lane * span).add_(main * fine_span).add_(fine)
            keys, row_lane = torch.unique(key, sorted=True, return_inverse=True)
            if len(keys) <= _MAX_SHARE * self.n_rows:
                _select(cache, torch.div(keys, span, rounding_mode="floor"))
                self.row_lane, self.n_lanes = row_lane, len(keys)
                tokens = keys % span
                return torch.div(tokens, fine_span, rounding_mode="floor"), tokens % fine_span
        self.stop(cache)
        return None

    def stop(self, cache: LaneCache) -> None:
        """Give every row its own lane (row ``i`` in lane ``i``) and stop sharing."""
        if self.active:
            _select(cache, self.row_lane)
            self.active = False


def _select(cache: LaneCache, lanes: torch.Tensor) -> None:
    """Lane ``j`` of ``cache`` takes the keys and values lane ``lanes[j]`` holds."""
    for held in (*cache.keys, *cache.values):
        # As a matrix (its positions' rows are contiguous): a gather along the last axis of
        # the four-dimensional view ran 12 times slower.
        written = held[: cache.length].view(-1, held.shape[-1])
        written[:, : len(lanes)] = written.index_select(1, lanes)
