"""Save and load fitted generators: a versioned zip of JSON and safetensors, never a pickle.

Layout of a ``.sgm`` file::

    manifest.json         format name and version, synthgen version, generator key, params,
                          generator metadata, and for a differentially private fit the
                          guarantee (``privacy``: epsilon spent, delta, accounting)
    schema.json           the Schema
    encoder.json          the TableEncoder state
    weights.safetensors   named arrays (network weights, matrices), always saved from the CPU

Loading reads only JSON and safetensors, so an untrusted file cannot run code. This module
sits above the generators: it finds the class of a saved model in the registry; the file
format itself lives below them, in :mod:`synthgen.bundle`.
"""

from __future__ import annotations

import os
from typing import Any

from synthgen.bundle import FORMAT_NAME, FORMAT_VERSION, read_bundle
from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.generators.base import BaseGenerator
from synthgen.generators.registry import get_generator_class

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]


def save(model: BaseGenerator, path: str | os.PathLike[str]) -> None:
    """Write a fitted generator to ``path`` (the same as ``model.save(path)``).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd, synthgen as sg
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    >>> model = sg.make_generator("copula", random_state=0).fit(df)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.sgm"
    >>> sg.save(model, path)
    >>> sg.load(path).sample(2, random_state=1).equals(model.sample(2, random_state=1))
    True
    """
    model.save(path)


def load(path: str | os.PathLike[str], device: Any = None) -> BaseGenerator:
    """Read a generator saved with :func:`save`.

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
        The file is missing, damaged, of a newer format or inconsistent.
    """
    where = os.fspath(path)
    bundle = read_bundle(where)
    key = bundle.manifest.get("generator")
    try:
        cls = get_generator_class(key)
    except ConfigurationError:
        raise PersistenceError(f"{where!r} holds an unknown generator {key!r}") from None
    try:
        return cls.from_bundle(bundle, device=device)
    except PersistenceError as err:
        raise PersistenceError(f"{where!r}: {err}") from None
