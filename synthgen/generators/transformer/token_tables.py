"""Token tables of the transformer (a mixin of the estimator): encoded rows to the main and
fine tokens the network reads, a column of every row at a time, and the visiting order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgen.generators.transformer.ordering import TokenCounts
from synthgen.training.disk_rows import DiskRows

__all__ = ["TokenTables"]


class TokenTables:
    """Main and fine token tables of encoded rows, over the fitted ``tokenizer_``."""

    tokenizer_: Any
    #: The visiting order (indices of the modelled columns); ``None``: schema order (a model
    #: file written before the order was saved).
    _order: np.ndarray | None = None

    @property
    def column_order_(self) -> list[str]:
        """The modelled columns in their visiting order (see :mod:`.ordering`)."""
        columns = self.tokenizer_.columns
        return [columns[i].column for i in self._visiting_order()]

    def _visiting_order(self) -> np.ndarray:
        """The visiting order as column indices (schema order for files written before it)."""
        if self._order is None:
            return np.arange(self.tokenizer_.n_columns)
        return self._order

    def _token_slots(self) -> tuple[np.ndarray, np.ndarray]:
        """Each column's main-token slot, and which columns are numbers (whose fine token
        is the slot after)."""
        columns = self.tokenizer_.columns
        slots = np.array([c.slot for c in columns], dtype=np.int64)
        return slots, np.array([c.numeric for c in columns], dtype=bool)

    def _token_rows(self, matrix: np.ndarray) -> np.ndarray:
        """Main then fine tokens of encoded rows, a column's tokens of every row contiguous:
        ``(2 * n_columns, n)`` int64 (fine: 0 for columns that are not numbers).

        The tokenizer writes a slot of every row at a time, so whole slots are copied here;
        gathering them as columns of a row-major table puts each cell of a slot on its own
        memory page (at 1,000 columns, two to six times the time)."""
        slots = self.tokenizer_.encode(matrix).T  # (n_slots, n): the slots as rows
        column, numeric = self._token_slots()
        rows = slots[np.concatenate([column, np.where(numeric, column + 1, column)])]
        rows[len(column) :][~numeric] = 0
        return rows

    def _split_tokens(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Main and fine tokens ``(n, n_columns)`` of encoded rows (fine: 0 for columns that
        are not numbers), column-major views."""
        rows = self._token_rows(matrix)
        n_cols = self.tokenizer_.n_columns
        return rows[:n_cols].T, rows[n_cols:].T

    def _training_tokens(
        self, matrix: Any, chunk_cells: int = 2**24, counts: TokenCounts | None = None
    ) -> Any:
        """``[main | fine]`` tokens ``(n, 2 * n_columns)``, tokenised in chunks of rows, in
        the narrowest integer type that holds every slot's vocabulary and its extra tokens
        (rows on disk give tokens on disk, beside them). A chunk holds about ``chunk_cells``
        tokens (128 MB in int64; 65,536 rows of up to 256 slots). ``counts`` counts every
        chunk's tokens."""
        n_cols = self.tokenizer_.n_columns
        top = max(self.tokenizer_.vocab, default=0) + 2  # "none" / "mask" past the vocabulary
        dtype = np.int16 if top < 2**15 else np.int32
        on_disk = isinstance(matrix, DiskRows)
        if on_disk:
            out = DiskRows.create(matrix.path.parent, 2 * n_cols, dtype)
        else:
            out = np.empty((len(matrix), 2 * n_cols), dtype=dtype)
        chunk = int(np.clip(chunk_cells // max(self.tokenizer_.n_slots, 1), 1024, 65_536))
        for lo in range(0, len(matrix), chunk):
            rows = self._token_rows(matrix[lo : lo + chunk])
            if counts is not None:
                counts.add(rows)
            block = rows.astype(dtype).T
            if on_disk:
                out.append(block)
            else:
                out[lo : lo + chunk] = block
        return out
