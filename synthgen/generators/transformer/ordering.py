"""The transformer's visiting order: the column order free sampling follows.

Training runs part of every batch in this order and the rest in random column orders
(``random_order``); free sampling visits the columns in it, and conditional sampling visits
the fixed columns first, then the free ones, each group in it. :meth:`log_prob
<.sampling.TokenSampling.log_prob>` scores rows in it too.

``column_order="auto"`` (models fitted now) visits first the columns whose tokens hold the
least entropy in the training rows, as many as keep a chunk's distinct prefixes under
:data:`SHARED_LANES`, then the others; each group in schema order. Rows that drew the same
tokens so far share one lane of the key/value cache while sampling (:mod:`.prefixes`): a
few common labels first keep a chunk's 4,096 rows in a few hundred lanes for several
positions, where a many-valued first column (bank marketing's age, in 32 x 32 bins) splits
them into about a thousand at once. A wide network (several columns per position) keeps the
schema order under ``"auto"``: its cache has no shared lanes. ``"schema"`` is the order of
the table's columns (every model saved before the visiting order); a list of column names
puts those columns first, in that order, and the others after them in schema order.

The tokens are counted while the fit tokenises the rows (one ``bincount`` per chunk); under
sharded input (``torch.distributed``) the ranks' counts are summed first, so every rank
trains the same order. A model file stores the order as column indices: no value of the
data, only which columns hold the fewest values (as the encoder's bins already tell). The
transformer has no differentially private fit; one would have to order the columns without
reading the rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from synthgen.exceptions import ConfigurationError, PersistenceError

__all__ = ["COLUMN_ORDERS", "TokenCounts", "is_column_list", "restore_order", "visiting_order"]

#: The named visiting orders (a list of column names is the third kind).
COLUMN_ORDERS: tuple[str, ...] = ("auto", "schema")

#: Distinct prefixes a chunk of sampled rows shares lanes for: half of its 4,096 rows
#: (:data:`.prefixes._MAX_SHARE` of :data:`.sampling._SAMPLE_CHUNK`). ``"auto"`` puts
#: columns first while their entropy stays below its logarithm.
SHARED_LANES = 2048


def is_column_list(value: Any) -> bool:
    """Whether ``value`` is a list or tuple of column names (strings), at least one.

    Examples
    --------
    >>> is_column_list(["age", "job"]), is_column_list("age"), is_column_list([])
    (True, False, False)
    """
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(v, str) for v in value)
    )


class TokenCounts:
    """How often each column's tokens occur, counted over blocks of token rows.

    A category counts its token; a number its (coarse, fine) pair. One ``bincount`` per
    block covers every column (each column's tokens offset into its own range).

    Parameters
    ----------
    vocab : sequence of int
        Each column's main vocabulary.
    numeric : sequence of bool
        Which columns are numbers (a fine token beside the main one).
    fine_span : int
        Fine tokens a number's main token can carry (its fine bins and the "none" token).

    Examples
    --------
    >>> counts = TokenCounts([2, 3], [False, True], fine_span=2)
    >>> counts.add(np.array([[0, 0, 1, 1], [0, 0, 2, 2], [0, 0, 0, 0], [0, 1, 1, 1]]))
    >>> counts.entropy().round(3).tolist()  # column 1: (0, 0), (0, 1) and twice (2, 1)
    [0.693, 1.04]
    """

    def __init__(self, vocab: Sequence[int], numeric: Sequence[bool], fine_span: int) -> None:
        self.span = np.array([fine_span if num else 1 for num in numeric], dtype=np.int64)
        sizes = np.asarray(vocab, dtype=np.int64) * self.span
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.counts = np.zeros(int(self.offsets[-1]), dtype=np.int64)

    @classmethod
    def of(cls, tokenizer: Any) -> TokenCounts:
        """Empty counts of a :class:`.RowTokenizer`'s columns."""
        columns = tokenizer.columns
        vocab, numeric = [c.vocab for c in columns], [c.numeric for c in columns]
        return cls(vocab, numeric, tokenizer.n_sub_bins + 1)  # fine bins and "none"

    def add(self, rows: np.ndarray) -> None:
        """Count a block of token rows ``(2 * n_columns, n)``: main rows, then fine rows (0
        for columns that are not numbers, as :meth:`.TokenTables._token_rows` makes them)."""
        n_cols = len(self.span)
        keys = rows[:n_cols] * self.span[:, None] + rows[n_cols:]
        keys += self.offsets[:-1, None]
        self.counts += np.bincount(keys.ravel(), minlength=len(self.counts))

    def entropy(self) -> np.ndarray:
        """Each column's token entropy in nats (0 for a column with no rows)."""
        out = np.zeros(len(self.span))
        for c, (lo, hi) in enumerate(zip(self.offsets[:-1], self.offsets[1:], strict=True)):
            held = self.counts[lo:hi]
            held = held[held > 0].astype(np.float64)
            if len(held):
                p = held / held.sum()
                out[c] = float(-(p * np.log(p)).sum())
        return out


def visiting_order(
    setting: str | Sequence[str],
    names: Sequence[str],
    table_columns: Sequence[str],
    counts: TokenCounts | None = None,
) -> np.ndarray:
    """The visiting order (indices of the modelled columns ``names``) ``setting`` asks for.

    Parameters
    ----------
    setting : "auto", "schema" or list of str
        ``column_order``. ``"auto"`` needs ``counts`` (without them: schema order).
    names : sequence of str
        The modelled columns, in schema order.
    table_columns : sequence of str
        Every column of the table (a listed column outside it is refused; a listed column
        the model does not learn, an identifier or a constant, is passed over).
    counts : TokenCounts, optional
        The training rows' token counts.

    Raises
    ------
    ConfigurationError
        A listed name that is not a column of the table, or one listed twice.

    Examples
    --------
    >>> visiting_order(["c", "a"], ["a", "b", "c"], ["a", "b", "c"]).tolist()
    [2, 0, 1]
    >>> visiting_order("schema", ["a", "b"], ["a", "b"]).tolist()
    [0, 1]
    """
    n = len(names)
    if isinstance(setting, str):
        if setting != "auto" or counts is None:
            return np.arange(n)
        return _shared_first(counts.entropy())
    index = {name: i for i, name in enumerate(names)}
    known, seen, first = set(table_columns), set(), []
    for name in setting:
        if name not in known:
            raise ConfigurationError(
                f"column_order names {name!r}, which is not a column of the table"
            )
        if name in seen:
            raise ConfigurationError(f"column_order lists {name!r} twice")
        seen.add(name)
        if name in index:
            first.append(index[name])
    listed = set(first)
    return np.array(first + [i for i in range(n) if i not in listed], dtype=np.int64)


def _shared_first(entropy: np.ndarray) -> np.ndarray:
    """The columns that keep sampled rows sharing lanes first, all in schema order.

    Columns are chosen by increasing entropy (ties in schema order) while the entropy
    chosen so far is below ``log(SHARED_LANES)``: past it a chunk's prefixes are about as
    many as the lanes sampling shares, and the later columns' place no longer changes its
    cost. The chosen columns are visited first and the others after them, each group in
    schema order (adjacent columns of one series stay adjacent; sorting the chosen ones by
    entropy too drew a few percent quicker but lost more column shape).

    Examples
    --------
    >>> _shared_first(np.array([9.0, 0.1, 6.0, 0.7, 2.0])).tolist()  # column 0 moves last
    [1, 2, 3, 4, 0]
    >>> _shared_first(np.array([6.0, 0.1, 9.0, 0.7, 2.0])).tolist()
    [0, 1, 3, 4, 2]
    """
    # Rounded so that a last-bit difference between machines cannot swap two columns.
    entropy = np.round(entropy, 9)
    chosen: set[int] = set()
    taken = 0.0
    for c in np.argsort(entropy, kind="stable").tolist():
        if taken >= math.log(SHARED_LANES):
            break
        chosen.add(c)
        taken += float(entropy[c])
    n = len(entropy)
    return np.array(
        [c for c in range(n) if c in chosen] + [c for c in range(n) if c not in chosen],
        dtype=np.int64,
    )


def restore_order(value: Any, n_columns: int) -> np.ndarray | None:
    """The visiting order a model file holds (``None``: a file written before it, which
    visits the columns in schema order).

    Raises
    ------
    PersistenceError
        Anything but a permutation of the model's ``n_columns`` column indices.

    Examples
    --------
    >>> restore_order([1, 0], 2).tolist()
    [1, 0]
    >>> restore_order(None, 2) is None
    True
    """
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or any(type(v) is not int for v in value)
        or sorted(value) != list(range(n_columns))
    ):
        raise PersistenceError(
            f"invalid transformer column_order in the model file: {str(value)[:80]} "
            f"(a permutation of the {n_columns} modelled columns expected)"
        )
    return np.array(value, dtype=np.int64)
