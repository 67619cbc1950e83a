"""Fit on Parquet parts larger than memory: passes over the row groups.

:func:`~synthgen.generators.sharded.fit_parts` with ``fit_rows`` smaller than the table, in
one process, does not read the table into memory when the generator's fit reduces to moments
of the encoded rows (the Gaussian copula) or trains on its compact encoded rows (the neural
generators, without ``epsilon``):

1. **Sample.** Every row gets a uniform key from one seeded stream, drawn in table order (row
   group after row group, so the keys do not depend on how the rows are grouped); the
   ``fit_rows`` rows with the smallest keys are a uniform sample without replacement. The
   schema (when not given) and the encoder are fitted on it.
2. **Moments.** Every row group is read in turn, checked against the schema and encoded; the
   count, mean and centred cross-products of the encoded rows are merged group by group
   (Chan et al.'s pairwise update), so the copula's correlation is that of every row. Scores
   are clipped at the sample's resolution (the normal quantile of ``1 - 1 / (2 fit_rows)``):
   a row beyond the sample's range would otherwise count at the encoder's far clip.
   A neural generator instead appends each row group's compact encoding (one ``float32``
   per number and per categorical column, :mod:`synthgen.generators.compact`) to a file in
   a temporary folder and trains on it as :meth:`fit` would, reading each batch's rows from
   the file (:class:`~synthgen.training.disk_rows.DiskRows`).

Peak memory is the sample plus one row group and its encoding, whatever the row count; a
neural generator adds its network, one row index per row for shuffling and at most 100,000
validation rows. A DP-SGD fit (``epsilon``) reads the parts into memory instead: its
private schema and encoder come from the whole table. A label
the sample missed is refused when a row group holds it (``SchemaError`` naming the column and
the part): raise ``fit_rows``. Structure rules (hierarchies, missing-together groups,
coordinate pairs) must hold on every row: those inferred from the sample are checked against
every row group in one more pass (:func:`holding_everywhere`), and a rule that any row breaks
is dropped. A given schema is used as it is: each row group is checked against its rules and
constraints (a hierarchy within each row group).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from synthgen.exceptions import ConstraintError, DataError, SchemaError
from synthgen.parquet_parts import ParquetParts
from synthgen.schema import Schema, check_frame
from synthgen.training.disk_rows import DiskRows

__all__ = [
    "Moments",
    "Smallest",
    "checked_groups",
    "fit_streamed",
    "holding_everywhere",
    "sample_rows",
    "streams",
]


def streams(model: Any) -> bool:
    """Whether ``model`` can be fitted in passes over row groups: from moments of its encoded
    rows (the copula), or from its compact encoded rows (a neural generator without DP)."""
    if callable(getattr(model, "_fit_moments", None)):
        return True
    return bool(getattr(model, "compact_training", False)) and (
        getattr(model, "epsilon", None) is None
    )


class Moments:
    """Count, mean and centred cross-products of rows added block by block.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(1000, 3))
    >>> m = Moments(3)
    >>> for block in np.array_split(x, 7):
    ...     m.add(block)
    >>> bool(np.allclose(m.covariance(), np.cov(x.T, bias=True)))
    True
    """

    def __init__(self, dim: int) -> None:
        self.count = 0
        self.mean = np.zeros(dim)
        self.cross = np.zeros((dim, dim))

    def add(self, block: np.ndarray) -> None:
        """Merge the rows of ``block`` ``(rows, dim)``."""
        n = len(block)
        if n == 0:
            return
        block = np.asarray(block, dtype=np.float64)
        mean = block.mean(axis=0)
        centred = block - mean
        delta = mean - self.mean
        total = self.count + n
        self.cross += centred.T @ centred + np.outer(delta, delta) * (self.count * n / total)
        self.mean += delta * (n / total)
        self.count = total

    def covariance(self) -> np.ndarray:
        """The population covariance (divided by the count) of every row added."""
        return self.cross / max(self.count, 1)


class Smallest:
    """The ``n`` rows with the smallest keys among the rows added block by block, given
    back in the order they were added (a uniform sample when the keys are uniform draws;
    of equal keys the earlier row).

    Rows that may still be among the ``n`` (a key below the ``n``-th smallest so far) wait
    in a list and are cut back to ``n`` only when half as many again are waiting: of a
    table of ``N`` rows about ``n (1 + ln(N / n))`` rows ever wait, so the rows are copied a
    few times in all, not once per block.

    Examples
    --------
    >>> keep = Smallest(2)
    >>> keep.add(pd.DataFrame({"x": [1, 2, 3]}), np.array([0.9, 0.1, 0.5]))
    >>> keep.add(pd.DataFrame({"x": [4]}), np.array([0.2]))
    >>> keep.frame()["x"].tolist()
    [2, 4]
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._frames: list[pd.DataFrame] = []
        self._keys: list[np.ndarray] = []
        self._held = 0
        #: A row with a key at or above it is not among the ``n`` smallest.
        self.limit = np.inf
        self.added = 0

    def add(self, rows: pd.DataFrame, keys: np.ndarray) -> None:
        """Add the next ``rows`` with their ``keys``."""
        take = np.flatnonzero(keys < self.limit)
        if len(take):
            self._frames.append(rows if len(take) == len(rows) else rows.iloc[take])
            self._keys.append(keys[take])
            self._held += len(take)
            if self._held >= self.n:
                waiting = np.concatenate(self._keys)
                self.limit = float(np.partition(waiting, self.n - 1)[self.n - 1])
            if self._held > self.n + self.n // 2:
                self._cut()
        self.added += len(rows)

    def _cut(self) -> None:
        """Keep only the ``n`` smallest waiting rows (in the order they were added)."""
        frame = self._frames[0] if len(self._frames) == 1 else pd.concat(self._frames)
        keys = np.concatenate(self._keys)
        best = np.sort(np.argsort(keys, kind="stable")[: self.n])
        self._frames, self._keys = [frame.iloc[best]], [keys[best]]
        self._held = len(best)

    def frame(self) -> pd.DataFrame | None:
        """The kept rows in the order they were added (``None`` before any row)."""
        if not self._frames:
            return None
        self._cut()
        return self._frames[0].reset_index(drop=True)


