"""Rows of the encoded matrix to token sequences (one or two tokens per column) and back.

The transformer reads the shared encoder's output with ``numeric="quantile"`` and
``discrete="index"``:

- a category (or a text column's pooled code, or a missing category) is one token, its code;
- a number or a datetime is the standard-normal score ``z`` of its empirical quantile. Its
  cumulative probability ``u = Phi(z)`` is uniform over ``[0, 1)``, so equal-width bins of ``u``
  are quantile bins of the value. A number becomes two tokens: a *coarse* bin out of
  ``n_bins`` (plus a missing token when the column has gaps) and a *fine* bin out of
  ``n_sub_bins`` inside it. Decoding draws ``u`` uniformly inside the fine bin, so values come
  back continuous (never rounded to a bin centre) and within one fine bin of the original.

Point masses (many equal values) are spread over their probability interval by the encoder,
so they fill consecutive bins and still decode to their exact value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from synthgen.transforms.table import TableEncoder

__all__ = ["ColumnTokens", "RowTokenizer"]

_ZMAX = 8.3  # the encoder clips normal scores here


@dataclass(frozen=True)
class ColumnTokens:
    """How one encoded column maps to token slots.

    Attributes
    ----------
    column : str
        Column name.
    numeric : bool
        Two slots (coarse, fine) when True, one category slot otherwise.
    value_dim : int
        Matrix position of the normal score (numbers) or of the code (categories).
    missing_dim : int
        Matrix position of the missing flag of a number, -1 when it has none.
    slot : int
        Index of the column's first slot.
    vocab : int
        Output vocabulary of the first slot (categories: the codes; numbers: the coarse bins,
        plus one missing token).
    """

    column: str
    numeric: bool
    value_dim: int
    missing_dim: int
    slot: int
    vocab: int


class RowTokenizer:
    """Maps encoded rows to integer token sequences in a fixed *slot* order and back.

    Parameters
    ----------
    encoder : TableEncoder
        A fitted encoder with ``numeric="quantile"`` and ``discrete="index"``.
    n_bins : int
        Coarse quantile bins per number.
    n_sub_bins : int
        Fine bins inside each coarse bin.

    Attributes
    ----------
    columns : list of ColumnTokens
        One entry per modelled column, in schema order.
    vocab : list of int
        Output vocabulary size of each slot.
    slot_column : numpy.ndarray
        Column index of each slot.
    fine_slots : numpy.ndarray
        Slots holding a fine bin (their token is ``n_sub_bins``, "none", when the number is
        missing).

    Examples
    --------
    >>> import pandas as pd
    >>> from synthgen.schema import Schema
    >>> x = [0.37 * i for i in range(39)] + [None]
    >>> df = pd.DataFrame({"x": x, "c": ["a", "b"] * 20})
    >>> schema = Schema.infer(df, min_count=1)  # exact quantiles, for the round trip below
    >>> enc = TableEncoder("quantile", "index").fit(df, schema, random_state=0)
    >>> tok = RowTokenizer(enc, n_bins=4, n_sub_bins=16)
    >>> tok.vocab, tok.n_slots
    ([5, 16, 2], 3)
    >>> tokens = tok.encode(enc.transform(df, random_state=0))
    >>> tokens[[0, 20, 38, 39]].tolist()
    [[0, 0, 0], [2, 1, 0], [3, 15, 0], [4, 16, 1]]
    >>> back = enc.inverse_transform(tok.decode(tokens, np.random.default_rng(0)))
    >>> back["c"].equals(df["c"]), bool(back["x"].isna()[39])
    (True, True)
    >>> bool(np.abs(back["x"] - df["x"]).max() < 0.37)  # within one fine bin
    True
    """

    def __init__(self, encoder: TableEncoder, n_bins: int = 32, n_sub_bins: int = 32) -> None:
        self.n_bins = int(n_bins)
        self.n_sub_bins = int(n_sub_bins)
        self.dim = encoder.output_dim
        codes = {
            e.spec.name: e.n_codes for e in encoder.encoders_ if hasattr(e, "n_codes") and e.dim
        }
        by_column: dict[str, list] = {}
        for span in encoder.spans:
            by_column.setdefault(span.column, []).append(span)
        self.columns: list[ColumnTokens] = []
        vocab: list[int] = []
        slot_column: list[int] = []
        for spans in by_column.values():
            roles = {s.role: s for s in spans}
            numeric = "value" in roles
            if numeric:
                miss = roles.get("missing")
                first = self.n_bins + int(miss is not None)
                entry = ColumnTokens(
                    spans[0].column,
                    True,
                    roles["value"].start,
                    -1 if miss is None else miss.start,
                    len(vocab),
                    first,
                )
                vocab += [first, self.n_sub_bins]
                slot_column += [len(self.columns)] * 2
            else:
                span = roles["category"]
                entry = ColumnTokens(
                    span.column, False, span.start, -1, len(vocab), codes[span.column]
                )
                vocab.append(entry.vocab)
                slot_column.append(len(self.columns))
            self.columns.append(entry)
        self.vocab = vocab
        self.slot_column = np.asarray(slot_column, dtype=np.int64)
        self.fine_slots = np.asarray(
            [c.slot + 1 for c in self.columns if c.numeric], dtype=np.int64
        )

    @property
    def n_slots(self) -> int:
        """Tokens per row."""
        return len(self.vocab)

    @property
    def n_columns(self) -> int:
        """Modelled columns (identifiers and constants have no tokens)."""
        return len(self.columns)

    def column_slots(self, order: np.ndarray) -> np.ndarray:
        """Slot order from a column order: a number's coarse slot is followed by its fine slot."""
        slots = []
        for c in order:
            col = self.columns[int(c)]
            slots += [col.slot, col.slot + 1] if col.numeric else [col.slot]
        return np.asarray(slots, dtype=np.int64)

    def encode(self, matrix: np.ndarray) -> np.ndarray:
        """``(n, n_slots)`` int64 tokens of encoded rows (a missing number's fine token is
        ``n_sub_bins``, the "none" input token), column-major: each slot is written whole
        (in the rows' layout, at 1,000 columns, every cell of a slot sat on its own memory
        page: ten times the time)."""
        matrix = np.asarray(matrix)
        n = len(matrix)
        out = np.zeros((n, self.n_slots), dtype=np.int64, order="F")
        total = self.n_bins * self.n_sub_bins
        for col in self.columns:
            if not col.numeric:
                out[:, col.slot] = np.rint(matrix[:, col.value_dim]).astype(np.int64)
                continue
            u = ndtr(matrix[:, col.value_dim].astype(np.float64))
            fine = np.clip(np.floor(u * total), 0, total - 1).astype(np.int64)
            out[:, col.slot] = fine // self.n_sub_bins
            out[:, col.slot + 1] = fine % self.n_sub_bins
            if col.missing_dim >= 0:
                missing = np.rint(matrix[:, col.missing_dim]) == 1
                out[missing, col.slot] = self.n_bins
                out[missing, col.slot + 1] = self.n_sub_bins
        return out

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Encoded rows (float32) of ``tokens``; numbers are drawn uniformly in their fine bin.

        The matrix is column-major, as the encoder decodes it (a column of a row-major one
        is a write of 4 bytes per ``dim * 4``: a page apart at 1,000 columns)."""
        tokens = np.asarray(tokens)
        n = len(tokens)
        matrix = np.zeros((n, self.dim), dtype=np.float32, order="F")
        for col in self.columns:
            if not col.numeric:
                matrix[:, col.value_dim] = tokens[:, col.slot]
                continue
            coarse = tokens[:, col.slot]
            missing = coarse >= self.n_bins
            fine = np.clip(tokens[:, col.slot + 1], 0, self.n_sub_bins - 1)
            cell = np.minimum(coarse, self.n_bins - 1) * self.n_sub_bins + fine
            u = (cell + rng.random(n)) / (self.n_bins * self.n_sub_bins)
            z = np.clip(ndtri(u), -_ZMAX, _ZMAX)
            matrix[:, col.value_dim] = np.where(missing, 0.0, z)
            if col.missing_dim >= 0:
                matrix[:, col.missing_dim] = missing
        return matrix

    def known_columns(self, known: np.ndarray) -> np.ndarray:
        """``(n, n_columns)`` mask of columns whose every encoded dimension is fixed."""
        known = np.asarray(known, dtype=bool)
        out = np.zeros((len(known), self.n_columns), dtype=bool)
        for j, col in enumerate(self.columns):
            k = known[:, col.value_dim]
            if col.missing_dim >= 0:
                k = k & known[:, col.missing_dim]
            out[:, j] = k
        return out
