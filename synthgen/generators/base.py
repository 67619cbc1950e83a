"""The estimator every generator derives from: fit, sample, save, with the shared encoder.

A generator supplies the encoder settings it wants (:attr:`encoder_params`), a
:meth:`_fit_encoded` that learns from the encoded matrix and a :meth:`_sample_encoded` that
produces encoded rows. Validation (declared in ``_parameter_constraints``), encoding,
decoding, chunked sampling, seeding and persistence live here once.

The drawing protocol that :mod:`synthgen.sampling` uses is public: :meth:`draw`,
:meth:`draw_given` (when ``tags.conditioning``) and the stream :attr:`rng_`; so is the state
protocol that persistence uses (:meth:`get_state`, :meth:`set_state`).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from synthgen.bundle import Bundle
from synthgen.exceptions import (
    NotFittedError,
    PersonalDataWarning,
    SchemaError,
)
from synthgen.generators.params import Boolean, Seed, validate_params
from synthgen.generators.persistence import ENCODER_MEMBER, SCHEMA_MEMBER, PersistenceMixin
from synthgen.generators.tags import GeneratorTags
from synthgen.schema import Schema, check_frame
from synthgen.schema.semantic import personal_data_message
from synthgen.transforms import TableEncoder
from synthgen.utils import RowJoiner, check_n_samples, check_random_state

__all__ = ["ENCODER_MEMBER", "SCHEMA_MEMBER", "BaseGenerator"]


def resolve_schema(data: pd.DataFrame, schema: Schema | None, *, stacklevel: int = 3) -> Schema:
    """The schema a fit uses: inferred from ``data``, or the one given completed with the facts
    learned here and checked against ``data``; constraints checked, personal data warned of
    (``stacklevel`` as for :func:`warnings.warn` called here: 3 names the caller's caller)."""
    given = schema is not None
    if schema is None:
        schema = Schema.infer(data)
    elif not isinstance(schema, Schema):
        raise SchemaError(f"schema must be a synthgen Schema, got {type(schema).__name__}")
    else:
        schema = schema.complete(data)  # kinds changed by hand: facts learned here
        schema.validate(data)
    schema.check_constraints(data)
    message = personal_data_message(schema, data if given else None)
    if message:
        warnings.warn(message, PersonalDataWarning, stacklevel=stacklevel)
    return schema


class BaseGenerator(PersistenceMixin, BaseEstimator):
    """Base class of all generators (scikit-learn estimator conventions).

    ``__init__`` of a subclass stores its keyword arguments and nothing else; everything is
    validated in :meth:`fit` against the declared ``_parameter_constraints``. Learned state
    ends with an underscore.
    """

    #: Registry key (the name :func:`~synthgen.generators.registry.make_generator` takes).
    key: ClassVar[str] = ""
    #: What the family can do.
    tags: ClassVar[GeneratorTags] = GeneratorTags()
    #: Settings of the shared :class:`~synthgen.transforms.TableEncoder` this family uses.
    encoder_params: ClassVar[dict[str, Any]] = {"numeric": "quantile", "discrete": "onehot"}
    #: Train on the compact matrix (one column of codes per one-hot categorical block; see
    #: :mod:`synthgen.generators.compact`): ``_fit_encoded`` then receives that matrix.
    compact_training: ClassVar[bool] = False
    #: Rows decoded per chunk while sampling (bounds memory for large requests).
    sample_chunk_size: ClassVar[int] = 100_000
    #: Constraints of each constructor parameter (merged with the subclasses' own tables).
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "random_state": [Seed()],
        "verbose": [Boolean()],
    }

    random_state: Any
    verbose: bool

    # -- hooks for subclasses -----------------------------------------------------------------
    def _check_params(self) -> None:
        """Checks that involve several parameters (each one alone is declared)."""

    def _prepare(
        self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, Schema, pd.DataFrame, int]:
        """The rows to train on, their schema, the rows to fit the encoder on and the row count
        to record. Differentially private generators replace the schema and the encoder's rows
        by privately released ones here; others use the data as it is."""
        return data, schema, data, len(data)

    def _adjust_encoder(self, encoder: TableEncoder) -> None:
        """Last changes to the fitted encoder before it encodes the training rows."""

    def _fit_encoded(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _sample_encoded_given(
        self, matrix: np.ndarray, known: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Encoded rows whose ``known`` entries are drawn given the values in ``matrix``
        (generators whose ``tags.conditioning`` is set)."""
        raise NotImplementedError

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Learned state as (JSON-ready dict, named numpy arrays), for saving."""
        return {}, {}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_state` returned (``schema_`` and ``encoder_`` are set)."""

    @classmethod
    def _upgrade_params(cls, params: dict[str, Any], bundle: Bundle) -> dict[str, Any]:
        """Saved parameters of an older file, brought to this version's parameters."""
        return params

    @classmethod
    def _fast_params(cls) -> dict[str, Any]:
        """Parameters that make a fit quick (tiny epochs); used by the contract tests."""
        return {}

    # -- public API ---------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, schema: Schema | None = None) -> BaseGenerator:
        """Learn the table ``data`` (never modified).

        Parameters
        ----------
        data : DataFrame
            The real table.
        schema : Schema, optional
            Column kinds; inferred from ``data`` when omitted.

        Returns
        -------
        self
        """
        validate_params(self)
        self._check_params()
        data = check_frame(data)
        schema = resolve_schema(data, schema, stacklevel=3)
        rng = self._fit_rng()
        data, schema, encoder_rows, n_rows = self._prepare(data, schema, rng)
        encoder = TableEncoder(**self.encoder_params).fit(encoder_rows, schema, random_state=rng)
        self._adjust_encoder(encoder)
        matrix = encoder.transform(data, random_state=rng, compact=self.compact_training)
        self.schema_ = schema
        self.encoder_ = encoder
        self.n_train_rows_ = n_rows
        self._fit_encoded(matrix, rng)
        self._seed_stream(int(rng.integers(2**62)))
        return self

    def _fit_rng(self) -> np.random.Generator:
        """The random stream of a fit (neural generators share it across processes)."""
        return check_random_state(self.random_state)

    def _seed_stream(self, seed: int) -> None:
        self.sample_seed_ = seed
        #: The model's own sampling stream (``sample(random_state=None)`` continues it).
        self.rng_ = np.random.default_rng(seed)

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(data) before sampling"
            )

    def sample(
        self,
        n_samples: int | None = None,
        *,
        conditions: Any = None,
        random_state: Any = None,
    ) -> pd.DataFrame:
        """Draw synthetic rows, optionally under conditions.

        Parameters
        ----------
        n_samples : int, optional
            Number of rows (positive). May be left out when ``conditions`` is a DataFrame:
            one row is drawn per row of it.
        conditions : mapping or DataFrame, optional
            ``{column: value | [values] | sg.Range(low, high)}`` for every row, or a DataFrame
            of per-row conditions whose set cells are kept and whose missing cells are drawn
            given the rest. Every returned row meets every condition and every constraint of
            the schema.
        random_state : int, Generator or None
            Seed for these rows. ``None`` continues the model's own seeded stream, so a
            fitted model with a fixed ``random_state`` still gives a reproducible sequence.

        Returns
        -------
        DataFrame
            The schema's columns, with the training data's dtypes, labels and missing cells.

        Raises
        ------
        ConditionError
            An invalid condition, or one too rare for this model to meet within the budget.
        """
        self._check_fitted()
        if n_samples is None and isinstance(conditions, pd.DataFrame):
            n_samples = len(conditions)
        n_samples = check_n_samples(n_samples)
        rng = self.rng_ if random_state is None else check_random_state(random_state)
        if conditions is None and not self.schema_.constraints:
            return self._sample_free(n_samples, rng)
        from synthgen.sampling.api import sample_conditioned

        return self._regenerate_ids(
            sample_conditioned(self, n_samples, conditions, rng), force=True
        )

    def sample_to(
        self,
        path: Any,
        n_samples: int,
        *,
        chunk_size: int | None = None,
        random_state: Any = None,
        conditions: Any = None,
        format: str | None = None,
        overwrite: bool = False,
        n_jobs: int | None = None,
    ) -> Any:
        """Draw rows straight into a Parquet folder (one part per chunk) or a CSV file, at
        flat memory, atomically; the same seed gives the same rows whatever ``chunk_size``
        and ``n_jobs``.

        ``format`` is ``"parquet"`` or ``"csv"`` (default: by the suffix of ``path``; ``.csv``,
        ``.csv.gz``, ``.tsv`` and ``.tsv.gz`` are CSV). An existing ``path`` is replaced only with
        ``overwrite=True``. ``n_jobs`` worker processes (``-1``: one per CPU; default one,
        this process) draw and write whole chunks (:mod:`synthgen.sampling.workers`; a
        script using them needs an ``if __name__ == "__main__":`` guard). Returns the
        written path. See :mod:`synthgen.sampling.chunked`.
        """
        from synthgen.sampling.chunked import DEFAULT_CHUNK_SIZE, sample_to

        return sample_to(
            self,
            path,
            n_samples,
            chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
            random_state=random_state,
            conditions=conditions,
            format=format,
            overwrite=overwrite,
            n_jobs=n_jobs,
        )

    def _sample_free(self, n_samples: int, rng: np.random.Generator) -> pd.DataFrame:
        rows = RowJoiner(n_samples)  # each chunk copied in as it comes, then freed
        done = 0
        progress = self._progress(n_samples, "sampling")
        while done < n_samples:
            size = min(self.sample_chunk_size, n_samples - done)
            rows.add(self.draw(size, rng))
            done += size
            if progress is not None:
                progress.update(size)
        if progress is not None:
            progress.close()
        return self._regenerate_ids(rows.result())

    def draw(self, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n_rows`` decoded rows, unconditioned (no constraint applied): the primitive that
        :mod:`synthgen.sampling` builds conditions and constraints on."""
        self._check_fitted()
        matrix = self._sample_encoded(n_rows, rng)
        return self.encoder_.inverse_transform(matrix, random_state=rng)

    def draw_given(self, fixed: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """One decoded row per row of ``fixed``, drawn given its set cells (generators whose
        ``tags.conditioning`` is set)."""
        self._check_fitted()
        matrix, known = self.encoder_.encode_fixed(fixed, random_state=rng)
        encoded = self._sample_encoded_given(matrix, known, rng)
        return self.encoder_.inverse_transform(encoded, random_state=rng)

    def impute(self, data: pd.DataFrame, *, random_state: Any = None) -> pd.DataFrame:
        """Fill the missing cells of ``data``; observed cells are kept exactly.

        Each incomplete row is drawn given its observed cells, and filled cells are never
        left missing (columns that are always missing in the training data stay missing).
        Returns a new frame; ``data`` is not modified.
        """
        self._check_fitted()
        from synthgen.sampling.api import impute

        rng = self.rng_ if random_state is None else check_random_state(random_state)
        return impute(self, data, rng)

    def _regenerate_ids(self, frame: pd.DataFrame, force: bool = False) -> pd.DataFrame:
        """Identifiers are numbered over the whole output, not per chunk, so they stay unique."""
        ids = [c for c in self.schema_ if c.kind == "id"]
        if ids and (force or len(frame) > self.sample_chunk_size):
            block = np.zeros((len(frame), 0))
            for spec in ids:
                enc = next(e for e in self.encoder_.encoders_ if e.spec.name == spec.name)
                frame[spec.name] = enc.inverse(block, self.rng_).to_numpy()
        return frame

    def _progress(self, total: int, desc: str):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=f"{self.key or type(self).__name__} {desc}", unit="row")
