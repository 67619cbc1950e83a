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

import inspect
import json
import os
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from synthgen._version import __version__
from synthgen.bundle import MANIFEST, Bundle, write_bundle
from synthgen.exceptions import NotFittedError, PersistenceError, SchemaError, SynthgenError
from synthgen.generators.params import Boolean, Seed, validate_params
from synthgen.generators.tags import GeneratorTags
from synthgen.schema import Schema, check_frame
from synthgen.transforms import TableEncoder
from synthgen.utils import check_n_samples, check_random_state

__all__ = ["ENCODER_MEMBER", "SCHEMA_MEMBER", "BaseGenerator"]

#: Members of a model file besides the manifest and the weights.
SCHEMA_MEMBER = "schema.json"
ENCODER_MEMBER = "encoder.json"


class BaseGenerator(BaseEstimator):
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
        if schema is None:
            schema = Schema.infer(data)
        elif not isinstance(schema, Schema):
            raise SchemaError(f"schema must be a synthgen Schema, got {type(schema).__name__}")
        else:
            schema.validate(data)
        schema.check_constraints(data)
        rng = check_random_state(self.random_state)
        data, schema, encoder_rows, n_rows = self._prepare(data, schema, rng)
        encoder = TableEncoder(**self.encoder_params).fit(encoder_rows, schema, random_state=rng)
        self._adjust_encoder(encoder)
        matrix = encoder.transform(data, random_state=rng)
        self.schema_ = schema
        self.encoder_ = encoder
        self.n_train_rows_ = n_rows
        self._fit_encoded(matrix, rng)
        self._seed_stream(int(rng.integers(2**62)))
        return self

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

    def _sample_free(self, n_samples: int, rng: np.random.Generator) -> pd.DataFrame:
        chunks = []
        done = 0
        progress = self._progress(n_samples, "sampling")
        while done < n_samples:
            size = min(self.sample_chunk_size, n_samples - done)
            chunks.append(self.draw(size, rng))
            done += size
            if progress is not None:
                progress.update(size)
        if progress is not None:
            progress.close()
        out = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
        return self._regenerate_ids(out)

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

    # -- persistence ----------------------------------------------------------------------------
    def _saved_params(self) -> dict[str, Any]:
        out = {}
        for name, value in self.get_params(deep=False).items():
            if name == "random_state" and isinstance(value, np.random.Generator):
                # A Generator object cannot be stored: the saved model keeps its own sampling
                # seed (``sample_seed``), so reproducible sampling survives.
                value = None
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                raise PersistenceError(
                    f"parameter {name!r} of {type(self).__name__} cannot be saved: {value!r} is "
                    "not a JSON value"
                ) from None
            out[name] = value
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the fitted model to one file (JSON + safetensors in a zip; no pickle).

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd, synthgen as sg
        >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
        >>> model = sg.make_generator("copula", random_state=0).fit(df)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.sgm"
        >>> model.save(path)
        >>> sg.load(path).sample(2, random_state=1).equals(model.sample(2, random_state=1))
        True
        """
        self._check_fitted()
        meta, arrays = self.get_state()
        manifest = {
            "synthgen_version": __version__,
            "generator": self.key,
            "params": self._saved_params(),
            "fitted": {"n_train_rows": self.n_train_rows_, "sample_seed": self.sample_seed_},
            "state": meta,
        }
        privacy = getattr(self, "privacy_", None)
        if privacy is not None:
            # A differentially private fit: the guarantee (epsilon spent, delta) travels with it.
            manifest["privacy"] = privacy
        members = {
            SCHEMA_MEMBER: self.schema_.to_json(),
            ENCODER_MEMBER: json.dumps(self.encoder_.get_state()),
        }
        write_bundle(path, manifest, members, arrays)

    @classmethod
    def from_bundle(cls, bundle: Bundle, *, device: Any = None) -> BaseGenerator:
        """A fitted generator from a model file's contents (see :func:`synthgen.io.load`).

        The saved parameters are validated before anything is built from them (on the CPU: a
        model saved on a GPU still loads where there is none), the schema and encoder are
        rebuilt from parsed JSON (never from a path), and the restored model draws one row
        with a private generator, so pieces that do not fit together fail here, not at the
        user's first sample. Every failure is a :class:`PersistenceError` naming the member.
        """
        manifest = bundle.manifest
        params = dict(manifest["params"])
        if device is not None and "device" in params:
            params["device"] = device
        defaults = {n: p.default for n, p in inspect.signature(cls).parameters.items()}
        for name, value in params.items():  # JSON lists back to the tuples they were
            if isinstance(value, list) and isinstance(defaults.get(name), tuple):
                params[name] = tuple(value)
        try:
            params = cls._upgrade_params(params, bundle)
            model = cls(**params)
            probe = cls(**{**params, "device": "cpu"}) if "device" in params else model
            validate_params(probe)
            probe._check_params()
        except (SynthgenError, TypeError, ValueError) as err:
            raise _member_error(MANIFEST, f"invalid generator parameters: {err}") from None
        model.schema_ = _restore(SCHEMA_MEMBER, Schema.from_dict, bundle.members[SCHEMA_MEMBER])
        model.encoder_ = _restore(
            ENCODER_MEMBER, TableEncoder.from_state, bundle.members[ENCODER_MEMBER], model.schema_
        )
        fitted = manifest["fitted"]
        model.n_train_rows_ = _fitted_int(fitted, "n_train_rows")
        model._seed_stream(_fitted_int(fitted, "sample_seed"))
        _restore("weights.safetensors", model.set_state, manifest["state"], bundle.arrays)
        try:
            model._self_check()
        except Exception as err:  # any failure here means the saved pieces do not fit together
            raise PersistenceError(
                "inconsistent model: its state does not produce rows "
                f"({type(err).__name__}: {err})"
            ) from None
        return model

    def _self_check(self) -> None:
        """Draw one encoded row and decode it (with a private generator, not ``rng_``)."""
        rng = np.random.default_rng(0)
        matrix = np.asarray(self._sample_encoded(1, rng))
        if matrix.shape != (1, self.encoder_.output_dim) or not np.isfinite(matrix).all():
            raise ValueError(
                f"the restored model drew an encoded row of shape {matrix.shape} (expected "
                f"(1, {self.encoder_.output_dim})) or with missing values"
            )
        self.encoder_.inverse_transform(matrix, random_state=rng)


def _member_error(member: str, problem: str) -> PersistenceError:
    return PersistenceError(f"member {member!r}: {problem}")


def _restore(member: str, step: Any, *args: Any) -> Any:
    """``step(*args)``, any failure turned into a PersistenceError naming ``member``."""
    try:
        return step(*args)
    except PersistenceError as err:
        if "member '" in str(err):
            raise
        raise _member_error(member, str(err)) from None
    except SynthgenError as err:
        raise _member_error(member, str(err)) from None
    except Exception as err:  # a hostile file can make any step fail: report, never crash
        raise _member_error(member, f"inconsistent ({type(err).__name__}: {err})") from None


def _fitted_int(fitted: dict[str, Any], key: str) -> int:
    value = fitted.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise _member_error(MANIFEST, f"fitted.{key} must be an integer >= 0, got {value!r}")
    return value
