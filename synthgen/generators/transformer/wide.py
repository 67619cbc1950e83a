"""The transformer for wide tables: several columns share one attention position.

:class:`~.model.TokenTransformer` gives every column a position, so a row of ``C`` columns
costs ``C`` passes through the blocks and attention over up to ``C`` cached positions: the
cost per row grows with ``C`` squared, and each cell pays the full network. On a table of
hundreds of columns that bounds one CPU thread to a few hundred rows per second.

:class:`WideTransformer` visits the columns in groups of ``columns_per_position`` (``G``)
consecutive columns of the visiting order. Position ``p`` of the causal transformer reads
the cells of group ``p - 1`` (the sum of their embeddings; the beginning-of-row vector at
the first position) plus the query embeddings of the columns of group ``p``, so it knows
what it is asked to predict. Inside a group, the column visited ``r``-th is predicted from
the position's hidden state plus the embeddings of the ``r`` cells of its group visited
before it and its own query, through one residual feed-forward layer (the *local* layer,
:mod:`.wide_local`): a much smaller network per cell. The output heads are the base
network's, so training, scoring, conditioning and the draws are unchanged.

A row then costs ``ceil(C / G)`` passes through the blocks plus one small layer per cell:
with ``G`` chosen to keep the positions few (``columns_per_position="auto"``), the cost
per row grows about linearly with the number of columns.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from synthgen.generators.transformer.decoding import LaneBlock, LaneCache, PreparedFeedForward
from synthgen.generators.transformer.gather import lookup, take
from synthgen.generators.transformer.model import TokenTransformer
from synthgen.generators.transformer.wide_local import (
    PreparedSplitLocal,
    SplitLocal,
    accumulate,
    local_layer,
)

__all__ = ["GroupCache", "WideTransformer", "columns_per_position"]

#: ``columns_per_position="auto"`` keeps one column per position up to this many columns
#: (every table of the benchmark suite), and at most about this many positions above it.
AUTO_POSITIONS = 32


def columns_per_position(n_columns: int, setting: int | str = "auto") -> int:
    """Columns that share one position for a table of ``n_columns`` modelled columns.

    ``"auto"`` keeps one column per position up to :data:`AUTO_POSITIONS` columns, then
    groups them so the positions stay at most :data:`AUTO_POSITIONS`; an integer is used
    as given (capped at the number of columns).

    Examples
    --------
    >>> columns_per_position(24), columns_per_position(100), columns_per_position(1000)
    (1, 4, 32)
    >>> columns_per_position(10, 3), columns_per_position(2, 5)
    (3, 2)
    """
    if setting == "auto":
        return max(1, math.ceil(n_columns / AUTO_POSITIONS))
    return max(1, min(int(setting), max(n_columns, 1)))


class GroupCache(LaneCache):
    """A :class:`~.decoding.LaneCache` over the group positions plus the state of the group
    being visited: its cells' summed embeddings, the hidden state of its position, and the
    visiting order of every row (set by :meth:`WideTransformer.begin`)."""

    def __init__(self, *args, local: PreparedFeedForward | PreparedSplitLocal, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.local = local
        self.order: torch.Tensor | None = None
        self.visits = 0
        self.group_sum: torch.Tensor | None = None  # cells of the group so far (its input)
        # The group position's hidden state; under a split local layer plus the group's
        # cells visited so far, with the same through fc1 in ``top_share``.
        self.top: torch.Tensor | None = None
        self.top_share: torch.Tensor | None = None
        self.shared: list[int] | None = None  # the order, when every row follows it


class WideTransformer(TokenTransformer):
    """:class:`~.model.TokenTransformer` with ``columns_per_position`` columns per position.

    Parameters
    ----------
    vocab, fine_vocab, d_model, n_layers, n_heads, ff_mult, kv_heads
        As for :class:`~.model.TokenTransformer`.
    columns_per_position : int
        Consecutive columns of the visiting order that share one position (at least 2; 1 is
        the base network).
    local : int
        The local layer's kind (:data:`.wide_local.LOCAL_KINDS`): ``2``, the split layer,
        whose decoding runs one matrix product per cell instead of two; ``1``, the layer of
        models saved before it.
    local_ff : int, optional
        Width of the local layer's hidden layer (``None``: ``ff_mult * d_model``, the
        width of models saved before it).

    Examples
    --------
    >>> gen = torch.Generator().manual_seed(0)
    >>> net = WideTransformer([3, 5, 2, 4, 2], [0, 4, 0, 0, 0], 16, 1, 2, columns_per_position=2)
    >>> net.initialize(gen)
    >>> net.n_positions
    3
    >>> main = torch.tensor([[0, 1, 1, 3, 0], [2, 4, 0, 1, 1]])
    >>> net.hidden(main, torch.zeros_like(main), torch.tensor([2, 0, 1, 4, 3])).shape
    torch.Size([2, 5, 16])
    """

    def __init__(
        self,
        vocab: list[int],
        fine_vocab: list[int],
        d_model: int,
        n_layers: int,
        n_heads: int,
        ff_mult: int = 2,
        columns_per_position: int = 2,
        kv_heads: int | None = None,
        local: int = 2,
        local_ff: int | None = None,
    ) -> None:
        super().__init__(vocab, fine_vocab, d_model, n_layers, n_heads, ff_mult, kv_heads)
        if columns_per_position < 2:
            raise ValueError("a WideTransformer groups at least 2 columns per position")
        self.columns_per_position = int(columns_per_position)
        self.local_query = nn.Embedding(len(self.vocab), d_model)
        width = ff_mult * d_model if local_ff is None else int(local_ff)
        self.local = local_layer(int(local), d_model, width)

    @property
    def n_positions(self) -> int:
        """Attention positions of a row: ``ceil(columns / columns_per_position)``."""
        return -(-len(self.vocab) // self.columns_per_position)

    def initialize(self, generator: torch.Generator) -> None:
        """The base network's initialisation, then the local layer's query embeddings."""
        super().initialize(generator)
        with torch.no_grad():
            self.local_query.weight.normal_(0.0, 0.02, generator=generator)
            self.local.fc2.weight.mul_(1.0 / math.sqrt(2 * self.n_layers))

    def hidden(
        self,
        main: torch.Tensor,
        fine: torch.Tensor,
        order: torch.Tensor,
        inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
        padded: bool = False,
    ) -> torch.Tensor:
        """Hidden states ``(n, C, d)``: entry ``i`` predicts column ``order[i]`` from the
        groups before its own and the cells of its group visited before it. ``padded``: as
        computed, ``(n, positions x columns_per_position, d)`` with the short last group's
        padding after the ``C``. A view of :meth:`column_hidden`'s states."""
        out = self.column_hidden(main, fine, order, inputs).transpose(0, 1)
        return out if padded else out[:, : len(order)]

    def column_hidden(
        self,
        main: torch.Tensor,
        fine: torch.Tensor,
        order: torch.Tensor,
        inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """:meth:`hidden` column-major ``(positions x columns_per_position, n, d)``, the
        padding after the ``C`` columns: what the training loss reads.

        Every per-cell tensor is laid out a column at a time, so the in-group sums are one
        product per position over all rows, and the heads read each column's states where
        they lie (no copy into that layout and back, forward and backward); only the
        positions' states, ``n x positions``, are turned around for the blocks.
        """
        n, c = len(main), len(order)
        g, p = self.columns_per_position, self.n_positions
        in_main, in_fine = (main, fine) if inputs is None else inputs
        cells = self._cells(order, in_main, in_fine, p * g).view(p, g, n, -1)
        queries = take(self.query.weight, order)
        local_queries = take(self.local_query.weight, order)
        pad = p * g - c  # the last group may be short: padded
        group_queries = F.pad(queries, (0, 0, 0, pad)).view(p, g, 1, -1).sum(1)
        # every group's sum, the last one's unread: its backward is a broadcast, where the
        # sum of a slice's would zero a gradient as large as the cells and copy into it
        x = torch.cat([self.bos.expand(1, n, -1), cells.sum(1)[:-1]]).add_(group_queries)
        x = x.transpose(0, 1)  # the blocks' layout: a row's positions
        for block in self.blocks:
            x = block(x)
        top = x.transpose(0, 1)[:, None]  # (p, 1, n, d), broadcast over a group's cells
        before = self._before(cells)  # (the padding comes after every real cell)
        if isinstance(self.local, SplitLocal):
            # Out of place and in one precision: a sum into the product's view in place made
            # autograd zero and copy tensors as large as the cells in the backward pass, and a
            # float32 operand broadcast into bfloat16 states runs several times slower.
            queries = F.pad(local_queries, (0, 0, 0, pad)).view(p, g, 1, -1)
            rest = before + queries.to(before.dtype)
            return self.local(top, rest).view(p * g, n, -1)
        z = (top + before).view(p * g, n, -1)[:c] + local_queries[:, None]
        return self.local(z)

    @staticmethod
    def _before(cells: torch.Tensor) -> torch.Tensor:
        """The sum of the cells of its group visited before each one, cells ``(p, g, n,
        d)`` column-major: a strictly lower-triangular ``g x g`` product per position over
        every row's cells at once (quicker than cumsum's forward and backward)."""
        p, g = cells.shape[:2]
        earlier = torch.ones(g, g, device=cells.device, dtype=cells.dtype).tril(-1)
        return torch.matmul(earlier, cells.view(p, g, -1)).view(cells.shape)

    def _cells(
        self, order: torch.Tensor, main: torch.Tensor, fine: torch.Tensor, slots: int = 0
    ) -> torch.Tensor:
        """:meth:`embed` of every row's cells visited in ``order`` (one order for all rows),
        column-major ``(C or slots, n, d)``: the same sums, with the column embeddings
        broadcast over the rows and the fine tokens' embeddings looked up for the numbers
        only (instead of a lookup per cell of each, a quarter of the training step's memory
        traffic at 1,000 columns). With ``slots`` past the columns, the cells after them
        (the short last group's padding) hold token row 0 and no column: they come after
        every real cell and in the last group, whose sum no position reads, so they reach
        no real cell's state."""
        c = len(order)
        tokens = (main[:, order] + self.const("offsets")[order]).T
        columns = take(self.column.weight, order)
        if slots > c:
            tokens = F.pad(tokens, (0, 0, 0, slots - c))
            columns = F.pad(columns, (0, 0, 0, slots - c))
        # the lookup's backward reads only the tokens: its output may be added to in place
        x = lookup(self.token.weight, tokens).add_(columns[:, None])
        numbers = torch.nonzero(self.const("numeric_index")[order] >= 0).ravel()
        if len(numbers):
            cols = order[numbers]
            at = (fine[:, cols] + self.const("fine_offsets")[cols]).T
            x = x.index_add_(0, numbers, lookup(self.fine_token.weight, at))
        return x

    # -- incremental decoding ----------------------------------------------------------------
    def new_cache(
        self, n_rows: int, dtype: torch.dtype = torch.float32, layout: str = "lanes"
    ) -> GroupCache:
        """An empty cache of ``n_rows`` rows over the group positions (``"lanes"`` only)."""
        if layout != "lanes":
            raise ValueError(f"a WideTransformer decodes in lanes, not {layout!r}")
        h = self.n_heads
        shape = (self.n_layers, n_rows, self.kv_heads, self.n_positions, self.d_model // h)
        blocks = [LaneBlock(b, dtype) for b in self.blocks]
        if isinstance(self.local, SplitLocal):
            local = PreparedSplitLocal(self, dtype)
        else:
            local = PreparedFeedForward(self.local.ln, self.local.fc1, self.local.fc2, dtype)
        return GroupCache(*shape, self.head_w.device, blocks, query_heads=h, local=local)

    def begin(self, cache: GroupCache, order: torch.Tensor) -> None:
        """Start decoding rows that visit their columns in ``order`` ``(n, C)``."""
        cache.length, cache.visits, cache.order = 0, 0, order
        cache.group_sum = cache.top = cache.top_share = None
        # Every row in one order (free sampling, or the same fixed columns): index vectors
        # of the weights instead of per-row lookups.
        cache.shared = order[0].tolist() if bool((order == order[:1]).all()) else None

    def step(
        self,
        prev: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
        next_cols: torch.Tensor,
        cache: GroupCache,
    ) -> torch.Tensor:
        """Hidden state ``(n, d)`` of the next column (see :meth:`.TokenTransformer.step`);
        the group's position runs through the blocks when the group starts."""
        if cache.order is None:
            raise ValueError("call begin(cache, order) before decoding")
        if isinstance(cache.local, PreparedSplitLocal):
            return self._split_step(prev, next_cols, cache)
        g, i, shared = self.columns_per_position, cache.visits, cache.shared
        if prev is not None:
            cell = self.embed(*prev)
            cache.group_sum = cell if cache.group_sum is None else cache.group_sum.add_(cell)
        if i % g == 0:
            cache.top = self._open_group(prev, cache)
        if shared is not None:
            z = cache.top + self.local_query.weight[shared[i]]
        else:
            z = cache.top + self.local_query(next_cols)
        if cache.group_sum is not None:
            z = z + cache.group_sum
        cache.visits += 1
        return cache.local(z).expand(len(next_cols), -1)

    def _open_group(self, prev: tuple | None, cache: GroupCache) -> torch.Tensor:
        """Run a new group's position through the blocks (it reads the last group's cells,
        ``cache.group_sum``, and the queries of its own columns); its hidden state."""
        g, i, shared = self.columns_per_position, cache.visits, cache.shared
        if shared is not None:  # one row stands for all of them
            x = self.query.weight[shared[i : i + g]].sum(0, keepdim=True)
        else:
            x = self.query(cache.order[:, i : i + g]).sum(1)
        x = x + (self.bos if prev is None else cache.group_sum)
        for layer, block in enumerate(cache.blocks):
            x = block.step(x, cache, layer)
        cache.length += 1
        cache.group_sum = None
        return x

    def _split_step(
        self,
        prev: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
        next_cols: torch.Tensor,
        cache: GroupCache,
    ) -> torch.Tensor:
        """:meth:`step` with a split local layer. Two sums run through a group: its
        position's state plus its cells' embeddings (the residual input), and the state's
        share of the first product plus the cells' shares (read from tables)."""
        local: PreparedSplitLocal = cache.local  # type: ignore[assignment]
        g, i, shared = self.columns_per_position, cache.visits, cache.shared
        starts = i % g == 0
        if prev is not None:
            cell = local.embed(self, prev)
            cache.group_sum = cell if cache.group_sum is None else cache.group_sum.add_(cell)
            if not starts:  # a cell of this group
                cache.top = accumulate(cache.top, cell)
                cache.top_share = local.add_share(cache.top_share, self, prev, cell)
        if starts:
            cache.top = self._open_group(prev, cache)
            cache.top_share = local.top_share(cache.top)
        col = shared[i] if shared is not None else next_cols
        cache.visits += 1
        return local(cache.top, cache.top_share, col).expand(len(next_cols), -1)
