import json
import resource
import zipfile

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

import synthgen as sg
from synthgen.testing.model_files import rewrite_manifest


@pytest.fixture()
def fitted(mixed):
    return sg.make_generator("copula", random_state=0).fit(mixed)


def test_save_load_gives_the_same_rows(fitted, tmp_path):
    path = tmp_path / "adult.sgm"
    fitted.save(path)
    same = sg.load(path)
    pd.testing.assert_frame_equal(
        same.sample(50, random_state=1), fitted.sample(50, random_state=1)
    )
    assert same.get_params() == fitted.get_params()


def test_saved_file_holds_only_json_and_safetensors(fitted, tmp_path):
    path = tmp_path / "m.sgm"
    sg.save(fitted, path)
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert names == ["encoder.json", "manifest.json", "schema.json", "weights.safetensors"]
    assert manifest["generator"] == "copula" and manifest["format_version"] == 1


def test_newer_format_is_refused_clearly(fitted, tmp_path):
    path, newer = tmp_path / "m.sgm", tmp_path / "newer.sgm"
    fitted.save(path)
    rewrite_manifest(path, newer, lambda m: m.update(format_version=99))
    with pytest.raises(sg.PersistenceError, match=r"newer.*upgrade synthgen"):
        sg.load(newer)


def test_unknown_generator_in_file_is_refused(fitted, tmp_path):
    path, odd = tmp_path / "m.sgm", tmp_path / "odd.sgm"
    fitted.save(path)
    rewrite_manifest(path, odd, lambda m: m.update(generator="nope"))
    # A file naming a generator this synthgen does not know is a file problem, not a bad
    # argument: PersistenceError, like every other failure to load.
    with pytest.raises(sg.PersistenceError, match=r"manifest.json.*unknown generator 'nope'"):
        sg.load(odd)


def _tiny_vae(autoregressive: bool):
    import numpy as np

    from synthgen.generators.vae import TabularVAE

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=60), "c": rng.choice(["a", "b"], 60)})
    params = {"latent_dim": 4, "hidden": (8,), "batch_size": 30, "device": "cpu"}
    return TabularVAE(epochs=1, autoregressive=autoregressive, random_state=0, **params).fit(df)


def test_a_vae_saved_before_the_autoregressive_head_still_loads(tmp_path):
    model = _tiny_vae(autoregressive=False)
    path, old = tmp_path / "m.sgm", tmp_path / "old.sgm"
    model.save(path)
    # Files written before the head existed have no such parameter (and no head).
    rewrite_manifest(path, old, lambda m: m["params"].pop("autoregressive"))
    loaded = sg.load(old)
    assert loaded.net_.ar is None and loaded.autoregressive is False
    pd.testing.assert_frame_equal(
        loaded.sample(30, random_state=4), model.sample(30, random_state=4)
    )


def test_weights_that_do_not_fit_the_network_are_refused_clearly(tmp_path):
    path, odd = tmp_path / "m.sgm", tmp_path / "odd.sgm"
    _tiny_vae(autoregressive=True).save(path)
    rewrite_manifest(path, odd, lambda m: m["params"].update(hidden=[16]))
    with pytest.raises(sg.PersistenceError, match="do not fit"):
        sg.load(odd)


