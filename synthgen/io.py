"""Save and load fitted generators: a versioned zip of JSON and safetensors, never a pickle.

Layout of a ``.sgm`` file::

    manifest.json         format name and version, synthgen version, generator key, params,
                          generator metadata, and for a differentially private fit the
                          guarantee (``privacy``: epsilon spent, delta, accounting)
    schema.json           the Schema
    encoder.json          the TableEncoder state
    weights.safetensors   named arrays (network weights, matrices), always saved from the CPU

Loading reads only JSON and safetensors, so an untrusted file cannot run code.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

from synthgen.exceptions import PersistenceError, SynthgenError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

FORMAT_NAME = "synthgen-model"
FORMAT_VERSION = 1


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
    """Write a fitted generator to ``path``.

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
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
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
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, indent=2))
            zf.writestr("schema.json", model.schema_.to_json())
            zf.writestr("encoder.json", json.dumps(model.encoder_.get_state()))
            zf.writestr("weights.safetensors", save_arrays(arrays) if arrays else b"")
    except OSError as err:
        raise PersistenceError(f"cannot write model to {os.fspath(path)!r}: {err}") from None


def load(path: str | os.PathLike[str], device: Any = None):
    """Read a generator saved with :meth:`save`.

    Parameters
    ----------
    path : path-like
        The ``.sgm`` file.
    device : str, optional
        Where neural generators put their weights (``"cpu"``, ``"cuda"``, ...). ``None`` keeps
        the saved ``device`` parameter, falling back to the CPU when it is not available.
    """
    from synthgen.generators.registry import get_generator_class
    from synthgen.schema import Schema
    from synthgen.transforms import TableEncoder

    where = os.fspath(path)
    try:
        with zipfile.ZipFile(where) as zf:
            names = set(zf.namelist())
            needed = {"manifest.json", "schema.json", "encoder.json", "weights.safetensors"}
            if not needed <= names:
                raise PersistenceError(
                    f"{where!r} is not a synthgen model: missing {sorted(needed - names)}"
                )
            manifest = json.loads(zf.read("manifest.json"))
            schema_text = zf.read("schema.json").decode("utf-8")
            encoder_state = json.loads(zf.read("encoder.json"))
            raw = zf.read("weights.safetensors")
    except FileNotFoundError:
        raise PersistenceError(f"no model file at {where!r}") from None
    except zipfile.BadZipFile:
        raise PersistenceError(
            f"{where!r} is not a synthgen model file (not a zip archive)"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PersistenceError(f"{where!r} holds a damaged model description: {err}") from None
    if manifest.get("format") != FORMAT_NAME:
        raise PersistenceError(f"{where!r} is not a synthgen model file")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise PersistenceError(
            f"{where!r} was saved in model format version {version}, newer than this synthgen "
            f"({manifest.get('synthgen_version')} wrote it; this one reads up to version "
            f"{FORMAT_VERSION}): upgrade synthgen to load it"
        )
    try:
        cls = get_generator_class(manifest["generator"])
        params = dict(manifest["params"])
        if device is not None and "device" in params:
            params["device"] = device
        model = cls(**params)
        model.schema_ = Schema.from_json(schema_text)
        model.encoder_ = TableEncoder.from_state(encoder_state, model.schema_)
        model.n_train_rows_ = int(manifest["fitted"]["n_train_rows"])
        model.sample_seed_ = int(manifest["fitted"]["sample_seed"])
        model._sample_rng = np.random.default_rng(model.sample_seed_)
        arrays = load_arrays(raw) if raw else {}
        model._set_state(manifest["state"], arrays)
    except SynthgenError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise PersistenceError(f"{where!r} holds an inconsistent model: {err!r}") from None
    return model
