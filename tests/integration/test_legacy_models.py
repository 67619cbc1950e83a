"""Models saved by an earlier synthgen still load and draw the rows they drew when saved.

The fixtures under ``tests/fixtures/legacy/`` were written once by
``tests/fixtures/make_legacy_models.py`` with the synthgen named by their folder: a tiny fitted
model per generator (``<key>.sgm``) and the five rows ``model.sample(5, random_state=7)`` gave
right after the fit (``<key>.csv``). A later synthgen must load each file, never refit it, and
draw the same rows, or refuse a file it cannot read with a clear message.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import synthgen as sg

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
FIXTURES = sorted(LEGACY.glob("v*/*.sgm"))

#: The dtypes of the fixtures' training table (see ``legacy_table`` in the script), which a
#: model must give back and which CSV does not keep.
DTYPES = {
    "income": "float64",
    "age": "int64",
    "group": "object",
    "tier": pd.CategoricalDtype(["low", "mid", "high"]),
    "member": "bool",
    "joined": "datetime64[ns]",
    "customer_id": "object",
    "country": "object",
    "empty": "float64",
}


def _expected_rows(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={k: v for k, v in DTYPES.items() if k != "joined"})
    frame["joined"] = pd.to_datetime(frame["joined"]).astype("datetime64[ns]")
    return frame[list(DTYPES)]


def test_every_generator_of_the_release_has_a_fixture():
    # The fixtures cover every family 0.1.0 registered; a vanished family would fail below.
    keys = {p.stem for p in LEGACY.glob("v0.1.0/*.sgm")}
    assert keys == {
        "copula",
        "diffusion",
        "dp_marginals",
        "gan",
        "marginals",
        "transformer",
        "vae",
    }
    assert all(p.with_suffix(".csv").is_file() for p in FIXTURES)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_legacy_model_loads_and_draws_its_rows(path):
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["synthgen_version"] == path.parent.name.removeprefix("v")
    assert manifest["generator"] == path.stem
    model = sg.load(path)
    assert model.key == path.stem
    rows = model.sample(5, random_state=7)
    expected = _expected_rows(path.with_suffix(".csv"))
    assert dict(rows.dtypes) == dict(expected.dtypes)
    # Floats went through CSV text: equal up to the last digits, everything else exactly.
    pd.testing.assert_frame_equal(
        rows, expected, check_exact=False, rtol=1e-9, atol=0.0, obj=f"{path.stem} rows"
    )


def test_a_model_of_a_newer_format_is_refused_naming_the_version(tmp_path):
    source = LEGACY / "v0.1.0" / "copula.sgm"
    newer = tmp_path / "newer.sgm"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(newer, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["format_version"] = 999
                manifest["synthgen_version"] = "99.0.0"
                data = json.dumps(manifest).encode()
            zout.writestr(item, data)
    with pytest.raises(sg.PersistenceError, match="999") as err:
        sg.load(newer)
    assert "newer.sgm" in str(err.value)
