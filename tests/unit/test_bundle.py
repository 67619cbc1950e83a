"""The bundle reader treats a model file as hostile: every failure is a PersistenceError."""

import json
import os
import struct
import zipfile

import numpy as np
import pytest
from safetensors.numpy import save as save_arrays

from synthgen.bundle import Limits, read_bundle, write_bundle
from synthgen.exceptions import PersistenceError

MANIFEST = {"synthgen_version": "0", "generator": "g", "params": {}, "fitted": {}, "state": {}}


def _zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _manifest(**change):
    return json.dumps({"format": "synthgen-model", "format_version": 1, **MANIFEST, **change})


def test_round_trip(tmp_path):
    path = tmp_path / "b.sgm"
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "i": np.array([1, 2])}
    write_bundle(path, MANIFEST, {"x.json": '{"a": 1}'}, arrays)
    bundle = read_bundle(path, required=("x.json",))
    assert bundle.members == {"x.json": {"a": 1}}
    assert {k: v.tolist() for k, v in bundle.arrays.items()} == {
        k: v.tolist() for k, v in arrays.items()
    }
    assert bundle.arrays["w"].flags.writeable  # usable as a torch tensor without a copy warning


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (-5, "format_version -5 is not a valid version"),
        (0, "format_version 0 is not a valid version"),
        ("1", r"format_version must be an integer, got '1' \(str\)"),
        (True, "format_version must be an integer"),
        (2, "newer than this synthgen reads.*upgrade synthgen"),
    ],
)
def test_format_version_must_be_a_known_integer(tmp_path, version, message):
    path = _zip(tmp_path / "m.sgm", {"manifest.json": _manifest(format_version=version)})
    with pytest.raises(PersistenceError, match=message):
        read_bundle(path)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("[]", "manifest.json.*expected a JSON object, got list"),
        ('"a string"', "expected a JSON object, got str"),
        ("[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
        ('{"format": ', "manifest.json.*not valid JSON"),
        (b"\xff\xfe{}", "manifest.json.*not UTF-8"),
        ('{"format": "synthgen-model", "format_version": 1}', "missing key 'synthgen_version'"),
        ("1" * 5000, "not valid JSON"),  # an integer too long for Python to parse
    ],
)
def test_bad_manifests_are_refused(tmp_path, manifest, message):
    path = _zip(tmp_path / "m.sgm", {"manifest.json": manifest})
    with pytest.raises(PersistenceError, match=message):
        read_bundle(path)


def test_manifest_fields_have_their_types(tmp_path):
    path = _zip(tmp_path / "m.sgm", {"manifest.json": _manifest(params=[1, 2])})
    with pytest.raises(PersistenceError, match="'params' must be a JSON object, got list"):
        read_bundle(path)


def test_paths_that_are_not_regular_files_are_refused_without_opening(tmp_path):
    with pytest.raises(PersistenceError, match="is a folder"):
        read_bundle(tmp_path)
    # /dev/zero would exhaust memory and /dev/stdin block if they were read.
    for device in ("/dev/zero", "/dev/stdin", "/dev/null"):
        # /dev/stdin is a regular file when the process's input is redirected from one
        if os.path.exists(device) and not os.path.isfile(device):
            with pytest.raises(PersistenceError, match="not a regular file"):
                read_bundle(device)
    fifo = tmp_path / "pipe.sgm"
    os.mkfifo(fifo)
    with pytest.raises(PersistenceError, match="not a regular file"):
        read_bundle(fifo)  # opening a FIFO for reading would block until a writer comes
    link = tmp_path / "link.sgm"
    link.symlink_to("/dev/zero")
    with pytest.raises(PersistenceError, match="not a regular file"):
        read_bundle(link)


def test_members_that_are_not_json_or_safetensors_are_refused(tmp_path):
    path = _zip(tmp_path / "m.sgm", {"manifest.json": _manifest(), "model.pkl": b"\x80\x04."})
    with pytest.raises(PersistenceError, match=r"'model.pkl': unexpected member"):
        read_bundle(path)
    path = _zip(tmp_path / "n.sgm", {"manifest.json": _manifest(), "../x.json": "{}"})
    with pytest.raises(PersistenceError, match="unexpected member"):
        read_bundle(path)


def test_duplicate_and_missing_members(tmp_path):
    path = tmp_path / "dup.sgm"
    with zipfile.ZipFile(path, "w") as zf, pytest.warns(UserWarning, match="Duplicate"):
        zf.writestr("manifest.json", _manifest())
        zf.writestr("manifest.json", _manifest())
    with pytest.raises(PersistenceError, match="two members of the same name"):
        read_bundle(path)
    path = _zip(tmp_path / "m.sgm", {"manifest.json": _manifest()})
    with pytest.raises(PersistenceError, match=r"missing \['schema.json'\]"):
        read_bundle(path, required=("schema.json",))


