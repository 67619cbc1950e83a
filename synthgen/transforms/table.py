"""The :class:`TableEncoder`: a schema in, a flat float matrix and its list of typed spans out.

Every generator reads the same :class:`Span` list to build its output activations, its loss and
its conditioning, so a new column kind is added here once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse.linalg import LinearOperator, eigsh

from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.schema import Schema
from synthgen.transforms.capped import DEFAULT_MAX_CODES
from synthgen.transforms.columns import CategoricalEncoder, ColumnEncoder, make_column_encoder
from synthgen.transforms.discrete import DISCRETE_METHODS
from synthgen.transforms.dtypes import wide_frame
from synthgen.transforms.numeric import NUMERIC_METHODS
from synthgen.transforms.pii import SemanticEncoder
from synthgen.transforms.structure import StructureCodec

__all__ = ["Span", "TableEncoder"]


@dataclass(frozen=True)
class Span:
    """A contiguous block of the encoded matrix that belongs to one column.

    Attributes
    ----------
    column : str
        The column it encodes.
    role : str
        ``"value"`` (a continuous number), ``"mode"`` (mixture-mode one-hot), ``"category"``
        (category one-hot, score or index) or ``"missing"`` (missing-value flag).
    start, dim : int
        Position and width in the encoded matrix.
    activation : str
        ``"tanh"``, ``"identity"``, ``"softmax"`` (a one-hot block) or ``"index"`` (an integer
        code stored as one number).
    """

    column: str
    role: str
    start: int
    dim: int
    activation: str

    @property
    def end(self) -> int:
        return self.start + self.dim

    @property
    def is_discrete(self) -> bool:
        return self.activation in ("softmax", "index")


class TableEncoder:
    """Encode a whole table with one reversible encoder per column.

    Parameters
    ----------
    numeric : {"quantile", "gmm", "minmax"}
        Transform of numbers and datetimes.
    discrete : {"onehot", "frequency", "index"}
        Transform of categories and missing flags.
    max_modes : int
        Largest number of mixture modes per column (``numeric="gmm"`` only).
    spike_share, spike_ratio, max_discrete : float, float, int
        ``numeric="gmm"`` only: a value held by at least ``spike_share`` of the rows (and by
        ``spike_ratio`` times an even spread's share) gets an exact mode of its own, and a
        column with at most ``max_discrete`` distinct values gets one exact mode per value
        (see :class:`~synthgen.transforms.numeric.ModeNormal`).
    category_order : {"label", "pc1"}
        Order of category slices for ``discrete="frequency"``: the schema's label order, or
        by each category's mean on the table's first principal component, which places
        categories that go together next to each other (better pair trends for a copula).
    max_codes : int or None
        Most codes of a column's ``"onehot"`` or ``"index"`` block: above it the most frequent
        labels keep their own code and the others share one, decoded by frequency (see
        :mod:`synthgen.transforms.capped`). ``None``: one code per label, however many.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, 2.5, None, 4.0], "c": ["a", "b", "a", "a"]})
    >>> schema = Schema.infer(df, min_count=1)  # exact: every label and value may be stored
    >>> enc = TableEncoder(numeric="quantile", discrete="onehot").fit(df, schema, random_state=0)
    >>> [(s.column, s.role, s.dim) for s in enc.spans]
    [('x', 'value', 1), ('x', 'missing', 2), ('c', 'category', 2)]
    >>> back = enc.inverse_transform(enc.transform(df, random_state=0))
    >>> back.equals(df)
    True
    """

    def __init__(
        self,
        numeric: str = "quantile",
        discrete: str = "onehot",
        max_modes: int = 10,
        category_order: str = "label",
        spike_share: float = 0.02,
        max_discrete: int = 16,
        spike_ratio: float = 0.0,
        max_codes: int | None = DEFAULT_MAX_CODES,
    ):
        self.numeric = numeric
        self.discrete = discrete
        self.max_modes = max_modes
        self.category_order = category_order
        self.spike_share = spike_share
        self.max_discrete = max_discrete
        self.spike_ratio = spike_ratio
        self.max_codes = max_codes

    def _make(self, spec) -> ColumnEncoder:
        if spec.semantic:  # personal data and free text: generated, never learned
            return SemanticEncoder(spec, self.discrete)
        # What the fit may store follows the schema's min_count (see synthgen.schema.safe).
        kwargs: dict[str, Any] = {"min_count": self.schema_.min_count, "max_codes": self.max_codes}
        if self.numeric == "gmm":
            kwargs |= {
                "max_modes": self.max_modes,
                "spike_share": self.spike_share,
                "max_discrete": self.max_discrete,
                "spike_ratio": self.spike_ratio,
            }
        return make_column_encoder(spec, numeric=self.numeric, discrete=self.discrete, **kwargs)

    def fit(self, data: pd.DataFrame, schema: Schema, *, random_state: Any = None) -> TableEncoder:
        """Fit every column encoder on ``data`` (already validated against ``schema``)."""
        self._check_params()
        rng = np.random.default_rng(random_state)
        score = None
        if self.category_order == "pc1" and self.discrete == "frequency":
            score = _first_component(data, schema, rng)
        self.schema_ = schema
        # Structure rules (schema.structure) reshape the table the column encoders see.
        self.structure_ = StructureCodec().fit(data, schema, rng)
        frame = self.structure_.forward(data, rng)
        self.encoders_ = [
            self._make(spec).fit(frame[spec.name], rng, score)
            for spec in self.structure_.model_specs()
        ]
        self._build_spans()
        return self

    def _check_params(self) -> None:
        if self.numeric not in NUMERIC_METHODS:
            raise ConfigurationError(
                f"numeric must be one of {sorted(NUMERIC_METHODS)}, got {self.numeric!r}"
            )
        if self.discrete not in DISCRETE_METHODS:
            raise ConfigurationError(
                f"discrete must be one of {sorted(DISCRETE_METHODS)}, got {self.discrete!r}"
            )
        if self.category_order not in ("label", "pc1"):
            raise ConfigurationError(
                f"category_order must be 'label' or 'pc1', got {self.category_order!r}"
            )
        share, ratio, k = self.spike_share, self.spike_ratio, self.max_discrete
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise ConfigurationError(f"spike_share must lie in (0, 1], got {share!r}")
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or ratio < 0:
            raise ConfigurationError(f"spike_ratio must be a number >= 0, got {ratio!r}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ConfigurationError(f"max_discrete must be an integer >= 0, got {k!r}")
        cap = self.max_codes
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 4):
            raise ConfigurationError(f"max_codes must be None or an integer >= 4, got {cap!r}")
        modes = self.max_modes
        if isinstance(modes, bool) or not isinstance(modes, int) or modes < 1:
            raise ConfigurationError(f"max_modes must be a positive integer, got {modes!r}")

    def _build_spans(self) -> None:
        spans, start = [], 0
        for enc in self.encoders_:
            for role, dim, act in enc.spans:
                spans.append(Span(enc.spec.name, role, start, dim, act))
                start += dim
        self.spans_: list[Span] = spans
        self.output_dim_ = start

    @property
    def spans(self) -> list[Span]:
        """The typed output spans, in matrix order."""
        return self.spans_

    @property
    def output_dim(self) -> int:
        """Width of the encoded matrix."""
        return self.output_dim_

    def transform(
        self, data: pd.DataFrame, *, random_state: Any = None, compact: bool = False
    ) -> np.ndarray:
        """Encode ``data`` to a ``float32`` matrix of width :attr:`output_dim`.

        ``compact=True`` writes each one-hot categorical block as one column holding the code
        (same draws; :class:`~synthgen.generators.compact.CompactPlan` expands a batch back),
        so a table of millions of rows never holds its one-hot matrix.
        """
        # Each column's block is written as it comes: no list of float64 blocks and no
        # float64 copy of the whole matrix (two million rows of 71 numbers: 2.2 GB less).
        out = np.empty((len(data), self.compact_dim if compact else self.output_dim_), np.float32)
        for columns, block in self.transform_columns(
            data, random_state=random_state, compact=compact
        ):
            out[:, columns] = block
        return out

    def transform_columns(
        self, data: pd.DataFrame, *, random_state: Any = None, compact: bool = False
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """Encode ``data`` one column at a time: ``(columns of the matrix, block)`` per encoder
        with a non-empty block, in matrix order, with the random draws of :meth:`transform`
        (whose blocks they are). Holds one column's block at a time, not the whole matrix.
        With ``compact``, the columns are those of the compact matrix (see :meth:`transform`).
        """
        rng = np.random.default_rng(random_state)
        data = self.structure_.forward(data, rng)
        start = 0
        for enc, coded in zip(self.encoders_, self.compact_groups(), strict=True):
            coded = coded and compact
            width = 1 if coded else enc.dim
            if coded:
                codes = enc.to_codes(data[enc.spec.name])  # type: ignore[union-attr]
                yield slice(start, start + 1), codes[:, None].astype(np.float32)
            elif width:
                yield slice(start, start + width), enc.transform(data[enc.spec.name], rng)
            start += width

    @property
    def compact_dim(self) -> int:
        """Width of the ``transform(compact=True)`` matrix."""
        coded = self.compact_groups()
        return sum(1 if c else enc.dim for enc, c in zip(self.encoders_, coded, strict=True))

    def compact_groups(self) -> list[bool]:
        """Per column encoder: whether its block is one one-hot over category codes (written
        as one column of codes by ``transform(compact=True)``)."""
        return [
            isinstance(enc, CategoricalEncoder) and enc.dim > 0 and enc.codes.method == "onehot"
            for enc in self.encoders_
        ]

    def encode_fixed(
        self, fixed: pd.DataFrame, *, random_state: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Encode the set cells of a partial table (missing cells are free).

        Returns the encoded matrix (free cells as zeros) and a boolean mask of the same shape
        that is True where a value is fixed. Columns absent from ``fixed`` are free.
        """
        rng = np.random.default_rng(random_state)
        n = len(fixed)
        fixed = self.structure_.forward(fixed, rng, partial=True)
        matrix = np.zeros((n, self.output_dim_), dtype=np.float32)
        known = np.zeros((n, self.output_dim_), dtype=bool)
        start = 0
        for enc in self.encoders_:
            end = start + enc.dim
            name = enc.spec.name
            if enc.dim and name in fixed.columns:
                has = fixed[name].notna().to_numpy()
                if has.any():
                    matrix[has, start:end] = enc.transform(fixed[name][has], rng)
                    known[has, start:end] = True
            start = end
        return matrix, known

    def inverse_transform(self, matrix: np.ndarray, *, random_state: Any = None) -> pd.DataFrame:
        """Decode a matrix back to a table with the schema's columns, dtypes and labels
        (consolidated past 100 columns: :func:`~synthgen.transforms.dtypes.wide_frame`)."""
        rng = np.random.default_rng(random_state)
        # column-major: each column's decoding then reads contiguous memory (one copy of the
        # matrix instead of a strided read in every pass of every column)
        matrix = np.asfortranarray(matrix)
        columns, start = {}, 0
        for enc in self.encoders_:
            block = matrix[:, start : start + enc.dim]
            start += enc.dim
            col = enc.inverse(block, rng)
            index = col.index  # a column decoded on 0..n-1 keeps it (reset_index copies)
            fresh = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
            columns[enc.spec.name] = col if fresh else col.reset_index(drop=True)
        # copy=False: the decoded columns are new (see wide_frame)
        return wide_frame(self.structure_.backward(pd.DataFrame(columns, copy=False), rng))

    # -- persistence --------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """JSON-ready state (the schema is stored separately)."""
        return {
            "params": {
                "numeric": self.numeric,
                "discrete": self.discrete,
                "max_modes": self.max_modes,
                "category_order": self.category_order,
                "spike_share": self.spike_share,
                "max_discrete": self.max_discrete,
                "spike_ratio": self.spike_ratio,
                "max_codes": self.max_codes,
            },
            "columns": [enc.get_state() for enc in self.encoders_],
            "spans": [asdict(s) for s in self.spans_],
            **({"structure": self.structure_.get_state()} if self.structure_.active else {}),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], schema: Schema) -> TableEncoder:
        """Rebuild a fitted encoder from :meth:`get_state` output and its schema."""
        if not isinstance(state, dict) or not isinstance(state.get("params"), dict):
            raise PersistenceError("encoder state must be an object with 'params' and 'columns'")
        columns = state.get("columns")
        if not isinstance(columns, list):
            raise PersistenceError("encoder state must list one state per modelled column")
        try:
            # Files saved before the cap existed have one code per label.
            enc = cls(**{"max_codes": None, **state["params"]})
            enc._check_params()
        except (TypeError, ConfigurationError) as err:
            raise PersistenceError(f"invalid encoder parameters: {err}") from None
        enc.schema_ = schema
        enc.structure_ = StructureCodec.from_state(state.get("structure"), schema)
        specs = enc.structure_.model_specs()  # the schema's columns, as structure reshapes them
        if len(columns) != len(specs):
            raise PersistenceError(
                f"encoder state must list one state per schema column as modelled ({len(specs)})"
            )
        encoders = []
        for spec, column in zip(specs, columns, strict=True):
            if not isinstance(column, dict):
                raise PersistenceError(f"column {spec.name!r}: invalid saved state")
            encoders.append(enc._make(spec).set_state(column))
        enc.encoders_ = encoders
        enc._build_spans()
        return enc


