"""Parsers for bytes from an untrusted file: depth-limited JSON and strict safetensors.

Every failure is a :class:`~synthgen.exceptions.PersistenceError` naming the file and the
member. Used by :mod:`synthgen.bundle`.
"""

from __future__ import annotations

import json
import re
import struct
from typing import Any

import numpy as np

from synthgen.exceptions import PersistenceError

__all__ = ["check_array", "fail", "parse_json", "parse_safetensors"]

_MIB = 2**20
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
# safetensors dtype codes -> little-endian numpy dtypes (no bfloat16: numpy has none).
_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}


def fail(where: str, member: str | None, problem: str) -> PersistenceError:
    """The error for ``problem`` in ``member`` of the file ``where``."""
    place = f"{where!r}" if member is None else f"{where!r}, member {member!r}"
    return PersistenceError(f"{place}: {problem}")


# -- JSON --------------------------------------------------------------------------------------
def _json_depth(data: bytes, limit: int) -> int:
    """Deepest nesting of ``[``/``{`` outside strings (scanned in chunks: bounded memory)."""
    bare = _STRING.sub(b'""', data)
    depth = deepest = 0
    chunk = 4 * _MIB
    for start in range(0, len(bare), chunk):
        arr = np.frombuffer(bare, dtype=np.uint8, count=min(chunk, len(bare) - start), offset=start)
        step = ((arr == 91) | (arr == 123)).astype(np.int32) - ((arr == 93) | (arr == 125))
        if not step.any():
            continue
        running = np.cumsum(step) + depth
        deepest = max(deepest, int(running.max()))
        depth = int(running[-1])
        if deepest > limit:
            break
    return deepest


def parse_json(data: bytes, *, where: str, member: str, max_depth: int = 64) -> Any:
    """Parse JSON ``data`` (UTF-8 bytes) with a nesting-depth limit.

    Examples
    --------
    >>> parse_json(b'{"a": [1, 2]}', where="m.sgm", member="x.json")
    {'a': [1, 2]}
    >>> parse_json(b"[" * 100 + b"]" * 100, where="m.sgm", member="x.json")
    Traceback (most recent call last):
    ...
    synthgen.exceptions.PersistenceError: 'm.sgm', member 'x.json': JSON nested deeper than ...
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise fail(where, member, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    if _json_depth(data, max_depth) > max_depth:
        raise fail(where, member, f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, over-long integers
        raise fail(where, member, f"not valid JSON: {err}") from None


# -- safetensors -------------------------------------------------------------------------------
def parse_safetensors(
    buf: bytearray, *, where: str, member: str = "weights.safetensors"
) -> dict[str, np.ndarray]:
    """Arrays of a safetensors buffer, checked against the format; views into ``buf``."""
    if len(buf) == 0:
        return {}
    if len(buf) < 8:
        raise fail(where, member, "truncated safetensors header")
    (n_header,) = struct.unpack("<Q", bytes(buf[:8]))
    if n_header > min(len(buf) - 8, 100 * _MIB):
        raise fail(where, member, f"safetensors header of {n_header} bytes does not fit the data")
    header = parse_json(bytes(buf[8 : 8 + n_header]), where=where, member=member, max_depth=4)
    if not isinstance(header, dict):
        raise fail(where, member, "safetensors header is not a JSON object")
    base = 8 + n_header
    spans = []
    arrays: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise fail(where, member, f"array {name!r}: malformed safetensors entry")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in _DTYPES:
            raise fail(where, member, f"array {name!r}: unsupported dtype {dtype!r}")
        ok_shape = isinstance(shape, list) and len(shape) <= 8
        ok_shape = ok_shape and all(isinstance(d, int) and not isinstance(d, bool) for d in shape)
        if not ok_shape or any(d < 0 for d in shape):
            raise fail(where, member, f"array {name!r}: invalid shape {shape!r}")
        ok = isinstance(offsets, list) and len(offsets) == 2
        ok = ok and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        if not ok or not 0 <= offsets[0] <= offsets[1] <= len(buf) - base:
            raise fail(where, member, f"array {name!r}: data offsets {offsets!r} out of range")
        np_dtype = np.dtype(_DTYPES[dtype])
        count = 1
        for d in shape:
            count *= d
        if count * np_dtype.itemsize != offsets[1] - offsets[0]:
            raise fail(where, member, f"array {name!r}: shape {shape} does not match its bytes")
        spans.append((offsets[0], offsets[1]))
        array = np.frombuffer(buf, dtype=np_dtype, count=count, offset=base + offsets[0])
        if not array.flags.aligned:
            array = array.copy()
        arrays[name] = array.reshape(shape)
    spans.sort()
    end = 0
    for lo, hi in spans:  # the byte ranges must tile the data exactly, as safetensors requires
        if lo != end:
            raise fail(where, member, "safetensors data ranges overlap or leave gaps")
        end = hi
    if end != len(buf) - base:
        raise fail(where, member, "safetensors data does not match its header")
    for name, array in arrays.items():
        check_array(name, array, where=where, member=member)
    return arrays


def check_array(
    name: str, array: np.ndarray, *, where: str, member: str = "weights.safetensors"
) -> None:
    """Refuse NaN or infinite floats and booleans other than 0 and 1."""
    if not array.size:
        return
    if array.dtype == np.bool_ and array.view(np.uint8).max() > 1:
        raise fail(where, member, f"array {name!r}: booleans other than 0 and 1")
    # min/max propagate NaN and expose infinities without a full-size temporary mask.
    if array.dtype.kind == "f" and not (np.isfinite(array.min()) and np.isfinite(array.max())):
        raise fail(where, member, f"array {name!r} holds NaN or infinite values")