def sample_rows(parts: ParquetParts, n: int, seed: int) -> pd.DataFrame:
    """A uniform sample of ``n`` rows of ``parts`` without replacement, in table order, read
    one row group at a time (the ``n`` smallest of one uniform key per row)."""
    rng = np.random.default_rng(seed)
    keep = Smallest(n)
    for unit in parts.units:
        keys = rng.random(unit[2])
        if len(keys) and (keys < keep.limit).any():
            keep.add(parts.read([unit]), keys)
        else:
            keep.added += unit[2]
    frame = keep.frame()
    return parts.schema.empty_table().to_pandas() if frame is None else frame


def checked_groups(parts: ParquetParts) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each non-empty row group, checked like a fit's data, with where it comes from."""
    for unit in parts.units:
        if unit[2]:  # an empty part holds no row
            where = f"row group {unit[1]} of {os.fspath(parts.files[unit[0]])!r}"
            with _naming(where):
                chunk = check_frame(parts.read([unit]))
            yield where, chunk


@contextmanager
def _naming(where: str, hint: str = "") -> Iterator[None]:
    """Errors of synthgen raised inside say which row group they come from."""
    try:
        yield
    except (DataError, SchemaError, ConstraintError) as err:
        extra = hint if isinstance(err, SchemaError) else ""
        raise type(err)(f"{where}: {err}{extra}") from None


