"""The model file format: a zip of JSON members and one safetensors member, read as hostile.

A bundle holds ``manifest.json`` (format name and version and what the writer says about the
model), further JSON members (``schema.json``, ``encoder.json``) and ``weights.safetensors``
(named numeric arrays). :func:`write_bundle` writes one atomically; :func:`read_bundle`
reads one as data from an unknown source:

- the path must be a regular file (not a folder, a device such as ``/dev/zero``, a pipe);
- the zip directory is checked before any member is read: known member names only, no
  duplicates, no encryption, stored or deflated only, each member's size under its cap and
  its compression ratio under a cap (a decompression bomb is refused from the directory), and
  reads are bounded, so a member whose header lies about its size cannot grow past it;
- JSON is parsed from bytes after a nesting-depth check (no ``RecursionError``);
- the safetensors header is parsed and checked strictly (known dtypes, shapes that match
  their byte ranges, ranges that tile the buffer) and every float array must be finite;
- the manifest must be a JSON object with the expected keys and types, and a format version
  this code reads.

No member is ever treated as a path. Every failure is a
:class:`~synthgen.exceptions.PersistenceError` naming the file and the member.
"""

from __future__ import annotations

import json
import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from safetensors.numpy import save as save_arrays

from synthgen.exceptions import PersistenceError
from synthgen.files import atomic_open
from synthgen.untrusted import check_array, parse_json, parse_safetensors
from synthgen.untrusted import fail as _fail

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST",
    "WEIGHTS",
    "Bundle",
    "Limits",
    "read_bundle",
    "write_bundle",
]

FORMAT_NAME = "synthgen-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"

#: Keys every manifest has, with their JSON types (``privacy`` is optional).
MANIFEST_FIELDS: dict[str, type] = {
    "format": str,
    "format_version": int,
    "synthgen_version": str,
    "generator": str,
    "params": dict,
    "fitted": dict,
    "state": dict,
}
OPTIONAL_FIELDS: dict[str, type] = {"privacy": dict}

_MIB = 2**20
_JSON_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}\.json$")


@dataclass(frozen=True)
class Limits:
    """Caps :func:`read_bundle` applies before and while reading.

    Attributes
    ----------
    max_json_bytes : int
        Largest uncompressed JSON member (64 MiB: a schema or encoder state of thousands of
        columns is a few MiB).
    max_array_bytes : int
        Largest uncompressed ``weights.safetensors`` (2 GiB).
    max_total_bytes : int
        Largest sum of uncompressed members.
    max_json_ratio, max_array_ratio : float
        Largest compression ratio (uncompressed / compressed) of a member larger than
        ``ratio_floor``. Network weights and matrices barely compress (about 1.1); JSON
        compresses 3 to 10 times. A ratio of 100 bounds what a 10 MB file can inflate its
        weights to at 1 GB.
    ratio_floor : int
        Members up to this size are not ratio-checked (small members compress well).
    max_json_depth : int
        Deepest nesting of JSON arrays and objects.
    max_members : int
        Most members in the zip.
    """

    max_json_bytes: int = 64 * _MIB
    max_array_bytes: int = 2048 * _MIB
    max_total_bytes: int = 2048 * _MIB + 192 * _MIB
    max_json_ratio: float = 1000.0
    max_array_ratio: float = 100.0
    ratio_floor: int = 4 * _MIB
    max_json_depth: int = 64
    max_members: int = 16


DEFAULT_LIMITS = Limits()


@dataclass
class Bundle:
    """What :func:`read_bundle` returns: the manifest, the other JSON members (parsed) and
    the named arrays."""

    manifest: dict[str, Any]
    members: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


# -- reading -----------------------------------------------------------------------------------
def _open_regular(where: str):
    try:
        info = os.stat(where)
    except FileNotFoundError:
        raise PersistenceError(f"no model file at {where!r}") from None
    except OSError as err:
        raise PersistenceError(f"cannot read {where!r}: {err.strerror or err}") from None
    if stat.S_ISDIR(info.st_mode):
        raise PersistenceError(f"{where!r} is a folder, not a model file")
    if not stat.S_ISREG(info.st_mode):
        raise PersistenceError(f"{where!r} is not a regular file (a device, pipe or socket)")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(where, flags)
    except OSError as err:
        raise PersistenceError(f"cannot read {where!r}: {err.strerror or err}") from None
    # The path may have been swapped between stat and open: check what was opened.
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PersistenceError(f"{where!r} is not a regular file (a device, pipe or socket)")
    return os.fdopen(fd, "rb")


