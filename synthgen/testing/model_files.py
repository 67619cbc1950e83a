"""Tampering with saved model files, for tests of how loading treats them."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["rewrite_manifest"]


def rewrite_manifest(
    path: str | Path, out: str | Path, change: Callable[[dict[str, Any]], Any]
) -> None:
    """Copy the model file ``path`` to ``out`` with its ``manifest.json`` passed through
    ``change`` (which edits the parsed manifest in place); every other member is copied as is.

    Examples
    --------
    >>> import tempfile, pandas as pd, synthgen as sg
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> tmp = Path(scratch.name)
    >>> sg.make_generator("marginals").fit(pd.DataFrame({"a": [1, 2, 3] * 10})).save(tmp / "m.sgm")
    >>> rewrite_manifest(tmp / "m.sgm", tmp / "odd.sgm", lambda m: m.update(format_version=99))
    >>> sg.load(tmp / "odd.sgm")
    Traceback (most recent call last):
    ...
    synthgen.exceptions.PersistenceError: ...
    """
    with zipfile.ZipFile(path) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(files["manifest.json"])
    change(manifest)
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