def test_bad_files_get_persistence_errors(tmp_path):
    with pytest.raises(sg.PersistenceError, match="no model file"):
        sg.load(tmp_path / "missing.sgm")
    junk = tmp_path / "junk.sgm"
    junk.write_bytes(b"\x80\x04 this is a pickle, not a model")
    with pytest.raises(sg.PersistenceError, match="not a zip"):
        sg.load(junk)
    empty_zip = tmp_path / "empty.sgm"
    with zipfile.ZipFile(empty_zip, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(sg.PersistenceError, match="missing"):
        sg.load(empty_zip)


def test_saving_an_unfitted_model_is_refused(tmp_path):
    with pytest.raises(sg.NotFittedError):
        sg.make_generator("copula").save(tmp_path / "m.sgm")


# -- hostile and damaged files (issue 21) -------------------------------------------------------
def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _rewrite(path, out, **changes):
    """Copy the model at ``path`` to ``out`` with members replaced: a value is the new bytes,
    or a function that edits the old member's parsed JSON (or arrays, for the weights)."""
    files = _members(path)
    for key, change in changes.items():
        name = {"weights": "weights.safetensors"}.get(key, f"{key}.json")
        if callable(change):
            if name.endswith(".safetensors"):
                arrays = dict(load_arrays(files[name]))
                change(arrays)
                change = save_arrays(arrays)
            else:
                value = json.loads(files[name])
                change(value)  # edits in place
                change = json.dumps(value).encode()
        files[name] = change
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out


@pytest.fixture()
def saved_copula(fitted, tmp_path):
    path = tmp_path / "copula.sgm"
    fitted.save(path)
    return path


def test_a_schema_member_is_never_read_as_a_path(saved_copula, tmp_path):
    # Finding 1: a schema.json holding a path used to make load open that path.
    other = tmp_path / "other.json"
    sg.Schema.infer(pd.DataFrame({"a": [1.5, 2.5, 3.5]})).to_json(other)
    for content in (str(other).encode(), json.dumps(str(other)).encode(), b"/dev/stdin"):
        odd = _rewrite(saved_copula, tmp_path / "odd.sgm", schema=content)
        with pytest.raises(sg.PersistenceError, match=r"schema.json"):
            sg.load(odd)


def test_decompression_bombs_are_refused_before_reading(saved_copula, tmp_path):
    # Finding 2: a weights member that inflates far beyond its compressed size.
    bomb = _rewrite(
        saved_copula,
        tmp_path / "bomb.sgm",
        weights=lambda a: a.update(pad=np.zeros(6 * 2**20, dtype=np.float32)),
    )
    assert bomb.stat().st_size < 200_000
    with pytest.raises(sg.PersistenceError, match=r"weights.safetensors.*compression ratio"):
        sg.load(bomb)
    # ... and a manifest of whitespace in front of valid JSON.
    padded = b" " * (80 * 2**20) + _members(saved_copula)["manifest.json"]
    bomb = _rewrite(saved_copula, tmp_path / "bomb2.sgm", manifest=padded)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(sg.PersistenceError, match=r"manifest.json.*more than"):
        sg.load(bomb)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 50_000, "the bomb was read into memory"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"manifest": b"[]"}, "manifest.json.*expected a JSON object"),
        ({"manifest": lambda m: m.update(format_version=-5)}, "-5 is not a valid version"),
        ({"manifest": lambda m: m.update(format_version="1")}, "must be an integer, got '1'"),
        ({"manifest": lambda m: m.update(params={"shrinkage": 7})}, "shrinkage of GaussianCopula"),
        ({"manifest": lambda m: m.update(params={"nope": 1})}, "invalid generator parameters"),
        ({"manifest": lambda m: m["fitted"].update(sample_seed=-1)}, "fitted.sample_seed"),
        ({"encoder": b"[" * 100_000 + b"]" * 100_000}, "encoder.json.*nested deeper"),
        ({"encoder": lambda e: e["columns"].pop()}, "encoder.json.*one state per schema column"),
        ({"encoder": lambda e: e["columns"][0]["value"].update(quantiles=[3, 2, 1])},
         "encoder.json.*column 'income'.*quantiles must be sorted"),
        ({"encoder": lambda e: e["columns"][2]["codes"].update(n_codes=10**6)},
         "encoder.json.*column 'group'.*freq has"),
        ({"schema": lambda s: s["columns"][0].update(dtype="float6")},
         "schema.json.*dtype 'float6' is not a pandas dtype"),
        ({"schema": lambda s: s["columns"][0].update(minimum="low")}, "minimum must be a finite"),
        ({"schema": b'"just a string"'}, "schema.json.*must be a JSON object"),
        ({"weights": b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      "},
         "weights.safetensors.*not valid JSON"),
        ({"weights": lambda a: a.update(correlation=a["correlation"][:-1, :-1])},
         "correlation matrix is .* but the encoder produces"),
        ({"weights": lambda a: a.update(correlation=np.eye(len(a["correlation"]) + 1))},
         "correlation matrix is .* but the encoder produces"),
        ({"weights": lambda a: a["correlation"].__setitem__((0, 1), np.nan)},
         "array 'correlation' holds NaN"),
        ({"weights": lambda a: a["correlation"].__setitem__((0, 1), 5.0)},
         "not a symmetric unit-diagonal"),
    ],
)  # fmt: skip
def test_damaged_copula_files_give_persistence_errors(saved_copula, tmp_path, changes, message):
    # Finding 3: each of these used to load silently, fail at sample or raise a raw error.
    odd = _rewrite(saved_copula, tmp_path / "odd.sgm", **changes)
    with pytest.raises(sg.PersistenceError, match=message):
        sg.load(odd)


def test_corrupted_deflate_data_is_a_persistence_error(saved_copula, tmp_path):
    data = bytearray(saved_copula.read_bytes())
    with zipfile.ZipFile(saved_copula) as zf:
        info = zf.getinfo("encoder.json")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 10, start + 60):
        data[i] ^= 0x5A
    saved_copula.write_bytes(bytes(data))
    with pytest.raises(sg.PersistenceError, match=r"encoder.json.*damaged data"):
        sg.load(saved_copula)


def test_a_folder_is_not_a_model_file(tmp_path):
    with pytest.raises(sg.PersistenceError, match="is a folder"):
        sg.load(tmp_path)


def test_network_sizes_are_checked_before_anything_is_allocated(tmp_path):
    path, odd = tmp_path / "m.sgm", tmp_path / "odd.sgm"
    _tiny_vae(autoregressive=False).save(path)
    # Widths that would make torch allocate terabytes: refused from the shapes alone.
    _rewrite(path, odd, manifest=lambda m: m["params"].update(hidden=[2**20, 2**20]))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(sg.PersistenceError, match=r"do not fit the network.*misshapen"):
        sg.load(odd)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000
    _rewrite(path, odd, manifest=lambda m: m["params"].update(latent_dim=0))
    with pytest.raises(
        sg.PersistenceError, match="latent_dim of TabularVAE must be an integer >= 1"
    ):
        sg.load(odd)


def test_nan_weights_are_refused(tmp_path):
    path, odd = tmp_path / "m.sgm", tmp_path / "odd.sgm"
    _tiny_vae(autoregressive=True).save(path)

    def poison(arrays):
        name = next(k for k in arrays if k.endswith("weight") and arrays[k].ndim == 2)
        arrays[name][0, 0] = np.nan

    _rewrite(path, odd, weights=poison)
    with pytest.raises(sg.PersistenceError, match=r"weights.safetensors.*holds NaN"):
        sg.load(odd)


def test_a_prior_of_the_wrong_size_is_caught_at_load(tmp_path):
    path, odd = tmp_path / "m.sgm", tmp_path / "odd.sgm"
    model = _tiny_vae(autoregressive=False)
    model.save(path)
    if model.prior_ is None:
        pytest.fail("the tiny vae was expected to have a mixture prior")
    _rewrite(path, odd, weights=lambda a: a.update({"prior.scales": a["prior.scales"][:, :1, :1]}))
    with pytest.raises(sg.PersistenceError, match="does not produce rows"):
        sg.load(odd)
