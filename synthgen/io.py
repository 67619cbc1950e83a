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
loaded model must draw a row. Every failure is a :class:`~synthgen.exceptions.PersistenceError`
naming the file and, where there is one, the member.

This module sits above the generators (it finds a saved model's class in the registry); the
file format lives below them, in :mod:`synthgen.bundle`.
"""

from __future__ import annotations

import os
from typing import Any

from synthgen.bundle import FORMAT_NAME, FORMAT_VERSION, MANIFEST, read_bundle
from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.generators.base import ENCODER_MEMBER, SCHEMA_MEMBER, BaseGenerator
from synthgen.generators.registry import get_generator_class
from synthgen.relational import RELATIONAL_KEY, RelationalSynthesizer

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]


def save(model: BaseGenerator, path: str | os.PathLike[str]) -> None:
    """Write a fitted generator to ``path`` (the same as ``model.save(path)``: atomically, so
    a failed or interrupted save leaves the file that was there intact).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd, synthgen as sg
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    >>> model = sg.make_generator("copula", random_state=0).fit(df)
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> path = pathlib.Path(scratch.name) / "m.sgm"
    >>> sg.save(model, path)
    >>> sg.load(path).sample(2, random_state=1).equals(model.sample(2, random_state=1))
    True
    """
    model.save(path)


def load(path: str | os.PathLike[str], device: Any = None) -> BaseGenerator | RelationalSynthesizer:
    """Read a generator saved with :func:`save` (or a multi-table
    :class:`~synthgen.relational.RelationalSynthesizer`), treating the file as untrusted data.

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
    where = os.fspath(path)
    bundle = read_bundle(where)
    key = bundle.manifest["generator"]
    if key == RELATIONAL_KEY:
        try:
            return RelationalSynthesizer.from_bundle(bundle, device=device)
        except PersistenceError as err:
            raise PersistenceError(f"{where!r}: {err}") from None
    missing = [m for m in (SCHEMA_MEMBER, ENCODER_MEMBER) if m not in bundle.members]
    if missing:
        raise PersistenceError(f"{where!r} is not a synthgen model: missing {sorted(missing)}")
    try:
        cls = get_generator_class(key)
    except ConfigurationError:
        raise PersistenceError(
            f"{where!r}, member {MANIFEST!r}: unknown generator {key!r}"
        ) from None
    try:
        return cls.from_bundle(bundle, device=device)
    except PersistenceError as err:
        raise PersistenceError(f"{where!r}: {err}") from None
