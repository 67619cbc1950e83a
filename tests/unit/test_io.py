import json
import zipfile

import pandas as pd
import pytest

import synthgen as sg


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


def _rewrite_manifest(path, out, change):
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(files["manifest.json"])
    change(manifest)
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def test_newer_format_is_refused_clearly(fitted, tmp_path):
    path, newer = tmp_path / "m.sgm", tmp_path / "newer.sgm"
    fitted.save(path)
    _rewrite_manifest(path, newer, lambda m: m.update(format_version=99))
    with pytest.raises(sg.PersistenceError, match=r"newer.*upgrade synthgen"):
        sg.load(newer)


def test_unknown_generator_in_file_is_refused(fitted, tmp_path):
    path, odd = tmp_path / "m.sgm", tmp_path / "odd.sgm"
    fitted.save(path)
    _rewrite_manifest(path, odd, lambda m: m.update(generator="nope"))
    with pytest.raises(sg.PersistenceError, match="unknown generator 'nope'"):
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
    _rewrite_manifest(path, old, lambda m: m["params"].pop("autoregressive"))
    loaded = sg.load(old)
    assert loaded.net_.ar is None and loaded.autoregressive is False
    pd.testing.assert_frame_equal(
        loaded.sample(30, random_state=4), model.sample(30, random_state=4)
    )


def test_weights_that_do_not_fit_the_network_are_refused_clearly(tmp_path):
    path, odd = tmp_path / "m.sgm", tmp_path / "odd.sgm"
    _tiny_vae(autoregressive=True).save(path)
    _rewrite_manifest(path, odd, lambda m: m["params"].update(hidden=[16]))
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