def _check_directory(
    infos: list[zipfile.ZipInfo], required: tuple[str, ...], where: str, limits: Limits
) -> None:
    if len(infos) > limits.max_members:
        raise _fail(where, None, f"{len(infos)} zip members, expected at most {limits.max_members}")
    names = [i.filename for i in infos]
    missing = [n for n in (MANIFEST, *required) if n not in names]
    if missing:
        raise PersistenceError(f"{where!r} is not a synthgen model: missing {sorted(missing)}")
    if len(set(names)) != len(names):
        raise _fail(where, None, "the zip holds two members of the same name")
    total = 0
    for info in infos:
        name = info.filename
        if name != WEIGHTS and not _JSON_NAME.match(name):
            raise _fail(where, name, "unexpected member (a model holds JSON and safetensors only)")
        if info.flag_bits & 0x1:
            raise _fail(where, name, "encrypted members are not supported")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _fail(where, name, f"unsupported compression method {info.compress_type}")
        cap = limits.max_array_bytes if name == WEIGHTS else limits.max_json_bytes
        if info.file_size > cap:
            raise _fail(
                where, name, f"{info.file_size:,} bytes uncompressed, more than the {cap:,} allowed"
            )
        ratio_cap = limits.max_array_ratio if name == WEIGHTS else limits.max_json_ratio
        if info.file_size > limits.ratio_floor and (
            info.file_size > ratio_cap * max(info.compress_size, 1)
        ):
            raise _fail(
                where,
                name,
                f"compression ratio {info.file_size / max(info.compress_size, 1):,.0f} above "
                f"{ratio_cap:g} (a decompression bomb?)",
            )
        total += info.file_size
    if total > limits.max_total_bytes:
        raise _fail(
            where, None, f"{total:,} bytes uncompressed, more than {limits.max_total_bytes:,}"
        )


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytearray:
    """The member's bytes, never more than the directory announced (bounded reads)."""
    size = info.file_size
    out = bytearray(size)
    done = 0
    try:
        with zf.open(info) as fh:
            while done < size:
                chunk = fh.read(min(_MIB, size - done))
                if not chunk:
                    break
                out[done : done + len(chunk)] = chunk
                done += len(chunk)
            extra = fh.read(1)  # also makes zipfile verify the CRC at the end of the data
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError,
            NotImplementedError, struct.error) as err:  # fmt: skip
        raise _fail(where, info.filename, f"damaged data ({type(err).__name__}: {err})") from None
    if done != size or extra:
        raise _fail(where, info.filename, "damaged data (its size differs from the zip directory)")
    return out


def _check_manifest(manifest: Any, where: str) -> dict[str, Any]:
    if not isinstance(manifest, dict):
        raise _fail(where, MANIFEST, f"expected a JSON object, got {type(manifest).__name__}")
    if manifest.get("format") != FORMAT_NAME:
        raise PersistenceError(
            f"{where!r} is not a synthgen model file (format is not {FORMAT_NAME!r})"
        )
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise _fail(
            where,
            MANIFEST,
            f"format_version must be an integer, got {version!r} ({type(version).__name__})",
        )
    if version > FORMAT_VERSION:
        raise PersistenceError(
            f"{where!r} was saved in model format version {version}, newer than this synthgen "
            f"reads (up to version {FORMAT_VERSION}; synthgen {manifest.get('synthgen_version')!r} "
            "wrote it): upgrade synthgen to load it"
        )
    if version < 1:
        raise _fail(
            where,
            MANIFEST,
            f"format_version {version} is not a valid version (1 to {FORMAT_VERSION})",
        )
    for key, kind in {**MANIFEST_FIELDS, **OPTIONAL_FIELDS}.items():
        if key not in manifest:
            if key in OPTIONAL_FIELDS:
                continue
            raise _fail(where, MANIFEST, f"missing key {key!r}")
        if not isinstance(manifest[key], kind):
            raise _fail(
                where,
                MANIFEST,
                f"{key!r} must be a JSON {_JSON_TYPE[kind]}, got {type(manifest[key]).__name__}",
            )
    return manifest