def _first_component(
    data: pd.DataFrame,
    schema: Schema,
    rng: np.random.Generator,
    max_rows: int = 5000,
    chunk_rows: int = 100_000,
) -> np.ndarray:
    """Each row's score on the first principal component of the standardised one-hot table.

    The one-hot blocks are capped (:mod:`synthgen.transforms.capped`), so their width does not
    grow with the number of labels. Tables of more than ``chunk_rows`` rows (or 20 million
    one-hot cells) are standardised with the statistics of a ``max_rows`` sample and scored
    chunk by chunk and column by column, so no matrix of all rows (or of all columns) is
    held; smaller tables are scored as before.
    """
    aux = TableEncoder("quantile", "onehot").fit(data, schema, random_state=rng)
    if len(data) <= chunk_rows and len(data) * aux.output_dim <= 20_000_000:
        matrix = aux.transform(data, random_state=rng).astype(np.float64)
        if matrix.shape[1] == 0:
            return np.zeros(len(data))
        mean, std = matrix.mean(axis=0), matrix.std(axis=0)
        scale = np.where(std > 0, std, 1.0)
        pick = rng.choice(len(matrix), max_rows, False) if len(matrix) > max_rows else slice(None)
        vec = _leading_vector((matrix[pick] - mean) / scale, rng)
        return ((matrix - mean) / scale) @ vec
    if aux.output_dim == 0:
        return np.zeros(len(data))
    picked = np.arange(len(data))  # every row of a short table too wide to hold whole
    if len(data) > max_rows:
        picked = np.sort(rng.choice(len(data), max_rows, replace=False))
    rows = aux.transform(data.iloc[picked], random_state=rng).astype(np.float64)
    mean, std = rows.mean(axis=0), rows.std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    vec = _leading_vector((rows - mean) / scale, rng)
    scores = np.zeros(len(data))
    # Scored one column block at a time (the score is a sum over columns), so a chunk holds
    # one block of ~32 MB at most and a wide table pays each column's per-call cost once.
    widest = max(enc.dim for enc in aux.encoders_)
    step = max(1024, min(chunk_rows, 4_000_000 // widest))
    for start in range(0, len(data), step):
        chunk = data.iloc[start : start + step]
        for cols, block in aux.transform_columns(chunk, random_state=rng):
            scores[start : start + step] += ((block - mean[cols]) / scale[cols]) @ vec[cols]
    return scores


def _leading_vector(rows: np.ndarray, rng: np.random.Generator, max_dense: int = 2000):
    """The leading eigenvector of ``rows.T @ rows``: exact (``eigh``) for up to ``max_dense``
    columns, else by Lanczos iterations on products with ``rows`` (no D x D matrix, no cubic
    cost in the width)."""
    d = rows.shape[1]
    if d <= max_dense:
        _, vecs = np.linalg.eigh(rows.T @ rows)
        return vecs[:, -1]
    op = LinearOperator((d, d), matvec=lambda v: rows.T @ (rows @ v), dtype=np.float64)
    _, vecs = eigsh(op, k=1, which="LA", v0=rng.standard_normal(d))
    return vecs[:, 0]
