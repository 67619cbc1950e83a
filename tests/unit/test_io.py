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
    with pytest.raises(sg.ConfigurationError, match="unknown generator 'nope'"):
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
