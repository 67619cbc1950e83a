"""The model file format at the lowest level: a zip of JSON members and one safetensors member.

Below the generators (they write themselves through :func:`write_bundle`) and below
:func:`synthgen.io.load` (which reads through :func:`read_bundle`). Nothing here knows a
generator; nothing here pickles.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

from synthgen.exceptions import PersistenceError

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "Bundle", "read_bundle", "write_bundle"]

FORMAT_NAME = "synthgen-model"
FORMAT_VERSION = 1
_WEIGHTS = "weights.safetensors"
_REQUIRED = ("manifest.json", "schema.json", "encoder.json", _WEIGHTS)


@dataclass
class Bundle:
    """A model file's contents: the manifest, the other JSON members (text) and the arrays."""

    manifest: dict[str, Any]
    members: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def write_bundle(
    path: str | os.PathLike[str],
    manifest: dict[str, Any],
    members: dict[str, str],
    arrays: dict[str, np.ndarray],
) -> None:
    """Write a model file: ``manifest.json``, each of ``members`` and the arrays."""
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, indent=2))
            for name, text in members.items():
                zf.writestr(name, text)
            zf.writestr(_WEIGHTS, save_arrays(arrays) if arrays else b"")
    except OSError as err:
        raise PersistenceError(f"cannot write model to {os.fspath(path)!r}: {err}") from None


def read_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Read a model file written by :func:`write_bundle` (format and version checked)."""
    where = os.fspath(path)
    try:
        with zipfile.ZipFile(where) as zf:
            names = set(zf.namelist())
            if not set(_REQUIRED) <= names:
                missing = sorted(set(_REQUIRED) - names)
                raise PersistenceError(f"{where!r} is not a synthgen model: missing {missing}")
            manifest = json.loads(zf.read("manifest.json"))
            members = {n: zf.read(n).decode("utf-8") for n in _REQUIRED[1:3]}
            raw = zf.read(_WEIGHTS)
    except FileNotFoundError:
        raise PersistenceError(f"no model file at {where!r}") from None
    except zipfile.BadZipFile:
        raise PersistenceError(
            f"{where!r} is not a synthgen model file (not a zip archive)"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PersistenceError(f"{where!r} holds a damaged model description: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise PersistenceError(f"{where!r} is not a synthgen model file")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise PersistenceError(
            f"{where!r} was saved in model format version {version}, newer than this synthgen "
            f"({manifest.get('synthgen_version')} wrote it; this one reads up to version "
            f"{FORMAT_VERSION}): upgrade synthgen to load it"
        )
    return Bundle(manifest, members, load_arrays(raw) if raw else {})
