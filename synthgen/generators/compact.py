"""Training rows held compactly: one column of codes per one-hot block, expanded a batch at a time.

The GAN, the VAE and diffusion learn the encoder's one-hot matrix. Held whole, that matrix
costs ``rows x width`` floats: 2 million rows of a table with a 256-code merchant column and
Adult's columns are over 4 GB, most of it zeros. ``TableEncoder.transform(compact=True)``
writes each categorical one-hot block as one column holding its code instead (the other
blocks as they are, with the same random draws), and :class:`CompactPlan` turns a batch of
those rows back into exactly the rows of the one-hot matrix, on the batch's device. Training
therefore holds ``rows x columns`` numbers and one batch of the wide matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synthgen.training.disk_rows import DiskRows
from synthgen.transforms.table import Span, TableEncoder

__all__ = ["CompactPlan"]

#: Codes stay exact in float32 below this.
_EXACT_FLOAT32 = 2**24


class CompactPlan:
    """How the compact matrix of an encoder maps to its full matrix.

    Parameters
    ----------
    groups : list of (start, dim, coded)
        Per block of the full matrix, in order: where it starts, its width, and whether the
        compact matrix holds it as one column of codes (``coded``) or as it is.

    Examples
    --------
    >>> plan = CompactPlan([(0, 1, False), (1, 3, True)])
    >>> plan.width, plan.dim
    (2, 4)
    >>> plan.expand(torch.tensor([[0.5, 2.0], [-1.0, 0.0]])).tolist()
    [[0.5, 0.0, 0.0, 1.0], [-1.0, 1.0, 0.0, 0.0]]
    """

    def __init__(self, groups: list[tuple[int, int, bool]]) -> None:
        self.groups = [(int(s), int(d), bool(c)) for s, d, c in groups]
        self.dim = sum(d for _, d, _ in self.groups)
        self.coded = any(c for _, _, c in self.groups)
        widest = max((d for _, d, c in self.groups if c), default=0)
        if widest >= _EXACT_FLOAT32:
            raise ValueError(f"a one-hot block of {widest} codes is too wide to hold compactly")
        #: compact column -> full column (plain blocks), and per coded block its compact
        #: column and first full column
        plain_from, plain_to, code_cols, code_start = [], [], [], []
        col = 0
        for start, dim, coded in self.groups:
            if coded:
                code_cols.append(col)
                code_start.append(start)
                col += 1
            else:
                plain_from.extend(range(col, col + dim))
                plain_to.extend(range(start, start + dim))
                col += dim
        self.width = col
        self._index = {
            name: np.asarray(v, dtype=np.int64)
            for name, v in zip(
                ("plain_from", "plain_to", "code_cols", "code_start"),
                (plain_from, plain_to, code_cols, code_start),
                strict=True,
            )
        }
        self._on: dict[Any, dict[str, torch.Tensor]] = {}

    @classmethod
    def of(cls, encoder: TableEncoder) -> CompactPlan:
        """The plan of ``encoder``'s ``transform(compact=True)`` matrix."""
        groups, start = [], 0
        for enc, coded in zip(encoder.encoders_, encoder.compact_groups(), strict=True):
            if enc.dim:
                groups.append((start, enc.dim, coded))
            start += enc.dim
        return cls(groups)

    def _tensors(self, device: Any) -> dict[str, torch.Tensor]:
        key = str(device)
        if key not in self._on:
            self._on[key] = {k: torch.as_tensor(v, device=device) for k, v in self._index.items()}
        return self._on[key]

    def expand(self, x: torch.Tensor) -> torch.Tensor:
        """The full-matrix rows of the compact rows ``x`` (2-D, on any device)."""
        if not self.coded:
            return x
        ix = self._tensors(x.device)
        out = x.new_zeros((len(x), self.dim))
        out[:, ix["plain_to"]] = x[:, ix["plain_from"]]
        codes = x[:, ix["code_cols"]].long() + ix["code_start"]
        return out.scatter_(1, codes, 1.0)

    def span_codes(self, x: np.ndarray, span: Span) -> np.ndarray:
        """The codes of the one-hot ``span`` (of the full matrix) in the compact rows ``x``."""
        col = 0
        for start, dim, coded in self.groups:
            if start <= span.start < start + dim:
                first = col if coded else col + span.start - start
                width = 1 if coded else span.dim
                if isinstance(x, DiskRows):  # rows on disk: one scan for these columns
                    block = x.columns(first, first + width)
                else:
                    block = x[:, first : first + width]
                return block[:, 0].astype(np.int64) if coded else block.argmax(axis=1)
            col += 1 if coded else dim
        raise ValueError(f"span {span.column!r}/{span.role} is not in the matrix")
