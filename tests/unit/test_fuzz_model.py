"""Fuzzing the model format: a damaged or hostile file loads, or raises PersistenceError.

Seeded mutations of a small copula and a tiny vae file: bytes flipped or cut anywhere, JSON
values replaced by values of other types, keys dropped, safetensors headers and tensors
changed, zip sizes lied about, members dropped, duplicated or added, column dtypes and kinds
swapped. Nothing may escape as
another exception, a loaded model must draw rows, and memory stays bounded. Bounded in time
(a few hundred loads, well under a minute).
"""

import copy
import io
import json
import resource
import struct
import zipfile

import numpy as np
import pandas as pd
import pytest

import synthgen as sg
from synthgen.exceptions import PersistenceError, SynthgenError

N_CASES = 160
DTYPES = ["int8", "int64", "uint8", "float32", "bool", "category", "object", "string",
          "datetime64[ns]", "timedelta64[ns]", "Int64", "boolean", "complex128",
          "float6"]  # fmt: skip
KINDS = ["numeric", "categorical", "datetime", "id", "constant", "text", "nope"]
WEIRD = [None, True, -1, 0, 2**70, -(2**70), 1e308, -0.5, "", "x" * 50, "/dev/zero", [], {},
         [1, "a", None], {"a": {"b": [1]}}, float("nan"), 3]  # fmt: skip


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 1000, n),
            "c": rng.choice(["a", "b", "c"], n),
            "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
        }
    )
    df.loc[::7, "x"] = np.nan
    folder = tmp_path_factory.mktemp("fuzz")
    out = {}
    vae = {"epochs": 1, "batch_size": 60, "latent_dim": 4, "hidden": (8,), "device": "cpu"}
    for key, params in (("copula", {}), ("vae", vae)):
        path = folder / f"{key}.sgm"
        sg.make_generator(key, random_state=0, **params).fit(df).save(path)
        out[key] = path.read_bytes()
    return out


def _unzip(raw):
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _zip(members, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _json_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _json_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:20]):
            yield from _json_paths(v, (*path, i))


def _mutate_json(value, rng):
    value = copy.deepcopy(value)
    paths = [p for p in _json_paths(value) if p]
    if not paths:
        return WEIRD[int(rng.integers(len(WEIRD)))]
    path = paths[int(rng.integers(len(paths)))]
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    action = rng.integers(4)
    if action == 0 and isinstance(parent, dict):
        del parent[path[-1]]
    elif (
        action == 1
        and isinstance(parent[path[-1]], (int, float))
        and not isinstance(parent[path[-1]], bool)
    ):
        parent[path[-1]] = parent[path[-1]] * float(rng.choice([-1, 0, 1e6, 1e-6, 3]))
    elif action == 2 and isinstance(parent[path[-1]], list) and parent[path[-1]]:
        items = parent[path[-1]]
        parent[path[-1]] = (
            items[: int(rng.integers(len(items)))] if rng.random() < 0.5 else (items + items)
        )
    else:
        parent[path[-1]] = copy.deepcopy(WEIRD[int(rng.integers(len(WEIRD)))])
    return value


def _mutate_safetensors(data, rng):
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = bytearray(data[8 + n :])
    choice = rng.integers(4)
    if choice == 0:  # a header value of another type, a shape, a dtype, an offset
        header = _mutate_json(header, rng)
    elif choice == 1 and len(body) >= 8:  # NaN, infinity or noise in a tensor
        at = int(rng.integers(0, len(body) - 7))
        body[at : at + 8] = rng.choice(
            [struct.pack("<d", np.nan), struct.pack("<ff", np.inf, 1.0), rng.bytes(8)]
        )
    elif choice == 2:  # shapes swapped between tensors of the same size
        names = [k for k in header if k != "__metadata__"]
        a = names[int(rng.integers(len(names)))]
        header[a]["shape"] = list(reversed(header[a]["shape"]))
    else:  # truncated tensor data
        body = body[: int(rng.integers(0, len(body) + 1))]
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(body)


