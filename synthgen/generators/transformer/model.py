"""The network: a causal transformer over a row's columns with per-column output heads.

A row is a sequence of columns visited in some order (schema order or a random column order).
Every column is one position. Position ``i`` of the input carries the column visited before it
(its token embedding plus an embedding of which column it is) and a *query* embedding of the
column to predict next, so one network predicts any column given any set of earlier columns
(order-agnostic autoregression, as in sigma-GPT and TabularARGN's flexible generation).

A category is one token. A number is two tokens, a coarse quantile bin and a fine bin inside
it, but still one position: the coarse head reads the position's hidden state, the fine head
reads the same state plus an embedding of the coarse bin (a small per-column MLP). Rows stay
one position per column, which keeps attention and the feed-forward layers cheap on a CPU.

All weights are initialised from an explicit ``torch.Generator``; nothing reads the global RNG.
"""

from __future__ import annotations

import math
from itertools import accumulate

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from synthgen.generators.transformer.blocks import _Block
from synthgen.generators.transformer.decoding import KVCache, LaneBlock, LaneCache
from synthgen.generators.transformer.gather import take
from synthgen.generators.transformer.likelihood import fine_by_column, grouped_nll
from synthgen.training.precision import float32

__all__ = ["KVCache", "LaneCache", "TokenTransformer"]


