"""Saving and loading a generator: the manifest it writes and the checks it is restored under.

:class:`PersistenceMixin` gives :class:`~synthgen.generators.base.BaseGenerator` its ``save``
and ``from_bundle``; the file format itself is :mod:`synthgen.bundle`, and
:func:`synthgen.io.load` finds the class of a saved model.
"""

from __future__ import annotations

import inspect
import json
import os
from typing import Any

import numpy as np

from synthgen._version import __version__
from synthgen.bundle import MANIFEST, Bundle, write_bundle
from synthgen.exceptions import PersistenceError, SynthgenError
from synthgen.generators.params import validate_params
from synthgen.schema import Schema
from synthgen.transforms import TableEncoder

__all__ = ["ENCODER_MEMBER", "SCHEMA_MEMBER", "PersistenceMixin"]

#: Members of a model file besides the manifest and the weights.
SCHEMA_MEMBER = "schema.json"
ENCODER_MEMBER = "encoder.json"


class PersistenceMixin:
    """``save`` and ``from_bundle`` of a generator (mixed into BaseGenerator)."""

    key: str
    schema_: Any
    encoder_: Any

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
        >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
        >>> path = pathlib.Path(scratch.name) / "m.sgm"
        >>> model.save(path)
        >>> sg.load(path).sample(2, random_state=1).equals(model.sample(2, random_state=1))
        True
        """
        write_bundle(path, *self.bundle_parts())

    def bundle_parts(self) -> tuple[dict[str, Any], dict[str, str], dict[str, np.ndarray]]:
        """What :meth:`save` writes: the manifest, the JSON members (as text) and the named
        arrays (a multi-table model stores its tables' generators from these)."""
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
        return manifest, members, arrays

    @classmethod
    def from_bundle(cls, bundle: Bundle, *, device: Any = None) -> Any:
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
                f"inconsistent model: its state does not produce rows ({type(err).__name__}: {err})"
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