def _lie_about_sizes(raw, rng):
    data = bytearray(raw)
    at = data.find(b"PK\x01\x02")
    hits = []
    while at != -1:
        hits.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    at = hits[int(rng.integers(len(hits)))]
    field = int(rng.choice([20, 24]))  # compressed or uncompressed size
    struct.pack_into("<I", data, at + field, int(rng.choice([0, 1, 2**31, 2**32 - 1, 1000])))
    return bytes(data)


def _mutate_schema(data, rng):
    """A column's dtype or kind swapped for another one (valid or not)."""
    schema = json.loads(data)
    column = schema["columns"][int(rng.integers(len(schema["columns"])))]
    if rng.random() < 0.6:
        column["dtype"] = str(rng.choice(DTYPES))
    if rng.random() < 0.6:
        column["kind"] = str(rng.choice(KINDS))
    return json.dumps(schema).encode()


def mutate(raw, rng):
    """One seeded mutation of a model file (bytes in, bytes out)."""
    kind = int(rng.integers(9))
    if kind == 0:  # flip bytes anywhere
        data = bytearray(raw)
        for at in rng.integers(0, len(data), int(rng.integers(1, 12))):
            data[at] ^= int(rng.integers(1, 256))
        return bytes(data)
    if kind == 1:  # cut the file
        return raw[: int(rng.integers(0, len(raw)))]
    if kind == 2:
        return _lie_about_sizes(raw, rng)
    members = _unzip(raw)
    i = int(rng.integers(len(members)))
    name, data = members[i]
    if kind == 3 and name.endswith(".json"):  # a JSON value of another type, a key dropped
        members[i] = (name, json.dumps(_mutate_json(json.loads(data), rng)).encode())
    elif kind == 3 or kind == 4:
        if name.endswith(".safetensors") and len(data) > 8:
            members[i] = (name, _mutate_safetensors(data, rng))
        else:  # bytes flipped inside the member
            data = bytearray(data)
            for at in rng.integers(0, max(len(data), 1), 3):
                if len(data):
                    data[at] = int(rng.integers(256))
            members[i] = (name, bytes(data))
    elif kind == 5:  # a member dropped, duplicated or added
        action = int(rng.integers(3))
        if action == 0:
            members.pop(i)
        elif action == 1:
            members.append(members[i])
        else:
            members.append((str(rng.choice(["extra.json", "model.pkl", "a/../b.json"])), b"{}"))
    elif kind == 6:  # deeply nested or huge JSON
        members[i] = (name, b"[" * int(rng.integers(50, 5000)) + b"]" * 10)
    elif kind == 8:  # a column's dtype or kind changed
        members = [(n, _mutate_schema(d, rng) if n == "schema.json" else d) for n, d in members]
    else:  # the same members, stored without compression
        return _zip(members, zipfile.ZIP_STORED)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        return _zip(members)


@pytest.mark.parametrize("key", ["copula", "vae"])
def test_mutated_model_files_load_or_raise_persistence_errors(originals, key, tmp_path):
    rng = np.random.default_rng(21)
    path = tmp_path / "fuzzed.sgm"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes = {"loaded": 0, "refused": 0}
    for case in range(N_CASES):
        path.write_bytes(mutate(originals[key], rng))
        try:
            model = sg.load(path)
        except PersistenceError:
            outcomes["refused"] += 1
            continue
        except Exception as err:  # anything else is a bug the fuzz test exists to find
            raise AssertionError(f"case {case}: {type(err).__name__}: {err}") from err
        outcomes["loaded"] += 1
        try:
            model.sample(5, random_state=0)
        except SynthgenError:
            pass  # a clear error of synthgen's own is fine for a damaged but loadable file
        except Exception as err:
            raise AssertionError(f"case {case}: loaded, then sample raised {err!r}") from err
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 1024, f"memory grew by {grown_mb:.0f} MB"
    assert outcomes["refused"] > N_CASES // 2 and outcomes["loaded"] > 0, outcomes