class TokenTransformer(nn.Module):
    """Order-agnostic autoregressive transformer over the columns of a row.

    Parameters
    ----------
    vocab : list of int
        Main (category or coarse-bin) vocabulary of each column. Each column's input table has
        one more token, "mask" (index ``vocab[c]``), for tokens hidden by token dropout.
    fine_vocab : list of int
        Fine-bin vocabulary of each column (0 for categories). Input tables of fine bins have
        two more tokens: "none" (a missing number, index ``fine_vocab[c]``) and "mask".
    d_model, n_layers, n_heads : int
        Width, depth and attention heads.
    ff_mult : int
        Width of the feed-forward layers as a multiple of ``d_model``.
    kv_heads : int, optional
        Heads of keys and values shared by the query heads (grouped-query attention;
        ``None``: one per query head). A divisor of ``n_heads``.

    Examples
    --------
    >>> gen = torch.Generator().manual_seed(0)
    >>> net = TokenTransformer([3, 5, 2], [0, 4, 0], d_model=16, n_layers=1, n_heads=2)
    >>> net.initialize(gen)
    >>> main = torch.tensor([[0, 1, 1], [2, 4, 0]])
    >>> fine = torch.tensor([[0, 3, 0], [0, 2, 0]])
    >>> logits, fine_logits = net(main, fine, torch.tensor([2, 0, 1]))
    >>> logits.shape, fine_logits.shape
    (torch.Size([2, 3, 5]), torch.Size([2, 1, 4]))
    """

    def __init__(
        self,
        vocab: list[int],
        fine_vocab: list[int],
        d_model: int,
        n_layers: int,
        n_heads: int,
        ff_mult: int = 2,
        kv_heads: int | None = None,
    ) -> None:
        super().__init__()
        self.vocab = [int(v) for v in vocab]
        self.fine_vocab = [int(v) for v in fine_vocab]
        self.d_model, self.n_layers, self.n_heads = d_model, n_layers, n_heads
        self.kv_heads = n_heads if kv_heads is None else int(kv_heads)
        n_cols, vmax = len(vocab), max(vocab)
        self.numeric_columns = [c for c, v in enumerate(self.fine_vocab) if v > 0]
        n_num = len(self.numeric_columns)
        fmax = max(self.fine_vocab) if n_num else 1
        # Each column's first row in the token tables (plus "mask"; fine: "none" and "mask").
        self._offsets = [0, *accumulate(v + 1 for v in self.vocab[:-1])]
        self._fine_offsets = [0, *accumulate(v + 2 for v in self.fine_vocab[:-1])]
        # Heads are scored in groups (see :meth:`vocab_groups`): each column's, and their widths.
        buckets = sorted({_vocab_bucket(v) for v in self.vocab})
        self._group_of = [buckets.index(_vocab_bucket(v)) for v in self.vocab]
        self._group_widths = [max(v for v in self.vocab if _vocab_bucket(v) == b) for b in buckets]
        self.token = nn.Embedding(self._offsets[-1] + self.vocab[-1] + 1, d_model)
        self.fine_token = nn.Embedding(self._fine_offsets[-1] + self.fine_vocab[-1] + 2, d_model)
        self.column = nn.Embedding(n_cols, d_model)
        self.query = nn.Embedding(n_cols, d_model)
        self.bos = nn.Parameter(torch.empty(d_model))
        self.blocks = nn.ModuleList(
            _Block(d_model, n_heads, ff_mult * d_model, self.kv_heads) for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head_w = nn.Parameter(torch.empty(n_cols, vmax, d_model))
        self.head_b = nn.Parameter(torch.empty(n_cols, vmax))
        # Fine head of number k (numeric_columns[k]): MLP over hidden + coarse-bin embedding.
        self.coarse_ctx = nn.Embedding(self._offsets[-1] + self.vocab[-1] + 1, d_model)
        self.fine_w1 = nn.Parameter(torch.empty(max(n_num, 1), d_model, d_model))
        self.fine_b1 = nn.Parameter(torch.empty(max(n_num, 1), d_model))
        self.fine_w2 = nn.Parameter(torch.empty(max(n_num, 1), fmax, d_model))
        self.fine_b2 = nn.Parameter(torch.empty(max(n_num, 1), fmax))
        self._consts: dict[str, torch.Tensor] = {}

    def initialize(self, generator: torch.Generator) -> None:
        """Draw every weight from ``generator`` (GPT-2 style small normal init)."""
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    m.weight.normal_(0.0, 0.02, generator=generator)
                    m.bias.zero_()
                elif isinstance(m, nn.LayerNorm):
                    m.reset_parameters()
            for block in self.blocks:
                # Scaled residual projections keep the stream's variance flat with depth.
                block.proj.weight.mul_(1.0 / math.sqrt(2 * self.n_layers))
                block.fc2.weight.mul_(1.0 / math.sqrt(2 * self.n_layers))
            small = ("token", "fine_token", "column", "query", "bos", "head_w")  # in order
            for p in (getattr(self, name) for name in (*small, "coarse_ctx", "fine_w2")):
                getattr(p, "weight", p).normal_(0.0, 0.02, generator=generator)
            self.fine_w1.normal_(0.0, 1.0 / math.sqrt(self.d_model), generator=generator)
            for p in (self.head_b, self.fine_b1, self.fine_b2):
                p.zero_()

    def const(self, name: str) -> torch.Tensor:
        """Index tensors on the weights' device (built lazily; not part of the state)."""
        device = self.head_w.device
        key = f"{name}@{device}"
        if key not in self._consts:
            if name == "offsets":
                value = torch.tensor(self._offsets, dtype=torch.long, device=device)
            elif name == "fine_offsets":
                value = torch.tensor(self._fine_offsets, dtype=torch.long, device=device)
            elif name == "vocab_group":  # column -> its group of :meth:`vocab_groups`
                value = torch.tensor(self._group_of, dtype=torch.long, device=device)
            elif name == "numeric_index":  # column -> its index among numbers (-1: category)
                index = [-1] * len(self.vocab)
                for k, c in enumerate(self.numeric_columns):
                    index[c] = k
                value = torch.tensor(index, dtype=torch.long, device=device)
            else:  # "vocab_mask": -inf on head entries beyond a column's vocabulary
                value = torch.zeros(self.head_b.shape, device=device)
                for c, v in enumerate(self.vocab):
                    value[c, v:] = -math.inf
            self._consts[key] = value
        return self._consts[key]

    # -- inputs and outputs --------------------------------------------------------------------
    def embed(
        self, cols: torch.Tensor | int, main: torch.Tensor, fine: torch.Tensor
    ) -> torch.Tensor:
        """Input embedding of columns ``cols`` holding tokens ``main``/``fine`` (same shape).

        ``cols`` may be one column index for every row (a decoding step where all rows
        visited the same column): the same sums, without the per-row column lookups."""
        if isinstance(cols, int):
            x = F.embedding(main + self._offsets[cols], self.token.weight)
            x = x + self.column.weight[cols]
            if self.fine_vocab[cols]:
                x = x + F.embedding(fine + self._fine_offsets[cols], self.fine_token.weight)
            return x
        x = self.token(self.const("offsets")[cols] + main) + self.column(cols)
        is_num = self.const("numeric_index")[cols] >= 0
        fine_emb = self.fine_token(self.const("fine_offsets")[cols] + torch.where(is_num, fine, 0))
        return x + fine_emb * is_num.unsqueeze(-1)

    def main_logits(self, hidden: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, t, max vocab)`` of columns ``cols`` ``(t,)`` (-inf past a vocabulary).

        Here (sampling, scoring) the output heads run in float32 even under bfloat16
        autocast; the training loss (:meth:`.TransformerTask.loss`) runs their products in
        the fit's precision, with the same quality at a fraction of the cost."""
        with float32(hidden.device.type):
            return self._main_logits(hidden.float(), cols)

    def _main_logits(self, hidden: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        w = take(self.head_w, cols)
        b = take(self.head_b, cols) + self.const("vocab_mask")[cols]
        return torch.einsum("ntd,tvd->ntv", self.ln_f(hidden), w) + b

    def final_norm(self, hidden: torch.Tensor) -> torch.Tensor:
        """The final layer norm of hidden states, in float32 (what every head reads): a
        decoding step computes it once for a column's coarse and fine heads."""
        with float32(hidden.device.type):
            return self.ln_f(hidden.float())

    def column_logits(
        self, hidden: torch.Tensor, column: int, normed: bool = False
    ) -> torch.Tensor:
        """Logits ``(n, vocab)`` of one ``column`` from hidden states ``(n, d)``, over that
        column's own vocabulary only (a decoding step). ``normed``: ``hidden`` is already
        :meth:`final_norm`'s output."""
        v = self.vocab[column]
        h = hidden if normed else self.final_norm(hidden)
        with float32(hidden.device.type):
            return h @ self.head_w[column, :v].T + self.head_b[column, :v]

    def fine_logits(
        self, hidden: torch.Tensor, cols: torch.Tensor, coarse: torch.Tensor, normed: bool = False
    ) -> torch.Tensor:
        """Fine-bin logits ``(n, t, max fine vocab)`` of numeric columns ``cols`` ``(t,)``
        given their coarse bins ``coarse`` ``(n, t)`` (``normed`` as in
        :meth:`column_logits`)."""
        with float32(hidden.device.type):
            return self._fine_logits(hidden.float(), cols, coarse, normed)

    def _fine_logits(
        self, hidden: torch.Tensor, cols: torch.Tensor, coarse: torch.Tensor, normed: bool = False
    ) -> torch.Tensor:
        k = self.const("numeric_index")[cols]
        h = hidden if normed else self.ln_f(hidden)
        z = h + self.coarse_ctx(self.const("offsets")[cols] + coarse)
        z = F.gelu(torch.einsum("ntd,ted->nte", z, self.fine_w1[k]) + self.fine_b1[k])
        return torch.einsum("nte,tve->ntv", z, self.fine_w2[k]) + self.fine_b2[k]

    def hidden(
        self,
        main: torch.Tensor,
        fine: torch.Tensor,
        order: torch.Tensor,
        inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
        padded: bool = False,
    ) -> torch.Tensor:
        """Hidden states ``(n, C, d)`` of rows ``main``/``fine`` ``(n, C)`` visited in
        ``order``: position ``i`` predicts column ``order[i]`` from columns ``order[:i]``.
        ``inputs`` optionally replaces the tokens fed in (token dropout). ``padded``: states
        may follow the ``C`` (:meth:`.WideTransformer.hidden`'s padding; the heads read the
        first ``C``)."""
        n = len(main)
        in_main, in_fine = (main, fine) if inputs is None else inputs
        prev = order[:-1]
        x0 = (self.bos + self.query(order[:1])).expand(n, 1, -1)
        rest = self.embed(prev.expand(n, -1), in_main[:, prev], in_fine[:, prev])
        x = torch.cat([x0, rest + self.query(order[1:])], dim=1)
        for block in self.blocks:
            x = block(x)
        return x

    def column_hidden(
        self,
        main: torch.Tensor,
        fine: torch.Tensor,
        order: torch.Tensor,
        inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """:meth:`hidden` column-major, ``(C, n, d)`` (a view): what the training loss reads."""
        return self.hidden(main, fine, order, inputs).transpose(0, 1)

    def visited_fine_logits(
        self, x: torch.Tensor, order: torch.Tensor, main: torch.Tensor, normed: bool = False
    ) -> torch.Tensor:
        """Fine-bin logits ``(n, K, F)`` of the numbers in ``order``, as they are visited,
        from hidden states ``x`` (teacher-forced on their true coarse bins in ``main``;
        ``normed``: ``x`` is :meth:`final_norm`'s output), computed a number at a time
        (:func:`.likelihood.fine_by_column`, column-major, what the training loss reads)."""
        pos = torch.nonzero(self.const("numeric_index")[order] >= 0).ravel()
        cols = order[pos]
        with float32(x.device.type):
            h = (x.float() if normed else self.ln_f(x.float()))[:, pos].transpose(0, 1)
            return fine_by_column(self, h, cols, main[:, cols]).transpose(0, 1)

    def forward(
        self,
        main: torch.Tensor,
        fine: torch.Tensor,
        order: torch.Tensor,
        inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of every column of rows ``main``/``fine`` ``(n, C)`` visited in ``order``.

        Returns ``main_logits`` ``(n, C, V)``, where ``[:, i]`` is the distribution of column
        ``order[i]`` given columns ``order[:i]``, and ``fine_logits`` ``(n, K, F)`` for the
        numbers in the order they are visited (teacher-forced on their true coarse bins).
        ``inputs`` optionally replaces the tokens fed in (token dropout). Training and scoring
        use :meth:`main_nll` instead, which never pads a column to the widest vocabulary.
        """
        x = self.hidden(main, fine, order, inputs)
        return self.main_logits(x, order), self.visited_fine_logits(x, order, main)

    def main_nll(
        self, x: torch.Tensor, order: torch.Tensor, target: torch.Tensor, normed: bool = False
    ) -> torch.Tensor:
        """Negative log-likelihood ``(n, C)`` of main tokens ``target`` (columns ``order``,
        as visited) under hidden states ``x`` (``normed``: :meth:`final_norm`'s output), in
        groups of similar vocabulary size (:func:`.likelihood.grouped_nll`, column-major)."""
        with float32(x.device.type):
            h = (x if normed else self.ln_f(x.float())).transpose(0, 1)
            return grouped_nll(self, h, order, target.T).T

    def vocab_groups(self) -> list[int]:
        """Width of each group of columns scored together: vocabularies are grouped by
        their power of two (from 8 up), each group as wide as its widest vocabulary.

        Examples
        --------
        >>> TokenTransformer([2, 3, 40, 33, 1312], [0, 0, 32, 32, 0], 16, 1, 2).vocab_groups()
        [3, 40, 1312]
        """
        return list(self._group_widths)

    @property
    def scoring_rows(self) -> int:
        """Rows scored at once without gradients (validation loss, ``log_prob``): activations
        of about 2**20 floats (rows x cells x width, 64 to 8,192 rows), cache-sized.

        Examples
        --------
        >>> TokenTransformer([2] * 15, [0] * 15, 16, 1, 2).scoring_rows
        4369
        >>> TokenTransformer([2] * 1000, [0] * 1000, 16, 1, 2).scoring_rows
        65
        """
        return max(64, min(8192, 2**20 // self.row_floats))

    @property
    def row_floats(self) -> int:
        """Floats of one row's activation: cells (a wide network's padding included) x width."""
        return self.n_positions * getattr(self, "columns_per_position", 1) * self.d_model

    # -- incremental decoding ----------------------------------------------------------------
    @property
    def n_positions(self) -> int:
        """Attention positions of a row: one per column."""
        return len(self.vocab)

    def begin(self, cache: KVCache | LaneCache, order: torch.Tensor) -> None:
        """Start decoding rows that visit their columns in ``order`` ``(n, C)`` (the cache
        may have served rows before)."""
        cache.length = 0

    def new_cache(
        self, n_rows: int, dtype: torch.dtype = torch.float32, layout: str = "heads"
    ) -> KVCache | LaneCache:
        """An empty key/value cache for ``n_rows`` rows in ``layout``: ``"heads"``, of
        ``dtype``, or ``"lanes"``, float32 with the blocks' matrix products in ``dtype``
        (see :mod:`.decoding`)."""
        h, device = self.n_heads, self.head_w.device
        shape = (self.n_layers, n_rows, self.kv_heads, len(self.vocab), self.d_model // h)
        if layout == "lanes":
            blocks = [LaneBlock(b, dtype) for b in self.blocks]
            return LaneCache(*shape, device, blocks, query_heads=h)
        return KVCache(*shape, device, dtype)

    @property
    def cache_width(self) -> int:
        """Floats a position holds in one layer's keys (as many in its values) per row."""
        return self.kv_heads * (self.d_model // self.n_heads)

    def step(
        self,
        prev: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
        next_cols: torch.Tensor,
        cache: KVCache | LaneCache,
    ) -> torch.Tensor:
        """Hidden state ``(n, d)`` of the next position.

        ``prev`` is ``(cols, main, fine)`` of the column visited last (each ``(n,)``;
        ``cols`` may be one ``int`` for all rows), or ``None`` at the start; ``next_cols``
        ``(n,)`` are the columns predicted next.
        """
        if isinstance(cache, LaneCache):
            return self._lane_step(prev, next_cols, cache)
        q = self.query(next_cols)
        x = self.bos + q if prev is None else self.embed(*prev) + q
        h = x[:, None, :]
        for i, block in enumerate(self.blocks):
            h = block(h, cache, i)
        x = h[:, 0]
        cache.length += 1
        return x

    def _lane_step(
        self,
        prev: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
        next_cols: torch.Tensor,
        cache: LaneCache,
    ) -> torch.Tensor:
        """:meth:`step` with a :class:`LaneCache`. When every row starts at the same column,
        one row's state stands for all of them (the first position holds no token)."""
        n = len(next_cols)
        if prev is None and bool((next_cols == next_cols[0]).all()):
            next_cols = next_cols[:1]
        x = self.query(next_cols) + (self.bos if prev is None else self.embed(*prev))
        for i, block in enumerate(cache.blocks):
            x = block.step(x, cache, i)
        cache.length += 1
        return x.expand(n, -1)


def _vocab_bucket(size: int) -> int:
    """The power of two (at least 8) a vocabulary of ``size`` tokens is grouped under."""
    return max(8, 1 << (max(size, 1) - 1).bit_length())