_JSON_TYPE = {str: "string", int: "integer", dict: "object"}


def read_bundle(
    path: str | os.PathLike[str],
    *,
    required: tuple[str, ...] = (),
    limits: Limits = DEFAULT_LIMITS,
    weights: bool = True,
) -> Bundle:
    """Read a bundle written by :func:`write_bundle`, treating the file as hostile.

    Parameters
    ----------
    path : path-like
        The file (it must be a regular file).
    required : tuple of str
        JSON members that must be present besides ``manifest.json``.
    limits : Limits
        Size, ratio and depth caps.
    weights : bool
        Read ``weights.safetensors``; ``False`` reads the JSON members only (to describe a
        model without loading it), after the same checks of the zip directory.

    Raises
    ------
    PersistenceError
        For any problem, naming the file and, where there is one, the member.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> path = pathlib.Path(scratch.name) / "b.sgm"
    >>> manifest = {"synthgen_version": "0", "generator": "g", "params": {}, "fitted": {},
    ...             "state": {}}
    >>> write_bundle(path, manifest, {"extra.json": "[1, 2]"}, {"w": np.eye(2)})
    >>> bundle = read_bundle(path, required=("extra.json",))
    >>> bundle.manifest["format_version"], bundle.members, bundle.arrays["w"].tolist()
    (1, {'extra.json': [1, 2]}, [[1.0, 0.0], [0.0, 1.0]])
    """
    where = os.fspath(path)
    with _open_regular(where) as fh:
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
                struct.error, NotImplementedError, OverflowError, UnicodeDecodeError):  # fmt: skip
            raise PersistenceError(
                f"{where!r} is not a synthgen model file (not a zip archive)"
            ) from None
        with zf:
            infos = zf.infolist()
            _check_directory(infos, required, where, limits)
            by_name = {i.filename: i for i in infos}
            manifest = _check_manifest(
                parse_json(
                    bytes(_read_member(zf, by_name[MANIFEST], where)),
                    where=where,
                    member=MANIFEST,
                    max_depth=limits.max_json_depth,
                ),
                where,
            )
            members = {}
            for name, info in by_name.items():
                if name in (MANIFEST, WEIGHTS):
                    continue
                members[name] = parse_json(
                    bytes(_read_member(zf, info, where)),
                    where=where,
                    member=name,
                    max_depth=limits.max_json_depth,
                )
            arrays = {}
            if weights and WEIGHTS in by_name:
                arrays = parse_safetensors(_read_member(zf, by_name[WEIGHTS], where), where=where)
    return Bundle(manifest, members, arrays)


# -- writing -----------------------------------------------------------------------------------
def write_bundle(
    path: str | os.PathLike[str],
    manifest: dict[str, Any],
    members: dict[str, str | bytes],
    arrays: dict[str, np.ndarray],
) -> None:
    """Write a bundle atomically: the old file at ``path`` stays intact on any failure.

    ``manifest`` gets ``format`` and ``format_version`` added; ``members`` are JSON texts
    named ``*.json``; ``arrays`` are finite numeric arrays (saved with safetensors).

    Raises
    ------
    PersistenceError
        The manifest lacks a key or is not JSON, an array holds NaN or infinite values, or
        the file cannot be written.
    """
    where = os.fspath(path)
    manifest = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **manifest}
    _check_manifest(manifest, where)
    for name in members:
        if not _JSON_NAME.match(name) or name == MANIFEST:
            raise _fail(where, name, "member names are lowercase '*.json' names")
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    for name, array in arrays.items():
        check_array(name, array, where=where)
    try:
        manifest_text = json.dumps(manifest, indent=2)
    except (TypeError, ValueError) as err:
        raise _fail(where, MANIFEST, f"cannot be written as JSON: {err}") from None
    weights = save_arrays(arrays) if arrays else b""
    with atomic_open(path, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, manifest_text)
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr(WEIGHTS, weights)