def test_a_json_bomb_is_refused_from_the_zip_directory(tmp_path):
    # 80 MiB of whitespace before a valid manifest: deflates to ~80 KB, over the 64 MiB cap.
    text = " " * (80 * 2**20) + _manifest()
    path = _zip(tmp_path / "bomb.sgm", {"manifest.json": text})
    assert path.stat().st_size < 200_000
    with pytest.raises(PersistenceError, match=r"manifest.json.*uncompressed, more than"):
        read_bundle(path)


def test_a_weights_bomb_is_refused_by_its_compression_ratio(tmp_path):
    zeros = save_arrays({"w": np.zeros(6 * 2**20, dtype=np.float32)})  # 24 MiB of zeros
    path = _zip(tmp_path / "bomb.sgm", {"manifest.json": _manifest(), "weights.safetensors": zeros})
    with pytest.raises(PersistenceError, match=r"weights.safetensors.*compression ratio"):
        read_bundle(path)
    # The same data is read when the caps allow it: the ratio check is what refused it.
    assert read_bundle(path, limits=Limits(max_array_ratio=1e9)).arrays["w"].shape == (6 * 2**20,)


def _set_sizes(path, name, size):
    """Rewrite the uncompressed size of member ``name`` in both zip headers (a lying file)."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    local = data.find(b"PK\x03\x04" + data[4:4])  # first local header
    while local != -1:
        n = struct.unpack_from("<H", data, local + 26)[0]
        if bytes(data[local + 30 : local + 30 + n]) == encoded:
            struct.pack_into("<I", data, local + 22, size)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        n = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + n]) == encoded:
            struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def test_a_member_cannot_inflate_past_the_size_its_header_announces(tmp_path):
    big = save_arrays({"w": np.ones(2**20, dtype=np.float32)})
    path = _zip(tmp_path / "lie.sgm", {"manifest.json": _manifest(), "weights.safetensors": big})
    _set_sizes(path, "weights.safetensors", 1000)
    with pytest.raises(PersistenceError, match=r"weights.safetensors.*damaged data"):
        read_bundle(path)


def test_corrupted_deflate_data_is_a_persistence_error(tmp_path):
    path = _zip(tmp_path / "m.sgm", {"manifest.json": _manifest() + " " * 5000})
    data = bytearray(path.read_bytes())
    start = 30 + len("manifest.json")
    for i in range(start + 2, start + 40):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(PersistenceError, match=r"manifest.json.*damaged data"):
        read_bundle(path)


def test_unsupported_compression_is_refused(tmp_path):
    path = _zip(tmp_path / "m.sgm", {"manifest.json": _manifest()}, zipfile.ZIP_BZIP2)
    with pytest.raises(PersistenceError, match="unsupported compression method 12"):
        read_bundle(path)


def _safetensors(header, payload=b""):
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + payload


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (b"\x01\x02", "truncated safetensors header"),
        (struct.pack("<Q", 10**12) + b"{}", "header of 1000000000000 bytes"),
        (_safetensors([1, 2]), "header is not a JSON object"),
        (_safetensors({"w": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
         "unsupported dtype 'F99'"),
        (_safetensors({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 4]}}, b"\0" * 4),
         "shape \\[3\\] does not match its bytes"),
        (_safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 400]}}, b"\0" * 4),
         "out of range"),
        (_safetensors({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
         "invalid shape"),
        (_safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),
         "does not match its header"),
        (_safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                       "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
         "overlap or leave gaps"),
        (_safetensors({"w": {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]}}, b"\x07"),
         "booleans other than 0 and 1"),
        (save_arrays({"w": np.array([1.0, np.nan])}), "array 'w' holds NaN or infinite"),
        (save_arrays({"w": np.array([np.inf], dtype=np.float32)}), "holds NaN or infinite"),
    ],
)  # fmt: skip
def test_bad_safetensors_are_refused(tmp_path, weights, message):
    path = _zip(tmp_path / "m.sgm", {"manifest.json": _manifest(), "weights.safetensors": weights})
    with pytest.raises(PersistenceError, match=f"weights.safetensors.*{message}"):
        read_bundle(path)


def test_write_refuses_non_finite_arrays_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "b.sgm"
    write_bundle(path, MANIFEST, {}, {"w": np.ones(2)})
    before = path.read_bytes()
    with pytest.raises(PersistenceError, match="array 'w' holds NaN"):
        write_bundle(path, MANIFEST, {}, {"w": np.array([np.nan])})
    with pytest.raises(PersistenceError, match=r"manifest.json.*cannot be written as JSON"):
        write_bundle(path, {**MANIFEST, "state": {"x": object()}}, {}, {})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.sgm"]