def holding_everywhere(parts: ParquetParts, schema: Schema) -> Schema:
    """``schema`` with only the structure rules (and suggestions) that every row of ``parts``
    meets, read one row group at a time: the row-wise rules group by group, a hierarchy over
    the parent/child pairs of all groups (a parent may not change its child between them)."""
    structure = schema.structure
    if not structure:
        return schema
    seen: dict[Any, pd.DataFrame] = {}
    for _, chunk in checked_groups(parts):
        structure = structure.holding(chunk, schema)
        for rule in structure.hierarchies:
            pairs = chunk[[rule.parent, rule.child]].drop_duplicates()
            if rule in seen:
                pairs = pd.concat([seen[rule], pairs], ignore_index=True).drop_duplicates()
            seen[rule] = pairs
    structure.hierarchies = [
        rule
        for rule in structure.hierarchies
        if seen[rule].groupby(rule.parent, dropna=False)[rule.child].nunique(dropna=False).max()
        <= 1
    ]
    return schema.with_structure(structure)


def fit_streamed(model: Any, parts: ParquetParts, schema: Schema | None, fit_rows: int) -> Any:
    """Fit ``model`` (see :func:`streams`) in passes over ``parts``: the sample, the structure
    check when the schema is inferred, the moments (module docstring)."""
    from synthgen.generators.base import resolve_schema
    from synthgen.generators.params import validate_params
    from synthgen.transforms import TableEncoder

    validate_params(model)
    model._check_params()
    rng = model._fit_rng()
    sample_seed, fit_seed, encode_seed = (int(s) for s in rng.integers(2**62, size=3))
    sample = check_frame(sample_rows(parts, fit_rows, sample_seed))
    if schema is None:  # structure rules must hold on every row, not only the sample's
        schema = holding_everywhere(parts, Schema.infer(sample))
    schema = resolve_schema(sample, schema, stacklevel=4)
    encoder = TableEncoder(**model.encoder_params).fit(
        sample, schema, random_state=np.random.default_rng(fit_seed)
    )
    model._adjust_encoder(encoder)
    # A quantile function from n rows cannot place a row beyond its 1/(2n) tails: rows past the
    # sample's range would encode at the transform's far clip (8.3 standard deviations) and
    # weaken every correlation, so scores are clipped where the sample's resolution ends.
    reach = float(ndtri(1.0 - 0.5 / max(len(sample), 2)))
    del sample
    hint = (
        f" (the schema and encoder come from a sample of {fit_rows:,} rows: a larger "
        "fit_rows sees more of the table)"
    )
    neural = not callable(getattr(model, "_fit_moments", None))
    encode_rng = np.random.default_rng(encode_seed)
    encoded = _encoded_groups(parts, schema, encoder, encode_rng, hint, compact=neural)
    if neural:
        # Every row's compact encoding (one number per categorical column), written group by
        # group to a file that training reads a batch at a time (removed after the fit).
        with tempfile.TemporaryDirectory(prefix="synthgen-rows-") as folder:
            rows = DiskRows.create(folder, encoder.compact_dim, np.float32)
            try:
                for block in encoded:
                    rows.append(block)
                model.schema_, model.encoder_, model.n_train_rows_ = schema, encoder, len(rows)
                model._fit_encoded(rows, rng)
            finally:
                rows.close()
    else:
        moments = Moments(encoder.output_dim)
        for block in encoded:
            moments.add(np.clip(block, -reach, reach))
        model.schema_, model.encoder_, model.n_train_rows_ = schema, encoder, moments.count
        model._fit_moments(moments.covariance())
    model._seed_stream(int(rng.integers(2**62)))
    return model


def _encoded_groups(
    parts: ParquetParts,
    schema: Schema,
    encoder: Any,
    rng: np.random.Generator,
    hint: str,
    compact: bool = False,
) -> Iterator[np.ndarray]:
    """Each row group checked against ``schema`` and encoded (errors name the row group)."""
    for where, chunk in checked_groups(parts):
        with _naming(where, hint):
            schema.check_constraints(chunk)
            yield encoder.transform(chunk, random_state=rng, compact=compact)
