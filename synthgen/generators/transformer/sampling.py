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

from synthgen.exceptions import ConfigurationError
from synthgen.utils import check_random_state, torch_generator

__all__ = ["TokenSampling"]

#: Rows generated at once (bounds the key/value cache).
_SAMPLE_CHUNK = 4096


class TokenSampling:
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

    def _draw_tokens(self, logits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One token per row from ``logits`` with temperature and nucleus (top-p) filtering."""
        if self.sample_temperature == 0:
            return logits.argmax(dim=-1)
        probs = torch.softmax(logits.float() / self.sample_temperature, dim=-1)
        if self.top_p < 1.0:
            sorted_p, idx = probs.sort(dim=-1, descending=True)
            # Keep a token while the mass before it is below top_p (the first always stays).
            drop = (sorted_p.cumsum(dim=-1) - sorted_p) >= self.top_p
            sorted_p = sorted_p.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter_(-1, idx, sorted_p)
        return torch.multinomial(probs, 1, generator=gen)[:, 0]

    @torch.no_grad()
    def _generate(
        self, main: np.ndarray, fine: np.ndarray, known: np.ndarray, gen: torch.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fill the columns of ``main``/``fine`` that ``known`` ``(n, n_columns)`` leaves free.

        Each row visits its known columns first (schema order among them), then the free
        ones, sampling each free column given everything visited before it.
        """
        net, dev = self.net_, self.device_
        n, n_cols = main.shape
        # Stable sort on "is free": known columns first, each group in schema order.
        order_np = np.argsort(~known, axis=1, kind="stable")
        order = torch.from_numpy(order_np).to(dev)
        main_t = torch.from_numpy(main).to(dev)
        fine_t = torch.from_numpy(fine).to(dev)
        free = torch.from_numpy(~known).to(dev)
        rows = torch.arange(n, device=dev)
        cache = net.new_cache(n)
        prev = None
        numeric = set(net.numeric_columns)
        n_bins, none = self.n_bins, self.n_sub_bins
        for i in range(n_cols):
            cols = order[:, i]
            hidden = net.step(prev, cols, cache)
            todo = free[rows, cols]
            for c in torch.unique(cols[todo]).tolist():
                sel = torch.nonzero(todo & (cols == c)).ravel()
                h = hidden[sel]
                tok = self._draw_tokens(net.column_logits(h, c), gen)
                main_t[sel, c] = tok
                if c in numeric:
                    coarse = tok.clamp(max=n_bins - 1)[:, None]
                    fl = net.fine_logits(h[:, None], torch.tensor([c], device=dev), coarse)[:, 0]
                    fine_tok = self._draw_tokens(fl, gen)
                    fine_t[sel, c] = torch.where(tok >= n_bins, none, fine_tok)
            prev = (cols, main_t[rows, cols], fine_t[rows, cols])
        return main_t.cpu().numpy(), fine_t.cpu().numpy()

    def _sample_tokens(
        self, main: np.ndarray, fine: np.ndarray, known: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        gen = torch_generator(rng, self.device_)
        parts = []
        for lo in range(0, len(main), _SAMPLE_CHUNK):
            sl = slice(lo, lo + _SAMPLE_CHUNK)
            m, f = self._generate(main[sl], fine[sl], known[sl], gen)
            parts.append(self._join_tokens(m, f))
        return np.concatenate(parts, axis=0)

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        tok = self.tokenizer_
        if self.net_ is None:
            return np.zeros((n_samples, tok.dim), dtype=np.float32)
        zeros = np.zeros((n_samples, tok.n_columns), dtype=np.int64)
        known = np.zeros((n_samples, tok.n_columns), dtype=bool)
        tokens = self._sample_tokens(zeros, zeros.copy(), known, rng)
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
                "random_order=0 trains the schema order only: conditioning needs random_order > 0"
            )
        main, fine = self._split_tokens(matrix)
        tokens = self._sample_tokens(main, fine, known_cols, rng)
        out = tok.decode(tokens, rng)
        # Fixed cells are written back exactly (the tokens only locate their bin).
        return np.where(known, matrix, out).astype(np.float32)

    # -- scoring -------------------------------------------------------------------------------
    def log_prob(self, data: pd.DataFrame, *, random_state: Any = None) -> np.ndarray:
        """Log-likelihood of each row of ``data`` under the model (schema order).

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
        n_cols = main.shape[1]
        order = torch.arange(n_cols, device=dev)
        numeric = net.const("numeric_index").cpu().numpy() >= 0
        out = []
        with torch.no_grad():
            for lo in range(0, len(main), 8192):
                m = torch.from_numpy(main[lo : lo + 8192]).to(dev)
                f = torch.from_numpy(fine[lo : lo + 8192]).to(dev)
                x = net.hidden(m, f, order)
                lp = -net.main_nll(x, order, m).sum(1)
                fine_logits = net.visited_fine_logits(x, order, m)
                if fine_logits.shape[1]:
                    ft = f[:, torch.from_numpy(numeric).to(dev)]
                    has = ft < self.n_sub_bins
                    flp = torch.log_softmax(fine_logits, -1).gather(
                        -1, ft.clamp(max=self.n_sub_bins - 1)[..., None]
                    )[..., 0]
                    width = math.log(self.n_bins * self.n_sub_bins)
                    lp = lp + ((flp + width) * has).sum(1)
                out.append(lp.double().cpu().numpy())
        return np.concatenate(out)
