"""Save and load fitted generators: a versioned zip of JSON and safetensors, never a pickle.

Layout of a ``.sgm`` file (written and read by :mod:`synthgen.bundle`)::

    manifest.json         format name and version, synthgen version, generator key, params,
                          generator metadata, and for a differentially private fit the
                          guarantee (``privacy``: epsilon spent, delta, accounting)
    schema.json           the Schema
    encoder.json          the TableEncoder state
    weights.safetensors   named arrays (network weights, matrices), always saved from the CPU

Loading reads only JSON and safetensors, so an untrusted file cannot run code, and treats
the file as hostile: sizes are capped before reading, the parameters are checked before any
network is built, every array must be finite and fit the network or matrix it fills, and the
loaded model must draw a row. Every failure is a :class:`~synthgen.exceptions.PersistenceError`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from synthgen.bundle import FORMAT_NAME, FORMAT_VERSION, MANIFEST, read_bundle, write_bundle
from synthgen.exceptions import ConfigurationError, PersistenceError, SynthgenError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

SCHEMA = "schema.json"
ENCODER = "encoder.json"


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        try:
            json.dumps(value)
        except TypeError:
            # A numpy Generator (or similar) cannot be stored: the saved model keeps its own
            # sampling seed instead, so reproducibility survives.
            value = None
        out[key] = value
    return out


def save(model: Any, path: str | os.PathLike[str]) -> None:
    """Write a fitted generator to ``path`` (atomically: a failed or interrupted save leaves
    the file that was there intact).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd, synthgen as sg
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    >>> model = sg.make_generator("copula", random_state=0).fit(df)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.sgm"
    >>> model.save(path)
    >>> sg.load(path).sample(2, random_state=1).equals(model.sample(2, random_state=1))
    True
    """
    from synthgen import __version__

    model._check_fitted()
    meta, arrays = model._get_state()
    manifest = {
        "synthgen_version": __version__,
        "generator": model.key,
        "params": _json_params(model.get_params(deep=False)),
        "fitted": {"n_train_rows": model.n_train_rows_, "sample_seed": model.sample_seed_},
        "state": meta,
    }
    privacy = getattr(model, "privacy_", None)
    if privacy is not None:
        # A differentially private fit: the guarantee (epsilon spent, delta) travels with it.
        manifest["privacy"] = privacy
    members = {
        SCHEMA: model.schema_.to_json(),
        ENCODER: json.dumps(model.encoder_.get_state()),
    }
    write_bundle(path, manifest, members, arrays)


def _fail(where: str, member: str, problem: str) -> PersistenceError:
    return PersistenceError(f"{where!r}, member {member!r}: {problem}")


def _build(manifest: dict[str, Any], device: Any, where: str):
    """The generator the manifest names, with its parameters checked before anything is
    built from them."""
    from synthgen.generators.registry import get_generator_class

    try:
        cls = get_generator_class(manifest["generator"])
    except ConfigurationError as err:
        raise _fail(where, MANIFEST, str(err)) from None
    params = dict(manifest["params"])
    if device is not None and "device" in params:
        params["device"] = device
    try:
        model = cls(**params)
        # Checked on the CPU: a model saved on a GPU still loads on a machine without one.
        probe = cls(**{**params, "device": "cpu"}) if "device" in params else model
        probe._check_params()
    except (ConfigurationError, TypeError, ValueError) as err:
        raise _fail(where, MANIFEST, f"invalid generator parameters: {err}") from None
    return model


def _fitted_int(fitted: dict[str, Any], key: str, where: str) -> int:
    value = fitted.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise _fail(where, MANIFEST, f"fitted.{key} must be an integer >= 0, got {value!r}")
    return value


def _self_check(model: Any, where: str) -> None:
    """Draw one encoded row and decode it: a state whose pieces do not fit together (a
    matrix of the wrong size, arrays that disagree with the encoder) fails here, at load,
    instead of at the user's first sample. A private generator, not the model's stream."""
    rng = np.random.default_rng(0)
    try:
        matrix = np.asarray(model._sample_encoded(1, rng))
        if matrix.shape != (1, model.encoder_.output_dim) or not np.isfinite(matrix).all():
            raise ValueError(
                f"drew an encoded row of shape {matrix.shape} (expected "
                f"(1, {model.encoder_.output_dim})) or with NaN values"
            )
        model.encoder_.inverse_transform(matrix, random_state=rng)
    except SynthgenError:
        raise
    except Exception as err:  # any failure here means the saved pieces do not fit together
        raise PersistenceError(
            f"{where!r} holds an inconsistent model: its state does not produce rows "
            f"({type(err).__name__}: {err})"
        ) from None


def load(path: str | os.PathLike[str], device: Any = None):
    """Read a generator saved with :meth:`save`, treating the file as untrusted data.

    Parameters
    ----------
    path : path-like
        The ``.sgm`` file.
    device : str, optional
        Where neural generators put their weights (``"cpu"``, ``"cuda"``, ...). ``None`` keeps
        the saved ``device`` parameter, falling back to the CPU when it is not available.

    Raises
    ------
    PersistenceError
        The file is missing, not a regular file, not a model, damaged, too large, written by a
        newer format, or holds a state that does not fit together; the message names the
        member.
    """
    from synthgen.exceptions import SchemaError
    from synthgen.schema import Schema
    from synthgen.transforms import TableEncoder

    where = os.fspath(path)
    bundle = read_bundle(path, required=(SCHEMA, ENCODER))
    manifest = bundle.manifest
    model = _build(manifest, device, where)
    try:
        # Parsed JSON, never a path: Schema.from_dict does not touch the file system.
        model.schema_ = Schema.from_dict(bundle.members[SCHEMA])
    except SchemaError as err:
        raise _fail(where, SCHEMA, str(err)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise _fail(where, SCHEMA, f"not a valid schema ({type(err).__name__}: {err})") from None
    try:
        model.encoder_ = TableEncoder.from_state(bundle.members[ENCODER], model.schema_)
    except SynthgenError as err:
        raise _fail(where, ENCODER, str(err)) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        raise _fail(
            where, ENCODER, f"not a valid encoder state ({type(err).__name__}: {err})"
        ) from None
    fitted = manifest["fitted"]
    model.n_train_rows_ = _fitted_int(fitted, "n_train_rows", where)
    model.sample_seed_ = _fitted_int(fitted, "sample_seed", where)
    model._sample_rng = np.random.default_rng(model.sample_seed_)
    try:
        model._set_state(manifest["state"], bundle.arrays)
    except PersistenceError as err:
        raise PersistenceError(f"{where!r}: {err}") from None
    except SynthgenError as err:
        raise PersistenceError(f"{where!r} holds an inconsistent model: {err}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError,
            OverflowError) as err:  # fmt: skip
        raise PersistenceError(
            f"{where!r} holds an inconsistent model state ({type(err).__name__}: {err})"
        ) from None
    _self_check(model, where)
    return model
