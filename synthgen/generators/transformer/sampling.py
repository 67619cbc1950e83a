"""Sampling, conditional sampling and scoring of the transformer (a mixin of the estimator).

Rows are generated column by column with cached keys and values; fixed columns are fed first
and the free ones drawn given them. :meth:`TokenSampling.log_prob` scores rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F  # noqa: N812

from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.generators.transformer.decoding import DECODERS, NetworkHeads, PreparedHeads
from synthgen.generators.transformer.prefixes import PrefixLanes
from synthgen.generators.transformer.token_tables import TokenTables
from synthgen.training import precision
from synthgen.utils import check_random_state, torch_generator

__all__ = ["DRAWS", "TokenSampling"]

#: Rows generated at once (bounds the key/value cache).
_SAMPLE_CHUNK = 4096

#: Largest key/value cache of one chunk of rows: a network with many positions generates
#: fewer rows at once (1,000 columns at one column per position, the small preset's one
#: key/value head and its float32 lanes: about 1,000, instead of 4,096 rows that would hold
#: 1 GB of keys and values; four key/value heads: about 250; grouped into at most 32
#: positions, ``columns_per_position="auto"``, the full 4,096).
_CACHE_BYTES = 256 * 2**20

#: How a model draws its tokens: ``"fused"`` (models fitted now: ``"cdf"``'s draws, with the
#: output heads applied as :class:`~.decoding.PreparedHeads` and the softmax taken over at
#: least :data:`_MIN_SOFTMAX` entries), ``"cdf"`` (one uniform per row, bfloat16 decoding where
#: the model trains in it), or ``"multinomial"`` (float32 decoding and ``torch.multinomial``:
#: the draws of models saved before ``"cdf"``). A saved model keeps its draws, so it samples
#: the rows it always did.
DRAWS: tuple[str, ...] = ("multinomial", "cdf", "fused")

#: ``"fused"`` draws pad a shorter vocabulary's logits to this many entries (with ``-inf``,
#: no mass) before the softmax: PyTorch's CPU softmax over fewer than 16 entries per row runs
#: a path several times slower than over 16 (0.40 ms against 0.07 ms for 4,096 rows of six).
_MIN_SOFTMAX = 16


class TokenSampling(TokenTables):
    """Sampling and scoring over the fitted ``net_``, ``tokenizer_`` and ``encoder_``."""

    net_: Any
    device_: Any
    tokenizer_: Any
    encoder_: Any
    n_bins: int
    n_sub_bins: int
    sample_temperature: float
    top_p: float
    random_order: float
    precision: str
    draws_: str
    decoder_: str
    shared_prefixes_: bool

    # -- how a model decodes (saved with it) ----------------------------------------------------
    def _new_decoding(self) -> None:
        """The decoding of a model fitted now."""
        self.draws_, self.decoder_, self.shared_prefixes_ = "fused", "lanes", True

    def _decoding_meta(self) -> dict[str, Any]:
        return {
            "draws": self.draws_,
            "decoder": self.decoder_,
            "shared_prefixes": self.shared_prefixes_,
        }

    def _restore_decoding(self, meta: dict[str, Any]) -> None:
        """The decoding a model file names. A file written before a change of the rows
        drawn (``"cdf"`` draws, the ``"lanes"`` cache, shared prefixes) keeps what it was
        saved with, so it samples the rows it always did."""
        self.draws_ = meta.get("draws", "multinomial")
        if self.draws_ not in DRAWS:
            raise PersistenceError(f"unknown transformer draws {self.draws_!r} in the model file")
        self.decoder_ = meta.get("decoder", "heads")
        if self.decoder_ not in DECODERS:
            raise PersistenceError(
                f"unknown transformer decoder {self.decoder_!r} in the model file"
            )
        self.shared_prefixes_ = meta.get("shared_prefixes", False)
        if type(self.shared_prefixes_) is not bool:
            raise PersistenceError(
                f"invalid transformer shared_prefixes {self.shared_prefixes_!r} in the model "
                "file (true or false expected)"
            )

    def _decoder(self) -> str:
        """The key/value cache layout (:data:`.decoding.DECODERS`); models fitted before
        ``"lanes"`` keep ``"heads"``."""
        return getattr(self, "decoder_", "heads")

    def _decode_bfloat16(self) -> bool:
        """Whether decoding runs in bfloat16: where training would (``precision='auto'`` on
        a CUDA device with bfloat16, or a CPU with AVX512-BF16 or AMX). The cache of keys and
        values is then bfloat16 too, half the memory traffic of a step; output heads and
        draws stay float32."""
        if self.draws_ == "multinomial" or getattr(self, "precision", "float32") != "auto":
            return False
        return precision.native_bfloat16(self.device_)

    def _decode_dtype(self) -> torch.dtype:
        return torch.bfloat16 if self._decode_bfloat16() else torch.float32

    def _draw_tokens(self, logits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One token per row from ``logits`` with temperature and nucleus (top-p) filtering.

        A draw is one uniform per row through the cumulative probabilities (float64 where
        the device has it): several times quicker than ``torch.multinomial`` on a batch of
        short rows, with the same distribution (models saved before keep
        ``torch.multinomial``: see :data:`DRAWS`).
        """
        if self.sample_temperature == 0:
            return logits.argmax(dim=-1)
        logits = logits.float()
        if self.sample_temperature != 1:  # (dividing by one changes no bit)
            logits = logits / self.sample_temperature
        if self.draws_ == "fused" and logits.shape[-1] < _MIN_SOFTMAX:
            logits = F.pad(logits, (0, _MIN_SOFTMAX - logits.shape[-1]), value=-math.inf)
        probs = torch.softmax(logits, dim=-1)
        if self.top_p < 1.0:
            sorted_p, idx = probs.sort(dim=-1, descending=True)
            # Keep a token while the mass before it is below top_p (the first always stays).
            drop = (sorted_p.cumsum(dim=-1) - sorted_p) >= self.top_p
            sorted_p = sorted_p.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter_(-1, idx, sorted_p)
        if self.draws_ == "multinomial":
            return torch.multinomial(probs, 1, generator=gen)[:, 0]
        # float64 where the device has it (not on Apple's MPS)
        dtype = torch.float32 if probs.device.type == "mps" else torch.float64
        cdf = probs.to(dtype).cumsum(dim=-1)
        total = cdf[:, -1:]
        u = torch.rand((len(cdf), 1), generator=gen, device=cdf.device, dtype=dtype)
        # The first token whose cumulative mass exceeds u * total, kept below the total so a
        # rounding never lands past the last token with mass (a zero-mass token is never drawn).
        x = torch.minimum(u * total, torch.nextafter(total, torch.zeros_like(total)))
        return torch.searchsorted(cdf, x, right=True)[:, 0]

    @torch.no_grad()
    def _generate(
        self,
        main: np.ndarray | None,
        fine: np.ndarray | None,
        known: np.ndarray,
        gen: torch.Generator,
        cache: Any,
        heads: PreparedHeads | NetworkHeads,
        tables: torch.Tensor,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fill the columns of ``main``/``fine`` that ``known`` ``(n, n_columns)`` leaves free
        (``None``: nothing known); returns them column-major, ``(n_columns, n)`` each: views
        of ``tables`` ``(2, n_columns, n)``, int64, which this call overwrites.

        The token tables are held a column per contiguous row while decoding: each step
        writes and reads one column of every row (in the rows' layout, at 1,000 columns,
        each of those cells on its own memory page). Each row visits its known columns
        first (in the visiting order among them), then the free ones, sampling each free column
        given everything visited before it. ``cache`` is a key/value cache of ``n`` rows
        from ``net_.new_cache``; ``heads`` the output heads (prepared for ``"fused"`` draws,
        else the network's own).
        """
        net, dev = self.net_, self.device_
        n, n_cols = known.shape
        visit = self._visiting_order()
        if known.any():  # known columns first (a stable sort on "is free"), each in order
            order_np = visit[np.argsort(~known[:, visit], axis=1, kind="stable")]
            first, shared = order_np[0], self._shared_steps(order_np, known)
            order = torch.from_numpy(order_np).to(dev)
            free = torch.from_numpy(~known).to(dev)  # read where rows visit different columns
        else:  # free sampling: every row in the visiting order (no sort of n x C flags)
            first, shared = visit, np.ones(n_cols, dtype=bool)
            order, free = torch.from_numpy(visit).to(dev).expand(n, -1), None
        main_t, fine_t = tables[0], tables[1]
        if main is None or fine is None:
            tables.zero_()
        else:
            main_t.copy_(torch.from_numpy(main.T))
            fine_t.copy_(torch.from_numpy(fine.T))
        rows = torch.arange(n, device=dev)
        dtype = self._decode_dtype()
        net.begin(cache, order)  # the cache of ``n`` rows may have served the chunk before
        # Only the network's steps autocast (heads and draws are float32 either way); a cache
        # in lanes holds its blocks already in the decoding precision.
        autocast = dtype == torch.bfloat16 and self._decoder() == "heads"
        decode = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=autocast)
        prev = lane_prev = None
        numeric = set(net.numeric_columns)
        # free sampling, or the same fixed columns in every row: rows share a prefix
        lanes = PrefixLanes.for_chunk(cache, n) if shared[0] and self.shared_prefixes_ else None
        for i in range(n_cols):
            cols = order[:, i]
            if lanes is not None and lanes.active and not shared[i]:
                lanes.stop(cache)
            sharing = lanes is not None and lanes.active
            with decode:
                if sharing:
                    hidden = lanes.rows(net.step(lane_prev, cols[: lanes.n_lanes], cache))
                else:
                    hidden = net.step(prev, cols, cache)
            if shared[i]:
                c = int(first[i])
                if not known[0, c]:
                    self._draw_column(
                        hidden, c, slice(None), main_t, fine_t, c in numeric, gen, heads
                    )
            else:
                todo = free[rows, cols]
                for c in torch.unique(cols[todo]).tolist():
                    sel = torch.nonzero(todo & (cols == c)).ravel()
                    self._draw_column(hidden[sel], c, sel, main_t, fine_t, c in numeric, gen, heads)
            if shared[i]:  # one column of the token tables, not a gather
                c = int(first[i])
                prev = (c, main_t[c], fine_t[c])
            else:
                prev = (cols, main_t[cols, rows], fine_t[cols, rows])
            if sharing and i + 1 < n_cols:
                split = lanes.advance(cache, main_t[c], fine_t[c])
                lane_prev = None if split is None else (c, *split)
        return main_t.cpu().numpy(), fine_t.cpu().numpy()

    @staticmethod
    def _shared_steps(order: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Steps where every row visits the same column, free in all rows or fixed in all
        (every step when no cell is fixed): they skip the per-column gathers and scatters.

        Examples
        --------
        >>> known = np.array([[True, False, False], [True, False, True]])
        >>> order = np.argsort(~known, axis=1, kind="stable")  # [0, 1, 2] and [0, 2, 1]
        >>> TokenSampling._shared_steps(order, known).tolist()
        [True, False, False]
        """
        first = order[0]
        same = (order == first).all(axis=0)
        return same & (known.all(axis=0)[first] | ~known.any(axis=0)[first])

    def _draw_column(
        self,
        hidden: torch.Tensor,
        c: int,
        sel: Any,
        main_t: torch.Tensor,
        fine_t: torch.Tensor,
        is_number: bool,
        gen: torch.Generator,
        heads: PreparedHeads | NetworkHeads,
    ) -> None:
        """Draw column ``c`` of rows ``sel`` (hidden states ``hidden``) into the token tables
        ``(n_columns, n)`` through ``heads``."""
        normed = heads.norm(hidden)  # read by both heads of a number
        tok = self._draw_tokens(heads.main_logits(normed, c), gen)
        main_t[c, sel] = tok
        if is_number:
            coarse = tok.clamp(max=self.n_bins - 1)
            fine_tok = self._draw_tokens(heads.fine_logits(normed, c, coarse), gen)
            fine_t[c, sel] = torch.where(tok >= self.n_bins, self.n_sub_bins, fine_tok)

    def _chunk_rows(self) -> int:
        """Rows generated at once: 4,096, fewer when their key/value cache would pass
        :data:`_CACHE_BYTES` (at least 64; models saved before ``"cdf"`` draws keep 4,096,
        so they sample the rows they always did)."""
        if self.draws_ == "multinomial":
            return _SAMPLE_CHUNK
        net = self.net_
        bytes_per_row = 2 * net.n_layers * net.n_positions * net.cache_width
        lanes = self._decoder() == "lanes"  # a float32 cache
        bytes_per_row *= 4 if lanes else torch.finfo(self._decode_dtype()).bits // 8
        return int(np.clip(_CACHE_BYTES // bytes_per_row, 64, _SAMPLE_CHUNK))

    def _sample_tokens(
        self,
        main: np.ndarray | None,
        fine: np.ndarray | None,
        known: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Tokens ``(n, n_slots)`` (int32, a column-major view) of rows whose ``known``
        columns hold ``main``/``fine`` ``(n, n_columns)`` (``None``: nothing known), the
        others drawn, a chunk of rows at a time."""
        gen = torch_generator(rng, self.device_)
        n = len(known)
        # Column-major, a slot of every row contiguous: each chunk's columns are copied in
        # whole (no gather of one cell per row), and decoding reads a slot at a time. Int32
        # holds any vocabulary (training stores tokens in int16 or int32) in half the memory.
        tokens = np.empty((self.tokenizer_.n_slots, n), dtype=np.int32)
        slots, numeric = self._token_slots()
        chunk = self._chunk_rows()
        # One cache, and one pair of token tables, for every chunk of a size: fresh memory
        # costs a page fault per 4 kB on its first write (a tenth of the decoding time when
        # each chunk allocated its own cache; the tables of 4,096 rows of 1,000 columns are
        # 64 MB more per chunk).
        cache = None
        # Prepared once per call, not per chunk (a build takes 16 ms at 1,000 columns).
        heads = (PreparedHeads if self.draws_ == "fused" else NetworkHeads)(self.net_)
        for lo in range(0, n, chunk):
            sl = slice(lo, lo + chunk)
            rows = len(known[sl])
            if cache is None or cache.n_rows != rows:
                cache = self.net_.new_cache(
                    rows, dtype=self._decode_dtype(), layout=self._decoder()
                )
                shape = (2, known.shape[1], rows)
                tables = torch.empty(shape, dtype=torch.long, device=self.device_)
            part = (None, None) if main is None or fine is None else (main[sl], fine[sl])
            m, f = self._generate(*part, known[sl], gen, cache, heads, tables)
            tokens[slots, sl] = m  # (a number's fine token in the slot after its main one)
            tokens[slots[numeric] + 1, sl] = f[numeric]
        return tokens.T

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        tok = self.tokenizer_
        if self.net_ is None:
            return np.zeros((n_samples, tok.dim), dtype=np.float32)
        known = np.zeros((n_samples, tok.n_columns), dtype=bool)
        tokens = self._sample_tokens(None, None, known, rng)
        return tok.decode(tokens, rng)

    def _sample_encoded_given(
        self, matrix: np.ndarray, known: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        tok = self.tokenizer_
        matrix = np.asarray(matrix, dtype=np.float32)
        known = np.asarray(known, dtype=bool)
        if self.net_ is None:
            return np.where(known, matrix, 0.0).astype(np.float32)
        known_cols = tok.known_columns(known)
        if self.random_order == 0 and known_cols.any():
            raise ConfigurationError(
                "random_order=0 trains the visiting order only: conditioning needs random_order > 0"
            )
        main, fine = self._split_tokens(matrix)
        tokens = self._sample_tokens(main, fine, known_cols, rng)
        out = tok.decode(tokens, rng)
        # Fixed cells are written back exactly (the tokens only locate their bin).
        return np.where(known, matrix, out).astype(np.float32)

    # -- scoring -------------------------------------------------------------------------------
    def log_prob(self, data: pd.DataFrame, *, random_state: Any = None) -> np.ndarray:
        """Log-likelihood of each row of ``data`` under the model (its columns visited in
        the visiting order, ``column_order_``).

        Categories contribute their log-probability; numbers and dates the log-probability of
        their bins plus the log-density of a uniform draw inside the fine bin, i.e. a density on
        each column's quantile (cumulative probability) scale. Identifiers and constants
        contribute nothing. Higher is more typical.

        Parameters
        ----------
        data : DataFrame
            Rows with the training table's columns.
        random_state : int, Generator or None
            Seed for placing tied values inside their point mass (``None``: 0).

        Returns
        -------
        numpy.ndarray
            One float per row.
        """
        self._check_fitted()
        rng = check_random_state(0 if random_state is None else random_state)
        matrix = self.encoder_.transform(data.reset_index(drop=True), random_state=rng)
        if self.net_ is None:
            return np.zeros(len(data))
        main, fine = self._split_tokens(matrix)
        net, dev = self.net_, self.device_
        visit = self._visiting_order()
        order = torch.from_numpy(visit).to(dev)
        # the numbers as visited (their fine logits' order)
        numbers = torch.from_numpy(visit[net.const("numeric_index").cpu().numpy()[visit] >= 0])
        numbers = numbers.to(dev)
        out = []
        with torch.no_grad():
            step = net.scoring_rows
            for lo in range(0, len(main), step):
                m = torch.from_numpy(np.ascontiguousarray(main[lo : lo + step])).to(dev)
                f = torch.from_numpy(np.ascontiguousarray(fine[lo : lo + step])).to(dev)
                x = net.final_norm(net.hidden(m, f, order, padded=True))
                lp = -net.main_nll(x, order, m[:, order], normed=True).sum(1)
                fine_logits = net.visited_fine_logits(x, order, m, normed=True)
                if fine_logits.shape[1]:
                    ft = f[:, numbers]
                    has = ft < self.n_sub_bins
                    flp = torch.log_softmax(fine_logits, -1).gather(
                        -1, ft.clamp(max=self.n_sub_bins - 1)[..., None]
                    )[..., 0]
                    width = math.log(self.n_bins * self.n_sub_bins)
                    lp = lp + ((flp + width) * has).sum(1)
                out.append(lp.double().cpu().numpy())
        return np.concatenate(out)
